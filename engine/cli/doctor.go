package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/otec-tools/sence-engine/engine/pipeline"
)

// cmdDoctor says whether the Moodle site is ready to report to SENCE
// (engine/doctor): 0 ready, 1 with findings, 3 when the check could not
// finish.
func cmdDoctor(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "doctor", "MAPEO.yaml")
	date := fs.String("date", "", "fecha de reporte `AAAA-MM-DD` con que se construyen los cursos (por omisión, hoy en America/Santiago)")
	asJSON := fs.Bool("json", false, "muestra la revisión en JSON")
	pos, code, done := fs.parseN(args, 1, 1)
	if done {
		return code
	}
	d, err := reportDate(e, *date)
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return ExitUsage
	}
	pl, ds := pipeline.Load(pos[0], e.LookupEnv)
	if pl == nil || ds.HasErrors() {
		ds.Print(e.Stdout)
		fmt.Fprintln(e.Stderr, "el mapeo tiene errores: corríjalos (engine validate) y vuelva a ejecutar engine doctor")
		return ExitProblems
	}
	bar := newProgress(e, isTerminal(e.Stderr), nil)
	rep, err := pipeline.Doctor(ctx, pl, d, e.Now, bar.build)
	bar.clear()
	if err != nil && pipeline.KindOf(err) == pipeline.Problems {
		fmt.Fprintf(e.Stdout, "La base de datos de Moodle no responde:\n  PROBLEMA  %v\n", err)
		return ExitProblems
	}
	if err != nil {
		fmt.Fprintf(e.Stderr, "engine doctor no pudo terminar la revisión: %v\n", err)
		return ExitFailed
	}
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		enc.Encode(rep)
	} else {
		rep.WriteText(e.Stdout)
	}
	if !rep.Ready() {
		return ExitProblems
	}
	return ExitOK
}
