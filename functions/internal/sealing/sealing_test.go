package sealing

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpen(t *testing.T) {
	s, err := New([]byte("a key-encryption key"))
	if err != nil || !s.Enabled() {
		t.Fatalf("New: %v", err)
	}
	sealed, err := s.Seal([]byte("secret"), []byte("row-1"))
	if err != nil || bytes.Contains(sealed, []byte("secret")) {
		t.Fatalf("Seal: %x %v", sealed, err)
	}
	again, _ := s.Seal([]byte("secret"), []byte("row-1"))
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals of one secret are equal: the nonce is not fresh")
	}
	if plain, err := s.Open(sealed, []byte("row-1")); err != nil || string(plain) != "secret" {
		t.Fatalf("Open: %q %v", plain, err)
	}
	if _, err := s.Open(sealed, []byte("row-2")); !errors.Is(err, ErrOpen) {
		t.Fatalf("opened under another row's id: %v", err)
	}
	other, _ := New([]byte("another key"))
	if _, err := other.Open(sealed, []byte("row-1")); !errors.Is(err, ErrOpen) {
		t.Fatalf("opened with another key: %v", err)
	}
	if _, err := s.Open(sealed[:5], []byte("row-1")); err == nil {
		t.Fatal("opened a truncated value")
	}
	none, err := New(nil)
	if err != nil || none.Enabled() {
		t.Fatalf("no key: %v %v", none, err)
	}
	if _, err := none.Open(sealed, nil); err == nil {
		t.Fatal("a nil Sealer opened a sealed value")
	}
}
