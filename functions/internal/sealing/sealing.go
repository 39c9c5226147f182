// Package sealing encrypts secrets a function keeps in PostgreSQL (identity's signing keys, push's
// VAPID key) with a key-encryption key from the environment: AES-256-GCM over SHA-256 of the
// configured secret, the random nonce stored in front of the ciphertext, and the row's id bound as
// additional data so a sealed value copied to another row does not open.
package sealing

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
)

// Sealer seals and opens secrets. A nil *Sealer (no key-encryption key configured) stores them
// unsealed, which only development setups do; Enabled says which.
type Sealer struct{ aead cipher.AEAD }

// New returns a Sealer for secret, or nil when secret is empty. The secret may be any length: the
// AES-256 key is derived from it.
func New(secret []byte) (*Sealer, error) {
	if len(secret) == 0 {
		return nil, nil
	}
	k := sha256.Sum256(secret)
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Enabled reports whether values are sealed (a key-encryption key is configured).
func (s *Sealer) Enabled() bool { return s != nil }

// Seal returns plain sealed, bound to aad (the row's id), as nonce || ciphertext.
func (s *Sealer) Seal(plain, aad []byte) ([]byte, error) {
	if s == nil {
		return nil, errors.New("sealing: no key-encryption key configured")
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, plain, aad), nil
}

// ErrOpen is returned for a value that does not open: another key-encryption key sealed it, or it
// was altered or moved to another row.
var ErrOpen = errors.New("sealing: cannot decrypt (wrong key-encryption key?)")

// Open reverses Seal.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	if s == nil {
		return nil, errors.New("sealing: value is sealed and no key-encryption key is configured")
	}
	ns := s.aead.NonceSize()
	if len(sealed) < ns {
		return nil, errors.New("sealing: sealed data too short")
	}
	plain, err := s.aead.Open(nil, sealed[:ns], sealed[ns:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}
