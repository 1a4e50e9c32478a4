package cli

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/otec-tools/sence-engine/engine/cron"
	"github.com/otec-tools/sence-engine/engine/nightly"
	"github.com/otec-tools/sence-engine/engine/pipeline"
)

// cmdSchedule runs every mapping on its schedule until SIGINT or SIGTERM,
// then lets the runs in progress finish their current request and exits
// 0. Exit codes: 2 wrong command line, 3 a mapping or its schedule is
// wrong at start.
func cmdSchedule(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "schedule", "MAPEO.yaml...")
	logFormat := fs.String("log-format", "text", "`formato` del registro: text o json")
	ignoreWindow := fs.Bool("ignore-window", false, "las ejecuciones envían aunque sea fuera de la ventana de SENCE")
	pos, code, done := fs.parseN(args, 1, -1)
	if done {
		return code
	}
	log, err := newLogger(e.Stderr, *logFormat, false)
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return ExitUsage
	}
	var jobs []nightly.Job
	for _, path := range pos {
		pl, ds := pipeline.Load(path, e.LookupEnv)
		if pl == nil || ds.HasErrors() {
			ds.Print(e.Stderr)
			fmt.Fprintf(e.Stderr, "%s: el mapeo tiene errores: corríjalos (engine validate) antes de programarlo\n", path)
			return ExitFailed
		}
		expr := pl.Mapping.Run.Schedule
		if expr == "" {
			expr = nightly.DefaultSchedule
		}
		sched, err := cron.Parse(expr)
		if err != nil {
			fmt.Fprintf(e.Stderr, "%s: run.schedule: %v\n", path, err)
			return ExitFailed
		}
		jobLog := log.With("mapeo", filepath.Base(path))
		jobs = append(jobs, nightly.Job{Name: path, Schedule: sched, Run: func(ctx context.Context) int {
			// The report date is the night of the run: --date is not fixed.
			return runMapping(ctx, e, path, runOptions{ignoreWindow: *ignoreWindow, log: jobLog})
		}})
	}
	log.Info("programador iniciado", "mapeos", len(jobs), "zona", "America/Santiago")
	s := nightly.Scheduler{Jobs: jobs, Now: e.Now, Sleep: e.Sleep, Log: log}
	s.Serve(ctx)
	return ExitOK
}
