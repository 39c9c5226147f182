package run

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/parley-im/parley/load/internal/api"
)

// User is a load user ready to connect.
type User struct {
	ID       string `json:"id"`
	Token    string `json:"token"`
	Username string `json:"username"`
}

// Progress reports a phase's advance (nil: silent). main prints it only on a terminal.
type Progress func(phase string, done, total int)

// Username is the load user's name: load_<run>_<i>. (API.md usernames are [a-z0-9_.], so the
// load-<run>-<i> of the plan is spelled with underscores.)
func Username(run string, i int) string { return fmt.Sprintf("load_%s_%d", run, i) }

// SetupUsers registers (or logs in) n users with bounded concurrency. Any failure fails the setup:
// a load figure measured with fewer users than asked would be a different figure.
func SetupUsers(ctx context.Context, h *api.HTTP, c Common, n int, progress Progress) ([]User, error) {
	users := make([]User, n)
	var next, done atomic.Int64
	var firstErr error
	var once sync.Once
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range min(c.SetupConcurrency, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				name := Username(c.RunID, i)
				a, err := h.RegisterOrLogin(ctx, name, c.Password)
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("user %s: %w", name, err); cancel() })
					return
				}
				users[i] = User{ID: a.User.ID, Token: a.Tokens.AccessToken, Username: name}
				if d := int(done.Add(1)); progress != nil {
					progress("users", d, n)
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return users, ctx.Err()
}

// SetupGroup creates a group owned by owner holding members (owner excluded from the list), in chunks
// that respect API.md's 1,000 members at creation.
func SetupGroup(ctx context.Context, h *api.HTTP, owner User, title string, members []User) (string, error) {
	const chunk = 999
	ids := make([]string, 0, len(members))
	for _, m := range members {
		if m.ID != owner.ID {
			ids = append(ids, m.ID)
		}
	}
	first := ids[:min(chunk, len(ids))]
	conv, err := h.CreateGroup(ctx, owner.Token, title, first)
	if err != nil {
		return "", fmt.Errorf("create group %q: %w", title, err)
	}
	for rest := ids[len(first):]; len(rest) > 0; {
		n := min(1000, len(rest))
		if err := h.AddMembers(ctx, owner.Token, conv.ID, rest[:n]); err != nil {
			return "", fmt.Errorf("add members to %q: %w", title, err)
		}
		rest = rest[n:]
	}
	return conv.ID, nil
}
