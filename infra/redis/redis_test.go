package redis_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/infra/envconf"
	"github.com/parley-im/parley/infra/internal/testpki"
	"github.com/parley-im/parley/infra/redis"
)

// startTLSRedis runs a redis-server of its own on a free loopback port that speaks only TLS,
// with the default user disabled and one ACL user, and returns its address.
func startTLSRedis(t *testing.T, pki testpki.PKI, user, pass string) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed: the TLS/ACL test needs it (apt-get install redis-server)")
	}
	// A build without TLS refuses --tls-port at start; say so plainly rather than fail obscurely.
	var out bytes.Buffer
	probe := exec.Command(bin, "--port", "0", "--tls-port", "0", "--save", "")
	probe.Stdout, probe.Stderr = &out, &out
	_ = probe.Run()
	if strings.Contains(out.String(), "Bad directive") || strings.Contains(out.String(), "not supported") {
		t.Skipf("this redis-server was built without TLS (%s): skipping the TLS test", strings.TrimSpace(out.String()))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", "0", "--tls-port", fmt.Sprint(port),
		"--tls-cert-file", pki.ServerCertFile, "--tls-key-file", pki.ServerKeyFile,
		"--tls-ca-cert-file", pki.CAFile, "--tls-auth-clients", "no",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir(),
		"--user", "default", "off",
		// The ACL terraform/modules/redis gives Parley's ElastiCache user.
		"--user", user, "on", ">"+pass, "~parley:*", "&*", "+@all", "-@dangerous")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("redis-server exited at start:\n%s", logs.String())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not listen on %s: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestTLSWithACLUser(t *testing.T) {
	pki := testpki.New(t)
	addr := startTLSRedis(t, pki, "parley-app", "acl-s3cret")
	ctx := context.Background()

	c, err := redis.Open(ctx, redis.Config{Addr: addr, TLS: true, CAFile: pki.CAFile, Username: "parley-app",
		Password: "acl-s3cret", Prefix: "parley:"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Set(ctx, "parley:k", "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, "parley:k").Result(); err != nil || v != "v" {
		t.Fatalf("get = %q, %v", v, err)
	}
	// The ACL is in force: the user's key pattern is parley:*.
	if err := c.Set(ctx, "other:k", "v", time.Minute).Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("write outside the ACL key pattern: err = %v, want NOPERM", err)
	}
	if who, err := c.Do(ctx, "ACL", "WHOAMI").Text(); err != nil || who != "parley-app" {
		t.Errorf("ACL WHOAMI = %q, %v", who, err)
	}

	for name, cfg := range map[string]redis.Config{
		"wrong password":  {Addr: addr, TLS: true, CAFile: pki.CAFile, Username: "parley-app", Password: "nope-Xyzzy"},
		"no credentials":  {Addr: addr, TLS: true, CAFile: pki.CAFile},
		"untrusted CA":    {Addr: addr, TLS: true, Username: "parley-app", Password: "acl-s3cret"},
		"plaintext":       {Addr: addr, Username: "parley-app", Password: "acl-s3cret"},
		"wrong host name": {Addr: addr, TLS: true, CAFile: pki.CAFile, ServerName: "redis.example", Username: "parley-app", Password: "acl-s3cret"},
	} {
		c, err := redis.Open(ctx, cfg)
		if err == nil {
			_ = c.Close()
			t.Errorf("%s: connected", name)
			continue
		}
		if strings.Contains(err.Error(), "nope-Xyzzy") || strings.Contains(err.Error(), "acl-s3cret") {
			t.Errorf("%s: error shows the password: %v", name, err)
		}
	}
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{"REDIS_ADDR": "cache.internal:6380", "REDIS_USERNAME": "parley", "REDIS_PASSWORD": "pw",
		"REDIS_TLS": "true", "REDIS_TLS_CA_FILE": "/etc/redis/ca.pem", "REDIS_TLS_SERVER_NAME": "cache.example"}
	r := envconf.New(func(k string) string { return env[k] })
	c := redis.FromEnv(r)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	want := redis.Config{Addr: "cache.internal:6380", Username: "parley", Password: "pw", Prefix: "parley:", TLS: true,
		CAFile: "/etc/redis/ca.pem", ServerName: "cache.example"}
	if c != want {
		t.Errorf("FromEnv = %+v, want %+v", c, want)
	}
	if d := redis.FromEnv(envconf.New(nil)); d.Addr != "127.0.0.1:6379" || d.TLS || d.Prefix != "parley:" {
		t.Errorf("defaults = %+v", d)
	}
	env["REDIS_TLS"] = "on"
	r = envconf.New(func(k string) string { return env[k] })
	if redis.FromEnv(r); r.Err() == nil {
		t.Error("REDIS_TLS=on accepted")
	}
	// TLS settings without TLS are a mistake, not plaintext.
	if _, err := redis.Open(context.Background(), redis.Config{Addr: "127.0.0.1:1", CAFile: "/x.pem"}); err == nil ||
		!strings.Contains(err.Error(), "TLS is off") {
		t.Errorf("CA file without TLS: err = %v", err)
	}
}
