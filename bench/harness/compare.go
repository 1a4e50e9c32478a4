package harness

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Measure is one run of one runner as the operating system saw it.
type Measure struct {
	RunStats
	Wall   float64 `json:"wallSeconds"`
	CPU    float64 `json:"cpuSeconds"` // user + system
	MaxRSS int64   `json:"maxRSSBytes"`
}

// Report is the outcome of a comparison.
type Report struct {
	Dialect    string `json:"db"`
	Dedication string `json:"dedication"`
	BatchSize  int    `json:"batchSize"`
	// Runs is each runner's median run by wall time; Rounds all of them.
	Runs       map[string]*Measure   `json:"runs"`
	Rounds     map[string][]*Measure `json:"rounds"`
	Identical  bool                  `json:"identical"`
	Difference string                `json:"difference,omitempty"`
}

// CompareConfig says what to compare.
type CompareConfig struct {
	RunConfig          // Runner and Out are set per child
	Runners   []string // in this order
	Dir       string   // outputs and report.json
	// Warmup runs the set-based baseline once, unmeasured, so that no
	// runner pays for a cold cache alone.
	Warmup bool
	// Rounds runs every runner this many times, in turns; the report
	// keeps each one's median (a shared machine has noisy neighbours).
	Rounds int
	// Command starts a child that understands "run"; default this
	// program (sencebench).
	Command []string
}

