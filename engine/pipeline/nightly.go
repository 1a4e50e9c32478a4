package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/ledger"
	"github.com/otec-tools/sence-engine/engine/nightly"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/source"
	"github.com/otec-tools/sence-engine/engine/spill"
)

// NightlyOptions are the options of one nightly run (engine run, and each
// run of engine schedule).
type NightlyOptions struct {
	ReportDate time.Time
	Courses    []string
	// Strict sends nothing when a student is excluded or a course fails:
	// the run builds every course into a spool first.
	Strict bool
	DryRun bool
	// IgnoreWindow sends outside SENCE's window; WaitWindow builds now
	// (into a spool) and sends when the window opens.
	IgnoreWindow, WaitWindow bool
	// Seed reads SENCE's history since Since (default a year before the
	// report date) and records what it accepted, before reconciling.
	Seed  bool
	Since string
	// ResendChanged sends again a course answered tonight whose data
	// changed; FullDedication reads the whole log.
	ResendChanged, FullDedication bool
	Log                           *slog.Logger
	Now                           func() time.Time
	Sleep                         func(ctx context.Context, d time.Duration) error
	// Progress is told how far the sends are, BuildProgress how far the
	// build is (reading Moodle, building courses).
	Progress      func(nightly.Progress)
	BuildProgress func(BuildProgress)
	// Told what the run does as it goes, for the person who started it;
	// nil ignores.
	OutsideWindow func()                                   // nothing sent: outside the window
	Waiting       func(opens time.Time)                    // built; waiting for the window
	Seeded        func(since string, r nightly.SeedResult) // SENCE's history recorded
	Simulated     func()                                   // sending to the in-process simulator
	StrictFailed  func(*Summary)                           // --strict found problems: nothing sent
}

// Nightly is one nightly run of a loaded mapping: under the ledger's lock
// it builds the courses and hands each one to engine/nightly to be
// reconciled with what SENCE accepted, sent through the outbox and
// recorded, while the next ones are built (a bounded number in flight).
// With --strict, or --wait-window before the window opens, the courses
// are built first into a spool beside the ledger (owner-only, no token,
// removed on every exit path) and sent from it.
//
// The report is nil when it is not to be shown: the run could not start,
// --course names nothing (Usage) or --strict found problems (ErrStrict).
// A report with an error is a run whose build failed: the error says why.
func Nightly(ctx context.Context, pl *plan.Plan, o NightlyOptions) (*nightly.Report, error) {
	m := pl.Mapping
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	ledgerPath, err := filepath.Abs(ledger.DefaultPath(m.File, m.Run.Ledger))
	if err != nil {
		return nil, fail(Failed, err)
	}
	lock, err := ledger.AcquireLock(ledgerPath, o.Now())
	if err != nil {
		return nil, fail(Failed, err)
	}
	defer lock.Release()
	led, err := ledger.Open(ctx, ledgerPath)
	if err != nil {
		return nil, fail(Failed, err)
	}
	defer led.Close()
	removeSpools(filepath.Dir(ledgerPath))

	var conn *Conn
	if !o.DryRun || o.Seed {
		conn, err = Connect(ctx, pl, o.Now, func(c *sence.Config) {
			c.Logger = o.Log
			c.Sleep = nightly.SleepUnless(ctx, o.Sleep)
		})
		if err != nil {
			return nil, fail(Failed, err)
		}
		defer conn.Close()
	}
	// The students of every course done, until run-N.json and its page
	// are written: beside the ledger, removed with the spools.
	sp, err := spill.New(filepath.Dir(ledgerPath), spoolPrefix+"report-")
	if err != nil {
		return nil, fail(Failed, fmt.Errorf("no se puede escribir en %s: %v", filepath.Dir(ledgerPath), err))
	}
	defer sp.Remove()
	r := &run{pl: pl, o: o, led: led, conn: conn, dir: filepath.Dir(ledgerPath), spill: sp}
	rep, err := r.run(ctx)
	writeRunPage(ctx, led, rep, sp, o.Log)
	return rep, err
}

// run is a nightly run in progress.
type run struct {
	pl   *plan.Plan
	o    NightlyOptions
	led  *ledger.Ledger
	conn *Conn
	dir  string // the ledger's folder, where the spool goes
	sess *nightly.Session
	// spill takes the report's students course by course
	spill *spill.File
}

