package pipeline

import (
	"sync"
	"time"
)

// BuildProgress is how far a build is: the batch of courses being read
// and built, the Moodle courses built, and the time left at the pace so
// far.
type BuildProgress struct {
	Batch, Batches int
	Done, Total    int
	// Left is the estimated time left; Estimated is false until a course
	// is built (there is no pace yet).
	Left      time.Duration
	Estimated bool
}

// buildTracker turns a build's batches and courses into BuildProgress.
// A course built in several sections counts once.
type buildTracker struct {
	mu    sync.Mutex
	now   func() time.Time
	tell  func(BuildProgress)
	start time.Time
	p     BuildProgress
	seen  map[string]bool
}

func newBuildTracker(now func() time.Time, tell func(BuildProgress)) *buildTracker {
	if now == nil {
		now = time.Now
	}
	t := &buildTracker{now: now, tell: tell, seen: map[string]bool{}}
	if tell != nil {
		t.start = now()
	}
	return t
}

// batch is assemble's OnBatch.
func (t *buildTracker) batch(n, batches, before, courses int) {
	if t.tell == nil {
		return
	}
	t.mu.Lock()
	t.p.Batch, t.p.Batches, t.p.Total = n, batches, courses
	t.p.Done = max(t.p.Done, before)
	p := t.estimate()
	t.mu.Unlock()
	t.tell(p)
}

// course counts a built course.
func (t *buildTracker) course(id string) {
	if t.tell == nil {
		return
	}
	t.mu.Lock()
	if !t.seen[id] {
		t.seen[id] = true
		t.p.Done++
	}
	p := t.estimate()
	t.mu.Unlock()
	t.tell(p)
}

// estimate is the progress with the time left at the pace so far.
func (t *buildTracker) estimate() BuildProgress {
	p := t.p
	if p.Total > 0 && p.Done > p.Total {
		p.Total = p.Done
	}
	if p.Done > 0 && p.Total >= p.Done {
		elapsed := t.now().Sub(t.start)
		p.Left = time.Duration(float64(elapsed) * float64(p.Total-p.Done) / float64(p.Done))
		p.Estimated = true
	}
	return p
}
