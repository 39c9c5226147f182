package serve

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parley-im/parley/events"
)

func TestPublicError(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want events.Code
	}{
		{"catalog error keeps its code", fmt.Errorf("wrapped: %w", events.Errorf(events.CodeNotFound, "x")), events.CodeNotFound},
		{"postgres unavailable (postgres.IsUnavailable)", fmt.Errorf("insert: %w", &pgconn.PgError{Code: "57P01"}), events.CodeUnavailable},
		{"connection refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, events.CodeUnavailable},
		{"constraint violation is a bug", &pgconn.PgError{Code: "23505"}, events.CodeInternal},
		{"anything else", errors.New("boom"), events.CodeInternal},
	}
	for _, c := range cases {
		if got := PublicError(c.err).Code; got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