func (r *run) run(ctx context.Context) (*nightly.Report, error) {
	m, o := r.pl.Mapping, r.o
	// Outside the window a real SENCE is not sent to; the in-process
	// simulator is exempt, so the demo works at any hour.
	window := nightly.NewWindow(m.Sence.Window)
	guarded := !o.DryRun && !r.conn.Simulated && !o.IgnoreWindow
	opens, closes := window.Bounds(o.Now())
	cfg := nightly.Config{Ledger: r.led, Mapping: m.File, Night: o.ReportDate.Format("2006-01-02"), Policy: m.Run.Policy,
		SkipUnchanged: m.Run.SkipUnchanged, Concurrency: m.Run.Concurrency, DryRun: o.DryRun, ResendChanged: o.ResendChanged,
		Now: o.Now, Log: o.Log, Progress: o.Progress, Spill: r.spill}
	if guarded {
		cfg.Deadline = closes
	}
	if !o.DryRun {
		cfg.Sender = r.conn.Client
	}
	sess, err := nightly.Start(ctx, cfg)
	if err != nil {
		return nil, fail(Failed, err)
	}
	r.sess = sess
	if guarded && !o.WaitWindow && !window.Contains(o.Now()) {
		tell(o.OutsideWindow)
		return sess.Abort(ctx, fmt.Sprintf("fuera de la ventana de envío de SENCE (%s, hora de Chile): no se envió nada", window)), nil
	}
	db, err := Open(ctx, m)
	if err != nil {
		return sess.Abort(ctx, buildFailed), fail(Failed, err)
	}
	build := BuildOptions{ReportDate: o.ReportDate, Courses: o.Courses, Token: payload.RedactedToken, Sessions: r.led,
		Recompute: o.FullDedication, Now: o.Now, Progress: o.BuildProgress}
	if o.Strict || (guarded && o.WaitWindow && o.Now().Before(opens)) {
		return r.spooled(ctx, db, build, guarded && o.WaitWindow, opens)
	}
	defer db.Close()
	if rep := r.beforeSending(ctx); rep != nil {
		return rep, nil
	}
	return r.stream(ctx, func(yield func(*assemble.CourseResult) error) (*Built, error) {
		return Build(ctx, db, r.pl, build, yield)
	})
}

const buildFailed = "no se pudieron construir los envíos desde Moodle (vea los errores más arriba): no se envió nada"

// spooled builds every course into the spool, then decides --strict,
// waits for the window and sends from the spool.
func (r *run) spooled(ctx context.Context, db *source.DB, build BuildOptions, wait bool, opens time.Time) (*nightly.Report, error) {
	o := r.o
	sp, err := newSpool(r.dir)
	if err != nil {
		db.Close()
		return r.sess.Abort(ctx, buildFailed), fail(Failed, err)
	}
	defer sp.remove()
	b, err := Build(ctx, db, r.pl, build, sp.add)
	db.Close() // Moodle is not read again tonight
	r.logDedication(b)
	if err != nil {
		return r.buildFailed(ctx, err)
	}
	if err := sp.finish(); err != nil {
		return r.sess.Abort(ctx, buildFailed), fail(Failed, err)
	}
	if o.Strict && !b.Summary.Clean() {
		if o.StrictFailed != nil {
			o.StrictFailed(b.Summary)
		}
		r.sess.Abort(ctx, "--strict: hay alumnos excluidos o cursos con error; no se envió nada")
		return nil, fail(Problems, ErrStrict)
	}
	if wait && o.Now().Before(opens) {
		if o.Waiting != nil {
			o.Waiting(opens)
		}
		o.Log.Info("esperando la ventana de envío de SENCE", "abre", opens.Format(time.RFC3339))
		if err := nightly.SleepUntil(ctx, opens, o.Now, o.Sleep); err != nil {
			return r.sess.Abort(ctx, "la ejecución se detuvo mientras esperaba la ventana de envío: no se envió nada"), nil
		}
	}
	if rep := r.beforeSending(ctx); rep != nil {
		return rep, nil
	}
	return r.stream(ctx, func(yield func(*assemble.CourseResult) error) (*Built, error) {
		return b, sp.replay(yield)
	})
}

// beforeSending seeds the ledger from SENCE's history when asked; a
// report when the run ends there.
func (r *run) beforeSending(ctx context.Context) *nightly.Report {
	o := r.o
	if o.Seed {
		since := o.Since
		if since == "" {
			since = o.ReportDate.AddDate(-1, 0, 0).Format("2006-01-02")
		}
		res, err := nightly.Seed(ctx, r.led, r.conn.Client, since)
		if err != nil {
			return r.sess.Abort(ctx, "no se pudo leer el historial de SENCE para registrar lo ya aceptado: "+err.Error())
		}
		if o.Seeded != nil {
			o.Seeded(since, res)
		}
	}
	if r.conn != nil && r.conn.Simulated && !o.DryRun {
		tell(o.Simulated)
	}
	return nil
}

// stream hands the courses build yields to the session as they come.
func (r *run) stream(ctx context.Context, build func(yield func(*assemble.CourseResult) error) (*Built, error)) (*nightly.Report, error) {
	rep, err := r.sess.Stream(ctx, func(yield func(*assemble.CourseResult) error) error {
		b, err := build(yield)
		if b != nil {
			r.logDedication(b)
			r.sess.Unselected(b.Summary.Unselected)
			r.sess.WhenNothing(b.WhyNothing())
		}
		return err
	})
	if rep == nil {
		return r.buildFailed(ctx, err)
	}
	return rep, err
}

// buildFailed ends a run whose build failed before any course was sent.
func (r *run) buildFailed(ctx context.Context, err error) (*nightly.Report, error) {
	if KindOf(err) == Usage {
		r.sess.Abort(ctx, "--course no nombra ningún curso SENCE del mapeo (vea más arriba): no se envió nada")
		return nil, err
	}
	return r.sess.Abort(ctx, buildFailed), err
}

func (r *run) logDedication(b *Built) {
	if b == nil {
		return
	}
	if st := b.Stats; st.SessionsResumed+st.SessionsFull > 0 {
		r.o.Log.Info("dedicación desde el registro de eventos de Moodle",
			"cursos_desde_la_ejecucion_anterior", st.SessionsResumed, "cursos_desde_el_inicio", st.SessionsFull, "filas_leidas", st.Rows)
	}
}

func tell(f func()) {
	if f != nil {
		f()
	}
}
