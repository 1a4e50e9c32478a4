package assemble_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/moodledb/demo"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// student finds a sent student by RUT number.
func sentStudent(results []*assemble.CourseResult, code string, rut int64) *payload.Alumno {
	for _, r := range results {
		if r.CodigoOferta != code || r.Payload == nil {
			continue
		}
		for i := range r.Payload.ListaAlumnos {
			if r.Payload.ListaAlumnos[i].RutAlumno == rut {
				return &r.Payload.ListaAlumnos[i]
			}
		}
	}
	return nil
}

func caseStudent(t *testing.T, ds *demo.Dataset, name string) (*demo.User, *demo.Course) {
	t.Helper()
	cs := ds.CasesFor(name)
	if len(cs) != 1 {
		t.Fatalf("%d %q cases", len(cs), name)
	}
	return ds.User(cs[0].UserID), ds.Course(cs[0].CourseID)
}

// TestDemoChileanGrades: on a 1–7 gradebook the grade is the Chilean
// grade: 4.0 and 4.6 pass, 3.9 fails, and SENCE receives the exigency's
// percentage of each (60, 68, 58), never Moodle's linear 50 %.
func TestDemoChileanGrades(t *testing.T) {
	dsn, ds := loadDemo(t, "sqlite", "mdl_", demo.DemoConfig())
	results, _ := runBuild(t, demoPlan(t, "sqlite", dsn, "mdl_"), assemble.Options{Check: validator(t)})
	for _, c := range []struct {
		name   string
		estado int
		pct    float64
	}{{"nota-4.0", 2, 60}, {"nota-4.6", 2, 68}, {"nota-3.9", 3, 58}} {
		u, course := caseStudent(t, ds, c.name)
		al := sentStudent(results, course.Shortname, rutOf(u))
		if al == nil {
			t.Errorf("%s: not sent", c.name)
			continue
		}
		if al.Estado != c.estado || al.EvaluacionFinal == nil || *al.EvaluacionFinal != c.pct || al.PorcentajeAvance != 100 {
			t.Errorf("%s: estado %d, evaluacionFinal %v, avance %d; want estado %d, %v, 100", c.name, al.Estado, deref(al.EvaluacionFinal), al.PorcentajeAvance, c.estado, c.pct)
		}
		if len(al.ListaModulos) != len(course.Modules()) {
			t.Errorf("%s: %d modules sent", c.name, len(al.ListaModulos))
		}
		for _, m := range al.ListaModulos {
			if m.Estado != c.estado || m.NotaModulo == nil || *m.NotaModulo != c.pct {
				t.Errorf("%s: module %s estado %d nota %v; want %d, %v", c.name, m.CodigoModulo, m.Estado, deref(m.NotaModulo), c.estado, c.pct)
			}
		}
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func rutOf(u *demo.User) int64 { return rutNumber(u.RUT) }

// TestDemoSynchronousTime: every sent student's tiempoConectividad is the
// dedication block's sessions plus the BigBlueButton classes they attended
// in any section, with or without completion tracking; a module's
// synchronous count includes its classes without completion.
func TestDemoSynchronousTime(t *testing.T) {
	dsn, ds := loadDemo(t, "sqlite", "mdl_", demo.DemoConfig())
	results, _ := runBuild(t, demoPlan(t, "sqlite", dsn, "mdl_"), assemble.Options{Check: validator(t)})
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := map[[2]int64]int64{} // course, rut → seconds
	rows, err := db.QueryContext(context.Background(), `
		SELECT c.id, u.id, COALESCE((SELECT SUM(d.timespent) FROM mdl_block_dedication d WHERE d.courseid = c.id AND d.userid = u.id), 0)
		     + COALESCE((SELECT SUM(json_extract(bl.meta, '$.data.duration')) FROM mdl_bigbluebuttonbn_logs bl
		                  JOIN mdl_course_modules cm ON cm.instance = bl.bigbluebuttonbnid AND cm.module = 2 AND cm.course = bl.courseid
		                 WHERE bl.courseid = c.id AND bl.userid = u.id AND bl.log = 'Summary' AND cm.deletioninprogress = 0), 0)
		  FROM mdl_course c CROSS JOIN mdl_user u`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var cid, uid, secs int64
		if err := rows.Scan(&cid, &uid, &secs); err != nil {
			t.Fatal(err)
		}
		if u := ds.User(uid); u != nil && u.RUT != "" {
			want[[2]int64{cid, rutNumber(u.RUT)}] = secs
		}
	}
	rows.Close()
	checked, withLive := 0, 0
	for _, r := range results {
		if r.Payload == nil {
			continue // a course the demo plants to fail
		}
		for _, al := range r.Payload.ListaAlumnos {
			cid := int64(0)
			fmt.Sscan(r.CourseID, &cid)
			w := want[[2]int64{cid, al.RutAlumno}]
			if al.TiempoConectividad != w {
				t.Errorf("%s %d: tiempoConectividad %d, want block + live classes %d", r.CodigoOferta, al.RutAlumno, al.TiempoConectividad, w)
			}
			checked++
			if sum := moduleSeconds(al); sum > 0 {
				withLive++
			}
		}
	}
	if checked < 70 || withLive == 0 {
		t.Errorf("checked %d students, %d with module time", checked, withLive)
	}
	// The class without completion tracking: synchronous, listed, not in
	// progress, its time in the module's.
	u, course := caseStudent(t, ds, "live-no-completion")
	al := sentStudent(results, course.Shortname, rutOf(u))
	mod := course.Modules()[2]
	var class *demo.Activity
	for _, a := range mod.Activities {
		if a.Module == "bigbluebuttonbn" {
			class = a
		}
	}
	if al == nil || class == nil || class.Completion != 0 {
		t.Fatalf("live-no-completion: student %v, class %+v", al, class)
	}
	i := slices.IndexFunc(al.ListaModulos, func(m payload.Modulo) bool { return m.CodigoModulo == mod.Code })
	m := al.ListaModulos[i]
	listed := slices.ContainsFunc(m.ListaActividades, func(a payload.Actividad) bool { return a.CodigoActividad == class.Name })
	if *m.CantActividadSincronica != 1 || !listed || *m.CantActividadSincronica+*m.CantActividadAsincronica != len(m.ListaActividades) {
		t.Errorf("module %s: %d synchronous, %d asynchronous, %d activities, class listed %v", m.CodigoModulo, *m.CantActividadSincronica, *m.CantActividadAsincronica, len(m.ListaActividades), listed)
	}
	var live int64
	db.QueryRow(`SELECT SUM(json_extract(meta, '$.data.duration')) FROM mdl_bigbluebuttonbn_logs WHERE bigbluebuttonbnid = ? AND userid = ? AND log = 'Summary'`, class.Instance, u.ID).Scan(&live)
	if live == 0 || m.TiempoConectividad < live {
		t.Errorf("module %s: time %d, the class alone %d", m.CodigoModulo, m.TiempoConectividad, live)
	}
}

func moduleSeconds(al payload.Alumno) int64 {
	var n int64
	for _, m := range al.ListaModulos {
		n += m.TiempoConectividad
	}
	return n
}

// TestDemoZoom: with the preset's defaults the Zoom class is not counted
// and a warning says so; a site that names zoom in syncModules counts it
// as the module's synchronous class, lists it by its name and adds the
// time Zoom reported into the module's and the student's.
func TestDemoZoom(t *testing.T) {
	dsn, ds := loadDemo(t, "sqlite", "mdl_", demo.DemoConfig())
	u, course := caseStudent(t, ds, "zoom-class")
	mod := course.Modules()[0]
	var class *demo.Activity
	for _, a := range mod.Activities {
		if a.Module == "zoom" {
			class = a
		}
	}
	if class == nil {
		t.Fatal("no Zoom class in the first module")
	}
	byDefault, _ := runBuild(t, demoPlan(t, "sqlite", dsn, "mdl_"), assemble.Options{Check: validator(t)})
	withZoom, _ := runBuild(t, demoPlan(t, "sqlite", dsn, "mdl_", "params:\n  syncModules: [bigbluebuttonbn, zoom]\n"), assemble.Options{Check: validator(t)})
	warnings := func(results []*assemble.CourseResult) []string {
		var out []string
		for _, r := range results {
			for _, n := range r.Notes {
				if n.Warning && strings.Contains(n.Who, mod.Code) {
					out = append(out, n.Msg)
				}
			}
		}
		return out
	}
	if w := warnings(byDefault); len(w) != 2 || !strings.Contains(strings.Join(w, "|"), "no tiene clase sincrónica") || !strings.Contains(strings.Join(w, "|"), "agregue zoom a params.syncModules") {
		t.Errorf("defaults: warnings %q", w)
	}
	if w := warnings(withZoom); len(w) != 0 {
		t.Errorf("with zoom: warnings %q", w)
	}
	a, b := sentStudent(byDefault, course.Shortname, rutOf(u)), sentStudent(withZoom, course.Shortname, rutOf(u))
	if a == nil || b == nil {
		t.Fatal("zoom-class student not sent")
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var zoom int64
	if err := db.QueryRow(`SELECT SUM(duration) FROM mdl_zoom_meeting_participants WHERE userid = ?`, u.ID).Scan(&zoom); err != nil || zoom < 1800 {
		t.Fatalf("the student's Zoom time: %d %v", zoom, err)
	}
	if b.TiempoConectividad-a.TiempoConectividad != zoom {
		t.Errorf("student time %d → %d, want + %d", a.TiempoConectividad, b.TiempoConectividad, zoom)
	}
	ma, mb := a.ListaModulos[0], b.ListaModulos[0]
	if ma.CodigoModulo != mod.Code || mb.TiempoConectividad-ma.TiempoConectividad != zoom {
		t.Errorf("module %s time %d → %d, want + %d", mb.CodigoModulo, ma.TiempoConectividad, mb.TiempoConectividad, zoom)
	}
	listed := slices.ContainsFunc(mb.ListaActividades, func(x payload.Actividad) bool { return x.CodigoActividad == class.Name })
	if *ma.CantActividadSincronica != 0 || *mb.CantActividadSincronica != 1 || !listed || len(mb.ListaActividades) != len(ma.ListaActividades)+1 {
		t.Errorf("module %s: synchronous %d → %d, Zoom class «%s» listed %v", mb.CodigoModulo, *ma.CantActividadSincronica, *mb.CantActividadSincronica, class.Name, listed)
	}
	// The progress does not change: the class has no completion tracking.
	if ma.PorcentajeAvance != mb.PorcentajeAvance || a.PorcentajeAvance != b.PorcentajeAvance {
		t.Errorf("progress changed: %d/%d → %d/%d", a.PorcentajeAvance, ma.PorcentajeAvance, b.PorcentajeAvance, mb.PorcentajeAvance)
	}
}
