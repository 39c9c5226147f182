package platform

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// The gate drops every accepted connection on Outage, closes new ones while it lasts, and lets
// them through again afterwards (or after Restore).
func TestGateListenerOutage(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := newGateListener(ln)
	defer g.Close()
	// An echo server behind the gate.
	go func() {
		for {
			c, err := g.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	echo := func() error {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("x")); err != nil {
			return err
		}
		b := make([]byte, 1)
		if _, err := io.ReadFull(c, b); err != nil {
			return err
		}
		return nil
	}
	if err := echo(); err != nil {
		t.Fatalf("before the outage: %v", err)
	}
	held, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	for g.state().Connections == 0 { // the echo goroutine has accepted it
		time.Sleep(time.Millisecond)
	}
	g.Outage(time.Minute)
	_ = held.SetReadDeadline(time.Now().Add(2 * time.Second))
	var ne net.Error
	if _, err := held.Read(make([]byte, 1)); err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("an open connection survived the outage: %v", err)
	}
	if err := echo(); err == nil {
		t.Fatal("a new connection was served during the outage")
	}
	if s := g.state(); !s.Outage || s.Connections != 0 {
		t.Fatalf("state during the outage: %+v", s)
	}
	g.Restore()
	if err := echo(); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
}

func TestControlAddrIsLoopbackOnly(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:0": true, "localhost:9999": true, "[::1]:0": true,
		"0.0.0.0:9999": false, ":9999": false, "10.1.2.3:80": false, "nonsense": false,
	} {
		if err := loopbackOnly(addr); (err == nil) != ok {
			t.Errorf("loopbackOnly(%q) = %v", addr, err)
		}
	}
}
