package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/moodledb/dbtest"
	"github.com/otec-tools/sence-engine/engine/moodledb/demo"
)

// findings are the lines of a doctor report that say what to fix, under
// the course they belong to.
func findings(report string) []string {
	var out []string
	course := "Sitio"
	for _, l := range strings.Split(report, "\n") {
		switch {
		case strings.HasPrefix(l, "Curso "):
			course = l
		case strings.HasPrefix(l, "  PROBLEMA  "):
			out = append(out, course+" | "+strings.TrimPrefix(l, "  PROBLEMA  "))
		}
	}
	return out
}

// TestDoctorDemo: on the demo site, engine doctor reports every planted
// set-up problem and nothing else (golden file), exits 1, and finds the
// same on PostgreSQL and MariaDB as on SQLite. The planted problems are
// the dataset's cases a coordinator must fix (students without a RUT,
// with a wrong check digit, without dates; the course whose sections
// carry no module code; the look-alike course) and its structure: a
// module without mandatory activities, the closing sections with a
// mandatory activity and no code, a Zoom class while syncModules leaves
// Zoom out (so that module has no synchronous class). Students who left
// or start later are no set-up problem.
func TestDoctorDemo(t *testing.T) {
	dir := demoDir(t)
	r := run(t, nil, "doctor", filepath.Join(dir, "mapping.yaml"), "--date", "2026-11-20")
	if r.code != ExitProblems {
		t.Fatalf("exit %d, want %d\n%s%s", r.code, ExitProblems, r.stdout, r.stderr)
	}
	golden(t, "doctor-demo.golden", strings.ReplaceAll(r.stdout, dir, "DIR"))
	got := findings(r.stdout)

	// Every planted problem, by the dataset's cases and structure.
	ds := demo.Generate(demo.DemoConfig())
	users := map[int64]*demo.User{}
	for _, u := range ds.Users {
		users[u.ID] = u
	}
	courses := map[int64]*demo.Course{}
	for _, c := range ds.Courses {
		courses[c.ID] = c
	}
	has := func(parts ...string) bool {
		for _, f := range got {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(f, p)
			}
			if all {
				return true
			}
		}
		return false
	}
	for _, c := range ds.Cases {
		u, crs := users[c.UserID], courses[c.CourseID]
		name := strings.TrimSpace(u.FirstName + " " + u.LastName)
		switch c.Expect {
		case demo.ExpectExcluded:
			if !has("Curso "+crs.Shortname, "alumno ", name) {
				t.Errorf("case %s (%s in %s) not reported", c.Case, name, crs.Shortname)
			}
		case demo.ExpectCourseError:
			if !has("Curso "+crs.Shortname, "ninguna sección lleva un código de módulo") {
				t.Errorf("case %s (%s) not reported", c.Case, crs.Shortname)
			}
		case demo.ExpectUnselected:
			if !has("Sitio", "«"+crs.Shortname+"»", "parece un curso SENCE") {
				t.Errorf("case %s (%s) not reported", c.Case, crs.Shortname)
			}
		default:
			// Sent, not sent or noted: nothing to fix.
			if has(name) {
				t.Errorf("case %s (%s, %s) is no set-up problem but is reported", c.Case, name, c.Expect)
			}
		}
	}
	closing := 0
	for _, c := range ds.Courses {
		if !c.SENCE || c.Shortname == "BODEGA 2026" || c.Shortname == "CAP-26-01-13-0105-1" {
			continue
		}
		closing++
		if !has("Curso "+c.Shortname, "la sección «Cierre del curso» tiene 1 actividad obligatoria") {
			t.Errorf("%s: the closing section without a module code is not reported", c.Shortname)
		}
	}
	for _, want := range [][]string{
		{"Curso CAP-26-01-13-0101-1", "módulo C61001-O101-M5", "no tiene actividades con finalización activada"},
		{"Curso BFCS-26-02-14-0103-3", "módulo PRES028008000558", "tiene clases en vivo de tipo «zoom»", "agregue zoom a params.syncModules"},
		{"Curso BFCS-26-02-14-0103-3", "módulo PRES028008000558", "no tiene clase sincrónica"},
	} {
		if !has(want...) {
			t.Errorf("not reported: %q", want)
		}
	}
	// Nothing else: the planted cases above, one line each.
	wantN := closing + 3
	for _, c := range ds.Cases {
		switch c.Expect {
		case demo.ExpectExcluded, demo.ExpectCourseError, demo.ExpectUnselected:
			wantN++
		}
	}
	if len(got) != wantN {
		t.Errorf("%d findings, want the %d planted:\n%s", len(got), wantN, strings.Join(got, "\n"))
	}

	// The same findings on the servers.
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dbtest.Name(dialect), func(t *testing.T) {
			_, dsn := demoDatabase(t, dialect, dir)
			site := filepath.Join(t.TempDir(), "site.yaml")
			os.WriteFile(site, []byte(fmt.Sprintf("version: 1\nextends: %s\nsource:\n  driver: %s\n  dsn: %q\n", filepath.Join(dir, "mapping.yaml"), dialect, dsn)), 0o600)
			r := run(t, nil, "doctor", site, "--date", "2026-11-20")
			if r.code != ExitProblems {
				t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if on := findings(r.stdout); strings.Join(on, "\n") != strings.Join(got, "\n") {
				t.Errorf("findings differ from SQLite's:\n%s\n--- SQLite:\n%s", strings.Join(on, "\n"), strings.Join(got, "\n"))
			}
			if !strings.Contains(r.stdout, "corren en "+dialect) {
				t.Errorf("not read from %s:\n%s", dialect, r.stdout)
			}
		})
	}
}

