package harness

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/otec-tools/sence-engine/bench/baseline"
	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/ledger"
	"github.com/otec-tools/sence-engine/engine/moodledb/demo"
	"github.com/otec-tools/sence-engine/engine/pipeline"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/sence/schema"
	"github.com/otec-tools/sence-engine/engine/source"
	moodledemo "github.com/otec-tools/sence-engine/examples/moodle-demo"
)

// Runners are the programs compared, in the order they run.
var Runners = []string{"engine", "handwritten", "perstudent"}

// RunConfig says what one run builds and where it writes.
type RunConfig struct {
	Runner     string
	Dialect    string // sqlite, postgres or mysql
	DSN        string
	Prefix     string
	Dedication string // block or log: the preset's dedicationSource
	BatchSize  int    // courses per batch; 0 keeps the preset's
	// Reference validates with gojsonschema (the reference validator)
	// instead of the native one.
	Reference bool
	// Workers is the engine's assemble.Options.Workers (0: one per CPU).
	Workers int
	Out     string // the payloads, one JSON line per course
	// Date is the report date, YYYY-MM-DD (default the demo's); the run
	// reads the log at 22:00 of that day.
	Date string
	// Ledger, for the engine, keeps the dedication sessions between runs
	// as engine run does (incremental dedication from the log).
	Ledger string
}

// reportDate is the run's report date.
func (cfg RunConfig) reportDate() (time.Time, error) {
	if cfg.Date == "" {
		return demo.DefaultReportDate, nil
	}
	d, err := time.ParseInLocation("2006-01-02", cfg.Date, chile.Location)
	if err != nil {
		return time.Time{}, fmt.Errorf("--date: %w", err)
	}
	return d, nil
}

// RunStats is what a run reports about itself; the parent process adds the
// operating system's figures.
type RunStats struct {
	Runner   string  `json:"runner"`
	Courses  int     `json:"courses"`
	Sent     int     `json:"sent"`     // students in payloads
	Excluded int     `json:"excluded"` // students left out with a problem
	Queries  int     `json:"queries"`
	Rows     int64   `json:"rows"`
	Seconds  float64 `json:"seconds"` // wall time inside the process
	// Validate and Write are the engine's time in validation and in
	// encoding and writing the payloads.
	Validate float64 `json:"validateSeconds"`
	Write    float64 `json:"writeSeconds"`
	// SessionsResumed and SessionsFull are the engine's courses of
	// sessions queries read from a saved watermark and from the start.
	SessionsResumed int    `json:"sessionsResumed,omitempty"`
	SessionsFull    int    `json:"sessionsFull,omitempty"`
	Digest          string `json:"digest"` // SHA-256 of the output
}

// Line is one course of a run's output.
type Line struct {
	Course       int64           `json:"course"`
	CodigoOferta string          `json:"codigoOferta"`
	Payload      *payload.Course `json:"payload"`
	Excluded     []int64         `json:"excluded"`
	Failed       bool            `json:"failed,omitempty"`
}

// Fixed authentication of every payload written: the output compares
// documents, not secrets.
const (
	rutOtec = "76543210-3"
	token   = payload.RedactedToken
)

// output writes lines and hashes them.
type output struct {
	f    *os.File
	w    *bufio.Writer
	h    io.Writer
	enc  *json.Encoder
	sum  func() string
	sent int
	excl int
	took time.Duration
}

func newOutput(path string) (*output, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	o := &output{f: f, w: bufio.NewWriterSize(f, 1<<20), h: h}
	o.enc = json.NewEncoder(io.MultiWriter(o.w, h))
	o.enc.SetEscapeHTML(false)
	o.sum = func() string { return hex.EncodeToString(h.Sum(nil)) }
	return o, nil
}

func (o *output) write(l *Line) error {
	start := time.Now()
	defer func() { o.took += time.Since(start) }()
	if l.Payload != nil {
		l.Payload.RutOtec, l.Payload.Token = rutOtec, token
		o.sent += len(l.Payload.ListaAlumnos)
	}
	if l.Excluded == nil {
		l.Excluded = []int64{}
	}
	o.excl += len(l.Excluded)
	return o.enc.Encode(l)
}

func (o *output) close() error {
	if err := o.w.Flush(); err != nil {
		o.f.Close()
		return err
	}
	return o.f.Close()
}

// Run builds every SENCE course of the site with one runner and writes
// the output.
func Run(ctx context.Context, cfg RunConfig) (*RunStats, error) {
	start := time.Now()
	pl, err := Plan(cfg)
	if err != nil {
		return nil, err
	}
	db, err := pipeline.Open(ctx, pl.Mapping) // read-only, as every command reads Moodle
	if err != nil {
		return nil, err
	}
	defer db.Close()
	v, err := schema.New()
	if err != nil {
		return nil, err
	}
	out, err := newOutput(cfg.Out)
	if err != nil {
		return nil, err
	}
	st := &RunStats{Runner: cfg.Runner}
	check := v.Check
	if cfg.Reference {
		check = v.CheckReference
	}
	switch cfg.Runner {
	case "engine":
		err = runEngine(ctx, db, pl, cfg, check, out, st)
	case "handwritten", "perstudent":
		err = runBaseline(ctx, db, pl, cfg, v, out, st)
	default:
		err = fmt.Errorf("ejecutor «%s» desconocido (use %v)", cfg.Runner, Runners)
	}
	if cerr := out.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	st.Sent, st.Excluded, st.Digest = out.sent, out.excl, out.sum()
	st.Write = out.took.Seconds()
	st.Seconds = time.Since(start).Seconds()
	return st, nil
}

