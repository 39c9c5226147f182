package main

import (
	"strings"
	"testing"
	"time"
)

// Spans are taken per correlation id, only for messages seen at all three hops.
func TestReportJoinsByCorrelation(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	at := func(ms float64) time.Time { return t0.Add(time.Duration(ms * float64(time.Millisecond))) }
	cmds := map[string]stamp{"e/s/1": {built: at(0)}, "e/s/2": {built: at(100)}, "e/s/3": {built: at(200)}}
	facts := map[string]stamp{"e/s/1": {built: at(2), appended: at(5)}, "e/s/2": {built: at(104), appended: at(109)}}
	deliveries := map[string]stamp{"e/s/1": {appended: at(8)}, "e/s/2": {appended: at(115)}, "e/s/9": {appended: at(1)}}
	var b strings.Builder
	report(&b, cmds, facts, deliveries)
	out := b.String()
	for _, want := range []string{
		"2 messages seen at every hop (of 3 commands)",
		"(edge publish, dispatch, send) mean 3.00  p50 4.00",                     // 2 and 4 ms
		"(commit, relay publish)*       mean 4.00  p50 5.00",                     // 3 and 5 ms
		"(dispatch, fanout)      mean 4.50  p50 6.00",                            // 3 and 6 ms
		"(whole server side)*    mean 11.50  p50 15.00  p90 15.00  p99 15.00 ms", // 8 and 15 ms
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
