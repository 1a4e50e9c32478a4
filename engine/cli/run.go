package cli

import (
	"context"
	"errors"
	"fmt"
	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/voice"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/otec-tools/sence-engine/engine/crashpoint"
	"github.com/otec-tools/sence-engine/engine/nightly"
	"github.com/otec-tools/sence-engine/engine/pipeline"
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
	pl, ds := pipeline.Load(path, e.LookupEnv)
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
	bar := newProgress(e, o.progress, o.log)
	no := pipeline.NightlyOptions{ReportDate: date, Courses: o.courses, Strict: o.strict, DryRun: o.dryRun,
		IgnoreWindow: o.ignoreWindow, WaitWindow: o.waitWindow, Seed: o.seed, Since: o.since, ResendChanged: o.resend,
		FullDedication: o.fullDedication, Log: o.log, Now: e.Now, Sleep: e.Sleep,
		OutsideWindow: func() { outsideWindow(e, m) },
		Waiting: func(opens time.Time) {
			fmt.Fprintf(e.Stderr, "envíos construidos; esperando la ventana de SENCE: el envío comienza el %s\n", voice.Clock(opens))
		},
		Seeded: func(since string, res nightly.SeedResult) {
			fmt.Fprintf(e.Stdout, "Historial de SENCE desde %s: %s; se registró lo que SENCE ya aceptó de %s (%s).\n\n",
				since, diag.Plural(res.Processes, "proceso", "procesos"), diag.Plural(res.Students, "alumno", "alumnos"), diag.Plural(res.Records, "registro", "registros"))
		},
		Simulated:    func() { fmt.Fprintln(e.Stdout, "(envío al simulador local de SENCE, no al servicio real)") },
		StrictFailed: func(sum *pipeline.Summary) { printSummary(e.Stdout, sum) },
	}
	no.Progress, no.BuildProgress = bar.send, bar.build
	rep, err := pipeline.Nightly(ctx, pl, no)
	bar.clear()
	if rep == nil {
		if errors.Is(err, pipeline.ErrStrict) {
			return ExitProblems
		}
		return exitOfFailure(e, err)
	}
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
	}
	rep.WriteText(e.Stdout)
	if rep.Path != "" {
		fmt.Fprintf(e.Stdout, "Informe: %s\n", rep.Path)
	}
	printPage(e, rep)
	return exitOf(rep)
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
