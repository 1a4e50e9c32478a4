package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/crashpoint"
	"github.com/otec-tools/sence-engine/engine/ledger"
	"github.com/otec-tools/sence-engine/engine/nightly"
	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// runOptions are the flags of engine run, shared with engine schedule.
type runOptions struct {
	date         string
	courses      []string
	strict       bool
	dryRun       bool
	ignoreWindow bool
	waitWindow   bool
	seed         bool
	since        string
	resend       bool
	// fullDedication recomputes dedication from the whole log.
	fullDedication bool
	log            *slog.Logger
	progress       bool // draw a progress line on stderr (a terminal)
}

func cmdRun(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "run", "MAPEO.yaml")
	bf := addBuildFlags(fs.FlagSet)
	dry := fs.Bool("dry-run", false, "hace todo menos enviar: construye, valida y concilia, y escribe el informe")
	ignoreWindow := fs.Bool("ignore-window", false, "envía aunque sea fuera de la ventana de SENCE (22:00 a 00:00, hora de Chile)")
	waitWindow := fs.Bool("wait-window", false, "construye ahora y espera a que abra la ventana de SENCE para enviar")
	seed := fs.Bool("seed-from-history", false, "antes de conciliar, lee el historial de SENCE y registra lo que ya aceptó (para una primera ejecución cuando otra herramienta envió antes)")
	since := fs.String("since", "", "con --seed-from-history: leer el historial desde esta fecha `AAAA-MM-DD` (por omisión, un año antes de la fecha de reporte)")
	resend := fs.Bool("resend-changed", false, "vuelve a enviar los cursos que SENCE ya respondió esta noche si sus datos cambiaron (SENCE pide un solo envío al día)")
	fullDedication := fs.Bool("full-dedication", false, "recalcula la dedicación desde todo el registro de eventos de Moodle en vez de leer solo los eventos desde la ejecución anterior (tras borrar o corregir eventos antiguos)")
	logFormat := fs.String("log-format", "text", "`formato` del registro en stderr cuando no es una terminal: text o json")
	pos, code, done := fs.parseN(args, 1, 1)
	if done {
		return code
	}
	tty := isTerminal(e.Stderr)
	log, err := newLogger(e.Stderr, *logFormat, tty)
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return ExitUsage
	}
	return runMapping(ctx, e, pos[0], runOptions{date: *bf.date, courses: bf.courses, strict: *bf.strict, dryRun: *dry,
		ignoreWindow: *ignoreWindow, waitWindow: *waitWindow, seed: *seed, since: *since, resend: *resend, fullDedication: *fullDedication, log: log, progress: tty})
}

