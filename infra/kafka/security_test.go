package kafka_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/parley-im/parley/infra/internal/testpki"
	"github.com/parley-im/parley/infra/kafka"
	"github.com/parley-im/parley/infra/kafka/kafkatest"
	"github.com/parley-im/parley/infra/polltest"
)

// roundTrip creates a topic, publishes n events through a Writer and reads them back through a
// consumer group and through an ungrouped consumer, all with sec.
func roundTrip(t *testing.T, kc *kafkatest.Cluster, sec kafka.Security) {
	t.Helper()
	kc.Security = sec
	topic := kc.Topic(t, 2)
	w, err := kafka.NewWriter(kafka.Config{Brokers: kc.Brokers, Security: sec})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const n = 10
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range n {
		if err := w.Publish(ctx, topic, newEvent(t, fmt.Sprintf("id-%d", i), fmt.Sprintf("k%d", i%3), i)); err != nil {
			t.Fatalf("publish over %v: %v", sec, err)
		}
	}
	for _, group := range []string{"g-" + topic, ""} {
		var mu sync.Mutex
		ids := map[string]bool{}
		cctx, ccancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			done <- kafka.Consume(cctx, kafka.ConsumerConfig{Brokers: kc.Brokers, Security: sec, Topics: []string{topic},
				GroupID: group}, func(_ context.Context, m kafka.Message) error {
				e, err := m.Event()
				if err != nil {
					return err
				}
				mu.Lock()
				ids[e.ID()] = true
				mu.Unlock()
				return nil
			})
		}()
		polltest.Until(t, 20*time.Second, fmt.Sprintf("%d records (group %q) over %v", n, group, sec), func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(ids) == n
		})
		ccancel()
		if err := <-done; err != nil {
			t.Errorf("consume (group %q): %v", group, err)
		}
	}
}

