package pipeline

import (
	"testing"
	"time"
)

// TestBuildTrackerEstimates: the time left follows the pace so far, a
// course built in several sections counts once, and there is no estimate
// before the first course.
func TestBuildTrackerEstimates(t *testing.T) {
	now := time.Date(2026, 11, 20, 22, 0, 0, 0, time.UTC)
	var got []BuildProgress
	tr := newBuildTracker(func() time.Time { return now }, func(p BuildProgress) { got = append(got, p) })
	tr.batch(1, 4, 0, 200)
	now = now.Add(30 * time.Second)
	for i := range 50 {
		tr.course(string(rune('a'+i%26)) + string(rune('a'+i/26)))
	}
	tr.course("aa") // another section of a course already counted
	now = now.Add(30 * time.Second)
	tr.batch(2, 4, 50, 200)
	for _, tc := range []struct {
		i         int
		p         BuildProgress
		estimated bool
	}{
		{0, BuildProgress{Batch: 1, Batches: 4, Total: 200}, false},
		// 1 course in 30 s: 199 left at that pace.
		{1, BuildProgress{Batch: 1, Batches: 4, Done: 1, Total: 200, Left: 199 * 30 * time.Second}, true},
		// 50 courses in 30 s: 150 left, 90 s.
		{50, BuildProgress{Batch: 1, Batches: 4, Done: 50, Total: 200, Left: 90 * time.Second}, true},
		{51, BuildProgress{Batch: 1, Batches: 4, Done: 50, Total: 200, Left: 90 * time.Second}, true},
		// 50 courses in 60 s: 150 left, 180 s.
		{52, BuildProgress{Batch: 2, Batches: 4, Done: 50, Total: 200, Left: 180 * time.Second}, true},
	} {
		tc.p.Estimated = tc.estimated
		if got[tc.i] != tc.p {
			t.Errorf("call %d: %+v, want %+v", tc.i, got[tc.i], tc.p)
		}
	}
	if len(got) != 53 {
		t.Errorf("%d calls", len(got))
	}
	// Without a listener nothing is computed.
	quiet := newBuildTracker(nil, nil)
	quiet.batch(1, 1, 0, 1)
	quiet.course("x")
}
