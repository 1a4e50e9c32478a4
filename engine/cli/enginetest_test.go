package cli

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/mappingtest"
	"github.com/otec-tools/sence-engine/mappings"
)

const presetTests = "../../mappings/tests"

var msRe = regexp.MustCompile(`\([0-9]+ ms\)`)

// TestPresetShipsPassingTests runs every test file the preset ships, from
// the source tree and as embedded in the binary (engine test --preset):
// the same files, all passing.
func TestPresetShipsPassingTests(t *testing.T) {
	onDisk, err := filepath.Glob(filepath.Join(presetTests, "*"+mappingtest.Suffix))
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := fs.Glob(mappings.Tests, "tests/*"+mappingtest.Suffix)
	if err != nil {
		t.Fatal(err)
	}
	if len(onDisk) < 10 || len(onDisk) != len(embedded) {
		t.Fatalf("on disk %v, embedded %v", onDisk, embedded)
	}
	for _, f := range onDisk {
		want, _ := os.ReadFile(f)
		got, err := fs.ReadFile(mappings.Tests, "tests/"+filepath.Base(f))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s: the embedded copy differs (%v)", f, err)
		}
	}
	r := run(t, nil, "test", presetTests)
	if r.code != ExitOK || strings.Contains(r.stdout, "FALLO") || strings.Contains(r.stdout, "ERROR") {
		t.Fatalf("engine test %s: exit %d\n%s%s", presetTests, r.code, r.stdout, r.stderr)
	}
	n := strings.Count(r.stdout, "\nok ") + 1
	if !strings.HasPrefix(r.stdout, "ok ") || !strings.Contains(r.stderr, fmt.Sprintf("%d pruebas en %d archivos: %d pasan\n", n, len(onDisk), n)) {
		t.Errorf("summary: %q", r.stderr)
	}
	p := run(t, nil, "test", "--preset")
	if p.code != ExitOK || p.stderr != r.stderr || strings.ReplaceAll(p.stdout, "mappings/tests/", presetTests+"/") != r.stdout {
		t.Errorf("engine test --preset differs from the files:\n%s%s", p.stdout, p.stderr)
	}
}