// TestDoctorReadyAndSettings: with the planted problems fixed in the demo
// database, doctor says the site is ready and exits 0; then the settings
// it reads itself are reported when wrong (the site's time zone and
// completion, a course's completion, a module without a grade category),
// and a wrong table prefix stops it before the courses, with the cause.
func TestDoctorReadyAndSettings(t *testing.T) {
	dir := demoDir(t)
	db, _ := demoDatabase(t, "sqlite", dir)
	exec := func(stmts ...string) {
		t.Helper()
		for _, s := range stmts {
			if _, err := db.Exec(s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
	// Keep the two courses without a student or module problem, and
	// leave the closing sections without mandatory activities.
	exec(`DELETE FROM mdl_course WHERE shortname IN ('CAP-26-01-13-0101-1', 'BFCS-26-02-14-0103-3', '274714104', 'CAP-26-01-13-0105-1', 'BODEGA 2026')`,
		`UPDATE mdl_course_modules SET completion = 0 WHERE section IN (SELECT id FROM mdl_course_sections WHERE name = 'Cierre del curso')`)
	m := filepath.Join(dir, "mapping.yaml")
	r := run(t, nil, "doctor", m, "--date", "2026-11-20")
	if r.code != ExitOK || !strings.Contains(r.stdout, "Resultado: listo para informar a SENCE") || strings.Contains(r.stdout, "PROBLEMA") {
		t.Fatalf("a ready site: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	exec(`UPDATE mdl_config SET value = 'America/Punta_Arenas' WHERE name = 'timezone'`,
		`UPDATE mdl_config SET value = '0' WHERE name = 'enablecompletion'`,
		`UPDATE mdl_course SET enablecompletion = 0 WHERE shortname = 'AYSEN-26-03-11-0102'`,
		`UPDATE mdl_grade_categories SET fullname = 'Unidad 2' WHERE fullname = 'C61006-O565656005-M2'`)
	r = run(t, nil, "doctor", m, "--date", "2026-11-20")
	got := findings(r.stdout)
	want := []string{
		"Sitio | zona horaria de Moodle: America/Punta_Arenas, pero el motor lee las fechas de Moodle",
		"Sitio | la finalización de actividades no está habilitada en el sitio",
		"Curso AYSEN-26-03-11-0102 (Atención de clientes y calidad de servicio), id 3 | la finalización de actividades está deshabilitada en el curso",
		"Curso CAP-26-01-13-0106-1 (Primeros auxilios en el lugar de trabajo), id 8 | módulo C61006-O565656005-M2: ninguna categoría de calificación del curso lleva su código en el nombre",
	}
	if r.code != ExitProblems || len(got) != len(want) {
		t.Fatalf("exit %d, %d findings, want %d:\n%s", r.code, len(got), len(want), r.stdout)
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w) {
			t.Errorf("finding %d:\n got %s\nwant %s…", i, got[i], w)
		}
	}
	// A prefix the database does not have: the cause, and no course.
	site := filepath.Join(dir, "prefix.yaml")
	os.WriteFile(site, []byte("version: 1\nextends: mapping.yaml\nsource:\n  prefix: moodle_\n"), 0o600)
	r = run(t, nil, "doctor", site, "--date", "2026-11-20")
	if r.code != ExitProblems || len(findings(r.stdout)) != 1 || !strings.Contains(r.stdout, "¿prefix: mdl_?") ||
		!strings.Contains(r.stdout, "prefix.yaml:4:11") || strings.Contains(r.stdout, "\nCurso ") || !strings.Contains(r.stdout, "los cursos no se revisaron") {
		t.Errorf("wrong prefix: exit %d\n%s", r.code, r.stdout)
	}
	// JSON says the same.
	r = run(t, nil, "doctor", m, "--date", "2026-11-20", "--json")
	if r.code != ExitProblems || !strings.Contains(r.stdout, `"texto": "zona horaria de Moodle: America/Punta_Arenas`) || !strings.Contains(r.stdout, `"cursosRevisados": true`) {
		t.Errorf("--json: exit %d\n%s", r.code, r.stdout)
	}
}
