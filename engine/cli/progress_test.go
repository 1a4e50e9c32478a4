package cli

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/nightly"
	"github.com/otec-tools/sence-engine/engine/pipeline"
)

func TestProgressLines(t *testing.T) {
	for _, tc := range []struct {
		p    pipeline.BuildProgress
		want string
	}{
		{pipeline.BuildProgress{}, "Leyendo Moodle…"},
		{pipeline.BuildProgress{Batch: 1, Batches: 8, Total: 200}, "Leyendo Moodle: lote 1 de 8 (0 de 200 cursos)…"},
		{pipeline.BuildProgress{Batch: 3, Batches: 8, Done: 150, Total: 200, Left: 70 * time.Second, Estimated: true}, "Leyendo Moodle: lote 3 de 8 (150 de 200 cursos)… quedan ~1 min"},
		{pipeline.BuildProgress{Batch: 1, Batches: 1, Done: 0, Total: 1, Left: 0, Estimated: false}, "Leyendo Moodle: lote 1 de 1 (0 de 1 curso)…"},
		{pipeline.BuildProgress{Batch: 8, Batches: 8, Done: 200, Total: 200, Estimated: true}, "Leyendo Moodle: lote 8 de 8 (200 de 200 cursos)…"},
	} {
		if got := buildLine(tc.p); got != tc.want {
			t.Errorf("buildLine(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
	if got := sendLine(nightly.Progress{Courses: 4, CoursesDone: 1, Students: 73, StudentsDone: 23, Current: []string{"CAP-1", "CAP-2"}}); got != "Enviando a SENCE: 1 de 4 cursos, 23 de 73 alumnos · enviando CAP-1, CAP-2" {
		t.Errorf("sendLine: %q", got)
	}
}

// fakeNow is a clock the test moves.
type fakeNow struct{ t time.Time }

func (f *fakeNow) now() time.Time { return f.t }

// TestProgressOnTerminal: a terminal gets the line redrawn at every
// change and cleared at the end.
func TestProgressOnTerminal(t *testing.T) {
	var b bytes.Buffer
	clock := &fakeNow{time.Date(2026, 11, 20, 22, 0, 0, 0, time.UTC)}
	p := newProgress(&Env{Stderr: &b, Now: clock.now}, true, nil)
	p.build(pipeline.BuildProgress{Batch: 1, Batches: 2, Total: 4})
	p.send(nightly.Progress{Courses: 4, CoursesDone: 1, Students: 73, StudentsDone: 23, Current: []string{"CAP-1"}})
	p.clear()
	want := "\r\033[KLeyendo Moodle: lote 1 de 2 (0 de 4 cursos)…" + "\r\033[KEnviando a SENCE: 1 de 4 cursos, 23 de 73 alumnos · enviando CAP-1" + "\r\033[K"
	if b.String() != want {
		t.Fatalf("%q\nwant %q", b.String(), want)
	}
}

// TestProgressInLog: without a terminal, a line every progressEvery and
// none before (short work prints nothing), as text on stderr or through
// the run's log in its format.
func TestProgressInLog(t *testing.T) {
	start := time.Date(2026, 11, 20, 22, 0, 0, 0, time.UTC)
	steps := []time.Duration{0, 5 * time.Second, 14 * time.Second, 15 * time.Second, 20 * time.Second, 29 * time.Second, 30 * time.Second, 31 * time.Second, 50 * time.Second}
	drive := func(p *progress, clock *fakeNow) {
		for i, d := range steps {
			clock.t = start.Add(d)
			p.build(pipeline.BuildProgress{Batch: 1 + i/3, Batches: 3, Done: i, Total: 9, Left: 2 * time.Minute, Estimated: i > 0})
		}
		p.clear()
	}
	// Text: lines at 15 s (i=3), 30 s (i=6) and 50 s (i=8).
	var b bytes.Buffer
	clock := &fakeNow{start}
	drive(newProgress(&Env{Stderr: &b, Now: clock.now}, false, nil), clock)
	want := "progreso: Leyendo Moodle: lote 2 de 3 (3 de 9 cursos)… quedan ~2 min\n" +
		"progreso: Leyendo Moodle: lote 3 de 3 (6 de 9 cursos)… quedan ~2 min\n" +
		"progreso: Leyendo Moodle: lote 3 de 3 (8 de 9 cursos)… quedan ~2 min\n"
	if b.String() != want {
		t.Fatalf("text:\n%s\nwant\n%s", b.String(), want)
	}
	// JSON log (engine run --log-format json).
	b.Reset()
	clock.t = start
	log, _ := newLogger(&b, "json", false)
	drive(newProgress(&Env{Stderr: &b, Now: clock.now}, false, log), clock)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d log lines:\n%s", len(lines), b.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["msg"] != "Leyendo Moodle: lote 3 de 3 (6 de 9 cursos)… quedan ~2 min" || rec["level"] != slog.LevelInfo.String() ||
		rec["fase"] != "lectura" || rec["lote"] != 3.0 || rec["cursos"] != 6.0 || rec["total"] != 9.0 || rec["quedan"] != "~2 min" {
		t.Errorf("log line: %v", rec)
	}
}

// ticking is a clock that moves 4 s each time it is read: a long export.
type ticking struct{ t time.Time }

func (c *ticking) now() time.Time { c.t = c.t.Add(4 * time.Second); return c.t }

// TestExportProgressWithoutTerminal: an export of the demo in batches of
// two courses on a slow clock says how far it is on stderr, batch by
// batch, and nothing on stdout.
func TestExportProgressWithoutTerminal(t *testing.T) {
	dd := demoDir(t)
	mapping := site(t, dd, "site.yaml", "source:\n  batchSize: 2\n")
	clock := &ticking{time.Date(2026, 11, 20, 22, 0, 0, 0, time.UTC)}
	var out, errb bytes.Buffer
	code := RunEnv(t.Context(), []string{"export", mapping, "--date", "2026-11-20"}, &Env{Stdout: &out, Stderr: &errb,
		LookupEnv: func(string) (string, bool) { return "", false }, Now: clock.now})
	if code != ExitProblems {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "progreso: Leyendo Moodle: lote 2 de 3 (") || !strings.Contains(errb.String(), " de 6 cursos)… quedan ") ||
		strings.Contains(out.String(), "progreso") {
		t.Errorf("stderr:\n%s", errb.String())
	}
}
