package assemble

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/dedication"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/moodledb"
	"github.com/otec-tools/sence-engine/engine/moodledb/dbtest"
	"github.com/otec-tools/sence-engine/engine/moodledb/demo"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/source"
)

// The hot paths of a large run, measured apart from the database:
// evaluating a student's expressions and the maximum-gap sessions.

// hotSite loads a demo site into SQLite and compiles the demo mapping,
// with extra YAML appended to the site's mapping.
func hotSite(t testing.TB, cfg demo.Config, extra string) *plan.Plan {
	t.Helper()
	db, dsn := dbtest.OpenDSN(t, moodledb.SQLite)
	ctx := context.Background()
	if err := moodledb.CreateSchema(ctx, db, moodledb.SQLite, "mdl_"); err != nil {
		t.Fatal(err)
	}
	if err := demo.Generate(cfg).Load(ctx, db, moodledb.SQLite, "mdl_"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	site := fmt.Sprintf("version: 1\nextends: ../../../examples/moodle-demo/mapping.yaml\nsource:\n  driver: sqlite\n  dsn: %q\n  prefix: mdl_\n%s", dsn, extra)
	m, ds := mapping.LoadBytes("testdata/site.yaml", []byte(site), mapping.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	pl, ds := plan.Compile(m)
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	return pl
}

// extracted is a builder with one batch of every course read.
func extracted(t testing.TB, pl *plan.Plan) (*builder, []*courseEntity, index) {
	t.Helper()
	ctx := context.Background()
	db, err := source.Open(ctx, "sqlite", pl.Mapping.Source.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b := newBuilder(db, pl, Options{ReportDate: demo.DefaultReportDate})
	b.setReportDate()
	if b.tx, err = db.ReadTx(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.tx.Rollback() })
	courses, _, _, err := b.courses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := b.extract(ctx, courses)
	if err != nil {
		t.Fatal(err)
	}
	return b, courses, idx
}

// BenchmarkEvaluate is the cost per student of assembling and evaluating
// the standard preset (children before parents, conversion to SENCE's
// types), with the rows already read: the engine's own share of a run.
func BenchmarkEvaluate(b *testing.B) {
	cfg := demo.DemoConfig()
	cfg.StudentsPerCourse = 100
	pl := hotSite(b, cfg, "")
	bl, courses, idx := extracted(b, pl)
	students := 0
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range courses {
			sc := c.sc
			rs := bl.course(c, idx)
			c.sc = sc
			delete(sc, plan.ChildList[mapping.Course])
			for _, r := range rs {
				if r.Payload != nil {
					students += len(r.Payload.ListaAlumnos)
				}
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(students)/1000, "µs/student")
}

// BenchmarkSessionRule is the maximum-gap rule alone, per million events.
func BenchmarkSessionRule(b *testing.B) {
	const events = 1_000_000
	times := make([]int64, 400)
	t := int64(1_780_000_000)
	for i := range times {
		t += int64(30 + (i*7919)%4000) // gaps below and above 45 minutes
		times[i] = t
	}
	rule := dedication.Rule{Gap: 2700, MinLen: 120}
	for b.Loop() {
		for n := 0; n < events; n += len(times) {
			var st dedication.State
			for _, t := range times {
				rule.Add(&st, t)
			}
			rule.Totals(st)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/million-events")
}

// BenchmarkDedicationLog is the engine's dedication from the log (the
// dedication_log and module_log sessions queries) per million events read,
// SQLite included.
func BenchmarkDedicationLog(b *testing.B) {
	cfg := demo.DemoConfig()
	cfg.StudentsPerCourse = 100
	pl := hotSite(b, cfg, "params:\n  dedicationSource: log\n")
	ctx := context.Background()
	db, err := source.Open(ctx, "sqlite", pl.Mapping.Source.DSN)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var queries []*plan.Query
	for _, q := range pl.Queries {
		if q.Sessions != nil && !q.Skipped {
			queries = append(queries, q)
		}
	}
	if len(queries) != 2 {
		b.Fatalf("%d sessions queries, want dedication_log and module_log", len(queries))
	}
	bl := newBuilder(db, pl, Options{ReportDate: demo.DefaultReportDate})
	bl.setReportDate()
	if bl.tx, err = db.ReadTx(ctx); err != nil {
		b.Fatal(err)
	}
	defer bl.tx.Rollback()
	courses, _, _, err := bl.courses(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var ids []int64
	for _, c := range courses {
		var n int64
		fmt.Sscan(c.id, &n)
		ids = append(ids, n)
	}
	before := bl.stats.Rows
	for b.Loop() {
		for _, q := range queries {
			if err := bl.sessions(ctx, q, courses, ids, map[string][][]any{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	events := float64(bl.stats.Rows - before)
	// Nanoseconds per event are milliseconds per million events.
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ms/million-events")
}

// TestActivitiesSharedOnlyWhenStudentFree: the standard preset's
// activities are built once per module; an activity field that reads the
// student makes them per student again, with each student's values.
func TestActivitiesSharedOnlyWhenStudentFree(t *testing.T) {
	cfg := demo.DemoConfig()
	cfg.StudentsPerCourse = 3
	pl := hotSite(t, cfg, "")
	if !sharesActivities(pl) {
		t.Fatal("the preset's activities are not shared")
	}
	perStudent := hotSite(t, cfg, `activities:
  fields:
    codigoActividad: |
      truncate(string(student.rutAlumno) + " " + (name != "" ? name : modname), 50)
`)
	if sharesActivities(perStudent) {
		t.Fatal("activities that read the student are shared")
	}
	ctx := context.Background()
	db, err := source.Open(ctx, "sqlite", perStudent.Mapping.Source.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checked := 0
	_, err = Build(ctx, db, perStudent, Options{ReportDate: demo.DefaultReportDate}, func(r *CourseResult) error {
		if r.Payload == nil {
			return nil
		}
		for _, a := range r.Payload.ListaAlumnos {
			for _, m := range a.ListaModulos {
				for _, act := range m.ListaActividades {
					if !strings.HasPrefix(act.CodigoActividad, fmt.Sprint(a.RutAlumno)+" ") {
						t.Fatalf("student %d has activity %q", a.RutAlumno, act.CodigoActividad)
					}
					checked++
				}
			}
		}
		return nil
	})
	if err != nil || checked == 0 {
		t.Fatalf("%v, %d activities checked", err, checked)
	}
}

// TestSessionsMustBeOrdered: a sessions query whose rows do not come
// grouped by key is refused, not summed wrong.
func TestSessionsMustBeOrdered(t *testing.T) {
	cfg := demo.DemoConfig()
	cfg.StudentsPerCourse = 3
	pl := hotSite(t, cfg, `params:
  dedicationSource: log
queries:
  dedication_log:
    sql: |
      SELECT l.courseid, l.userid, l.timecreated
        FROM {logstore_standard_log} l
       WHERE l.courseid IN (:courseids) AND l.userid > 0
       ORDER BY l.timecreated
`)
	ctx := context.Background()
	db, err := source.Open(ctx, "sqlite", pl.Mapping.Source.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = Build(ctx, db, pl, Options{ReportDate: demo.DefaultReportDate, BatchSize: 100}, func(*CourseResult) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "ordenadas") {
		t.Fatalf("unordered events: %v", err)
	}
}
