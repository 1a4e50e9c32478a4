package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/moodledb"
	"github.com/otec-tools/sence-engine/engine/moodledb/dbtest"
	"github.com/otec-tools/sence-engine/engine/moodledb/demo"
)

// TestExplainGolden pins what engine explain shows on the demo: a student
// with estado 3 and the inputs that made it 3 (progress, grade, enrolment
// end, thresholds); a student who left, with the include rule that leaves
// them out; one field at every level; and the JSON form.
func TestExplainGolden(t *testing.T) {
	dir := demoDir(t)
	m := filepath.Join(dir, "mapping.yaml")
	env := map[string]string{"SENCE_TOKEN": secretToken}
	estado3 := []string{"--course", "AYSEN-26-03-11-0102", "--student", "16987654-1", "--date", "2026-11-20"}
	for _, tc := range []struct {
		golden string
		args   []string
		want   []string
	}{
		{"explain-estado3.golden", append(estado3, "--module", "C61002-0102-M1"), []string{
			"campo estado = 3",
			"passed              = false   (variable)",
			"ended               = true   (variable)",
			"params.passProgress = 100   (parámetro)",
			"porcentajeAvance    = 42   (campo)",
			"finalNota           = 3.516364   (variable)",
			"params.passGrade    = 4   (parámetro)",
			"ue_end         = 1794283200   (columna de la consulta students)",
			"modules[].done = [6, 5, 3, 0, 1]   (variable de cada módulo)",
			"WHERE en.courseid IN (3)) x",
			"✓ el RUT del alumno con su dígito verificador (módulo 11)",
		}},
		{"explain-leaver.golden", []string{"--course", "CAP-26-01-13-0101-1", "--student", "15888222-1", "--date", "2026-11-20"}, []string{
			"Resultado: no se informa: la regla «include» del mapeo lo deja fuera",
			"regla include = \"dejó de estar activo en el curso",
			"active         = 0   (columna de la consulta students)",
			"params.leavers = \"report\"   (parámetro)",
			"el alumno no llegó al envío (no se informa)",
		}},
		{"explain-field.golden", append(estado3, "--field", "estado"), []string{
			"campo estado = 3",
			"Módulo C61002-0102-M5",
		}},
		{"explain-estado3.json.golden", append(estado3, "--field", "estado", "--module", "C61002-0102-M2", "--json"), []string{
			`"version": 1`,
			`"resultado": "incluido"`,
		}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			r := run(t, env, append([]string{"explain", m}, tc.args...)...)
			if r.code != ExitOK {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			if strings.Contains(r.stdout+r.stderr, secretToken) {
				t.Error("the SENCE token is in the output")
			}
			golden(t, tc.golden, strings.ReplaceAll(r.stdout, dir, "DIR"))
		})
	}
}

