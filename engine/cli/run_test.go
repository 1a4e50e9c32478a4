package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/ledger"
	"github.com/otec-tools/sence-engine/engine/nightly"
	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/simulator"
)

// testClock is an Env.Now that tests move.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(h, m int) *testClock {
	return &testClock{t: time.Date(2026, 11, 20, h, m, 0, 0, chile.Location)}
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return nil
}

type cmdResult struct {
	code           int
	stdout, stderr string
}

func runCmd(ctx context.Context, c *testClock, args ...string) cmdResult {
	return runCmdEnv(ctx, c, nil, args...)
}

// runCmdEnv is runCmd with the environment adjusted by set (its Sleep).
func runCmdEnv(ctx context.Context, c *testClock, set func(*Env), args ...string) cmdResult {
	var out, errb bytes.Buffer
	e := &Env{Stdout: &out, Stderr: &errb, LookupEnv: func(string) (string, bool) { return "", false }, Now: c.Now}
	if set != nil {
		set(e)
	}
	code := RunEnv(ctx, args, e)
	return cmdResult{code, out.String(), errb.String()}
}

// noWait makes the SENCE client retry at once (and any other wait end).
func noWait(e *Env) {
	e.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
}

// realMapping points the demo at a simulator over HTTP, as if it were the
// real SENCE (no in-process exemption from the window).
func realMapping(t *testing.T, baseURL string) string {
	t.Helper()
	dd := demoDir(t)
	p := filepath.Join(t.TempDir(), "otec.yaml")
	text := "version: 1\nextends: " + filepath.Join(dd, "mapping.yaml") +
		"\nsence:\n  simulator: null\n  baseUrl: " + baseURL + "\nrun:\n  ledger: state/ledger.db\n"
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func startSimulator(t *testing.T) *simulator.Server {
	t.Helper()
	srv, err := simulator.Start(context.Background(), "127.0.0.1:0", simulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func readReport(t *testing.T, path string) nightly.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r nightly.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func simProcesses(t *testing.T, statePath string) []sence.Process {
	t.Helper()
	b, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Processes []sence.Process `json:"processes"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st.Processes
}

// TestRunDemo: the demo mapping (in-process simulator) run twice the same
// night, then engine status.
func TestRunDemo(t *testing.T) {
	dd := demoDir(t)
	ctx := context.Background()
	clock := newClock(22, 30)
	mapping := filepath.Join(dd, "mapping.yaml")
	r := runCmd(ctx, clock, "run", mapping, "--date", "2026-11-20")
	// The demo plants broken students: excluded and rejected, so 1.
	if r.code != ExitProblems {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"simulador local de SENCE", "rechazado Benjamín Araya Quiroz (RUT 20.111.222-2, Moodle id 16): [012] El alumno 20111222-2 no se encuentra registrado", "excluido Juan Pérez Cofré (sin RUT válido, Moodle id 9): sin RUT", "Informe: " + filepath.Join(dd, "reports", "run-1.json")} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, `msg="curso terminado"`) {
		t.Errorf("no log lines on a non-terminal stderr:\n%s", r.stderr)
	}
	rep := readReport(t, filepath.Join(dd, "reports", "run-1.json"))
	if rep.Outcome != nightly.OutcomeProblems || rep.Totals.CoursesSent != 5 || rep.Totals.Rejected != 1 || rep.Totals.Excluded != 4 || rep.Totals.Accepted != 89 ||
		rep.Totals.CoursesInError != 1 || rep.Totals.Unselected != 1 || len(rep.Unselected) != 1 || rep.Unselected[0].Shortname != "BODEGA 2026" {
		t.Fatalf("report: %s %+v", rep.Outcome, rep.Totals)
	}
	var rejected *nightly.StudentReport
	for _, c := range rep.Courses {
		for _, s := range c.Students {
			if s.RUT == "20111222-2" {
				rejected = s
			}
		}
	}
	if rejected == nil || rejected.Status != nightly.StudentRejected || rejected.Code != "012" || !strings.Contains(rejected.Explanation, "no está inscrito en SENCE") {
		t.Fatalf("rejected student: %+v", rejected)
	}
	simState := filepath.Join(dd, ".sence-simulator.json")
	sent := len(simProcesses(t, simState))

	// The same night again: nothing is sent twice.
	r = runCmd(ctx, clock, "run", mapping, "--date", "2026-11-20")
	if r.code != ExitProblems || strings.Count(r.stdout, ": ya-enviado") != 5 {
		t.Fatalf("second run: exit %d\n%s", r.code, r.stdout)
	}
	if n := len(simProcesses(t, simState)); n != sent {
		t.Fatalf("SENCE got %d more sends", n-sent)
	}

	r = runCmd(ctx, clock, "status", mapping)
	if r.code != ExitProblems {
		t.Fatalf("status exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"#2  2026-11-20 22:30 (hora de Chile, UTC-3)  noche 2026-11-20  con problemas", "#1 ", "rechazado Benjamín Araya Quiroz (RUT 20.111.222-2, Moodle id 16): [012] El alumno 20111222-2 no se encuentra registrado", "excluido Juan Pérez Cofré (sin RUT válido, Moodle id 9): sin RUT",
		"Cursos con envíos pendientes, sin confirmar, fallidos o sin enviar:\n  CAP-26-01-13-0105-1: error\n    ninguna sección lleva un código de módulo SENCE",
		"curso de Moodle no seleccionado, BODEGA 2026 (Gestión de bodega e inventarios): su nombre corto no calza",
		"no se informa en el curso CAP-26-01-13-0106-1, María José Zúñiga Carrasco (RUT 14.296.416-3, Moodle id 110): dejó de estar activo"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runCmd(ctx, clock, "status", mapping, "--json")
	var st nightly.Status
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st.Runs) != 2 || len(st.Students) != 5 {
		t.Fatalf("status --json: %v %+v", err, st)
	}
	named := false
	for _, s := range st.Students {
		named = named || s.Alumno == "Benjamín Araya Quiroz (RUT 20.111.222-2, Moodle id 16)" && s.Code == "012" && s.MoodleID == "16"
	}
	if !named || !strings.Contains(r.stdout, `"clave"`) || strings.Contains(r.stdout, `"Alumno"`) {
		t.Errorf("status --json students: %s", r.stdout)
	}
}

func TestRunDryRunSendsNothing(t *testing.T) {
	dd := demoDir(t)
	r := runCmd(context.Background(), newClock(22, 30), "run", filepath.Join(dd, "mapping.yaml"), "--date", "2026-11-20", "--dry-run")
	if r.code != ExitProblems || !strings.Contains(r.stdout, "Simulación (--dry-run: no se envió nada)") || !strings.Contains(r.stdout, "90 alumnos se enviarían") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dd, ".sence-simulator.json")); err == nil {
		t.Fatal("the dry run reached the simulator")
	}
}

// TestRunWindow: outside 22:00–00:00 a run to the real SENCE refuses and
// records why; --ignore-window sends; --wait-window builds, then waits.
func TestRunWindow(t *testing.T) {
	srv := startSimulator(t)
	mapping := realMapping(t, srv.BaseURL())
	ctx := context.Background()
	r := runCmd(ctx, newClock(15, 0), "run", mapping, "--date", "2026-11-20")
	if r.code != ExitFailed || !strings.Contains(r.stderr, "fuera de la ventana de envío") || srv.Counts().Sends != 0 {
		t.Fatalf("exit %d, %d sends: %s", r.code, srv.Counts().Sends, r.stderr)
	}
	r = runCmd(ctx, newClock(15, 0), "status", mapping)
	if !strings.Contains(r.stdout, "fallida") {
		t.Fatalf("refused run not recorded:\n%s", r.stdout)
	}
	r = runCmd(ctx, newClock(15, 0), "run", mapping, "--date", "2026-11-20", "--ignore-window")
	if r.code != ExitProblems || srv.Counts().Sends != 5 {
		t.Fatalf("--ignore-window: exit %d, %d sends\n%s", r.code, srv.Counts().Sends, r.stdout)
	}

	// --wait-window at 21:30: built now, sent from 22:00.
	srv2 := startSimulator(t)
	mapping = realMapping(t, srv2.BaseURL())
	clock := newClock(21, 30)
	r = runCmdEnv(ctx, clock, func(e *Env) { e.Sleep = clock.Sleep }, "run", mapping, "--wait-window")
	if r.code != ExitProblems || !strings.Contains(r.stderr, "el envío comienza el 2026-11-20 22:00 (hora de Chile, UTC-3)") || srv2.Counts().Sends != 5 {
		t.Fatalf("--wait-window: exit %d, %d sends\n%s\n%s", r.code, srv2.Counts().Sends, r.stdout, r.stderr)
	}
	// The courses waited in a spool beside the ledger, gone once sent.
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(mapping), "state", ".run-spool-*")); len(left) != 0 {
		t.Errorf("the spool was left behind: %v", left)
	}
	l, _ := ledger.Open(ctx, filepath.Join(filepath.Dir(mapping), "state", "ledger.db"))
	defer l.Close()
	sends, _ := l.Sends(ctx)
	for _, s := range sends {
		if s.CreatedAt.Before(time.Date(2026, 11, 20, 22, 0, 0, 0, chile.Location)) {
			t.Errorf("%s sent at %s, before the window", s.CodigoEnvio, s.CreatedAt)
		}
	}
}

// TestRunLock: one run at a time per mapping.
func TestRunLock(t *testing.T) {
	srv := startSimulator(t)
	mapping := realMapping(t, srv.BaseURL())
	lock, err := ledger.AcquireLock(filepath.Join(filepath.Dir(mapping), "state", "ledger.db"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r := runCmd(context.Background(), newClock(22, 30), "run", mapping, "--date", "2026-11-20")
	if r.code != ExitFailed || !strings.Contains(r.stderr, "ya hay una ejecución en curso para este mapeo") || srv.Counts().Sends != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lock.Release()
	if r := runCmd(context.Background(), newClock(22, 30), "run", mapping, "--date", "2026-11-20"); r.code != ExitProblems {
		t.Fatalf("after release: exit %d: %s", r.code, r.stderr)
	}
}

// TestRunStrict: run --strict builds every course first (into a spool
// beside the ledger) and, the demo having excluded students, prints the
// summary, sends nothing and exits 1, leaving no spool; the run that
// follows without --strict sends the five courses.
func TestRunStrict(t *testing.T) {
	srv := startSimulator(t)
	mapping := realMapping(t, srv.BaseURL())
	ctx := context.Background()
	r := runCmd(ctx, newClock(22, 30), "run", mapping, "--strict")
	if r.code != ExitProblems || srv.Counts().Sends != 0 || !strings.Contains(r.stdout, "Total: 5 cursos para enviar") {
		t.Fatalf("--strict: exit %d, %d sends\n%s\n%s", r.code, srv.Counts().Sends, r.stdout, r.stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(mapping), "state", ".run-spool-*")); len(left) != 0 {
		t.Errorf("the spool was left behind: %v", left)
	}
	r = runCmd(ctx, newClock(22, 35), "run", mapping)
	if r.code != ExitProblems || srv.Counts().Sends != 5 {
		t.Fatalf("after --strict: exit %d, %d sends\n%s", r.code, srv.Counts().Sends, r.stdout)
	}
}

// TestRunSenceDown: SENCE unreachable leaves the courses pending (exit 3);
// the next run, with SENCE back, sends them.
func TestRunSenceDown(t *testing.T) {
	srv := startSimulator(t)
	url := srv.BaseURL()
	srv.Close() // down: connection refused
	mapping := realMapping(t, url)
	ctx := context.Background()
	r := runCmdEnv(ctx, newClock(22, 30), noWait, "run", mapping, "--date", "2026-11-20")
	// The courses started stay pending (at most the four in flight: each
	// is started as it is built); once SENCE is taken as down, the others
	// are not started.
	pending, notStarted := strings.Count(r.stdout, ": pendiente, codigoEnvio"), strings.Count(r.stdout, ": no-enviado\n")
	if r.code != ExitFailed || pending < 1 || pending > 4 || notStarted < 1 || pending+notStarted != 5 {
		t.Fatalf("down: exit %d, %d pending, %d not started\n%s", r.code, pending, notStarted, r.stdout)
	}
	r = runCmd(ctx, newClock(22, 40), "status", mapping)
	if r.code != ExitProblems || strings.Count(r.stdout, ": pendiente (codigoEnvio") != pending || strings.Count(r.stdout, ": no-enviado\n") != notStarted {
		t.Fatalf("status: %s", r.stdout)
	}
	// SENCE is back on the same address.
	back, err := simulator.Start(ctx, strings.TrimPrefix(strings.TrimSuffix(url, simulator.BasePath), "http://"), simulator.Options{})
	if err != nil {
		t.Skipf("the port was taken meanwhile: %v", err)
	}
	defer back.Close()
	r = runCmdEnv(ctx, newClock(22, 50), noWait, "run", mapping, "--date", "2026-11-20")
	if r.code != ExitProblems || strings.Count(r.stdout, "SENCE no lo recibió") != pending || back.Counts().Sends != 5 {
		t.Fatalf("back: exit %d, %d sends\n%s", r.code, back.Counts().Sends, r.stdout)
	}
}

// TestSchedule runs the demo mapping at 22:00 by the cron default and stops
// gracefully.
func TestSchedule(t *testing.T) {
	dd := demoDir(t)
	clock := newClock(21, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sleep := func(ctx context.Context, d time.Duration) error {
		if clock.Now().After(time.Date(2026, 11, 21, 12, 0, 0, 0, chile.Location)) {
			cancel() // SIGTERM the morning after
		}
		return clock.Sleep(ctx, d)
	}
	r := runCmdEnv(ctx, clock, func(e *Env) { e.Sleep = sleep }, "schedule", filepath.Join(dd, "mapping.yaml"), "--log-format", "json")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{`"msg":"programador iniciado"`, `"a_las":"2026-11-20 22:00 -03"`, `"msg":"terminó la ejecución programada"`, `"codigo_salida":1`, `"msg":"programador detenido"`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("log lacks %s:\n%s", want, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, "Ejecución 1, fecha de reporte 2026-11-20") {
		t.Errorf("the run's report is missing:\n%s", r.stdout)
	}
	// A wrong schedule is refused at start.
	p := filepath.Join(dd, "bad.yaml")
	os.WriteFile(p, []byte("version: 1\nextends: mapping.yaml\nrun:\n  schedule: \"61 22 * * *\"\n"), 0o600)
	if r := runCmd(context.Background(), clock, "schedule", p); r.code != ExitFailed || !strings.Contains(r.stderr, "61 está fuera del rango 0-59") {
		t.Fatalf("bad schedule: exit %d %s", r.code, r.stderr)
	}
}

// TestRunSeedFromHistory: a ledger lost (or a first run after another
// tool) learns from SENCE's history what SENCE already accepted.
func TestRunSeedFromHistory(t *testing.T) {
	srv := startSimulator(t)
	mapping := realMapping(t, srv.BaseURL())
	ctx := context.Background()
	if r := runCmd(ctx, newClock(22, 30), "run", mapping, "--date", "2026-11-20"); r.code != ExitProblems {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	os.RemoveAll(filepath.Join(filepath.Dir(mapping), "state"))
	r := runCmd(ctx, newClock(22, 40), "run", mapping, "--date", "2026-11-20", "--dry-run", "--seed-from-history", "--since", "2000-01-01")
	if r.code != ExitProblems || !strings.Contains(r.stdout, "Historial de SENCE desde 2000-01-01: 5 procesos") ||
		!strings.Contains(r.stdout, "se registró lo que SENCE ya aceptó de 90 alumnos") { // no roster: 20111222-2 is accepted too
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	l, err := ledger.Open(ctx, filepath.Join(filepath.Dir(mapping), "state", "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	acc, _ := l.AcceptedOf(ctx, "AYSEN-26-03-11-0102", "AYSEN-26-03-11-0102")
	if len(acc) != 18 {
		t.Fatalf("%d students seeded for AYSEN-26-03-11-0102, want 18", len(acc))
	}
}

// TestRunIncrementalDedication: with dedication from the log, the second
// night's run resumes the sessions the first saved in the ledger and reads
// only the new events (that the payloads equal a full recomputation is
// proven in engine/assemble); --full-dedication reads it all.
func TestRunIncrementalDedication(t *testing.T) {
	dd := demoDir(t)
	ctx := context.Background()
	p := filepath.Join(dd, "log.yaml")
	text := "version: 1\nextends: mapping.yaml\nparams:\n  dedicationSource: log\nrun:\n  ledger: state/log-ledger.db\n"
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	field := func(stderr, key string) string {
		i := strings.Index(stderr, key+"=")
		if i < 0 {
			t.Fatalf("the run's log lacks %s:\n%s", key, stderr)
		}
		return strings.Fields(stderr[i+len(key)+1:])[0]
	}
	first := runCmd(ctx, newClock(22, 30), "run", p, "--dry-run", "--date", "2026-11-20")
	if first.code == ExitFailed || first.code == ExitUsage {
		t.Fatalf("exit %d\n%s", first.code, first.stderr)
	}
	if got := field(first.stderr, "cursos_desde_la_ejecucion_anterior"); got != "0" {
		t.Errorf("first night resumed %s courses", got)
	}
	fullRows, _ := strconv.Atoi(field(first.stderr, "filas_leidas"))

	next := &testClock{t: time.Date(2026, 11, 21, 22, 30, 0, 0, chile.Location)}
	second := runCmd(ctx, next, "run", p, "--dry-run", "--date", "2026-11-21")
	if got := field(second.stderr, "cursos_desde_el_inicio"); got != "0" {
		t.Errorf("second night read %s courses from the whole log:\n%s", got, second.stderr)
	}
	if field(second.stderr, "cursos_desde_la_ejecucion_anterior") == "0" {
		t.Errorf("second night resumed no course:\n%s", second.stderr)
	}
	if rows, _ := strconv.Atoi(field(second.stderr, "filas_leidas")); rows*2 > fullRows {
		t.Errorf("second night read %d rows, the first %d: it should read only the new events", rows, fullRows)
	}
	// engine status shows the watermark: an hour before the second run read.
	st := runCmd(ctx, next, "status", p)
	for _, want := range []string{"Dedicación incremental", "dedication_log: ", "module_log: ", "marca 2026-11-21 21:30"} {
		if !strings.Contains(st.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, st.stdout)
		}
	}

	full := runCmd(ctx, next, "run", p, "--dry-run", "--date", "2026-11-21", "--full-dedication")
	if got := field(full.stderr, "cursos_desde_la_ejecucion_anterior"); got != "0" {
		t.Errorf("--full-dedication resumed %s courses", got)
	}
}
