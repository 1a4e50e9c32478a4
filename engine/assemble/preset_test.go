package assemble_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/moodledb"
	"github.com/otec-tools/sence-engine/engine/moodledb/dbtest"
	"github.com/otec-tools/sence-engine/engine/plan"
)

// The module names and course codes of SENCE's documents (../shared/spec,
// from the seeds: the newest guide 000, the 2021 slides 001, the 2022
// guide 002 and SENCE's integration test), each as a Moodle site set up by
// the guide writes it, with the code the preset must send.
var (
	documentedSections = []struct{ name, code string }{
		{"C51737-O14-M1 Fundamentos", "C51737-O14-M1"},                                // 000, 002
		{"C51737-014-M2 Fundamentos", "C51737-014-M2"},                                // 001: a zero for the O
		{"C46982-O565656565-M1", "C46982-O565656565-M1"},                              // integration test
		{"PRES028008000558 Introducción al comercio electrónico", "PRES028008000558"}, // 000, SIC screen
		{"ELE028837032039 - Módulo 1", "ELE028837032039"},                             // 000, Moodle screen
		{"LE028837032039", "LE028837032039"},                                          // 000, example payload
		{"Módulo 2: C51737-O14-M2", "C51737-O14-M2"},                                  // after a label
		{"1. ELE028837032040", "ELE028837032040"},                                     // after a number
		{"C51737-O14-M3: Herramientas de marketing digital", "C51737-O14-M3"},
		{"PRES028008000559-Comercio electrónico", "PRES028008000559"},                  // a dash right after
		{"Seguridad digital (PRES028008000561)", "PRES028008000561"},                   // between brackets
		{"Módulo 4 – C51737-O14-M4", "C51737-O14-M4"},                                  // after an en dash
		{"FORTALECIENDO MI PROPUESTA DE VALOR / C48006-015387-M1", "C48006-015387-M1"}, // 000, a course page
	}
	// Section names that carry no module code: never sent as modules.
	uncodedSections = []string{"Introducción", "Semana 1", "Módulo 5", "Cierre del curso", "ISO9001 y calidad",
		"código c51737-o14-m9 en minúsculas", "Unidad 3 - M3"}

	documentedCourses = []string{
		"CAP-21-01-13-0000-1",  // 000 examples
		"CAP-15-01-13-0446",    // integration test
		"AYSEN-20-03-11-0007",  // 000 history
		"BFCS-21-02-14-0106-3", // 000 SIC module screen
		"BFCS-21-02-14-01",     // 000 SIC "Código Curso"
		"COD-CUR-000333222",    // 001, 002 placeholder
		"274714101",            // 000 SIC "Código Oferta"
	}
	notCourses = []string{"Inducción", "PRUEBA", "site", "INDUCCION-DOCENTES", "2024", "cap-21-01-13-0000-1", "CAP 21-01-13", "Curso de prueba 1"}
)

