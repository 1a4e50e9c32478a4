package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/pipeline"
)

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// TestExportReplacesTheWholeDirectory: an export over an earlier one
// leaves exactly the new export (no course files of the earlier one beside
// a new resumen.json), and nothing else beside the folder; an export of an
// earlier version, with stale files and hidden temporaries, is replaced
// too; a folder that is not an export is refused and left as it was.
func TestExportReplacesTheWholeDirectory(t *testing.T) {
	dir := demoDir(t)
	m := filepath.Join(dir, "mapping.yaml")
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	env := map[string]string{"SENCE_TOKEN": secretToken}
	// The demo plants a course that cannot be built: 1.
	if r := run(t, env, "export", m, "--date", "2026-11-20", "--out", out); r.code != ExitProblems {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	// The courses, resumen.json, alumnos.csv and reporte.html.
	if got := dirNames(t, out); len(got) != demoCourses+3 {
		t.Fatalf("first export: %v", got)
	}
	// Leftovers of an interrupted export beside the folder go.
	os.Mkdir(filepath.Join(parent, ".out.export-123"), 0o700)
	os.WriteFile(filepath.Join(parent, ".out.export-123", "CAP.json"), []byte("{}"), 0o600)
	os.Mkdir(filepath.Join(parent, ".out.old-456"), 0o700)
	if r := run(t, env, "export", m, "--date", "2026-11-20", "--out", out, "--course", "AYSEN-26-03-11-0102"); r.code != ExitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if got := dirNames(t, out); !slices.Equal(got, []string{"AYSEN-26-03-11-0102.json", "alumnos.csv", "reporte.html", "resumen.json"}) {
		t.Errorf("second export left %v", got)
	}
	if got := dirNames(t, parent); !slices.Equal(got, []string{"out"}) {
		t.Errorf("beside the export: %v", got)
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o700 {
		t.Errorf("export folder mode %v, want 0700", st.Mode().Perm())
	}
	courses, err := pipeline.ReadExport(out, nil)
	if err != nil || len(courses) != 1 {
		t.Errorf("send --from reads %d courses, %v", len(courses), err)
	}

	// An export folder of an earlier version: a stale course, a temporary.
	stale, _ := os.ReadFile(filepath.Join(out, "AYSEN-26-03-11-0102.json"))
	os.WriteFile(filepath.Join(out, "AYSEN-26-03-11-0999.json"), []byte(strings.Replace(string(stale), "0102", "0999", -1)), 0o600)
	os.WriteFile(filepath.Join(out, ".resumen.json.123456"), []byte("{"), 0o600)
	if _, err := pipeline.ReadExport(out, nil); err == nil || !strings.Contains(err.Error(), "«AYSEN-26-03-11-0999.json»") {
		t.Errorf("send --from accepted a folder with a course its resumen.json does not list: %v", err)
	}
	// The course has excluded students: written, and exit 1.
	if r := run(t, env, "export", m, "--date", "2026-11-20", "--out", out, "--course", "CAP-26-01-13-0101-1"); r.code != ExitProblems {
		t.Fatalf("over an earlier version's export: exit %d\n%s", r.code, r.stderr)
	}
	if got := dirNames(t, out); !slices.Equal(got, []string{"CAP-26-01-13-0101-1.json", "alumnos.csv", "reporte.html", "resumen.json"}) {
		t.Errorf("export over an earlier version's left %v", got)
	}

	// Someone's folder.
	mine := filepath.Join(parent, "mine")
	os.Mkdir(mine, 0o700)
	os.WriteFile(filepath.Join(mine, "notas.txt"), []byte("no borrar"), 0o600)
	r := run(t, env, "export", m, "--date", "2026-11-20", "--out", mine)
	if r.code != ExitFailed || !strings.Contains(r.stderr, "no está vacía y no es una exportación anterior (tiene «notas.txt»)") || !strings.Contains(r.stderr, "carpeta nueva o vacía") {
		t.Errorf("someone's folder: exit %d\n%s", r.code, r.stderr)
	}
	if got := dirNames(t, mine); !slices.Equal(got, []string{"notas.txt"}) {
		t.Errorf("someone's folder changed: %v", got)
	}
	// A file.
	file := filepath.Join(parent, "file")
	os.WriteFile(file, []byte("x"), 0o600)
	if r := run(t, env, "export", m, "--date", "2026-11-20", "--out", file); r.code != ExitFailed || !strings.Contains(r.stderr, "no es una carpeta") {
		t.Errorf("a file: exit %d\n%s", r.code, r.stderr)
	}
	// An empty folder is fine.
	empty := filepath.Join(parent, "empty")
	os.Mkdir(empty, 0o700)
	if r := run(t, env, "export", m, "--date", "2026-11-20", "--out", empty); r.code != ExitProblems {
		t.Errorf("an empty folder: exit %d\n%s", r.code, r.stderr)
	}
}

// TestSendFromChecksTheExport: send --from sends only a folder holding
// exactly what its resumen.json lists, each file matching its entry.
func TestSendFromChecksTheExport(t *testing.T) {
	dir := demoDir(t)
	m := filepath.Join(dir, "mapping.yaml")
	env := map[string]string{"SENCE_TOKEN": secretToken}
	fresh := func() string {
		out := filepath.Join(t.TempDir(), "out")
		if r := run(t, env, "export", m, "--date", "2026-11-20", "--out", out); r.code != ExitProblems {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		return out
	}
	a, b := "CAP-26-01-13-0101-1.json", "AYSEN-26-03-11-0102.json"
	cases := []struct {
		name  string
		spoil func(out string) string
		want  string
	}{
		{"a course file missing", func(out string) string { os.Remove(filepath.Join(out, a)); return out }, "le faltan cursos que su resumen.json lista («" + a + "»)"},
		{"a file not listed", func(out string) string {
			os.WriteFile(filepath.Join(out, "otro.json"), []byte("{}"), 0o600)
			return out
		}, "tiene archivos que su resumen.json no lista («otro.json»)"},
		{"a course from another export", func(out string) string {
			data, _ := os.ReadFile(filepath.Join(out, b))
			os.WriteFile(filepath.Join(out, a), data, 0o600)
			return out
		}, "no corresponde a su resumen.json"},
		{"no resumen.json", func(out string) string { os.Remove(filepath.Join(out, "resumen.json")); return out }, "no es una exportación completa"},
		{"a temporary of an interrupted export", func(out string) string {
			tmp := filepath.Join(filepath.Dir(out), ".out.export-42")
			os.Rename(out, tmp)
			return tmp
		}, "resto temporal de una exportación interrumpida"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			from := c.spoil(fresh())
			r := run(t, env, "send", m, "--from", from)
			if r.code != ExitFailed || !strings.Contains(r.stderr, c.want) {
				t.Errorf("exit %d, want %q:\n%s%s", r.code, c.want, r.stdout, r.stderr)
			}
			if strings.Contains(r.stdout, "proceso SENCE") {
				t.Errorf("something was sent:\n%s", r.stdout)
			}
		})
	}
	// A whole export is sent.
	if r := run(t, env, "send", m, "--from", fresh()); !strings.Contains(r.stdout, "5 cursos enviados") {
		t.Errorf("a whole export: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