// TestExplainJSONShape: the JSON form is versioned and carries the
// student, the modules under it, the checks and the queries.
func TestExplainJSONShape(t *testing.T) {
	dir := demoDir(t)
	r := run(t, nil, "explain", filepath.Join(dir, "mapping.yaml"), "--course", "AYSEN-26-03-11-0102", "--student", "18", "--date", "2026-11-20", "--json")
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	var x struct {
		Version int `json:"version"`
		Alumno  struct {
			Codigo      string `json:"codigo"`
			Resultado   string `json:"resultado"`
			Expresiones []struct {
				Nombre string `json:"nombre"`
				Valor  any    `json:"valor"`
				Lee    []struct {
					Nombre, Origen string
				} `json:"lee"`
			} `json:"expresiones"`
			Hijos []struct {
				Codigo    string `json:"codigo"`
				Resultado string `json:"resultado"`
				Hijos     []any  `json:"hijos"`
			} `json:"hijos"`
		} `json:"alumno"`
		Validacion struct {
			Revisado  bool     `json:"revisado"`
			Problemas []string `json:"problemas"`
		} `json:"validacion"`
		Consultas []struct{ Nombre, SQL string } `json:"consultas"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &x); err != nil {
		t.Fatal(err)
	}
	if x.Version != 1 || x.Alumno.Codigo != "16987654-1" || x.Alumno.Resultado != "incluido" || !x.Validacion.Revisado || len(x.Validacion.Problemas) != 0 {
		t.Errorf("version %d, alumno %s %s, validación %+v", x.Version, x.Alumno.Codigo, x.Alumno.Resultado, x.Validacion)
	}
	// Five modules and the closing section, which the include rule leaves out.
	if h := x.Alumno.Hijos; len(h) != 6 || len(h[0].Hijos) != 7 || h[0].Codigo != "C61002-0102-M1" || h[5].Resultado != "no se envía" {
		t.Errorf("%d modules", len(h))
		for _, m := range h {
			t.Errorf("module %q: %s, %d activities", m.Codigo, m.Resultado, len(m.Hijos))
		}
	}
	var estado any
	for _, e := range x.Alumno.Expresiones {
		if e.Nombre == "estado" {
			estado = e.Valor
		}
	}
	if estado != 3.0 {
		t.Errorf("estado %v", estado)
	}
	if len(x.Consultas) == 0 || strings.Contains(x.Consultas[1].SQL, ":courseids") {
		t.Errorf("queries: %+v", x.Consultas)
	}
}

// TestExplainExitCodes: what names nothing is a usage mistake (2) that
// lists the nearest names; a mapping with errors, or a course whose error
// leaves no student built, is 1 (with the expression that failed); a database that
// cannot be read is 3; a student by Moodle id or by RUT in any form is
// the same student.
func TestExplainExitCodes(t *testing.T) {
	dir := demoDir(t)
	m := filepath.Join(dir, "mapping.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: 1\nextends: mapping.yaml\nstudents:\n  fields:\n    estado: \"pased ? 2 : 1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	course := []string{"--course", "CAP-26-01-13-0101-1", "--date", "2026-11-20"}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"by id", nil, []string{m, "--student", "18", "--course", "AYSEN-26-03-11-0102"}, ExitOK, "Alumno Cristián Muñoz Espinoza (RUT 16.987.654-1, Moodle id 18)"},
		{"by RUT with dots", nil, []string{m, "--student", "16.987.654-1", "--course", "AYSEN-26-03-11-0102"}, ExitOK, "Moodle id 18)"},
		{"excluded student", nil, append([]string{m, "--student", "10"}, course...), ExitOK, "motivo: RUT «11111111-2» inválido"},
		{"unknown student", nil, append([]string{m, "--student", "15888222-2"}, course...), ExitUsage, "alumnos más parecidos: 15888222-1 (id 12)"},
		{"unknown course", nil, []string{m, "--course", "CAP-26-01-13-0102-1", "--student", "1"}, ExitUsage, "cursos más parecidos: CAP-26-01-13-0101-1"},
		{"not a SENCE course", nil, []string{m, "--course", "BODEGA 2026", "--student", "1"}, ExitUsage, "el curso no es un curso SENCE del mapeo"},
		{"unknown field", nil, append([]string{m, "--student", "9", "--field", "rutTxt"}, course...), ExitUsage, "nombres más parecidos: rutText"},
		{"unknown module", nil, append([]string{m, "--student", "16", "--module", "C61001-O101-M9"}, course...), ExitUsage, "módulos del alumno, el más parecido primero: C61001-O101-M1"},
		{"no student", nil, append([]string{m}, course...), ExitUsage, "falta --student"},
		{"no course", nil, []string{m, "--student", "9"}, ExitUsage, "falta --course"},
		{"bad date", nil, []string{m, "--course", "X", "--student", "9", "--date", "20-11-2026"}, ExitUsage, "--date debe ser una fecha AAAA-MM-DD"},
		{"course with an error", nil, []string{m, "--course", "CAP-26-01-13-0105-1", "--student", "1"}, ExitProblems, "(«modulesCheck», en moodle.yaml:513:7)"},
		{"mapping with errors", nil, append([]string{bad, "--student", "9"}, course...), ExitProblems, "¿quiso decir «passed»?"},
		{"database missing", map[string]string{"MOODLE_DEMO_DB": filepath.Join(dir, "none", "moodle.db")}, append([]string{m, "--student", "9"}, course...), ExitFailed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.env, append([]string{"explain"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.want) {
				t.Errorf("exit %d, want %d; want %q in\n%s%s", r.code, tc.code, tc.want, r.stdout, r.stderr)
			}
		})
	}
}

// TestExplainSameOnEveryDatabase: the demo loaded into SQLite, PostgreSQL
// and MariaDB gives the same explanation of the student with estado 3:
// the same values read, from the same rows, and the same SQL as run.
func TestExplainSameOnEveryDatabase(t *testing.T) {
	var first string
	for _, dialect := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(dbtest.Name(dialect), func(t *testing.T) {
			db, dsn := dbtest.OpenDSN(t, dialect)
			ctx := context.Background()
			if err := moodledb.CreateSchema(ctx, db, dialect, "mdl_"); err != nil {
				t.Fatal(err)
			}
			if err := demo.Generate(demo.DemoConfig()).Load(ctx, db, dialect, "mdl_"); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			m := filepath.Join(dir, "site.yaml")
			text := fmt.Sprintf("version: 1\nextends: moodle\nsource:\n  driver: %s\n  dsn: %q\nsence:\n  rutOtec: \"76543210-3\"\n  token: ${SENCE_TOKEN}\n", dialect, dsn)
			if err := os.WriteFile(m, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			r := run(t, map[string]string{"SENCE_TOKEN": secretToken}, "explain", m, "--course", "AYSEN-26-03-11-0102", "--student", "16987654-1", "--date", "2026-11-20", "--field", "estado")
			if r.code != ExitOK || !strings.Contains(r.stdout, "campo estado = 3") {
				t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if first == "" {
				first = r.stdout
				return
			}
			if r.stdout != first {
				gl, wl := strings.Split(r.stdout, "\n"), strings.Split(first, "\n")
				for i := 0; i < len(gl) && i < len(wl); i++ {
					if gl[i] != wl[i] {
						t.Fatalf("line %d differs from SQLite's:\n got  %s\n want %s", i+1, gl[i], wl[i])
					}
				}
				t.Fatalf("%d lines, SQLite's %d", len(gl), len(wl))
			}
		})
	}
}
