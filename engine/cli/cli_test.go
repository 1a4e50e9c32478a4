package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/moodledb"
	"github.com/otec-tools/sence-engine/engine/moodledb/dbtest"
	"github.com/otec-tools/sence-engine/engine/moodledb/demo"
	"github.com/otec-tools/sence-engine/engine/pipeline"
	"github.com/otec-tools/sence-engine/engine/sence/simulator"
)

// secretToken is recognisable so that a leak anywhere is found.
const secretToken = "ABCDEF12-3456-7890-ABCD-EF1234567890"

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := &Env{
		Stdout: &out, Stderr: &errb,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Now:       func() time.Time { return time.Date(2026, 11, 20, 22, 30, 0, 0, chile.Location) },
	}
	code := RunEnv(context.Background(), args, e)
	return result{code, out.String(), errb.String()}
}

// demoDir prepares the demo database, mapping and roster once per test.
func demoDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := prepareDemo(context.Background(), dir, demo.DefaultReportDate); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestUsageAndUnknownCommand(t *testing.T) {
	if r := run(t, nil); r.code != ExitUsage || !strings.Contains(r.stderr, "Comandos:") {
		t.Errorf("no args: %+v", r)
	}
	if r := run(t, nil, "frobnicate"); r.code != ExitUsage || !strings.Contains(r.stderr, "comando desconocido «frobnicate»") {
		t.Errorf("unknown: %+v", r)
	}
	if r := run(t, nil, "export"); r.code != ExitUsage {
		t.Errorf("export without mapping: %+v", r)
	}
	if r := run(t, nil, "version"); r.code != ExitOK || !strings.HasPrefix(r.stdout, "engine ") {
		t.Errorf("version: %+v", r)
	}
}