// newLogger logs to w: text or JSON lines, or only warnings when a
// progress line is drawn on a terminal.
func newLogger(w io.Writer, format string, terminal bool) (*slog.Logger, error) {
	level := slog.LevelInfo
	if terminal {
		level = slog.LevelWarn
	}
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format debe ser text o json; se obtuvo «%s»", format)
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// runMapping is one run of a mapping: the whole of engine run after the
// flags, and what engine schedule runs each time.
func runMapping(ctx context.Context, e *Env, path string, o runOptions) int {
	pl, ds := loadPlan(e, path)
	if pl == nil || ds.HasErrors() {
		ds.Print(e.Stderr)
		fmt.Fprintln(e.Stderr, "el mapeo tiene errores: corríjalos (engine validate) antes de continuar")
		return ExitFailed
	}
	m := pl.Mapping
	date, err := reportDate(e, o.date)
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return ExitUsage
	}
	if err := crashpoint.Arm(e.LookupEnv, e.Stderr); err != nil {
		fmt.Fprintln(e.Stderr, err)
		return ExitUsage
	}
	ledgerPath, err := filepath.Abs(ledger.DefaultPath(m.File, m.Run.Ledger))
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return ExitFailed
	}
	lock, err := ledger.AcquireLock(ledgerPath, e.Now())
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return ExitFailed
	}
	defer lock.Release()
	ledger, err := ledger.Open(ctx, ledgerPath)
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return ExitFailed
	}
	defer ledger.Close()

	var conn *senceConn
	if !o.dryRun || o.seed {
		conn, err = connect(ctx, e, pl, func(c *sence.Config) {
			c.Logger = o.log
			c.Sleep = nightly.SleepUnless(ctx, e.Sleep)
		})
		if err != nil {
			fmt.Fprintln(e.Stderr, err)
			return ExitFailed
		}
		defer conn.Close()
	}
	// Outside the window a real SENCE is not sent to; the in-process
	// simulator is exempt, so the demo works at any hour.
	window := nightly.NewWindow(m.Sence.Window)
	guarded := !o.dryRun && !conn.simulated && !o.ignoreWindow
	opens, closes := window.Bounds(e.Now())
	cfg := nightly.Config{Ledger: ledger, Mapping: m.File, Night: date.Format("2006-01-02"), Policy: m.Run.Policy,
		SkipUnchanged: m.Run.SkipUnchanged, Concurrency: m.Run.Concurrency, DryRun: o.dryRun, ResendChanged: o.resend,
		Now: e.Now, Log: o.log}
	if guarded {
		cfg.Deadline = closes
	}
	if !o.dryRun {
		cfg.Sender = conn.client
	}
	var bar *progressLine
	if o.progress {
		bar = &progressLine{w: e.Stderr}
		cfg.Progress = bar.show
	}
	sess, err := nightly.Start(ctx, cfg)
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return ExitFailed
	}
	finish := func(rep *nightly.Report) int {
		bar.clear()
		rep.WriteText(e.Stdout)
		if rep.Path != "" {
			fmt.Fprintf(e.Stdout, "Informe: %s\n", rep.Path)
		}
		return exitOf(rep)
	}
	if guarded && !o.waitWindow && !window.Contains(e.Now()) {
		windowCheck(e, conn, m, false)
		return finish(sess.Abort(ctx, fmt.Sprintf("fuera de la ventana de envío de SENCE (%s, hora de Chile): no se envió nada", window)))
	}

	bf := &buildFlags{date: &o.date, courses: o.courses, strict: &o.strict, sessions: ledger, recompute: o.fullDedication}
	b, code := buildAll(ctx, e, path, bf, payload.RedactedToken)
	results, stats := b.results, b.stats
	if stats.SessionsResumed+stats.SessionsFull > 0 {
		o.log.Info("dedicación desde el registro de eventos de Moodle",
			"cursos_desde_la_ejecucion_anterior", stats.SessionsResumed, "cursos_desde_el_inicio", stats.SessionsFull, "filas_leidas", stats.Rows)
	}
	if code == ExitUsage {
		sess.Abort(ctx, "--course no nombra ningún curso SENCE del mapeo (vea más arriba): no se envió nada")
		return ExitUsage
	}
	if code != ExitOK {
		return finish(sess.Abort(ctx, "no se pudieron construir los envíos desde Moodle (vea los errores más arriba): no se envió nada"))
	}
	if o.strict {
		if sum := summarize(b, o.date, e); sum.Excluded > 0 || sum.Failed > 0 {
			printSummary(e.Stdout, sum)
			sess.Abort(ctx, "--strict: hay alumnos excluidos o cursos con error; no se envió nada")
			return ExitProblems
		}
	}
	if guarded && o.waitWindow && e.Now().Before(opens) {
		fmt.Fprintf(e.Stderr, "envíos construidos; esperando la ventana de SENCE: el envío comienza a las %s (hora de Chile)\n", opens.In(chile.Location).Format("15:04 del 2006-01-02"))
		o.log.Info("esperando la ventana de envío de SENCE", "abre", opens.Format(time.RFC3339))
		if err := nightly.SleepUntil(ctx, opens, e.Now, e.Sleep); err != nil {
			return finish(sess.Abort(ctx, "la ejecución se detuvo mientras esperaba la ventana de envío: no se envió nada"))
		}
	}
	if o.seed {
		since := o.since
		if since == "" {
			since = date.AddDate(-1, 0, 0).Format("2006-01-02")
		}
		res, err := nightly.Seed(ctx, ledger, conn.client, since)
		if err != nil {
			return finish(sess.Abort(ctx, "no se pudo leer el historial de SENCE para registrar lo ya aceptado: "+err.Error()))
		}
		fmt.Fprintf(e.Stdout, "Historial de SENCE desde %s: %d procesos; se registró lo que SENCE ya aceptó de %d alumnos (%d registros).\n\n",
			since, res.Processes, res.Students, res.Records)
	}
	if conn != nil && conn.simulated && !o.dryRun {
		fmt.Fprintln(e.Stdout, "(envío al simulador local de SENCE, no al servicio real)")
	}
	sess.Unselected(b.unselected)
	sess.WhenNothing(whyNothing(b, len(b.unselected) > 0))
	return finish(sess.Execute(ctx, results))
}

// exitOf is the exit code of a run: 0 all accepted, 1 students rejected,
// excluded or held, 3 work left undone (the next run finishes it).
func exitOf(rep *nightly.Report) int {
	switch rep.Outcome {
	case nightly.OutcomeOK:
		return ExitOK
	case nightly.OutcomeProblems:
		return ExitProblems
	}
	return ExitFailed
}

// progressLine draws one line on a terminal: courses and students done
// and the courses being sent.
type progressLine struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *progressLine) show(pr nightly.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := fmt.Sprintf("%d/%d cursos, %d/%d alumnos", pr.CoursesDone, pr.Courses, pr.StudentsDone, pr.Students)
	if len(pr.Current) > 0 {
		line += " · enviando " + strings.Join(pr.Current, ", ")
	}
	fmt.Fprintf(p.w, "\r\033[K%s", line)
}

func (p *progressLine) clear() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, "\r\033[K")
}
