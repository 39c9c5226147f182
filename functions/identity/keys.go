package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/functions/internal/sealing"
	"github.com/parley-im/parley/infra/postgres"
)

// keyLock serializes key creation and rotation across instances (pg_advisory_xact_lock).
const keyLock = 0x6b657973 // "keys"

// signingKey is one ES256 key of the issuer.
type signingKey struct {
	kid        string
	priv       *ecdsa.PrivateKey
	signer     jose.Signer
	activeFrom time.Time
	retireAt   *time.Time
}

// keyring holds the issuer's keys, loaded from PostgreSQL and refreshed periodically, so every
// instance signs with the same current key and publishes the same set.
type keyring struct {
	pool      *pgxpool.Pool
	kek       *sealing.Sealer // nil: private keys stored unencrypted
	accessTTL time.Duration
	delay     time.Duration

	mu       sync.RWMutex
	keys     []*signingKey // sorted by activeFrom, newest last
	loadedAt time.Time
}

func newKeyring(pool *pgxpool.Pool, secret []byte, accessTTL, delay time.Duration) (*keyring, error) {
	kek, err := sealing.New(secret)
	if err != nil {
		return nil, err
	}
	return &keyring{pool: pool, kek: kek, accessTTL: accessTTL, delay: delay}, nil
}

// ensure creates a first key, active at once, when no key can sign now.
func (kr *keyring) ensure(ctx context.Context) error {
	err := postgres.InTx(ctx, kr.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, keyLock); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM signing_keys
			WHERE active_from <= now() AND (retire_at IS NULL OR retire_at > now())`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		_, err := kr.insert(ctx, tx, 0)
		return err
	})
	if err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	return kr.load(ctx)
}

// rotate publishes a new key that starts signing after the publication delay, and schedules every
// older key for retirement once the last token it can still sign has expired.
func (kr *keyring) rotate(ctx context.Context) (kid string, activeFrom time.Time, err error) {
	err = postgres.InTx(ctx, kr.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, keyLock); err != nil {
			return err
		}
		k, err := kr.insert(ctx, tx, kr.delay)
		if err != nil {
			return err
		}
		kid, activeFrom = k.kid, k.activeFrom
		// A minute of slack covers clock skew between instances and verifiers.
		_, err = tx.Exec(ctx, `UPDATE signing_keys SET retire_at = $2
			WHERE kid <> $1 AND (retire_at IS NULL OR retire_at > $2)`, k.kid, k.activeFrom.Add(kr.accessTTL+time.Minute))
		return err
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("rotate keys: %w", err)
	}
	return kid, activeFrom, kr.load(ctx)
}

func (kr *keyring) insert(ctx context.Context, tx pgx.Tx, delay time.Duration) (*signingKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	kid := uuid.Must(uuid.NewV7()).String()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	stored, encrypted := der, false
	if kr.kek.Enabled() {
		if stored, err = kr.kek.Seal(der, []byte(kid)); err != nil {
			return nil, err
		}
		encrypted = true
	}
	pub, err := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"})
	if err != nil {
		return nil, err
	}
	var activeFrom time.Time
	err = tx.QueryRow(ctx, `INSERT INTO signing_keys (kid, alg, private_key, encrypted, public_jwk, active_from)
		VALUES ($1, 'ES256', $2, $3, $4, now() + $5::interval) RETURNING active_from`,
		kid, stored, encrypted, pub, delay.String()).Scan(&activeFrom)
	if err != nil {
		return nil, err
	}
	return &signingKey{kid: kid, priv: priv, activeFrom: activeFrom}, nil
}

// load reads every published key.
func (kr *keyring) load(ctx context.Context) error {
	rows, err := kr.pool.Query(ctx, `SELECT kid, private_key, encrypted, active_from, retire_at FROM signing_keys
		WHERE retire_at IS NULL OR retire_at > now() ORDER BY active_from, created_at`)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	defer rows.Close()
	var keys []*signingKey
	for rows.Next() {
		var (
			k         signingKey
			stored    []byte
			encrypted bool
		)
		if err := rows.Scan(&k.kid, &stored, &encrypted, &k.activeFrom, &k.retireAt); err != nil {
			return err
		}
		der := stored
		if encrypted {
			if der, err = kr.kek.Open(stored, []byte(k.kid)); err != nil {
				return fmt.Errorf("signing key %s: %w", k.kid, err)
			}
		}
		parsed, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return fmt.Errorf("signing key %s: %w", k.kid, err)
		}
		priv, ok := parsed.(*ecdsa.PrivateKey)
		if !ok {
			return fmt.Errorf("signing key %s is not ECDSA", k.kid)
		}
		k.priv = priv
		k.signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: priv},
			(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", k.kid))
		if err != nil {
			return err
		}
		keys = append(keys, &k)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	kr.mu.Lock()
	kr.keys, kr.loadedAt = keys, time.Now()
	kr.mu.Unlock()
	return nil
}

// refresh reloads the keys when the cache is older than maxAge (other instances may have rotated).
func (kr *keyring) refresh(ctx context.Context, maxAge time.Duration) {
	kr.mu.RLock()
	stale := time.Since(kr.loadedAt) > maxAge
	kr.mu.RUnlock()
	if stale {
		_ = kr.load(ctx) // keep the old set on error; the next call retries
	}
}

var errNoKey = errors.New("no active signing key")

// current is the newest key allowed to sign now.
func (kr *keyring) current(now time.Time) (*signingKey, error) {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	for i := len(kr.keys) - 1; i >= 0; i-- {
		k := kr.keys[i]
		if !k.activeFrom.After(now) && (k.retireAt == nil || k.retireAt.After(now)) {
			return k, nil
		}
	}
	return nil, errNoKey
}

// jwks is the published key set (pending, current and retiring keys).
func (kr *keyring) jwks(now time.Time) jose.JSONWebKeySet {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range kr.keys {
		if k.retireAt != nil && !k.retireAt.After(now) {
			continue
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.kid, Algorithm: string(jose.ES256), Use: "sig"})
	}
	return set
}

// accessClaims are the claims of an access token.
type accessClaims struct {
	jwt.Claims
	SessionID string `json:"sid"`
}

// sign mints an access token.
func (kr *keyring) sign(now time.Time, c accessClaims) (string, error) {
	k, err := kr.current(now)
	if err != nil {
		return "", err
	}
	return jwt.Signed(k.signer).Claims(c).Serialize()
}
