package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	mskiam "github.com/segmentio/kafka-go/sasl/aws_msk_iam_v2"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// SASL mechanisms SecurityConfig.SASLMechanism accepts (Kafka's names).
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
	// SASLAWSMSKIAM signs each connection with AWS SigV4 from the SDK's default credential chain
	// (IRSA / pod identity on EKS, the instance role, AWS_* variables); MSK's IAM listener (9098).
	SASLAWSMSKIAM = "AWS_MSK_IAM"
)

// SecurityConfig is how Parley reaches a managed Kafka: TLS (system roots or a CA file, optional
// client certificate for mTLS) and SASL. The zero value is plaintext without authentication, what
// the local platform's in-process broker speaks. A main fills it (see EnvSecurity) and resolves it
// once with NewSecurity.
type SecurityConfig struct {
	// TLS encrypts every connection to the brokers.
	TLS bool
	// CAFile is a PEM bundle of the CAs that sign the brokers' certificates; empty = system roots
	// (MSK, Confluent Cloud and Aiven's public CAs are there).
	CAFile string
	// ServerName overrides the name checked in the brokers' certificates; empty = the host dialled.
	ServerName string
	// CertFile/KeyFile: a client certificate for mutual TLS (both or neither).
	CertFile, KeyFile string

	// SASLMechanism is empty (none), PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or AWS_MSK_IAM.
	SASLMechanism string
	// Username/Password for PLAIN and SCRAM.
	Username, Password string
	// AWSRegion of the MSK cluster for AWS_MSK_IAM; empty = the SDK's (AWS_REGION).
	AWSRegion string
	// AWSCredentials overrides the SDK's default credential chain (tests); nil = the chain.
	AWSCredentials aws.CredentialsProvider
}

// Security is a resolved SecurityConfig: the TLS configuration and the SASL mechanism every Writer,
// Consumer (its group coordinator and partition readers) and admin call of a process share. The zero
// value is plaintext.
type Security struct {
	tls  *tls.Config
	mech sasl.Mechanism
}

// NewSecurity checks cfg and loads what it names: the CA bundle, the client key pair, and for
// AWS_MSK_IAM the SDK's configuration (region and credential chain; credentials themselves are
// fetched lazily, at each connection's handshake). A password is never part of an error.
func NewSecurity(ctx context.Context, cfg SecurityConfig) (Security, error) {
	var s Security
	if cfg.TLS {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.ServerName}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return Security{}, fmt.Errorf("kafka TLS CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return Security{}, fmt.Errorf("kafka TLS CA file %s: no PEM certificate in it", cfg.CAFile)
			}
			tc.RootCAs = pool
		}
		if (cfg.CertFile == "") != (cfg.KeyFile == "") {
			return Security{}, errors.New("kafka TLS: give both a client certificate and its key, or neither")
		}
		if cfg.CertFile != "" {
			kp, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
			if err != nil {
				return Security{}, fmt.Errorf("kafka TLS client certificate: %w", err)
			}
			tc.Certificates = []tls.Certificate{kp}
		}
		s.tls = tc
	} else if cfg.CAFile != "" || cfg.CertFile != "" || cfg.ServerName != "" {
		return Security{}, errors.New("kafka: TLS settings given but TLS is off (set KAFKA_TLS=true)")
	}

	mech := strings.ToUpper(strings.TrimSpace(cfg.SASLMechanism))
	switch mech {
	case "":
		if cfg.Username != "" || cfg.Password != "" {
			return Security{}, errors.New("kafka: SASL username/password given without a SASL mechanism")
		}
	case SASLPlain:
		if !cfg.TLS {
			// PLAIN sends the password as it is: never over a plaintext connection.
			return Security{}, errors.New("kafka SASL PLAIN needs TLS (it sends the password in clear)")
		}
		if cfg.Username == "" || cfg.Password == "" {
			return Security{}, errors.New("kafka SASL PLAIN: username and password are required")
		}
		s.mech = plain.Mechanism{Username: cfg.Username, Password: cfg.Password}
	case SASLScramSHA256, SASLScramSHA512:
		if cfg.Username == "" || cfg.Password == "" {
			return Security{}, fmt.Errorf("kafka SASL %s: username and password are required", mech)
		}
		algo := scram.SHA512
		if mech == SASLScramSHA256 {
			algo = scram.SHA256
		}
		m, err := scram.Mechanism(algo, cfg.Username, cfg.Password)
		if err != nil {
			return Security{}, fmt.Errorf("kafka SASL %s: %w", mech, err)
		}
		s.mech = m
	case SASLAWSMSKIAM:
		if !cfg.TLS {
			return Security{}, errors.New("kafka AWS_MSK_IAM needs TLS (MSK's IAM listener is TLS only)")
		}
		if cfg.Username != "" || cfg.Password != "" {
			return Security{}, errors.New("kafka AWS_MSK_IAM takes no username/password: credentials come from the AWS default chain")
		}
		var opts []func(*awsconfig.LoadOptions) error
		if cfg.AWSRegion != "" {
			opts = append(opts, awsconfig.WithRegion(cfg.AWSRegion))
		}
		if cfg.AWSCredentials != nil {
			opts = append(opts, awsconfig.WithCredentialsProvider(cfg.AWSCredentials))
		}
		ac, err := awsconfig.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return Security{}, fmt.Errorf("kafka AWS_MSK_IAM: AWS config: %w", err)
		}
		if ac.Region == "" {
			return Security{}, errors.New("kafka AWS_MSK_IAM: no AWS region (set KAFKA_AWS_REGION or AWS_REGION)")
		}
		s.mech = mskiam.NewMechanism(ac)
	default:
		return Security{}, fmt.Errorf("kafka: unknown SASL mechanism %q (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or AWS_MSK_IAM)",
			cfg.SASLMechanism)
	}
	return s, nil
}

// String says what s does, for start-up logs (never a secret).
func (s Security) String() string {
	t := "plaintext"
	if s.tls != nil {
		t = "tls"
	}
	if s.mech == nil {
		return t
	}
	return t + "+sasl/" + s.mech.Name()
}

// dialer is the kafka-go Dialer for group coordination, partition readers and admin connections.
func (s Security) dialer() *kafka.Dialer {
	return &kafka.Dialer{
		Timeout:       10 * time.Second,
		DualStack:     true,
		TLS:           s.tlsConfig(),
		SASLMechanism: s.mech,
	}
}

// transport is the kafka-go Transport of a Writer.
func (s Security) transport() *kafka.Transport {
	return &kafka.Transport{
		DialTimeout: 10 * time.Second,
		TLS:         s.tlsConfig(),
		SASL:        s.mech,
	}
}

// tlsConfig is a copy per use: kafka-go fills in ServerName per broker on its copy.
func (s Security) tlsConfig() *tls.Config {
	if s.tls == nil {
		return nil
	}
	return s.tls.Clone()
}

// Cluster is what the admin calls (EnsureTopics, Partitions) need: where the brokers are and how to
// reach them.
type Cluster struct {
	Brokers  []string
	Security Security
}
