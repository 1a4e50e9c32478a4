package harness

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/bench/site"
	"github.com/otec-tools/sence-engine/engine/assemble"
)

// NightlyConfig is the benchmark of incremental dedication: two nights of
// engine run with dedication from the log, a fraction of new log events
// between them.
type NightlyConfig struct {
	RunConfig // Dedication is forced to log; Date is the first night
	Dir       string
	// NewEvents is the fraction of the log added before the second night
	// (0.01: one event in a hundred).
	NewEvents float64
	// Warmup runs the engine once, unmeasured, before the first night.
	Warmup  bool
	Command []string
}

// NightlyReport is the outcome: the first night (the whole log read and
// the sessions saved), the second (only the events since the watermark)
// and the second recomputed from the whole log, which must send the same.
type NightlyReport struct {
	Dialect    string   `json:"db"`
	LogRows    int64    `json:"logRows"`
	Added      int64    `json:"addedEvents"`
	First      *Measure `json:"firstNight"`
	Second     *Measure `json:"secondNight"`
	SecondFull *Measure `json:"secondNightFull"`
	Identical  bool     `json:"identical"`
	Difference string   `json:"difference,omitempty"`
}

// Nightly runs the benchmark. The events it adds are deleted afterwards,
// so the site stays as it was loaded.
func Nightly(ctx context.Context, cfg NightlyConfig, logf func(string, ...any)) (rep *NightlyReport, err error) {
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	cfg.Dedication = "log"
	day1, err := cfg.reportDate()
	if err != nil {
		return nil, err
	}
	day2 := day1.AddDate(0, 0, 1)
	db, err := site.Open(ctx, cfg.Dialect, cfg.DSN, false)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	table := cfg.Prefix + "logstore_standard_log"
	rep = &NightlyReport{Dialect: cfg.Dialect}
	var maxID int64
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0), COUNT(*) FROM "+table).Scan(&maxID, &rep.LogRows); err != nil {
		return nil, err
	}
	ledger := filepath.Join(cfg.Dir, "ledger.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(ledger + suffix)
	}
	defer func() {
		if _, derr := db.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("DELETE FROM %s WHERE id > %d", table, maxID)); derr != nil && err == nil {
			err = fmt.Errorf("no se pudieron borrar los eventos agregados: %w", derr)
		}
		if cfg.Dialect == "postgres" {
			db.ExecContext(context.WithoutCancel(ctx), "VACUUM ANALYZE "+table)
		}
	}()

	night := func(label string, date time.Time, withLedger bool, out string) (*Measure, error) {
		c := CompareConfig{RunConfig: cfg.RunConfig, Command: cfg.Command}
		c.Date = date.Format("2006-01-02")
		c.Ledger = ""
		if withLedger {
			c.Ledger = ledger
		}
		logf("%s", label)
		m, err := child(ctx, c, "engine", filepath.Join(cfg.Dir, out))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
		logf("  %.1f s, CPU %.1f s, memoria máxima %s, %d filas leídas, %d alumnos enviados", m.Wall, m.CPU, mib(m.MaxRSS), m.Rows, m.Sent)
		return m, nil
	}
	if cfg.Warmup {
		if _, err := night("precalentamiento (sin medir)", day1, false, "warmup.jsonl"); err != nil {
			return nil, err
		}
	}
	if rep.First, err = night("primera noche: todo el registro, guarda las sesiones", day1, true, "night1.jsonl"); err != nil {
		return nil, err
	}
	if rep.First.SessionsFull == 0 || rep.First.SessionsResumed != 0 {
		return nil, fmt.Errorf("la primera noche no recalculó desde el inicio (%d cursos desde la marca)", rep.First.SessionsResumed)
	}

	// New events: copies of one event in every 1/NewEvents, spread from
	// the first night's watermark to the time the second night reads.
	every := int64(math.Max(1, math.Round(1/cfg.NewEvents)))
	base := day1.Add(22*time.Hour - assemble.SessionMargin).Unix()
	span := day2.Add(22*time.Hour).Unix() - base
	cols, err := logColumns(ctx, db, table)
	if err != nil {
		return nil, err
	}
	list := strings.Join(cols, ", ")
	res, err := db.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (%s, timecreated) SELECT %s, %d + (id * 7919) %% %d FROM %s WHERE id %% %d = 0 AND id <= %d",
		table, list, list, base, span, table, every, maxID))
	if err != nil {
		return nil, fmt.Errorf("no se pudieron agregar eventos: %w", err)
	}
	rep.Added, _ = res.RowsAffected()
	logf("%d eventos nuevos (%.2f %% del registro) entre la marca de la primera noche y la segunda", rep.Added, 100*float64(rep.Added)/float64(rep.LogRows))

	if rep.Second, err = night("segunda noche: solo los eventos desde la marca", day2, true, "night2.jsonl"); err != nil {
		return nil, err
	}
	if rep.Second.SessionsFull != 0 {
		return nil, fmt.Errorf("la segunda noche recalculó %d cursos desde el inicio", rep.Second.SessionsFull)
	}
	if rep.SecondFull, err = night("segunda noche recalculada desde todo el registro (referencia)", day2, false, "night2-full.jsonl"); err != nil {
		return nil, err
	}
	rep.Identical = rep.Second.Digest == rep.SecondFull.Digest
	if !rep.Identical {
		d, err := firstDifference(filepath.Join(cfg.Dir, "night2-full.jsonl"), filepath.Join(cfg.Dir, "night2.jsonl"))
		if err != nil {
			return nil, err
		}
		rep.Difference = d
	}
	b, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(filepath.Join(cfg.Dir, "nightly.json"), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	return rep, nil
}

