package eventing

import "testing"

func TestOffsetTrackerCommitsOnlyContiguous(t *testing.T) {
	var tr offsetTracker
	for _, o := range []int64{10, 11, 13, 14} { // 12 absent: compaction or a transaction marker
		tr.add(o)
	}
	if _, ok := tr.finish(11); ok {
		t.Fatal("11 committed while 10 in flight")
	}
	if _, ok := tr.finish(14); ok {
		t.Fatal("14 committed while 10 in flight")
	}
	if up, ok := tr.finish(10); !ok || up != 11 {
		t.Fatalf("after 10: %d %v, want 11", up, ok)
	}
	if up, ok := tr.finish(13); !ok || up != 14 {
		t.Fatalf("after 13: %d %v, want 14", up, ok)
	}
}

func TestBackoff(t *testing.T) {
	exp := Delivery{BackoffDelay: 100}
	lin := Delivery{BackoffDelay: 100, Linear: true}
	for n, want := range map[int][2]int64{1: {100, 100}, 2: {200, 200}, 3: {400, 300}, 4: {800, 400}} {
		if got := exp.backoff(n); int64(got) != want[0] {
			t.Errorf("exponential %d = %d, want %d", n, got, want[0])
		}
		if got := lin.backoff(n); int64(got) != want[1] {
			t.Errorf("linear %d = %d, want %d", n, got, want[1])
		}
	}
}
