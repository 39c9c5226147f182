//go:build e2e

package e2e

// Fault tests (DESIGN section 7): faults injected into a running private platform while users
// converse, then the shared "nothing lost" check. Each test starts its own platform (the control
// listener on, pid files under its DATA_DIR/run) so killing children never disturbs other tests.
// See docs/configuration.md, "Fault injection".

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parley-im/parley/e2e/check"
)

// scenario is four users in one group, two devices per edge, sending over HTTP and WebSocket.
type scenario struct {
	us   []*user
	devs []*device
	conv string
	l    *check.Ledger
	tr   *traffic
}

// converse sets up the group and its devices and starts the traffic. sticky devices reconnect to
// the edge they started on only (so they exercise "the same edge after its restart").
func converse(t *testing.T, ctx context.Context, fp *faultPlatform, sticky map[int]bool) *scenario {
	t.Helper()
	sc := &scenario{l: check.NewLedger()}
	for range 4 {
		sc.us = append(sc.us, fp.newUser(t))
	}
	ids := []string{}
	for _, u := range sc.us[1:] {
		ids = append(ids, u.UserID())
	}
	conv, err := sc.us[0].CreateGroup(ctx, "fault "+randHex(3), ids)
	if err != nil {
		t.Fatalf("create group: %v", err)
	}
	sc.conv = conv.ID
	dctx, cancel := context.WithCancel(context.Background())
	for i, u := range sc.us {
		d := newDevice(u, fmt.Sprintf("u%d", i), fp.edges, i%len(fp.edges), sticky[i], sc.l)
		d.start(t, dctx)
		sc.devs = append(sc.devs, d)
	}
	t.Cleanup(func() {
		cancel()
		for _, d := range sc.devs {
			<-d.done
		}
	})
	sc.tr = startTraffic(ctx, sc.conv, sc.l, sc.devs, 80*time.Millisecond)
	return sc
}

// TestFault runs the faults that need only the platform: kill -9 of an edge, kill -9 of the
// functions process, a broker outage. They share one private platform, one after the other.
func TestFault(t *testing.T) {
	fp := startFaultPlatform(t)

	t.Run("EdgeKill", func(t *testing.T) {
		ctx := timeout(t, 60*time.Second)
		start := time.Now()
		// u0 and u2 start on edge-0: u0 fails over to edge-1, u2 waits for edge-0 to come back.
		sc := converse(t, ctx, fp, map[int]bool{2: true})
		sc.tr.awaitAcked(t, ctx, 30, "before the kill")
		old := fp.kill9(t, "edge-0", "socket-edge")
		killed := time.Now()
		back := fp.awaitRestart(t, ctx, "edge-0", old)
		t.Logf("edge-0 restarted and ready in %s", back.Round(time.Millisecond))
		// Both of edge-0's devices reconnected: u0 elsewhere, u2 to the restarted edge-0.
		for _, i := range []int{0, 2} {
			for {
				edge, conns := sc.devs[i].connectedTo()
				if conns >= 2 && edge >= 0 {
					t.Logf("%s reconnected to edge-%d %s after the kill", sc.devs[i].name, edge, time.Since(killed).Round(time.Millisecond))
					break
				}
				if !pollWait(ctx, 20*time.Millisecond) {
					t.Fatalf("%s did not reconnect: %s", sc.devs[i].name, sc.devs[i].summary())
				}
			}
		}
		sc.tr.awaitAcked(t, ctx, 30, "after the restart")
		sc.tr.finish(t)
		settle(t, ctx, sc.tr, sc.devs, sc.us)
		t.Logf("edge kill scenario took %s", time.Since(start).Round(time.Millisecond))
	})

	t.Run("FunctionsKill", func(t *testing.T) {
		ctx := timeout(t, 60*time.Second)
		start := time.Now()
		sc := converse(t, ctx, fp, nil)
		sc.tr.awaitAcked(t, ctx, 30, "before the kill")
		old := fp.kill9(t, "functions", "parley-functions")
		back := fp.awaitRestart(t, ctx, "functions", old)
		t.Logf("functions restarted and ready in %s", back.Round(time.Millisecond))
		sc.tr.awaitAcked(t, ctx, 30, "after the restart")
		sc.tr.finish(t)
		settle(t, ctx, sc.tr, sc.devs, sc.us)
		t.Logf("functions kill scenario took %s", time.Since(start).Round(time.Millisecond))
	})

	t.Run("BrokerOutage", func(t *testing.T) {
		ctx := timeout(t, 60*time.Second)
		start := time.Now()
		sc := converse(t, ctx, fp, nil)
		sc.tr.awaitAcked(t, ctx, 30, "before the outage")
		const outage = 12 * time.Second
		before := sc.l.AckedCount()
		open, err := fp.kafka(ctx)
		if err != nil || open.Connections == 0 {
			t.Fatalf("broker connections before the outage: %+v %v", open, err)
		}
		st := fp.kafkaOutage(t, ctx, outage)
		t.Logf("kafka outage: %d broker connections dropped, new ones refused until %s", open.Connections, st.Until.Format(time.RFC3339Nano))
		for {
			st, err := fp.kafka(ctx)
			if err == nil && !st.Outage {
				break
			}
			if !pollWait(ctx, 50*time.Millisecond) {
				t.Fatal("kafka outage does not end")
			}
		}
		t.Logf("%d messages acknowledged during the outage (%s)", sc.l.AckedCount()-before, sc.tr.st)
		sc.tr.awaitAcked(t, ctx, 30, "after the outage")
		sc.tr.finish(t)
		settle(t, ctx, sc.tr, sc.devs, sc.us)
		t.Logf("broker outage scenario took %s", time.Since(start).Round(time.Millisecond))
	})
}

