package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/otec-tools/sence-engine/engine/ledger"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/nightly"
	"github.com/otec-tools/sence-engine/engine/outfile"
	"github.com/otec-tools/sence-engine/engine/report"
	"github.com/otec-tools/sence-engine/engine/spill"
)

// RunPage is the HTML page of a run's JSON report: reports/run-N.html.
func RunPage(jsonPath string) string {
	return strings.TrimSuffix(jsonPath, filepath.Ext(jsonPath)) + ".html"
}

// writeRunPage writes the run's HTML page beside its JSON report, for the
// coordinator; a failure is kept in the report to be said, and logged.
func writeRunPage(ctx context.Context, led *ledger.Ledger, rep *nightly.Report, sp *spill.File, log *slog.Logger) {
	if rep == nil || rep.Path == "" {
		return
	}
	path := RunPage(rep.Path)
	m, err := report.FromRunSpilled(context.WithoutCancel(ctx), led, rep, sp)
	if err == nil {
		err = outfile.WriteAtomicFunc(path, m.WriteHTML)
	}
	if err != nil {
		rep.HTMLErr = fmt.Errorf("no se pudo escribir el informe HTML %s: %w", path, err)
		log.Error("no se pudo escribir el informe HTML", "archivo", path, "error", err.Error())
		return
	}
	rep.HTML = path
}

// ReportOptions are the options of engine report.
type ReportOptions struct {
	// Run is the run's number; 0 is the last run with a report.
	Run int64
	// Format is html or csv.
	Format string
	// Out is the file to write; "" is beside the run's JSON report
	// (reports/run-N.html or .csv), "-" is Stdout.
	Out    string
	Stdout io.Writer
}

// ErrNoLedger: the mapping has never run, so there is nothing to report.
var ErrNoLedger = errors.New("todavía no hay registro")

// Report writes a run's page or spreadsheet again from the ledger and the
// run's JSON report, and returns the run and where it went ("-" for
// Stdout). Only the ledger is read, without its lock: it works during a
// run.
func Report(ctx context.Context, m *mapping.Mapping, o ReportOptions) (*nightly.Report, string, error) {
	if o.Format != "html" && o.Format != "csv" {
		return nil, "", failf(Usage, "--format debe ser html o csv; se obtuvo «%s»", o.Format)
	}
	path, err := filepath.Abs(ledger.DefaultPath(m.File, m.Run.Ledger))
	if err != nil {
		return nil, "", fail(Failed, err)
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, "", fail(Failed, fmt.Errorf("%w (%s): este mapeo aún no se ha ejecutado con engine run, así que no hay informe que escribir", ErrNoLedger, path))
	}
	led, err := ledger.Open(ctx, path)
	if err != nil {
		return nil, "", fail(Failed, err)
	}
	defer led.Close()
	// The students, course by course, until the page is written: beside
	// the ledger, named as a run's spool (a crash leaves it for the next
	// run to remove). Where the ledger's folder cannot be written, they
	// stay in memory, as before.
	sp, err := spill.New(filepath.Dir(path), spoolPrefix+"page-")
	if err != nil {
		sp = nil
	}
	defer sp.Remove()
	model, rep, err := report.LoadRun(ctx, led, o.Run, sp)
	if err != nil {
		return nil, "", fail(Failed, err)
	}
	write := model.WriteHTML
	if o.Format == "csv" {
		write = model.WriteCSV
	}
	out := o.Out
	switch out {
	case "-":
		return rep, out, write(o.Stdout)
	case "":
		out = strings.TrimSuffix(rep.Path, filepath.Ext(rep.Path)) + "." + o.Format
	}
	if err := outfile.WriteAtomicFunc(out, write); err != nil {
		return rep, "", fail(Failed, err)
	}
	return rep, out, nil
}