func TestValidateReportsEveryMistake(t *testing.T) {
	r := run(t, nil, "validate", "../plan/testdata/validate/planted.yaml")
	if r.code != ExitProblems {
		t.Fatalf("exit %d, want %d\n%s%s", r.code, ExitProblems, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"planted.yaml:10:3: error: clave desconocida «rutOtek»",
		"planted.yaml:14:12: error: «params.rutFrom» debe ser idnumber o username; se obtuvo «usernme»; ¿quiso decir «username»?",
		"planted.yaml:18:5: error: «fechalnicio» no es un campo de SENCE",
		"planted.yaml:19:20: error: nombre desconocido «enrol_strat»",
		"planted.yaml:20:23: error: faltan argumentos en la llamada a pct()",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("missing %q in:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "5 errores") {
		t.Errorf("summary: %q", r.stderr)
	}
}

// TestValidateOfflineMistakes: engine validate, without a database, finds
// each planted mistake of a site file once, at its line and column in that
// file (the golden file of engine/plan, written there by its test).
func TestValidateOfflineMistakes(t *testing.T) {
	const file = "../plan/testdata/validate/offline.yaml"
	r := run(t, nil, "validate", file)
	if r.code != ExitProblems {
		t.Fatalf("exit %d, want %d\n%s%s", r.code, ExitProblems, r.stdout, r.stderr)
	}
	golden, err := os.ReadFile("../plan/testdata/validate/offline.golden")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(string(golden), "testdata/validate/", "../plan/testdata/validate/")
	if r.stdout != want {
		t.Errorf("validate printed:\n%s\nwant (offline.golden):\n%s", r.stdout, want)
	}
	if !strings.Contains(r.stderr, "10 errores, 0 avisos") {
		t.Errorf("summary: %q", r.stderr)
	}
}

func TestValidateShippedMappings(t *testing.T) {
	dir := demoDir(t)
	env := map[string]string{"MOODLE_DSN": "postgres://ro@127.0.0.1/moodle", "SENCE_TOKEN": secretToken}
	r := run(t, env, "validate", filepath.Join(dir, "mapping.yaml"), "../../examples/site/mapping.yaml")
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// --db runs every query of the preset against the demo database.
	r = run(t, env, "validate", "--db", filepath.Join(dir, "mapping.yaml"))
	if r.code != ExitOK {
		t.Fatalf("--db: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestValidateDBFindsMissingColumn: --db runs each query against the live
// database of every engine and reports a missing column at the query.
func TestValidateDBFindsMissingColumn(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(dbtest.Name(dialect), func(t *testing.T) {
			dir := demoDir(t)
			db, dsn := dbtest.OpenDSN(t, dialect)
			if err := moodledb.CreateSchema(context.Background(), db, dialect, "mdl_"); err != nil {
				t.Fatal(err)
			}
			site := filepath.Join(dir, "broken.yaml")
			os.WriteFile(site, []byte(`version: 1
extends: mapping.yaml
queries:
  completion:
    level: modules
    sql: |
      SELECT cm.course AS courseid, cmc.userid, cm.section AS sectionid, COUNT(*) AS n_done
        FROM {course_modules_completion} cmc
        JOIN {course_modules} cm ON cm.id = cmc.coursemoduleid
       WHERE cm.course IN (:courseids) AND cmc.completedstate NOT IN (0, 3)
       GROUP BY cm.course, cmc.userid, cm.section
source:
  driver: `+dialect+`
  dsn: "`+dsn+`"
`), 0o600)
			r := run(t, nil, "validate", "--db", site)
			if r.code != ExitProblems || !strings.Contains(r.stdout, "broken.yaml:7:7: error: consulta «completion»: la base de datos la rechaza") || !strings.Contains(r.stdout, "completedstate") {
				t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if strings.Count(r.stdout, ": error: ") != 1 {
				t.Errorf("only the broken query should be reported:\n%s", r.stdout)
			}
		})
	}
}

func TestExportWritesPrivateFilesWithoutToken(t *testing.T) {
	dir := demoDir(t)
	out := filepath.Join(dir, "out")
	env := map[string]string{"SENCE_TOKEN": secretToken}
	r := run(t, env, "export", filepath.Join(dir, "mapping.yaml"), "--date", "2026-11-20", "--out", out)
	// The demo's course without module codes cannot be sent: exit 1.
	if r.code != ExitProblems {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"Curso CAP-26-01-13-0101-1", "excluido", "Total: 5 cursos para enviar", "1 curso con error", "«BODEGA 2026»"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.json"))
	if len(files) != 6 {
		t.Fatalf("want 5 courses and resumen.json, got %v", files)
	}
	for _, f := range files {
		st, _ := os.Stat(f)
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, st.Mode().Perm())
		}
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), secretToken) {
			t.Errorf("%s contains the token", f)
		}
		if filepath.Base(f) != "resumen.json" && !strings.Contains(string(b), `"token": "<TOKEN>"`) {
			t.Errorf("%s lacks the token placeholder", f)
		}
	}
	var sum pipeline.Summary
	b, _ := os.ReadFile(filepath.Join(out, "resumen.json"))
	if err := json.Unmarshal(b, &sum); err != nil || sum.Excluded != 4 || sum.Sendable != 5 || sum.Failed != 1 ||
		len(sum.Unselected) != 1 || sum.Unselected[0].Shortname != "BODEGA 2026" {
		t.Errorf("resumen.json: %+v %v", sum, err)
	}
	// --include-token writes the real token, on request only.
	r = run(t, env, "export", filepath.Join(dir, "mapping.yaml"), "--out", out, "--include-token", "--course", "AYSEN-26-03-11-0102")
	b, _ = os.ReadFile(filepath.Join(out, "AYSEN-26-03-11-0102.json"))
	if r.code != ExitOK || !strings.Contains(string(b), secretToken) {
		t.Errorf("--include-token: exit %d, token written: %v", r.code, strings.Contains(string(b), secretToken))
	}
	// --strict: excluded students make the export fail and write nothing.
	strictOut := filepath.Join(dir, "strict")
	r = run(t, env, "export", filepath.Join(dir, "mapping.yaml"), "--out", strictOut, "--strict")
	if r.code != ExitProblems {
		t.Errorf("--strict: exit %d", r.code)
	}
	if _, err := os.Stat(strictOut); err == nil {
		t.Errorf("--strict wrote %s", strictOut)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".strict.*")); len(left) != 0 {
		t.Errorf("--strict left its temporary folder: %v", left)
	}
}

func TestDemoEndToEnd(t *testing.T) {
	dir := t.TempDir()
	r := run(t, map[string]string{"SENCE_TOKEN": secretToken}, "demo", "--dir", dir)
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"== engine export", "Total: 5 cursos para enviar, 90 alumnos incluidos, 4 excluidos", "proceso SENCE 1", "[012]", "89 alumnos aceptados, 1 rechazado,",
		"aviso módulo PRES028008000558: no tiene clase sincrónica", "agregue zoom a params.syncModules"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.stdout)
		}
	}
	for i, line := range strings.Split(r.stdout, "\n") {
		for _, re := range leftovers {
			if re.MatchString(line) {
				t.Errorf("demo output line %d matches %s:\n%s", i+1, re, line)
			}
		}
	}
	// The simulator's roster is SENCE's registration of the demo: it
	// accepts every module code the preset extracts from the demo's
	// section names, in every documented shape.
	for _, code := range []string{"[010]", "[011]", "[003]"} {
		if strings.Contains(r.stdout, code) {
			t.Errorf("the simulator rejected with %s:\n%s", code, r.stdout)
		}
	}
	assertNoToken(t, dir, r)
}

// TestTokenNeverShown runs every command that handles the token and looks
// for it in every output and every file they write.
func TestTokenNeverShown(t *testing.T) {
	dir := demoDir(t)
	env := map[string]string{"SENCE_TOKEN": secretToken}
	m := filepath.Join(dir, "mapping.yaml")
	var all []result
	for _, args := range [][]string{
		{"validate", m},
		{"export", m, "--out", filepath.Join(dir, "out")},
		{"send", m},
		{"ping", m},
		{"history", m},
		{"history", m, "--json"},
		{"sence-test", m},
	} {
		r := run(t, env, args...)
		if r.code == ExitFailed || r.code == ExitUsage {
			t.Errorf("%v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		all = append(all, r)
	}
	assertNoToken(t, dir, all...)
}

func assertNoToken(t *testing.T, dir string, rs ...result) {
	t.Helper()
	for _, r := range rs {
		if strings.Contains(r.stdout+r.stderr, secretToken) {
			t.Errorf("token printed:\n%s%s", r.stdout, r.stderr)
		}
	}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(path)
		if bytes.Contains(b, []byte(secretToken)) {
			t.Errorf("token written in %s", path)
		}
		return nil
	})
}