// TestFaultPostgresRestart points a private platform at a private PostgreSQL and restarts it
// during traffic: `pg_ctl restart -m fast`, then a longer one (stop -m fast, held down until sends
// fail, start) so that sends really meet the outage.
func TestFaultPostgresRestart(t *testing.T) {
	pg := startPrivatePG(t)
	fp := startFaultPlatform(t, "DATABASE_URL="+pg.url("parley"), "KETO_DATABASE=parley_keto")
	ctx := timeout(t, 60*time.Second)
	start := time.Now()
	sc := converse(t, ctx, fp, nil)
	sc.tr.awaitAcked(t, ctx, 30, "before the restart")
	rs := time.Now()
	if err := pg.restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("PostgreSQL restarted (pg_ctl restart -m fast) in %s", time.Since(rs).Round(time.Millisecond))
	sc.tr.awaitAcked(t, ctx, 30, "after the restart")

	rs = time.Now()
	failed := sc.tr.st.failed("")
	if err := pg.stop(ctx); err != nil {
		t.Fatal(err)
	}
	// Held down until sends have met the outage (four failed attempts, or 3 s), then back.
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	for sc.tr.st.failed("") < failed+4 && pollWait(wctx, 20*time.Millisecond) {
	}
	cancel()
	if err := pg.start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("PostgreSQL down for %s (stop -m fast, start)", time.Since(rs).Round(time.Millisecond))
	sc.tr.awaitAcked(t, ctx, 30, "after the second restart")
	sc.tr.finish(t)
	settle(t, ctx, sc.tr, sc.devs, sc.us)
	// API.md: a dependency that is down is 503 unavailable, never 500 internal.
	if n := sc.tr.st.failed("http code internal"); n > 0 {
		t.Errorf("%d HTTP sends failed with 500 internal while PostgreSQL restarted; the contract is 503 unavailable", n)
	}
	t.Logf("postgres restart scenario took %s", time.Since(start).Round(time.Millisecond))
}

// TestFaultWSResendAnswered: docs/protocol.md says a send that got no result is re-sent with its
// original client_msg_id and the server de-duplicates. The re-send must be answered with the
// original message, over the socket as over HTTP.
func TestFaultWSResendAnswered(t *testing.T) {
	ctx := timeout(t, 30*time.Second)
	a, b := newUser(t), newUser(t)
	conv := group(t, a, b)
	conn := a.dial(t, 0)
	body := text("sent twice")
	first, err := conn.SendMessage(ctx, conv.ID, body)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	viaHTTP, err := a.SendMessage(ctx, conv.ID, body)
	if err != nil || viaHTTP.ID != first.ID {
		t.Fatalf("re-send over HTTP: %+v %v, first %s", viaHTTP, err, first.ID)
	}
	again, err := conn.SendMessage(ctx, conv.ID, body)
	if err != nil || again.ID != first.ID || again.Seq != first.Seq {
		t.Fatalf("re-send over the socket: %+v %v, want the original %s (seq %d)", again, err, first.ID, first.Seq)
	}
}
