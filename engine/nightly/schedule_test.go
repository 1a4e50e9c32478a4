package nightly

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/cron"
)

// fakeClock is a clock that moves only when someone sleeps or works.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

func TestSchedulerRunsNightlyWithoutOverlap(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 20, 15, 0, 0, 0, chile.Location)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var starts []time.Time
	running := false
	var logs bytes.Buffer
	s := Scheduler{Now: clock.Now, Sleep: clock.Sleep, Log: slog.New(slog.NewJSONHandler(&logs, nil)),
		Jobs: []Job{{Name: "mapeo.yaml", Schedule: mustCron(t, "0 22 * * *"), Run: func(ctx context.Context) int {
			if running {
				t.Error("overlapping runs")
			}
			running = true
			defer func() { running = false }()
			starts = append(starts, clock.Now())
			clock.Advance(40 * time.Minute)
			if len(starts) == 3 {
				cancel() // SIGTERM during the third run
			}
			return 1
		}}}}
	s.Serve(ctx)
	want := []time.Time{
		time.Date(2026, 11, 20, 22, 0, 0, 0, chile.Location),
		time.Date(2026, 11, 21, 22, 0, 0, 0, chile.Location),
		time.Date(2026, 11, 22, 22, 0, 0, 0, chile.Location),
	}
	if len(starts) != 3 {
		t.Fatalf("runs at %v", starts)
	}
	for i := range want {
		if !starts[i].Equal(want[i]) {
			t.Errorf("run %d at %s, want %s", i, starts[i], want[i])
		}
	}
	for _, w := range []string{`"msg":"próxima ejecución"`, `"a_las":"2026-11-20 22:00 -03"`, `"codigo_salida":1`, `"msg":"programador detenido"`} {
		if !strings.Contains(logs.String(), w) {
			t.Errorf("log lacks %s:\n%s", w, logs.String())
		}
	}
}

// TestSchedulerSkipsTimesDuringARun: times that pass while a run is still
// going are skipped, not queued.
func TestSchedulerSkipsTimesDuringARun(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 20, 21, 55, 0, 0, chile.Location)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var starts []string
	var logs bytes.Buffer
	s := Scheduler{Now: clock.Now, Sleep: clock.Sleep, Log: slog.New(slog.NewTextHandler(&logs, nil)),
		Jobs: []Job{{Name: "m", Schedule: mustCron(t, "*/10 22 * * *"), Run: func(ctx context.Context) int {
			starts = append(starts, clock.Now().Format("15:04"))
			clock.Advance(25 * time.Minute)
			if len(starts) == 2 {
				cancel()
			}
			return 0
		}}}}
	s.Serve(ctx)
	if strings.Join(starts, " ") != "22:00 22:30" {
		t.Fatalf("starts %v", starts)
	}
	if !strings.Contains(logs.String(), "omitidos=2") {
		t.Errorf("skipped times not logged:\n%s", logs.String())
	}
}

func TestSchedulerStopsWhileWaiting(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s := Scheduler{Jobs: []Job{{Name: "m", Schedule: mustCron(t, "0 22 * * *"), Run: func(context.Context) int {
		t.Error("ran")
		return 0
	}}}, Now: func() time.Time { return time.Date(2026, 11, 20, 15, 0, 0, 0, chile.Location) }}
	go func() { s.Serve(ctx); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

func mustCron(t *testing.T, expr string) *cron.Schedule {
	s, err := cron.Parse(expr)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
