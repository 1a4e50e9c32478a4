package nightly

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/cron"
)

// DefaultSchedule is SENCE's recommendation: every night at 22:00,
// America/Santiago, the start of the send window.
const DefaultSchedule = "0 22 * * *"

// Job is what a scheduler runs: one mapping, on its schedule.
type Job struct {
	Name     string
	Schedule *cron.Schedule
	// Run runs the job once and returns its exit code.
	Run func(ctx context.Context) int
}

// Scheduler runs jobs on their schedules, evaluated in America/Santiago,
// until its context ends. A job never overlaps itself: the next time is
// computed when a run ends, and the times that passed meanwhile are
// skipped and logged. Different jobs run independently.
type Scheduler struct {
	Jobs []Job
	Now  func() time.Time
	// Sleep waits d or until ctx ends; tests replace it with a clock.
	Sleep func(ctx context.Context, d time.Duration) error
	Log   *slog.Logger
}

// maxNap bounds one wait, so that a changed system clock or a suspended
// machine is noticed within a minute.
const maxNap = time.Minute

// Serve runs until ctx ends and every job in progress has returned.
func (s *Scheduler) Serve(ctx context.Context) {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Sleep == nil {
		s.Sleep = Sleep
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	var wg sync.WaitGroup
	for _, j := range s.Jobs {
		wg.Go(func() { s.loop(ctx, j) })
	}
	wg.Wait()
	s.Log.Info("programador detenido")
}

func (s *Scheduler) loop(ctx context.Context, j Job) {
	log := s.Log.With("mapeo", j.Name, "horario", j.Schedule.String())
	for ctx.Err() == nil {
		next, ok := j.Schedule.Next(s.Now(), chile.Location)
		if !ok {
			log.Error("la expresión cron no se cumple en ninguna fecha: este mapeo no se ejecutará")
			return
		}
		log.Info("próxima ejecución", "a_las", next.In(chile.Location).Format("2006-01-02 15:04 MST"))
		if err := SleepUntil(ctx, next, s.Now, s.Sleep); err != nil {
			return
		}
		started := s.Now()
		log.Info("comienza la ejecución programada")
		code := j.Run(ctx)
		level := slog.LevelInfo
		if code != 0 {
			level = slog.LevelWarn
		}
		log.Log(ctx, level, "terminó la ejecución programada", "codigo_salida", code, "duracion", s.Now().Sub(started).Round(time.Second).String())
		if missed := s.missed(j, next, s.Now()); missed > 0 {
			log.Warn("se omitieron horarios porque la ejecución seguía en curso (las ejecuciones no se superponen)", "omitidos", missed)
		}
	}
}

// missed counts the scheduled times after last and up to now.
func (s *Scheduler) missed(j Job, last, now time.Time) int {
	n := 0
	for t, ok := j.Schedule.Next(last, chile.Location); ok && !t.After(now) && n < 1000; t, ok = j.Schedule.Next(t, chile.Location) {
		n++
	}
	return n
}

// Sleep waits d, or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// SleepUnless is a sleep for the SENCE client's retries that also ends
// when stop ends: a run told to stop finishes the request in flight but
// does not wait to retry it.
func SleepUnless(stop context.Context, sleep func(context.Context, time.Duration) error) func(ctx context.Context, d time.Duration) error {
	return func(ctx context.Context, d time.Duration) error {
		ctx, cancel := context.WithCancel(ctx)
		defer context.AfterFunc(stop, cancel)()
		defer cancel()
		err := sleep(ctx, d)
		if stop.Err() != nil {
			return stop.Err()
		}
		return err
	}
}

// SleepUntil waits until t by the clock now, or until ctx ends, in naps of
// at most a minute so that a changed system clock or a suspended machine
// is noticed.
func SleepUntil(ctx context.Context, t time.Time, now func() time.Time, sleep func(context.Context, time.Duration) error) error {
	for {
		d := t.Sub(now())
		if d <= 0 {
			return nil
		}
		if err := sleep(ctx, min(d, maxNap)); err != nil {
			return err
		}
	}
}
