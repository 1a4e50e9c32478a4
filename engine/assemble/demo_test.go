package assemble_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/moodledb"
	"github.com/otec-tools/sence-engine/engine/moodledb/dbtest"
	"github.com/otec-tools/sence-engine/engine/moodledb/demo"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/sence/schema"
	"github.com/otec-tools/sence-engine/engine/source"
)

var update = flag.Bool("update", false, "rewrite golden files")

// loadDemo creates the demo Moodle in a fresh database of the dialect and
// returns the DSN the engine should use.
func loadDemo(t testing.TB, dialect, prefix string, cfg demo.Config) (string, *demo.Dataset) {
	t.Helper()
	db, dsn := dbtest.OpenDSN(t, dialect)
	ctx := context.Background()
	if err := moodledb.CreateSchema(ctx, db, dialect, prefix); err != nil {
		t.Fatal(err)
	}
	ds := demo.Generate(cfg)
	if err := ds.Load(ctx, db, dialect, prefix); err != nil {
		t.Fatal(err)
	}
	if dialect == "sqlite" {
		db.Close()
	}
	return dsn, ds
}

// demoPlan compiles the demo mapping pointed at another database, with
// more YAML of a site's own, if given.
func demoPlan(t testing.TB, driver, dsn, prefix string, more ...string) *plan.Plan {
	t.Helper()
	site := fmt.Sprintf("version: 1\nextends: ../../../examples/moodle-demo/mapping.yaml\nsource:\n  driver: %s\n  dsn: %q\n  prefix: %s\n", driver, dsn, prefix) + strings.Join(more, "")
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

func runBuild(t testing.TB, pl *plan.Plan, opts assemble.Options) ([]*assemble.CourseResult, assemble.Stats) {
	t.Helper()
	results, _, stats := runBuildAll(t, pl, opts)
	return results, stats
}

// runBuildAll is runBuild with the courses the selection left out that
// the mapping reports.
func runBuildAll(t testing.TB, pl *plan.Plan, opts assemble.Options) ([]*assemble.CourseResult, []assemble.UnselectedCourse, assemble.Stats) {
	t.Helper()
	var unselected []assemble.UnselectedCourse
	opts.OnUnselected = func(u assemble.UnselectedCourse) { unselected = append(unselected, u) }
	ctx := context.Background()
	m := pl.Mapping
	db, err := source.Open(ctx, m.Source.Driver, m.Source.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if opts.ReportDate.IsZero() {
		opts.ReportDate = demo.DefaultReportDate
	}
	var out []*assemble.CourseResult
	stats, err := assemble.Build(ctx, db, pl, opts, func(r *assemble.CourseResult) error {
		out = append(out, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, unselected, stats
}

func validator(t testing.TB) func(*payload.Course) []assemble.Problem {
	v, err := schema.New()
	if err != nil {
		t.Fatal(err)
	}
	return func(c *payload.Course) []assemble.Problem {
		c.RutOtec, c.Token = "76543210-3", payload.RedactedToken
		ps, err := v.Check(c)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]assemble.Problem, len(ps))
		for i, p := range ps {
			out[i] = assemble.Problem{Student: p.Student, Path: p.Path, Msg: p.Msg}
		}
		return out
	}
}

func canonical(t testing.TB, c *payload.Course) []byte {
	b, err := payload.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run %s -update creates it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the build (go test -update rewrites it after review):\n%s", path, firstDiff(got, want))
	}
}

func firstDiff(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(la) && i < len(lb); i++ {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d:\n got  %s\n want %s", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d lines", len(la), len(lb))
}

// report renders what a coordinator is told: exclusions, notes, course
// errors and the courses that look like SENCE courses but are not
// selected.
func report(results []*assemble.CourseResult, unselected ...assemble.UnselectedCourse) []byte {
	var b bytes.Buffer
	for _, u := range unselected {
		fmt.Fprintf(&b, "no seleccionado «%s» (%s) id %s: %s\n", u.Shortname, u.Fullname, u.CourseID, u.Reason)
	}
	for _, r := range results {
		n := 0
		if r.Payload != nil {
			n = len(r.Payload.ListaAlumnos)
		}
		fmt.Fprintf(&b, "%s %s: %d incluidos\n", r.CodigoOferta, r.CodigoGrupo, n)
		if r.Err != nil {
			fmt.Fprintf(&b, "  error: %v\n", r.Err)
		}
		for _, x := range r.Excluded {
			fmt.Fprintf(&b, "  excluido user=%s rut=%q %s: %s\n", x.UserID, x.RUT, x.Label, strings.Join(x.Reasons, " | "))
		}
		for _, nt := range r.Notes {
			kind := "nota"
			if nt.Warning {
				kind = "aviso"
			}
			fmt.Fprintf(&b, "  %s %s: %s\n", kind, nt.Who, nt.Msg)
		}
	}
	return b.Bytes()
}

func TestDemoPayloadsGolden(t *testing.T) {
	dsn, ds := loadDemo(t, "sqlite", "mdl_", demo.DemoConfig())
	pl := demoPlan(t, "sqlite", dsn, "mdl_")
	results, unselected, _ := runBuildAll(t, pl, assemble.Options{Check: validator(t)})
	// The 4 SENCE courses, the course in two sections and the course
	// without module codes; the look-alike is reported, not built.
	if len(results) != 6 || len(unselected) != 1 {
		t.Fatalf("want the 6 selected courses of the demo and 1 look-alike, got %d and %d:\n%s", len(results), len(unselected), report(results, unselected...))
	}
	noCodes := strconv.FormatInt(ds.CasesFor("no-module-codes")[0].CourseID, 10)
	v, _ := schema.New()
	for _, r := range results {
		if r.CourseID == noCodes {
			if r.Payload != nil || r.Err == nil || len(r.Excluded) > 0 {
				t.Errorf("the course without module codes: payload %v, excluded %d, error %v; want one course error", r.Payload != nil, len(r.Excluded), r.Err)
			}
			continue
		}
		if r.Payload == nil {
			t.Fatalf("course %s not sendable: %v", r.CodigoOferta, r.Err)
		}
		r.Payload.RutOtec, r.Payload.Token = "76543210-3", "5EEBF607-25A9-4DB2-A4DD-5D31BDAE3220"
		doc := canonical(t, r.Payload)
		// Every exported payload validates against SENCE's schema, read
		// back from its bytes as SENCE would.
		if ps, err := v.ValidateJSON(doc); err != nil || len(ps) > 0 {
			t.Errorf("%s does not validate: %v %v", r.CodigoOferta, err, ps)
		}
		r.Payload.Token = payload.RedactedToken
		golden(t, filepath.Join("testdata", "golden", r.CodigoOferta+".json"), canonical(t, r.Payload))
	}
	golden(t, filepath.Join("testdata", "golden", "report.txt"), report(results, unselected...))
}

// TestDemoCases checks every special case of the dataset against what the
// engine did with that user: sent, excluded with a reason, or not sent.
func TestDemoCases(t *testing.T) {
	dsn, ds := loadDemo(t, "sqlite", "mdl_", demo.DemoConfig())
	pl := demoPlan(t, "sqlite", dsn, "mdl_")
	results, unselected, _ := runBuildAll(t, pl, assemble.Options{Check: validator(t)})
	noted := map[string]string{} // courseid/userid → reason
	for _, r := range results {
		for _, n := range r.Notes {
			if n.UserID != "" {
				noted[r.CourseID+"/"+n.UserID] = n.Msg
			}
		}
	}
	userRUT := map[int64]string{}
	for _, u := range ds.Users {
		userRUT[u.ID] = u.IDNumber + "|" + u.Username
	}
	type where struct{ sent, excluded bool }
	seen := map[string]where{} // courseid/userid
	excludedBy := map[string]string{}
	byCourse := map[string]*assemble.CourseResult{}
	for _, r := range results {
		byCourse[r.CourseID] = r
		for _, x := range r.Excluded {
			seen[r.CourseID+"/"+x.UserID] = where{excluded: true}
			excludedBy[r.CourseID+"/"+x.UserID] = strings.Join(x.Reasons, "; ")
		}
	}
	// Sent students are identified by RUT; map RUTs back to users.
	sentRUTs := map[string]map[int64]bool{}
	for _, r := range results {
		if r.Payload == nil {
			continue
		}
		set := map[int64]bool{}
		for _, a := range r.Payload.ListaAlumnos {
			set[a.RutAlumno] = true
		}
		sentRUTs[r.CourseID] = set
	}
	excludedTotal := 0
	for _, r := range results {
		excludedTotal += len(r.Excluded)
	}
	wantExcluded := 0
	for _, c := range ds.Cases {
		cid := strconv.FormatInt(c.CourseID, 10)
		key := cid + "/" + strconv.FormatInt(c.UserID, 10)
		w := seen[key]
		var u *demo.User
		for _, x := range ds.Users {
			if x.ID == c.UserID {
				u = x
			}
		}
		sent := false
		if u != nil {
			for _, s := range []string{u.IDNumber, u.Username} {
				if n := rutNumber(s); n > 0 && sentRUTs[cid][n] {
					sent = true
				}
			}
		}
		switch c.Expect {
		case demo.ExpectExcluded:
			wantExcluded++
			if !w.excluded {
				t.Errorf("case %s (user %d, course %d): want excluded with a reason, sent=%v", c.Case, c.UserID, c.CourseID, sent)
			} else if excludedBy[key] == "" {
				t.Errorf("case %s: excluded without a reason", c.Case)
			}
		case demo.ExpectSent:
			if !sent {
				t.Errorf("case %s (user %d, course %d): want sent; excluded=%v %s", c.Case, c.UserID, c.CourseID, w.excluded, excludedBy[key])
			}
		case demo.ExpectNotSent:
			// Not sent and no problem: a note (a future start) may say why.
			if sent || w.excluded {
				t.Errorf("case %s (user %d, course %d): want not sent at all; sent=%v excluded=%v", c.Case, c.UserID, c.CourseID, sent, w.excluded)
			}
		case demo.ExpectNoted:
			if sent || w.excluded || !strings.Contains(noted[key], "dejó de estar activo") {
				t.Errorf("case %s (user %d, course %d): want left out with the reason; sent=%v excluded=%v noted=%q", c.Case, c.UserID, c.CourseID, sent, w.excluded, noted[key])
			}
		case demo.ExpectCourseError:
			r := byCourse[cid]
			if r == nil || r.Payload != nil || r.Err == nil || !strings.Contains(r.Err.Error(), "ninguna sección lleva un código de módulo") || len(r.Excluded) > 0 {
				t.Errorf("case %s (course %d): want one course error naming the cause, got %+v", c.Case, c.CourseID, r)
			}
		case demo.ExpectUnselected:
			if byCourse[cid] != nil || !slices.ContainsFunc(unselected, func(u assemble.UnselectedCourse) bool {
				return u.CourseID == cid && u.Shortname == ds.Course(c.CourseID).Shortname && strings.Contains(u.Reason, "parece un curso SENCE")
			}) {
				t.Errorf("case %s (course %d): want reported by name as an unselected look-alike; built %v, reported %+v", c.Case, c.CourseID, byCourse[cid] != nil, unselected)
			}
		}
	}
	// The excluded students are exactly the broken ones.
	if excludedTotal != wantExcluded {
		t.Errorf("excluded %d students, the dataset has %d broken ones:\n%s", excludedTotal, wantExcluded, report(results))
	}
	if r, ok := byCourse["1"]; ok {
		t.Errorf("the site course was built: %+v", r)
	}
	_ = userRUT
}

func rutNumber(s string) int64 {
	s = strings.ToUpper(strings.NewReplacer(".", "", " ", "").Replace(strings.TrimSpace(s)))
	if i := strings.IndexByte(s, '-'); i >= 0 {
		s = s[:i]
	} else if len(s) > 1 {
		s = s[:len(s)-1]
	}
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// TestQueriesDoNotGrowWithStudents: the number of queries depends on the
// batches of courses, never on the students.
func TestQueriesDoNotGrowWithStudents(t *testing.T) {
	counts := map[int]int{}
	for _, students := range []int{5, 40} {
		cfg := demo.DemoConfig()
		cfg.StudentsPerCourse = students
		cfg.LogEventsPerStudent = 10
		dsn, _ := loadDemo(t, "sqlite", "mdl_", cfg)
		pl := demoPlan(t, "sqlite", dsn, "mdl_")
		results, stats := runBuild(t, pl, assemble.Options{})
		n := 0
		for _, r := range results {
			if r.Payload != nil {
				n += len(r.Payload.ListaAlumnos)
			}
		}
		if n < students*3 {
			t.Fatalf("%d students per course built only %d students", students, n)
		}
		counts[students] = stats.Queries
		t.Logf("%d students per course: %d students built with %d queries in %d batches", students, n, stats.Queries, stats.Batches)
		// Batches of one course: queries grow with courses only. The
		// course query runs once, and so do the queries of the courses the
		// selection left out (one large batch).
		_, one := runBuild(t, pl, assemble.Options{BatchSize: 1})
		perBatch := stats.Queries - 1 - stats.UnselectedQueries
		if stats.UnselectedQueries != 2 || stats.Unselected < 2 {
			t.Errorf("%d queries read %d courses left out; want the preset's 2 (sections, enrolled) for the non-SENCE and look-alike courses", stats.UnselectedQueries, stats.Unselected)
		}
		if one.Queries != 1+one.UnselectedQueries+perBatch*one.Batches || one.Batches != len(results) {
			t.Errorf("batch size 1: %d queries in %d batches; want 1 + %d + %d per batch", one.Queries, one.Batches, one.UnselectedQueries, perBatch)
		}
	}
	if counts[5] != counts[40] {
		t.Errorf("queries grew with students: %v", counts)
	}
}

// TestParityThreeEngines exports every course of the demo from SQLite,
// PostgreSQL and MariaDB, each with its own table prefix, and requires the
// payloads, exclusions, notes and reported courses to be identical byte for
// byte: as shipped, with Zoom's tables read too, and with each codigoGrupo
// choice and leavers: send, whose queries (groups, custom fields, suspended
// students) differ.
func TestParityThreeEngines(t *testing.T) {
	engines := []struct{ dialect, driver, prefix string }{
		{"sqlite", "sqlite", "mdl_"},
		{"postgres", "postgres", "m_"},
		{"mysql", "mysql", "moodle_"},
	}
	variants := []struct{ name, params string }{
		{"preset", ""},
		{"zoom", "  syncModules: [bigbluebuttonbn, zoom]\n"},
		{"idnumber", "  groupFrom: idnumber\n"},
		{"customfield", "  groupFrom: customfield\n  groupField: codigogrupo\n"},
		{"groups", "  groupFrom: groups\n  leavers: send\n"},
	}
	ref := map[string]map[string][]byte{}
	refReport := map[string][]byte{}
	for _, e := range engines {
		t.Run(dbtest.Name(e.dialect), func(t *testing.T) {
			dsn, _ := loadDemo(t, e.dialect, e.prefix, demo.DemoConfig())
			for _, v := range variants {
				pl := demoPlan(t, e.driver, dsn, e.prefix)
				if v.params != "" {
					pl = demoPlan(t, e.driver, dsn, e.prefix, "params:\n"+v.params)
				}
				results, unselected, stats := runBuildAll(t, pl, assemble.Options{Check: validator(t)})
				got := map[string][]byte{}
				for _, r := range results {
					if r.Payload != nil {
						got[r.CodigoOferta+"/"+r.CodigoGrupo] = canonical(t, r.Payload)
					}
				}
				rep := report(results, unselected...)
				t.Logf("%s %s: %d payloads, %d queries", e.dialect, v.name, len(got), stats.Queries)
				if e.dialect == "sqlite" {
					ref[v.name], refReport[v.name] = got, rep
					continue
				}
				if ref[v.name] == nil {
					t.Fatalf("%s: the SQLite build failed, nothing to compare with", v.name)
				}
				if len(got) != len(ref[v.name]) {
					t.Fatalf("%s: %d payloads, SQLite gave %d", v.name, len(got), len(ref[v.name]))
				}
				for code, want := range ref[v.name] {
					if !bytes.Equal(got[code], want) {
						t.Errorf("%s: payload %s differs from SQLite:\n%s", v.name, code, firstDiff(got[code], want))
					}
				}
				if !bytes.Equal(rep, refReport[v.name]) {
					t.Errorf("%s: exclusions, notes or reported courses differ from SQLite:\n%s", v.name, firstDiff(rep, refReport[v.name]))
				}
			}
		})
	}
}

// TestReadOnly: a mapping whose SQL tries to write fails with a clear
// error on every engine, and the database is unchanged.
func TestReadOnly(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(dbtest.Name(dialect), func(t *testing.T) {
			dsn, _ := loadDemo(t, dialect, "mdl_", demo.DemoConfig())
			ctx := context.Background()
			db, err := source.Open(ctx, dialect, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			tx, err := db.ReadTx(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			_, err = db.Query(ctx, tx, "UPDATE mdl_user SET firstname = 'x' WHERE id = ?", []any{int64(2)}, nil)
			if err == nil || !strings.Contains(err.Error(), "solo lee") {
				t.Fatalf("write accepted or unclear error: %v", err)
			}
		})
	}
}
