package cli

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"github.com/otec-tools/sence-engine/engine/pipeline"
	"github.com/otec-tools/sence-engine/engine/voice"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/ledger"
	"github.com/otec-tools/sence-engine/engine/moodledb/demo"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run %s -update creates it)", err, t.Name())
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs (go test -update rewrites it after review), line %d:\n got  %s\n want %s", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s differs: %d lines, want %d", path, len(gl), len(wl))
	}
}

// site writes a mapping beside the demo's that extends it with extra YAML.
func site(t *testing.T, dir, name, extra string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("version: 1\nextends: mapping.yaml\n"+extra), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// withoutPaths drops the lines that name temporary files.
func withoutPaths(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "Informe: ") || strings.HasPrefix(l, "Archivos escritos en ") || strings.HasPrefix(l, "Registro: ") ||
			strings.HasPrefix(l, "       informe: ") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// TestExportSummaryGolden pins what a coordinator reads after an export of
// the demo, as shipped and with groups as sections: the course without
// module codes said once, the sections without a code, the students who
// left, the look-alike course by name, and one line per section.
func TestExportSummaryGolden(t *testing.T) {
	dir := demoDir(t)
	for _, tc := range []struct{ name, extra string }{
		{"export-demo.golden", ""},
		{"export-groups.golden", "params:\n  groupFrom: groups\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, nil, "export", site(t, dir, "site.yaml", tc.extra), "--date", "2026-11-20")
			if r.code != ExitProblems { // the course without module codes
				t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			golden(t, tc.name, r.stdout)
		})
	}
}

// TestExportOnlyLookalike: a site whose only SENCE-looking course is not
// selected sends nothing, says so by name with what to do, and exits 1.
func TestExportOnlyLookalike(t *testing.T) {
	dir := demoDir(t)
	db, err := sql.Open("sqlite", filepath.Join(dir, "moodle.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM mdl_course WHERE format <> 'site' AND shortname <> 'BODEGA 2026'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	mapping := filepath.Join(dir, "mapping.yaml")
	r := run(t, nil, "export", mapping, "--date", "2026-11-20")
	if r.code != ExitProblems {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"Cursos de Moodle que no se informan a SENCE:\n  «BODEGA 2026» (Gestión de bodega e inventarios), id 9: su nombre corto no calza con params.courseCodePattern",
		"5 secciones llevan un código de módulo (C61007-O565656006-M1, C61007-O565656006-M2, C61007-O565656006-M3, C61007-O565656006-M4, C61007-O565656006-M5) y tiene 5 alumnos activos",
		"escriba su código de curso SENCE como nombre corto (o ajuste params.courseCodePattern)",
		"Total: 0 cursos para enviar, 0 alumnos incluidos, 0 excluidos, 1 curso de Moodle que parece SENCE no se informa",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "no hay ningún curso para enviar: ningún curso de Moodle quedó seleccionado como curso SENCE: el único curso de Moodle no tiene un nombre corto que calce con params.courseCodePattern («^(?:[A-Z]{2,6}-") ||
		!strings.Contains(r.stderr, "nombres cortos de Moodle: «BODEGA 2026». Los que parecen cursos SENCE se listan arriba, con qué hacer") {
		t.Errorf("stderr: %s", r.stderr)
	}
	// --course names it: the same report, and no «not among the SENCE
	// courses» warning on top.
	r = run(t, nil, "export", mapping, "--date", "2026-11-20", "--course", "BODEGA 2026")
	if r.code != ExitProblems || !strings.Contains(r.stdout, "«BODEGA 2026»") || strings.Contains(r.stderr, "no está entre los cursos SENCE") {
		t.Errorf("--course: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// A static list in force: the reason names the list.
	r = run(t, nil, "export", site(t, dir, "list.yaml", "courses:\n  list: [CAP-26-01-13-0101-1]\n"), "--date", "2026-11-20")
	if r.code != ExitProblems || !strings.Contains(r.stdout, "«BODEGA 2026» (Gestión de bodega e inventarios), id 9: no está en «courses.list», pero parece un curso SENCE") ||
		!strings.Contains(r.stdout, "y agréguelo a «courses.list»") {
		t.Errorf("list: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestRunGroupsAsSections: with Moodle groups as SENCE sections the course
// is sent as one POST per section, each with its own codigoEnvio, file and
// ledger entry; a second run the same night sends neither again.
func TestRunGroupsAsSections(t *testing.T) {
	dd := demoDir(t)
	ctx := context.Background()
	clock := newClock(22, 30)
	// One course at a time, so that SENCE's process numbers in the report
	// are always the same.
	mapping := site(t, dd, "groups.yaml", "params:\n  groupFrom: groups\nrun:\n  ledger: groups.db\n  concurrency: 1\n")
	out := filepath.Join(dd, "out")
	if r := runCmd(ctx, clock, "export", mapping, "--date", "2026-11-20", "--out", out); r.code != ExitProblems {
		t.Fatalf("export: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, code := range demo.GroupCodes {
		if _, err := os.Stat(filepath.Join(out, "CAP-26-01-13-0106-1_"+code+".json")); err != nil {
			t.Errorf("no export file for section %s: %v", code, err)
		}
	}
	r := runCmd(ctx, clock, "run", mapping, "--date", "2026-11-20")
	if r.code != ExitProblems {
		t.Fatalf("run: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	golden(t, "run-groups.golden", withoutPaths(r.stdout))
	l, err := ledger.Open(ctx, filepath.Join(dd, "groups.db"))
	if err != nil {
		t.Fatal(err)
	}
	sends, _ := l.Sends(ctx)
	var codes []string
	for _, s := range sends {
		if s.CodigoOferta == "CAP-26-01-13-0106-1" {
			codes = append(codes, s.CodigoGrupo+" "+s.CodigoEnvio+" "+s.Status)
		}
	}
	want := []string{
		"COD-SEC-000106001 CAP-26-01-13-0106-1-COD-SEC-000106001-20261120-i1 " + ledger.SendAccepted,
		"COD-SEC-000106002 CAP-26-01-13-0106-1-COD-SEC-000106002-20261120-i1 " + ledger.SendAccepted,
	}
	slices.Sort(codes)
	if !slices.Equal(codes, want) {
		t.Errorf("sends of the course in two sections: %v, want %v", codes, want)
	}
	for _, code := range demo.GroupCodes {
		acc, _ := l.AcceptedOf(ctx, "CAP-26-01-13-0106-1", code)
		if len(acc) == 0 {
			t.Errorf("nothing accepted recorded for section %s", code)
		}
	}
	l.Close()
	r = runCmd(ctx, clock, "run", mapping, "--date", "2026-11-20")
	// The other courses have no Moodle group with a section code: each
	// fails once (the one without module codes says both of its problems).
	if strings.Count(r.stdout, "Curso CAP-26-01-13-0106-1 grupo COD-SEC-00010600") != 2 || strings.Count(r.stdout, ": ya-enviado") != 2 ||
		strings.Count(r.stdout, "el curso no tiene grupos de Moodle con un código de sección SENCE") != 5 {
		t.Errorf("second run: %d %d %d\n%s", strings.Count(r.stdout, "Curso CAP-26-01-13-0106-1 grupo COD-SEC-00010600"), strings.Count(r.stdout, ": ya-enviado"), strings.Count(r.stdout, "el curso no tiene grupos de Moodle con un código de sección SENCE"), r.stdout)
	}
}

// TestRunLeavers: students SENCE accepted one night are reported the next
// when they leave. One whose enrolment is suspended is said by the build
// (Moodle still has them), and with params.leavers: send is sent estado 3;
// one whose enrolment is removed is found from the ledger. Both appear in
// the run report, its JSON and engine status.
func TestRunLeavers(t *testing.T) {
	dd := demoDir(t)
	ctx := context.Background()
	// One course at a time: SENCE's process numbers in the report are
	// always the same.
	mapping := site(t, dd, "one.yaml", "run:\n  concurrency: 1\n")
	const course = "CAP-26-01-13-0101-1"
	if r := runCmd(ctx, newClock(22, 30), "run", mapping, "--date", "2026-11-20"); r.code != ExitProblems {
		t.Fatalf("night 1: exit %d\n%s", r.code, r.stdout)
	}
	// Two students accepted in progress leave.
	l, err := ledger.Open(ctx, filepath.Join(dd, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	acc, _ := l.AcceptedOf(ctx, course, course)
	l.Close()
	var inProgress []string
	for r, a := range acc {
		if a.Student.Estado == 1 {
			inProgress = append(inProgress, r)
		}
	}
	slices.Sort(inProgress)
	if len(inProgress) < 2 {
		t.Fatalf("%d students in progress accepted", len(inProgress))
	}
	suspended, removed := inProgress[0], inProgress[1]
	db, err := sql.Open("sqlite", filepath.Join(dd, "moodle.db"))
	if err != nil {
		t.Fatal(err)
	}
	ds := demo.Generate(demo.DemoConfig())
	userOf := func(r string) (int64, string) {
		for _, u := range ds.Users {
			if u.RUT == r {
				return u.ID, u.FirstName + " " + u.LastName
			}
		}
		t.Fatalf("no demo user has RUT %s", r)
		return 0, ""
	}
	sid, sname := userOf(suspended)
	rid, rname := userOf(removed)
	for _, q := range []string{
		fmt.Sprintf(`UPDATE mdl_user_enrolments SET status = 1 WHERE userid = %d AND enrolid IN (SELECT id FROM mdl_enrol WHERE courseid = 2)`, sid),
		fmt.Sprintf(`DELETE FROM mdl_user_enrolments WHERE userid = %d AND enrolid IN (SELECT id FROM mdl_enrol WHERE courseid = 2)`, rid),
		fmt.Sprintf(`DELETE FROM mdl_role_assignments WHERE userid = %d AND contextid = (SELECT id FROM mdl_context WHERE contextlevel = 50 AND instanceid = 2)`, rid),
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	night2 := &testClock{t: time.Date(2026, 11, 21, 22, 30, 0, 0, chile.Location)}
	r := runCmd(ctx, night2, "run", mapping, "--date", "2026-11-21")
	if r.code != ExitProblems {
		t.Fatalf("night 2: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"nota: " + voice.Student(sname, suspended, "", strconv.FormatInt(sid, 10)) + ": dejó de estar activo en el curso (matrícula suspendida",
		"retirado " + voice.Student(rname, removed, "", "") + ": SENCE aceptó su avance el 2026-11-20 (",
		"estado 1: cursando), pero esta noche no está entre los alumnos del curso en Moodle (matrícula eliminada, rol de alumno quitado o usuario borrado)",
		", 1 retirado;",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("night 2 report lacks %q:\n%s", want, r.stdout)
		}
	}
	golden(t, "run-leavers.golden", withoutPaths(r.stdout))
	rep := readReport(t, filepath.Join(dd, "reports", "run-2.json"))
	if rep.Totals.Left != 1 {
		t.Errorf("report totals: %+v", rep.Totals)
	}
	st := runCmd(ctx, night2, "status", mapping)
	for _, want := range []string{
		"Avisos de la ejecución 2",
		"alumno retirado en el curso " + course + ", " + voice.Student(rname, removed, "", "") + ": SENCE aceptó su avance el 2026-11-20",
		"no se informa en el curso " + course + ", " + voice.Student(sname, suspended, "", strconv.FormatInt(sid, 10)) + ": dejó de estar activo",
		"curso de Moodle no seleccionado, BODEGA 2026 (Gestión de bodega e inventarios)",
	} {
		if !strings.Contains(st.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, st.stdout)
		}
	}

	// Night 3 with params.leavers: send: the suspended student is sent
	// estado 3 and SENCE accepts it; the removed one has no data to send
	// and is still reported.
	send := site(t, dd, "leavers.yaml", "params:\n  leavers: send\nrun:\n  concurrency: 1\n")
	night3 := &testClock{t: time.Date(2026, 11, 22, 22, 30, 0, 0, chile.Location)}
	r = runCmd(ctx, night3, "run", send, "--date", "2026-11-22")
	if r.code != ExitProblems || !strings.Contains(r.stdout, "retirado "+voice.Student(rname, removed, "", "")) || strings.Contains(r.stdout, sname+" (RUT") {
		t.Fatalf("night 3: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	l, err = ledger.Open(ctx, filepath.Join(dd, "ledger.db")) // the demo's run.ledger, shared
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	acc, _ = l.AcceptedOf(ctx, course, course)
	if a := acc[suspended]; a == nil || a.Student.Estado != 3 {
		t.Errorf("the suspended student with leavers: send: accepted %+v, want estado 3", a)
	}
}

// TestTwoCoursesOneSENCECode: a courses.list that gives two Moodle
// courses the same codigoOferta sends the first and fails the second,
// naming both, instead of sending SENCE two lists of one course; the
// export writes one file for it and exits 1.
func TestTwoCoursesOneSENCECode(t *testing.T) {
	dir := demoDir(t)
	mapping := site(t, dir, "dos.yaml", "courses:\n  list:\n    - {course: CAP-26-01-13-0101-1}\n    - {course: CAP-26-01-13-0106-1, codigoOferta: CAP-26-01-13-0101-1}\n")
	out := filepath.Join(dir, "envios-dos")
	r := run(t, nil, "export", mapping, "--date", "2026-11-20", "--out", out)
	if r.code != ExitProblems {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	want := "da el mismo codigoOferta «CAP-26-01-13-0101-1» que el curso de Moodle «Prevención de riesgos en faenas y obras» (id "
	if !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "SENCE recibiría dos listas distintas del mismo curso y sección en la misma noche. No se envía") ||
		!strings.Contains(r.stdout, "Total: 1 curso para enviar, 24 alumnos incluidos") {
		t.Errorf("want %q in\n%s", want, r.stdout)
	}
	courses, err := pipeline.ReadExport(out, nil)
	if err != nil || len(courses) != 1 || len(courses[0].ListaAlumnos) != 24 {
		t.Fatalf("export: %v, %d courses", err, len(courses))
	}
}
