package assemble_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/moodledb/demo"
	"github.com/otec-tools/sence-engine/engine/plan"
)

// TestWarnings: a level's warnings report an included entity without
// leaving it out; "" or false say nothing; a warning that fails is
// reported as such; a site turns a preset's warning off with "".
func TestWarnings(t *testing.T) {
	cfg := demo.DemoConfig()
	cfg.Courses, cfg.StudentsPerCourse, cfg.LogEventsPerStudent = 2, 2, 10
	cfg.EdgeCourses = false // every course is sent: warnings are counted on each
	dsn, _ := loadDemo(t, "sqlite", "mdl_", cfg)
	site := fmt.Sprintf(`version: 1
extends: ../../../examples/moodle-demo/mapping.yaml
source:
  dsn: %q
courses:
  warnings:
    always: '"curso con aviso"'
    never: 'false'
    off: ''
students:
  warnings:
    first: 'rutAlumno == students_first ? "primer alumno" : ""'
    broken: 'toInt("x") > 0 ? "no" : ""'
modules:
  warnings:
    m1: 'codigoModulo matches "-M1$" ? "módulo 1 con aviso" : nil'
`, dsn)
	site = strings.Replace(site, "students_first", "student.rutAlumno", 1)
	m, ds := mapping.LoadBytes("testdata/site.yaml", []byte(site), mapping.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	_, ds = plan.Compile(m)
	if !strings.Contains(ds.Error(), "student") {
		t.Fatalf("a student warning reading «student» compiled: %s", ds.Error())
	}
	site = strings.Replace(site, `rutAlumno == student.rutAlumno ? "primer alumno" : ""`, `rutAlumno % 2 >= 0 ? "alumno con aviso" : ""`, 1)
	m, ds = mapping.LoadBytes("testdata/site.yaml", []byte(site), mapping.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	pl, ds := plan.Compile(m)
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	results, _ := runBuild(t, pl, assemble.Options{})
	for _, r := range results {
		if r.Payload == nil {
			t.Fatalf("%s not built: %v", r.CodigoOferta, r.Err)
		}
		count := map[string]int{}
		for _, n := range r.Notes {
			if n.Warning {
				count[n.Msg]++
			}
		}
		students := len(r.Payload.ListaAlumnos) + len(r.Excluded)
		if count["curso con aviso"] != 1 || count["módulo 1 con aviso"] != 1 || count["alumno con aviso"] < len(r.Payload.ListaAlumnos) || count["alumno con aviso"] > students {
			t.Errorf("%s: warnings %v (%d students)", r.CodigoOferta, count, students)
		}
		if len(count) != 4 {
			t.Errorf("%s: warnings %v, want exactly the course, module, student and failing ones", r.CodigoOferta, count)
		}
		broken := 0
		for msg, n := range count {
			if strings.Contains(msg, "«broken» no se pudo evaluar") {
				broken += n
			}
		}
		if broken == 0 {
			t.Errorf("%s: the failing warning was not reported: %v", r.CodigoOferta, count)
		}
	}
}