// Compare runs each runner in its own process, measures it, and checks
// that all wrote the same payloads.
func Compare(ctx context.Context, cfg CompareConfig, logf func(string, ...any)) (*Report, error) {
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	rep := &Report{Dialect: cfg.Dialect, Dedication: cmpOr(cfg.Dedication, "block"), BatchSize: cfg.BatchSize,
		Runs: map[string]*Measure{}, Rounds: map[string][]*Measure{}}
	if cfg.Warmup {
		logf("precalentamiento (handwritten, sin medir)")
		if _, err := child(ctx, cfg, "handwritten", filepath.Join(cfg.Dir, "warmup.jsonl")); err != nil {
			return nil, err
		}
	}
	rep.Identical = true
	for round := range max(cfg.Rounds, 1) {
		for _, r := range cfg.Runners {
			logf("ejecutando %s (ronda %d)", r, round+1)
			m, err := child(ctx, cfg, r, filepath.Join(cfg.Dir, r+".jsonl"))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r, err)
			}
			logf("  %s: %.1f s, CPU %.1f s, memoria máxima %s, %d alumnos enviados, %d excluidos", r, m.Wall, m.CPU, mib(m.MaxRSS), m.Sent, m.Excluded)
			if prev := rep.Rounds[r]; len(prev) > 0 && prev[0].Digest != m.Digest {
				rep.Identical = false
				rep.Difference += fmt.Sprintf("%s: la ronda %d dio otros envíos que la primera\n", r, round+1)
			}
			rep.Rounds[r] = append(rep.Rounds[r], m)
		}
	}
	for r, ms := range rep.Rounds {
		sorted := slices.Clone(ms)
		slices.SortFunc(sorted, func(a, b *Measure) int { return cmp.Compare(a.Wall, b.Wall) })
		rep.Runs[r] = sorted[(len(sorted)-1)/2]
	}
	first := cfg.Runners[0]
	for _, r := range cfg.Runners[1:] {
		if rep.Runs[r].Digest != rep.Runs[first].Digest {
			rep.Identical = false
			d, err := firstDifference(filepath.Join(cfg.Dir, first+".jsonl"), filepath.Join(cfg.Dir, r+".jsonl"))
			if err != nil {
				return nil, err
			}
			rep.Difference += fmt.Sprintf("%s ≠ %s: %s\n", r, first, d)
		}
	}
	b, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(filepath.Join(cfg.Dir, "report.json"), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	return rep, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// child runs one runner in a new process and reads its figures.
func child(ctx context.Context, cfg CompareConfig, runner, out string) (*Measure, error) {
	command := cfg.Command
	if len(command) == 0 {
		var err error
		if command, err = self(); err != nil {
			return nil, err
		}
	}
	args := append([]string{}, command[1:]...)
	args = append(args, "run", "--runner", runner, "--db", cfg.Dialect, "--dsn", cfg.DSN, "--prefix", cfg.Prefix,
		"--out", out, "--batch", strconv.Itoa(cfg.BatchSize))
	if cfg.Dedication != "" {
		args = append(args, "--dedication", cfg.Dedication)
	}
	if cfg.Reference {
		args = append(args, "--reference")
	}
	if cfg.Workers > 0 {
		args = append(args, "--workers", strconv.Itoa(cfg.Workers))
	}
	if cfg.Date != "" {
		args = append(args, "--date", cfg.Date)
	}
	if cfg.Ledger != "" && runner == "engine" {
		args = append(args, "--ledger", cfg.Ledger)
	}
	cmd := exec.CommandContext(ctx, command[0], args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	m := &Measure{Wall: wall.Seconds()}
	if err := json.Unmarshal(lastLine(stdout.Bytes()), &m.RunStats); err != nil {
		return nil, fmt.Errorf("figures of the child: %w (%q)", err, stdout.String())
	}
	m.CPU, m.MaxRSS = usage(cmd.ProcessState)
	return m, nil
}

func lastLine(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

// firstDifference names the first course whose line differs.
func firstDifference(a, b string) (string, error) {
	fa, err := os.Open(a)
	if err != nil {
		return "", err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return "", err
	}
	defer fb.Close()
	ra, rb := bufio.NewReaderSize(fa, 1<<20), bufio.NewReaderSize(fb, 1<<20)
	for n := 1; ; n++ {
		la, ea := ra.ReadBytes('\n')
		lb, eb := rb.ReadBytes('\n')
		if !bytes.Equal(la, lb) {
			return describeDiff(n, la, lb), nil
		}
		if ea != nil || eb != nil {
			if errors.Is(ea, io.EOF) && errors.Is(eb, io.EOF) {
				return "mismo contenido", nil
			}
			return fmt.Sprintf("línea %d: uno de los archivos termina antes", n), nil
		}
	}
}

// describeDiff shows where two course lines part.
func describeDiff(n int, a, b []byte) string {
	var la, lb Line
	json.Unmarshal(a, &la)
	json.Unmarshal(b, &lb)
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(i-80, 0)
	return fmt.Sprintf("curso %d (línea %d), desde el byte %d:\n  %s\n  %s", la.Course, n, i,
		clip(a[from:], 240), clip(b[from:], 240))
}

func clip(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

// Print writes the comparison as a table with the ratios to the engine.
func (r *Report) Print(w io.Writer, runners []string) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "ejecutor\ttiempo (s)\tCPU (s)\tmemoria máx.\tconsultas\tfilas leídas\talumnos enviados\texcluidos\t")
	for _, name := range runners {
		m := r.Runs[name]
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%s\t%d\t%d\t%d\t%d\t\n", name, m.Wall, m.CPU, mib(m.MaxRSS), m.Queries, m.Rows, m.Sent, m.Excluded)
	}
	tw.Flush()
	if n := len(r.Rounds[runners[0]]); n > 1 {
		fmt.Fprintf(w, "(mediana de %d rondas; tiempos de cada ronda:", n)
		for _, name := range runners {
			fmt.Fprintf(w, " %s", name)
			for _, m := range r.Rounds[name] {
				fmt.Fprintf(w, " %.1f", m.Wall)
			}
			fmt.Fprint(w, ";")
		}
		fmt.Fprintln(w, ")")
	}
	if e, ok := r.Runs["engine"]; ok {
		for _, name := range runners {
			if name == "engine" {
				continue
			}
			m := r.Runs[name]
			fmt.Fprintf(w, "engine / %s: tiempo %.2f×, CPU %.2f×, memoria %.2f×\n", name, e.Wall/m.Wall, e.CPU/m.CPU, float64(e.MaxRSS)/float64(m.MaxRSS))
		}
		fmt.Fprintf(w, "validación en el engine: %.2f s, %.1f %% de su tiempo; escritura de los JSON: %.2f s\n", e.Validate, 100*e.Validate/e.Wall, e.Write)
	}
	if r.Identical {
		fmt.Fprintf(w, "envíos idénticos en los %d ejecutores (SHA-256 %s)\n", len(runners), r.Runs[runners[0]].Digest)
	} else {
		fmt.Fprintf(w, "LOS ENVÍOS DIFIEREN:\n%s", r.Difference)
	}
}
