package cli

import (
	"context"
	"fmt"

	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/nightly"
	"github.com/otec-tools/sence-engine/engine/pipeline"
)

// cmdReport writes a run's HTML page or spreadsheet again from the ledger.
// Exit codes: 0 written, 2 wrong command line, 3 no ledger, no such run,
// its JSON report gone, or the file could not be written.
func cmdReport(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "report", "MAPEO.yaml")
	runID := fs.Int64("run", 0, "`número` de la ejecución (por omisión, la última que escribió su informe)")
	format := fs.String("format", "html", "`formato`: html (la página del informe) o csv (la planilla de alumnos, UTF-8 con BOM y «;»)")
	out := fs.String("out", "", "`archivo` donde escribirlo (por omisión, reports/run-N.html o .csv junto al registro; «-» la salida estándar)")
	pos, code, done := fs.parseN(args, 1, 1)
	if done {
		return code
	}
	if *runID < 0 {
		fmt.Fprintf(e.Stderr, "--run debe ser el número de una ejecución (engine status las lista); se obtuvo %d\n", *runID)
		return ExitUsage
	}
	// Only the ledger is read, as engine status does: no database
	// password or SENCE token needed.
	m, ds := mapping.Load(pos[0], mapping.Options{LookupEnv: e.LookupEnv, Unneeded: []string{"source.dsn", "sence.token", "sence.tokenFile"}})
	if m == nil {
		ds.Print(e.Stderr)
		fmt.Fprintln(e.Stderr, "no se pudo leer el mapeo: corríjalo (engine validate) para saber dónde está su registro")
		return ExitFailed
	}
	rep, path, err := pipeline.Report(ctx, m, pipeline.ReportOptions{Run: *runID, Format: *format, Out: *out, Stdout: e.Stdout})
	if err != nil {
		return exitOfFailure(e, err)
	}
	if path != "-" {
		what := "Informe"
		if *format == "csv" {
			what = "Planilla"
		}
		fmt.Fprintf(e.Stdout, "%s de la ejecución %d (fecha de reporte %s): %s\n", what, rep.RunID, rep.Night, path)
	}
	return ExitOK
}

// printPage says where a run's HTML page went, or why it is missing.
func printPage(e *Env, rep *nightly.Report) {
	switch {
	case rep.HTML != "":
		fmt.Fprintf(e.Stdout, "Informe: %s (la página para el coordinador: ábrala en un navegador)\n", rep.HTML)
	case rep.HTMLErr != nil:
		fmt.Fprintf(e.Stderr, "%v; vuelva a escribirlo con engine report\n", rep.HTMLErr)
	}
}