func mustSecurity(t *testing.T, cfg kafka.SecurityConfig) kafka.Security {
	t.Helper()
	s, err := kafka.NewSecurity(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSASLScramSHA512(t *testing.T) {
	kc := kafkatest.Start(t, kfake.EnableSASL(), kfake.Superuser(kafka.SASLScramSHA512, "parley", "s3cret-scram"))
	sec := mustSecurity(t, kafka.SecurityConfig{SASLMechanism: "scram-sha-512", Username: "parley", Password: "s3cret-scram"})
	if got := sec.String(); got != "plaintext+sasl/SCRAM-SHA-512" {
		t.Errorf("String() = %q", got)
	}
	roundTrip(t, kc, sec)

	// The same broker refuses a wrong password and an unauthenticated client.
	for name, s := range map[string]kafka.Security{
		"wrong password": mustSecurity(t, kafka.SecurityConfig{SASLMechanism: kafka.SASLScramSHA512, Username: "parley", Password: "nope"}),
		"no SASL":        {},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := kafka.Partitions(ctx, kafka.Cluster{Brokers: kc.Brokers, Security: s}, "anything")
		cancel()
		if err == nil {
			t.Errorf("%s: metadata request succeeded on a SASL broker", name)
		}
	}
}

func TestTLSWithCAFileAndSASLPlain(t *testing.T) {
	ca := testpki.New(t)
	kc := kafkatest.Start(t, kfake.TLS(ca.ServerConfig()), kfake.EnableSASL(),
		kfake.Superuser(kafka.SASLPlain, "parley", "s3cret-plain"))
	sec := mustSecurity(t, kafka.SecurityConfig{TLS: true, CAFile: ca.CAFile, SASLMechanism: kafka.SASLPlain,
		Username: "parley", Password: "s3cret-plain"})
	if got := sec.String(); got != "tls+sasl/PLAIN" {
		t.Errorf("String() = %q", got)
	}
	roundTrip(t, kc, sec)

	// System roots do not trust the generated CA: the handshake must fail, not fall back.
	untrusted := mustSecurity(t, kafka.SecurityConfig{TLS: true, SASLMechanism: kafka.SASLPlain, Username: "parley",
		Password: "s3cret-plain"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := kafka.Partitions(ctx, kafka.Cluster{Brokers: kc.Brokers, Security: untrusted}, "anything")
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted CA: err = %v, want a certificate error", err)
	}
}

func TestTLSWithScramSHA512(t *testing.T) {
	ca := testpki.New(t)
	kc := kafkatest.Start(t, kfake.TLS(ca.ServerConfig()), kfake.EnableSASL(),
		kfake.Superuser(kafka.SASLScramSHA512, "parley", "s3cret"))
	roundTrip(t, kc, mustSecurity(t, kafka.SecurityConfig{TLS: true, CAFile: ca.CAFile,
		SASLMechanism: kafka.SASLScramSHA512, Username: "parley", Password: "s3cret"}))
}

func TestTLSOnly(t *testing.T) {
	ca := testpki.New(t)
	kc := kafkatest.Start(t, kfake.TLS(ca.ServerConfig()))
	roundTrip(t, kc, mustSecurity(t, kafka.SecurityConfig{TLS: true, CAFile: ca.CAFile}))

	// A plaintext client against the TLS listener gets no answer it can use.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := kafka.Partitions(ctx, kafka.Cluster{Brokers: kc.Brokers}, "anything"); err == nil {
		t.Error("plaintext client read metadata from a TLS listener")
	}
}

// The AWS_MSK_IAM mechanism cannot meet a real MSK here; this checks what it sends: a SigV4
// presigned kafka-cluster:Connect for the broker host, signed with the chain's credentials and the
// configured region.
func TestAWSMSKIAMSignsConnect(t *testing.T) {
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDPARLEYTEST", SecretAccessKey: "secret", SessionToken: "tok"}, nil
	})
	sec := mustSecurity(t, kafka.SecurityConfig{TLS: true, SASLMechanism: kafka.SASLAWSMSKIAM, AWSRegion: "eu-west-1",
		AWSCredentials: creds})
	if got := sec.String(); got != "tls+sasl/AWS_MSK_IAM" {
		t.Fatalf("String() = %q", got)
	}
	mech := kafka.SASLMechanismOf(sec)
	ctx := sasl.WithMetadata(context.Background(), &sasl.Metadata{Host: "b-1.msk.example", Port: 9098})
	_, ir, err := mech.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(ir, &m); err != nil {
		t.Fatalf("initial response is not JSON: %v", err)
	}
	for k, want := range map[string]string{"action": "kafka-cluster:Connect", "host": "b-1.msk.example",
		"x-amz-security-token": "tok", "version": "2020_10_22"} {
		if m[k] != want {
			t.Errorf("%s = %q, want %q", k, m[k], want)
		}
	}
	if c := m["x-amz-credential"]; !strings.HasPrefix(c, "AKIDPARLEYTEST/") || !strings.Contains(c, "/eu-west-1/kafka-cluster/") {
		t.Errorf("x-amz-credential = %q, want the access key, region eu-west-1 and service kafka-cluster", c)
	}
	if m["x-amz-signature"] == "" {
		t.Error("no signature")
	}
}

func TestSecurityConfigRefusals(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	_ = os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	for name, cfg := range map[string]kafka.SecurityConfig{
		"PLAIN without TLS":          {SASLMechanism: kafka.SASLPlain, Username: "u", Password: "pw-Xyzzy"},
		"IAM without TLS":            {SASLMechanism: kafka.SASLAWSMSKIAM, AWSRegion: "us-east-1"},
		"IAM with a password":        {TLS: true, SASLMechanism: kafka.SASLAWSMSKIAM, AWSRegion: "us-east-1", Password: "pw-Xyzzy"},
		"SCRAM without password":     {SASLMechanism: kafka.SASLScramSHA512, Username: "u"},
		"unknown mechanism":          {SASLMechanism: "GSSAPI", Username: "u", Password: "pw-Xyzzy"},
		"password without mechanism": {Username: "u", Password: "pw-Xyzzy"},
		"CA file without TLS":        {CAFile: notPEM},
		"CA file without PEM":        {TLS: true, CAFile: notPEM},
		"missing CA file":            {TLS: true, CAFile: filepath.Join(dir, "missing.pem")},
		"cert without key":           {TLS: true, CertFile: notPEM},
	} {
		_, err := kafka.NewSecurity(context.Background(), cfg)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if cfg.Password != "" && strings.Contains(err.Error(), cfg.Password) {
			t.Errorf("%s: error shows the password: %v", name, err)
		}
	}
}