// TestPresetAsShipped runs the preset exactly as shipped (a site file with
// nothing but source and sence) on a SQLite Moodle set up as SENCE's guide
// says, with every course code and module code shape of SENCE's documents:
// every SENCE course is selected and nothing else, and every module code
// is sent whole.
func TestPresetAsShipped(t *testing.T) {
	ctx := context.Background()
	db, dsn := dbtest.OpenDSN(t, moodledb.SQLite)
	if err := moodledb.CreateSchema(ctx, db, moodledb.SQLite, "mdl_"); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 10, 1, 1, 0, 0, 0, chile.Location).Unix()
	end := time.Date(2026, 12, 31, 1, 0, 0, 0, chile.Location).Unix()
	var stmts []string
	add := func(format string, args ...any) { stmts = append(stmts, fmt.Sprintf(format, args...)) }
	add(`INSERT INTO mdl_modules (id, name) VALUES (1, 'page')`)
	add(`INSERT INTO mdl_role (id, shortname, archetype) VALUES (5, 'student', 'student')`)
	add(`INSERT INTO mdl_user (id, username, idnumber, firstname, lastname, mnethostid, confirmed) VALUES (2, '12345678-5', '12345678-5', 'Andrea', 'Poblete', 1, 1)`)
	add(`INSERT INTO mdl_course (id, category, shortname, fullname, format) VALUES (1, 0, 'campus', 'Campus', 'site')`)
	ids := struct{ section, cm int }{}
	course := func(id int, shortname string, sections []string) {
		add(`INSERT INTO mdl_course (id, category, shortname, fullname, format, startdate, enddate, enablecompletion) VALUES (%d, 1, '%s', 'Curso %d', 'topics', %d, %d, 1)`, id, shortname, id, start, end)
		add(`INSERT INTO mdl_context (id, contextlevel, instanceid, path, depth) VALUES (%d, 50, %d, '/1/%d', 2)`, id, id, id)
		add(`INSERT INTO mdl_enrol (id, enrol, status, courseid) VALUES (%d, 'manual', 0, %d)`, id, id)
		add(`INSERT INTO mdl_user_enrolments (id, status, enrolid, userid, timestart, timeend) VALUES (%d, 0, %d, 2, %d, %d)`, id, id, start, end)
		add(`INSERT INTO mdl_role_assignments (id, roleid, contextid, userid) VALUES (%d, 5, %d, 2)`, id, id)
		for num, name := range append([]string{""}, sections...) {
			ids.section++
			add(`INSERT INTO mdl_course_sections (id, course, section, name, sequence) VALUES (%d, %d, %d, '%s', '')`, ids.section, id, num, name)
			ids.cm++
			add(`INSERT INTO mdl_page (id, course, name) VALUES (%d, %d, 'Lectura %d')`, ids.cm, id, ids.cm)
			add(`INSERT INTO mdl_course_modules (id, course, module, instance, section, completion) VALUES (%d, %d, 1, %d, %d, 2)`, ids.cm, id, ids.cm, ids.section)
		}
	}
	var names []string
	for _, s := range documentedSections {
		names = append(names, s.name)
	}
	names = append(names, uncodedSections...)
	for i, code := range append(slices.Clone(documentedCourses), notCourses...) {
		sections := []string{"C51737-O14-M1 Fundamentos"}
		if i == 0 {
			sections = names
		}
		course(i+2, strings.ReplaceAll(code, "'", "''"), sections)
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	// The preset as shipped: the site file sets nothing but where Moodle
	// is and who the OTEC is.
	site := fmt.Sprintf("version: 1\nextends: moodle\nsource:\n  driver: sqlite\n  dsn: %q\nsence:\n  rutOtec: \"76543210-3\"\n  token: 5EEBF607-25A9-4DB2-A4DD-5D31BDAE3220\n", dsn)
	m, ds := mapping.LoadBytes("sitio.yaml", []byte(site), mapping.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	if len(m.Files) != 2 {
		t.Fatalf("the site file extends %v", m.Files)
	}
	pl, ds := plan.Compile(m)
	if ds.HasErrors() || len(ds) > 0 {
		t.Fatalf("the preset as shipped has problems:\n%s", ds.Error())
	}
	results, _ := runBuild(t, pl, assemble.Options{ReportDate: time.Date(2026, 11, 20, 0, 0, 0, 0, chile.Location), Check: validator(t)})
	var selected []string
	for _, r := range results {
		selected = append(selected, r.CodigoOferta)
		if r.Payload == nil {
			t.Errorf("course %s not sendable: %v %+v", r.CodigoOferta, r.Err, r.Excluded)
		}
	}
	if !slices.Equal(selected, documentedCourses) {
		t.Errorf("selected courses %q\nwant exactly %q", selected, documentedCourses)
	}
	if len(results) == 0 || results[0].Payload == nil {
		t.Fatal("the course with every module shape was not built")
	}
	var sent []string
	for _, mod := range results[0].Payload.ListaAlumnos[0].ListaModulos {
		sent = append(sent, mod.CodigoModulo)
	}
	var want []string
	for _, s := range documentedSections {
		want = append(want, s.code)
	}
	if !slices.Equal(sent, want) {
		t.Errorf("codigoModulo sent:\n %q\nwant, one per section named with a code:\n %q", sent, want)
	}
}