// TestPresetTestsOnASiteMapping: a site that overrides one of the
// preset's queries runs the preset's expectations on its own file.
func TestPresetTestsOnASiteMapping(t *testing.T) {
	r := run(t, nil, "test", "--preset", "--mapping", "testdata/enginetest/site.yaml")
	if r.code != ExitOK || !strings.Contains(r.stderr, "pasan\n") || strings.Contains(r.stderr, "fallan") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The same site with a stricter pass grade fails the preset's
	// expectation of a student who passed with 4,0, where it is written.
	dir := t.TempDir()
	site, _ := os.ReadFile("testdata/enginetest/site.yaml")
	strict := filepath.Join(dir, "estricto.yaml")
	os.WriteFile(strict, append(site, []byte("params:\n  passGrade: 4.5\n")...), 0o600)
	r = run(t, nil, "test", "--preset", "--mapping", strict, "--run", "matrícula ya terminó")
	if r.code != ExitProblems || !strings.Contains(r.stdout, "FALLO  mappings/tests/estado-alumno.test.yaml:") ||
		!strings.Contains(r.stdout, "campo estado: esperado 2, obtenido 3 (curso CAP-21-01-13-0000-1, alumno 12345678-5)") {
		t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestMappingWarningsShownOnce: a site mapping's warning (a table
// written with its mdl_ prefix) is said once for the twelve preset
// files that test it, at the site file's line, and fails nothing.
func TestMappingWarningsShownOnce(t *testing.T) {
	site, err := os.ReadFile("testdata/enginetest/site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	prefixed := strings.Replace(string(site), "FROM {block_dedication} d", "FROM mdl_block_dedication d", 1)
	if prefixed == string(site) {
		t.Fatal("site.yaml no longer reads {block_dedication}")
	}
	path := filepath.Join(t.TempDir(), "sitio.yaml")
	if err := os.WriteFile(path, []byte(prefixed), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "test", "--preset", "--mapping", path)
	if r.code != ExitOK || strings.Count(r.stdout, "AVISO  ") != 1 ||
		!strings.Contains(r.stdout, "el mapeo probado tiene 1 aviso") ||
		!strings.Contains(r.stdout, path+":15:") || !strings.Contains(r.stdout, "no con el prefijo mdl_") ||
		!strings.HasSuffix(r.stderr, "pasan; 1 aviso del mapeo\n") {
		t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The shipped site file warns of nothing, and says nothing of it.
	r = run(t, nil, "test", "--preset", "--mapping", "testdata/enginetest/site.yaml")
	if strings.Contains(r.stdout, "AVISO") || strings.Contains(r.stderr, "aviso") {
		t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestPlantedWrongExpectation changes one expectation of a shipped test
// file: engine test ends with 1 and says where, what it expected and what
// it got.
func TestPlantedWrongExpectation(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(presetTests, "estado-alumno.test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const right, wrong = "fields: {estado: 2, porcentajeAvance: 100}", "fields: {estado: 3, porcentajeAvance: 100}"
	at := strings.Index(string(b), right)
	if at < 0 {
		t.Fatalf("estado-alumno.test.yaml no longer has %q", right)
	}
	line := strings.Count(string(b[:at]), "\n") + 1
	col := at - strings.LastIndex(string(b[:at]), "\n") + len("fields: {estado: ")
	path := filepath.Join(t.TempDir(), "planted.test.yaml")
	planted := strings.Replace(string(b), right, wrong, 1)
	if err := os.WriteFile(path, []byte(planted), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "test", path)
	want := fmt.Sprintf("  %s:%d:%d: campo estado: esperado 3, obtenido 2 (curso CAP-21-01-13-0000-1, alumno 12345678-5)\n", path, line, col)
	if r.code != ExitProblems || !strings.Contains(r.stdout, want) || strings.Count(r.stdout, "FALLO") != 1 {
		t.Errorf("exit %d, want 1 and\n%s\ngot:\n%s%s", r.code, want, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "pruebas en 1 archivo: ") || !strings.Contains(r.stderr, ", 1 falla\n") {
		t.Errorf("summary: %q", r.stderr)
	}
}

// TestEngineTestOutput: the failures, errors and passes of the command's
// example files, golden; and its exit codes.
func TestEngineTestOutput(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		code int
	}{
		{"pass", []string{"testdata/enginetest/override.test.yaml"}, ExitOK},
		{"failures", []string{"testdata/enginetest/failures.test.yaml"}, ExitProblems},
		{"failures-verbose", []string{"--verbose", "--run", "^(pasa|otra que pasa)$", "testdata/enginetest/failures.test.yaml"}, ExitOK},
		{"broken", []string{"testdata/enginetest/broken.test.yaml"}, ExitFailed},
		{"rows", []string{"testdata/enginetest/rows.test.yaml"}, ExitFailed},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, nil, append([]string{"test"}, c.args...)...)
			if r.code != c.code {
				t.Errorf("exit %d, want %d", r.code, c.code)
			}
			// Elapsed times vary.
			out := msRe.ReplaceAllString(r.stdout+"--- stderr\n"+r.stderr, "(N ms)")
			golden(t, "enginetest/"+c.name+".golden", out)
		})
	}
}

func TestEngineTestUsage(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{nil, "indique archivos o carpetas de pruebas (*.test.yaml), o --preset"},
		{[]string{"--run", "(", "--preset"}, "--run no es una expresión regular válida"},
		{[]string{"no-existe.test.yaml"}, "no-existe.test.yaml no existe"},
		{[]string{dir}, "no tiene archivos de pruebas (*.test.yaml)"},
		{[]string{"--preset", "--run", "ninguna-prueba-se-llama-asi"}, "ninguna prueba se ejecutó: --run \"ninguna-prueba-se-llama-asi\" no calza con el nombre de ninguna ("},
	} {
		r := run(t, nil, append([]string{"test"}, c.args...)...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("engine test %v: exit %d, want 2 and %q:\n%s", c.args, r.code, c.msg, r.stderr)
		}
	}
}

// TestEngineTestInterrupted: a stop before the tests have run ends with
// 3, never with a summary of what did.
func TestEngineTestInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	code := RunEnv(ctx, []string{"test", "--preset"}, &Env{Stdout: &out, Stderr: &errb, LookupEnv: func(string) (string, bool) { return "", false }})
	if code != ExitFailed || !strings.Contains(errb.String(), "engine test: interrumpido") || strings.Contains(out.String(), "ok ") {
		t.Errorf("exit %d\n%s%s", code, out.String(), errb.String())
	}
}