func TestPingExitCodes(t *testing.T) {
	dir := t.TempDir()
	srv, err := simulator.Start(context.Background(), "127.0.0.1:0", simulator.Options{
		Credentials: []simulator.Credential{{RutOtec: "76543210-3", Token: "5EEBF607-25A9-4DB2-A4DD-5D31BDAE3220"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	write := func(name, base, token string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte("version: 1\nextends: moodle\nsource: {driver: sqlite, dsn: none.db}\nsence:\n  rutOtec: \"76543210-3\"\n  token: "+token+"\n  baseUrl: "+base+"\n"), 0o600)
		return p
	}
	if r := run(t, nil, "ping", write("ok.yaml", srv.BaseURL(), "5EEBF607-25A9-4DB2-A4DD-5D31BDAE3220")); r.code != ExitOK || !strings.Contains(r.stdout, "ok:") {
		t.Errorf("good credentials: %+v", r)
	}
	r := run(t, nil, "ping", write("bad.yaml", srv.BaseURL(), secretToken))
	if r.code != ExitAuth || strings.Contains(r.stdout+r.stderr, secretToken) {
		t.Errorf("bad token: %+v", r)
	}
	if r := run(t, nil, "ping", write("down.yaml", "http://127.0.0.1:1", secretToken)); r.code != ExitUnreachable {
		t.Errorf("unreachable: %+v", r)
	}
}

func TestSendRefusesOutsideWindow(t *testing.T) {
	dir := t.TempDir()
	srv, err := simulator.Start(context.Background(), "127.0.0.1:0", simulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dd := demoDir(t)
	p := filepath.Join(dir, "real.yaml")
	// A mapping pointing at a "real" service (not the in-process simulator).
	os.WriteFile(p, []byte("version: 1\nextends: "+filepath.Join(dd, "mapping.yaml")+"\nsence:\n  simulator: null\n  baseUrl: "+srv.BaseURL()+"\n"), 0o600)
	var out, errb bytes.Buffer
	e := &Env{Stdout: &out, Stderr: &errb, LookupEnv: func(string) (string, bool) { return "", false },
		Now: func() time.Time { return time.Date(2026, 11, 20, 15, 0, 0, 0, chile.Location) }}
	code := RunEnv(context.Background(), []string{"send", p, "--date", "2026-11-20"}, e)
	if code != ExitFailed || !strings.Contains(errb.String(), "fuera de la ventana de envío") {
		t.Errorf("exit %d: %s", code, errb.String())
	}
	if srv.Counts().Sends != 0 {
		t.Errorf("sent outside the window")
	}
}

func TestInWindow(t *testing.T) {
	dd := demoDir(t)
	pl, _ := pipeline.Load(filepath.Join(dd, "mapping.yaml"), func(string) (string, bool) { return "", false })
	for _, c := range []struct {
		h, m int
		want bool
	}{{21, 59, false}, {22, 0, true}, {23, 59, true}, {0, 0, false}, {12, 0, false}} {
		got := pipeline.InWindow(pl.Mapping, time.Date(2026, 11, 20, c.h, c.m, 0, 0, chile.Location))
		if got != c.want {
			t.Errorf("%02d:%02d: %v, want %v", c.h, c.m, got, c.want)
		}
	}
}

// TestSendWaitsForSlowSENCE: engine send follows the same rule as run: an
// answer later than sence.timeout is looked up in the history until SENCE
// shows it, never posted again.
func TestSendWaitsForSlowSENCE(t *testing.T) {
	srv, err := simulator.Start(context.Background(), "127.0.0.1:0", simulator.Options{Processing: 1500 * time.Millisecond, HistoryLag: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dd := demoDir(t)
	p := filepath.Join(t.TempDir(), "real.yaml")
	os.WriteFile(p, []byte("version: 1\nextends: "+filepath.Join(dd, "mapping.yaml")+"\nsence:\n  simulator: null\n  baseUrl: "+srv.BaseURL()+
		"\n  timeout: 1s\n  settle: 5s\n"), 0o600)
	var out, errb bytes.Buffer
	e := &Env{Stdout: &out, Stderr: &errb, LookupEnv: func(string) (string, bool) { return "", false }, Now: time.Now}
	code := RunEnv(context.Background(), []string{"send", p, "--date", "2026-11-20", "--ignore-window", "--course", "AYSEN-26-03-11-0102"}, e)
	if code == ExitFailed || srv.Counts().Sends != 1 || len(srv.Processes()) != 1 || !strings.Contains(out.String(), "se encontró en el historial") {
		t.Fatalf("exit %d, %d POSTs, %d stored\n%s\n%s", code, srv.Counts().Sends, len(srv.Processes()), out.String(), errb.String())
	}
}
