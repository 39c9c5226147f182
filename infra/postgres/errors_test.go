package postgres_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parley-im/parley/infra/postgres"
)

func TestIsUnavailable(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"shutting down (admin), wrapped", fmt.Errorf("insert: %w", &pgconn.PgError{Code: "57P01"}), true},
		{"crash shutdown", &pgconn.PgError{Code: "57P02"}, true},
		{"cannot connect now", &pgconn.PgError{Code: "57P03"}, true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"connection exception", &pgconn.PgError{Code: "08006"}, true},
		{"connect error", &pgconn.ConnectError{}, true},
		{"unique violation is an answer", &pgconn.PgError{Code: "23505"}, false},
		{"serialization failure is an answer", &pgconn.PgError{Code: "40001"}, false},
		{"anything else", errors.New("boom"), false},
	}
	for _, c := range cases {
		if got := postgres.IsUnavailable(c.err); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