// Plan compiles the demo's mapping (the standard preset with the demo's
// module codes) pointed at the site.
func Plan(cfg RunConfig) (*plan.Plan, error) {
	dir, err := os.MkdirTemp("", "sencebench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "demo.yaml"), moodledemo.Mapping, 0o600); err != nil {
		return nil, err
	}
	site := fmt.Sprintf("version: 1\nextends: demo.yaml\nsource:\n  driver: %s\n  dsn: %q\n  prefix: %s\n",
		cfg.Dialect, cfg.DSN, cfg.Prefix)
	if cfg.BatchSize > 0 {
		site += fmt.Sprintf("  batchSize: %d\n", cfg.BatchSize)
	}
	if cfg.Dedication != "" {
		site += fmt.Sprintf("params:\n  dedicationSource: %s\n", cfg.Dedication)
	}
	path := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(path, []byte(site), 0o600); err != nil {
		return nil, err
	}
	pl, ds := pipeline.Load(path, func(string) (string, bool) { return "", false })
	if pl == nil || ds.HasErrors() {
		return nil, fmt.Errorf("mapeo del benchmark: %s", ds.Error())
	}
	return pl, nil
}

// runEngine is the engine's own run, through the pipeline engine export
// and engine run take (pipeline.Build: extract, assemble, validate, course
// by course), each course written as it is built.
func runEngine(ctx context.Context, db *source.DB, pl *plan.Plan, cfg RunConfig, check func(*payload.Course) ([]schema.Problem, error), out *output, st *RunStats) error {
	var validate atomic.Int64 // nanoseconds, summed over the workers
	date, err := cfg.reportDate()
	if err != nil {
		return err
	}
	opts := pipeline.BuildOptions{
		ReportDate: date,
		Token:      token,
		Workers:    cfg.Workers,
		Now:        func() time.Time { return date.Add(22 * time.Hour) },
		Validate: func(c *payload.Course) ([]schema.Problem, error) {
			start := time.Now()
			defer func() { validate.Add(int64(time.Since(start))) }()
			return check(c)
		},
	}
	if cfg.Ledger != "" {
		led, err := ledger.Open(ctx, cfg.Ledger)
		if err != nil {
			return err
		}
		defer led.Close()
		opts.Sessions = led
	}
	b, err := pipeline.Build(ctx, db, pl, opts, func(r *assemble.CourseResult) error {
		id, err := strconv.ParseInt(r.CourseID, 10, 64)
		if err != nil {
			return err
		}
		l := &Line{Course: id, CodigoOferta: r.CodigoOferta, Payload: r.Payload, Failed: r.Err != nil}
		for _, x := range r.Excluded {
			u, err := strconv.ParseInt(x.UserID, 10, 64)
			if err != nil {
				return err
			}
			l.Excluded = append(l.Excluded, u)
		}
		slices.SortFunc(l.Excluded, cmp.Compare)
		return out.write(l)
	})
	if b != nil {
		stats := b.Stats
		st.Courses, st.Queries, st.Rows = stats.Courses, stats.Queries, int64(stats.Rows)
		st.SessionsResumed, st.SessionsFull = stats.SessionsResumed, stats.SessionsFull
	}
	st.Validate = time.Duration(validate.Load()).Seconds()
	return err
}

func runBaseline(ctx context.Context, db *source.DB, pl *plan.Plan, cfg RunConfig, v *schema.Validator, out *output, st *RunStats) error {
	params, err := baseline.ParamsOf(pl.Params)
	if err != nil {
		return err
	}
	date, err := cfg.reportDate()
	if err != nil {
		return err
	}
	o := &baseline.Options{
		Dialect: cfg.Dialect, Prefix: cfg.Prefix, ReportDate: date, Params: params,
		BatchSize: pl.Mapping.Source.BatchSize, Validator: v, RutOtec: rutOtec, Token: token,
	}
	if cfg.BatchSize > 0 {
		o.BatchSize = cfg.BatchSize
	}
	emit := func(r *baseline.Result) error {
		return out.write(&Line{Course: r.CourseID, CodigoOferta: r.CodigoOferta, Payload: r.Payload, Excluded: r.Excluded, Failed: r.Failed})
	}
	var bs baseline.Stats
	if cfg.Runner == "handwritten" {
		bs, err = baseline.SetBased(ctx, db, o, emit)
	} else {
		bs, err = baseline.PerStudent(ctx, db, o, emit)
	}
	st.Courses, st.Queries, st.Rows = bs.Courses, bs.Queries, bs.Rows
	return err
}
