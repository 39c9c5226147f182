package ratelimit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/parley-im/parley/infra/ratelimit"
)

func newLimiter(t *testing.T) *ratelimit.Limiter {
	t.Helper()
	rdb := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis: %v", err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return ratelimit.New(rdb, "parley_t_"+hex.EncodeToString(b)+":")
}

func TestBurstThenRefuseWithRetryAfter(t *testing.T) {
	l := newLimiter(t)
	ctx := context.Background()
	lim := ratelimit.Limit{Rate: 5, Period: time.Minute, Burst: 5}
	for i := range 5 {
		r, err := l.Allow(ctx, "k", lim)
		if err != nil || !r.Allowed {
			t.Fatalf("request %d: %+v %v", i+1, r, err)
		}
		if r.Remaining != 4-i {
			t.Errorf("request %d: remaining %d, want %d", i+1, r.Remaining, 4-i)
		}
	}
	r, err := l.Allow(ctx, "k", lim)
	if err != nil || r.Allowed {
		t.Fatalf("6th: %+v %v", r, err)
	}
	if r.RetryAfter < 11*time.Second || r.RetryAfter > 12*time.Second {
		t.Errorf("retry after %v, want ~12s", r.RetryAfter)
	}
	if r, _ := l.Peek(ctx, "other", lim); !r.Allowed {
		t.Error("another key is limited")
	}
}

func TestPeekDoesNotSpend(t *testing.T) {
	l := newLimiter(t)
	ctx := context.Background()
	lim := ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: 1}
	for range 3 {
		if r, _ := l.Peek(ctx, "k", lim); !r.Allowed {
			t.Fatal("peek refused")
		}
	}
	if r, _ := l.Allow(ctx, "k", lim); !r.Allowed {
		t.Fatal("first allow refused")
	}
	if r, _ := l.Peek(ctx, "k", lim); r.Allowed {
		t.Fatal("peek allowed after budget spent")
	}
}

func TestRefill(t *testing.T) {
	l := newLimiter(t)
	ctx := context.Background()
	lim := ratelimit.Limit{Rate: 20, Period: time.Second, Burst: 1}
	if r, _ := l.Allow(ctx, "k", lim); !r.Allowed {
		t.Fatal("first refused")
	}
	if r, _ := l.Allow(ctx, "k", lim); r.Allowed {
		t.Fatal("second allowed at once")
	}
	time.Sleep(60 * time.Millisecond)
	if r, _ := l.Allow(ctx, "k", lim); !r.Allowed {
		t.Fatal("not refilled")
	}
}
