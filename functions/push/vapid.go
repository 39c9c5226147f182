package push

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-im/parley/functions/internal/sealing"
)

// vapidAAD binds the sealed VAPID key to its row.
var vapidAAD = []byte("push_vapid_keys/1")

// VAPIDKey is the application server's key pair (RFC 8292): the private key signs the VAPID JWTs,
// Public is what browsers subscribe with (applicationServerKey).
type VAPIDKey struct {
	Private *ecdsa.PrivateKey
	// Public is base64url without padding of the 65-byte uncompressed P-256 point.
	Public string
}

// LoadVAPIDKey returns the platform's VAPID key, generating and storing it (sealed by kek when
// set) if no process has yet. The INSERT ... ON CONFLICT DO NOTHING then SELECT makes concurrent
// first starts agree on one key.
func LoadVAPIDKey(ctx context.Context, pool *pgxpool.Pool, kek *sealing.Sealer) (VAPIDKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return VAPIDKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return VAPIDKey{}, err
	}
	stored := der
	if kek.Enabled() {
		if stored, err = kek.Seal(der, vapidAAD); err != nil {
			return VAPIDKey{}, err
		}
	}
	pub, err := publicPoint(&priv.PublicKey)
	if err != nil {
		return VAPIDKey{}, err
	}
	if _, err := pool.Exec(ctx, `INSERT INTO push_vapid_keys (id, private_key, encrypted, public_key) VALUES (1, $1, $2, $3)
		ON CONFLICT (id) DO NOTHING`, stored, kek.Enabled(), base64.RawURLEncoding.EncodeToString(pub)); err != nil {
		return VAPIDKey{}, fmt.Errorf("vapid key: %w", err)
	}
	var encrypted bool
	var public string
	if err := pool.QueryRow(ctx, `SELECT private_key, encrypted, public_key FROM push_vapid_keys WHERE id = 1`).
		Scan(&stored, &encrypted, &public); err != nil {
		return VAPIDKey{}, fmt.Errorf("vapid key: %w", err)
	}
	der = stored
	if encrypted {
		if der, err = kek.Open(stored, vapidAAD); err != nil {
			return VAPIDKey{}, fmt.Errorf("vapid key: %w", err)
		}
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return VAPIDKey{}, fmt.Errorf("vapid key: %w", err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return VAPIDKey{}, errors.New("vapid key: not a P-256 key")
	}
	return VAPIDKey{Private: key, Public: public}, nil
}

// publicPoint is the uncompressed SEC 1 encoding of a P-256 public key (0x04 || X || Y).
func publicPoint(pub *ecdsa.PublicKey) ([]byte, error) {
	k, err := pub.ECDH()
	if err != nil {
		return nil, err
	}
	return k.Bytes(), nil
}