// logColumns are the log table's columns but id and timecreated.
func logColumns(ctx context.Context, db *sql.DB, table string) ([]string, error) {
	rows, err := db.QueryContext(ctx, "SELECT * FROM "+table+" WHERE 1 = 0")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	all, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range all {
		if c != "id" && c != "timecreated" {
			out = append(out, c)
		}
	}
	return out, nil
}

// Print writes the nightly comparison.
func (r *NightlyReport) Print(w io.Writer) {
	fmt.Fprintf(w, "registro: %d eventos; %d nuevos antes de la segunda noche (%.2f %%)\n", r.LogRows, r.Added, 100*float64(r.Added)/float64(r.LogRows))
	for _, row := range []struct {
		name string
		m    *Measure
	}{{"primera noche (todo el registro)", r.First}, {"segunda noche (incremental)", r.Second}, {"segunda noche (todo el registro)", r.SecondFull}} {
		fmt.Fprintf(w, "  %-34s %8.2f s  CPU %7.2f s  memoria %8s  %10d filas\n", row.name, row.m.Wall, row.m.CPU, mib(row.m.MaxRSS), row.m.Rows)
	}
	fmt.Fprintf(w, "segunda noche incremental / primera noche: tiempo %.3f (meta ≤ 0,2), CPU %.3f\n", r.Second.Wall/r.First.Wall, r.Second.CPU/r.First.CPU)
	fmt.Fprintf(w, "segunda noche incremental / recalculada: tiempo %.3f\n", r.Second.Wall/r.SecondFull.Wall)
	if r.Identical {
		fmt.Fprintf(w, "envíos de la segunda noche idénticos incremental y recalculada (SHA-256 %s)\n", r.Second.Digest)
	} else {
		fmt.Fprintf(w, "LOS ENVÍOS DIFIEREN: %s\n", r.Difference)
	}
}

func cmdNightly(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nightly", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg NightlyConfig
	runFlags(fs, &cfg.RunConfig)
	fs.StringVar(&cfg.Dir, "out", "bench-out/nightly", "carpeta para las salidas, el registro y nightly.json")
	fs.Float64Var(&cfg.NewEvents, "new-events", 0.01, "fracción del registro que se agrega antes de la segunda noche")
	fs.BoolVar(&cfg.Warmup, "warmup", false, "ejecuta el engine una vez sin medir antes de la primera noche")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if cfg.DSN == "" || cfg.NewEvents <= 0 || cfg.NewEvents > 1 {
		fmt.Fprintln(stderr, "faltan --dsn, o --new-events no está entre 0 y 1")
		return 2
	}
	rep, err := Nightly(ctx, cfg, logTo(stderr))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	rep.Print(stdout)
	if !rep.Identical {
		return 1
	}
	return 0
}
