package simulator_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/sence/simulator"
)

func TestLoadRoster(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	yamlRoster := write("roster.yaml", `courses:
  - codigoOferta: CAP-15-01-13-0446
    codigoGrupo: CAP-15-01-13-0446
    students: ["9.445.435-2", "10312870-6", "10176851-1"]
    modules: [C46982-O565656565-M1]
`)
	jsonRoster := write("roster.json", `{"courses":[{"codigoOferta":"CUR-1","codigoGrupo":"GRP-1","students":["17118181-k"],"modules":["MOD-1"]}]}`)
	for path, want := range map[string]simulator.RosterCourse{
		yamlRoster: {CodigoOferta: "CAP-15-01-13-0446", CodigoGrupo: "CAP-15-01-13-0446", Students: []string{"9.445.435-2", "10312870-6", "10176851-1"}, Modules: []string{"C46982-O565656565-M1"}},
		jsonRoster: {CodigoOferta: "CUR-1", CodigoGrupo: "GRP-1", Students: []string{"17118181-k"}, Modules: []string{"MOD-1"}},
	} {
		r, err := simulator.LoadRoster(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(r.Courses) != 1 || r.Courses[0].CodigoOferta != want.CodigoOferta || len(r.Courses[0].Students) != len(want.Students) ||
			r.Courses[0].Modules[0] != want.Modules[0] {
			t.Errorf("%s: %+v", path, r)
		}
	}
	for name, c := range map[string]struct{ file, body, msg string }{
		"unknown YAML key":   {"a.yaml", "courses:\n  - codigoOferta: A\n    codigoGrupo: A\n    alumnos: []\n", "alumnos"},
		"unknown JSON key":   {"b.json", `{"cursos":[]}`, "cursos"},
		"invalid RUT":        {"c.yaml", "courses:\n  - {codigoOferta: A, codigoGrupo: A, students: [11111111-5]}\n", "11111111-5"},
		"missing group":      {"d.yaml", "courses:\n  - {codigoOferta: A, students: []}\n", "codigoGrupo"},
		"duplicated course":  {"e.yaml", "courses:\n  - {codigoOferta: A, codigoGrupo: A}\n  - {codigoOferta: A, codigoGrupo: A}\n", "repetido"},
		"not a roster":       {"f.json", `[1,2]`, "nómina"},
		"file does not open": {"", "", "no se pudo leer"},
	} {
		path := filepath.Join(dir, "missing.yaml")
		if c.file != "" {
			path = write(c.file, c.body)
		}
		_, err := simulator.LoadRoster(path)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v; want an error mentioning %q", name, err, c.msg)
		}
	}
}
