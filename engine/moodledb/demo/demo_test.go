package demo_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/moodledb"
	"github.com/otec-tools/sence-engine/engine/moodledb/dbtest"
	"github.com/otec-tools/sence-engine/engine/moodledb/demo"
	"github.com/otec-tools/sence-engine/engine/rut"
)

// loaded is a demo dataset loaded into a fresh database.
type loaded struct {
	db      *sql.DB
	dialect string
	prefix  string
}

func load(t *testing.T, ds *demo.Dataset, dialect, prefix string) loaded {
	t.Helper()
	db := dbtest.Open(t, dialect)
	ctx := context.Background()
	if err := moodledb.CreateSchema(ctx, db, dialect, prefix); err != nil {
		t.Fatalf("CreateSchema: %v", err)
	}
	start := time.Now()
	if err := ds.Load(ctx, db, dialect, prefix); err != nil {
		t.Fatalf("Load: %v", err)
	}
	t.Logf("%s: demo loaded in %v", dbtest.Name(dialect), time.Since(start).Round(time.Millisecond))
	return loaded{db: db, dialect: dialect, prefix: prefix}
}

// query runs a query written for the default prefix with :name parameters
// and returns its rows as normalized strings.
func (l loaded) query(t *testing.T, q string, params map[string]any) [][]string {
	t.Helper()
	q = strings.ReplaceAll(q, "mdl_", l.prefix)
	q, args, err := dbtest.Bind(l.dialect, q, params)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := l.db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", l.dialect, err, q)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = normalize(v)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// normalize turns a value from any driver into one string: NULL as \N,
// numbers with five decimals (NUMERIC comes back as text, decimal or float
// depending on the engine), text as is.
func normalize(v any) string {
	var s string
	switch v := v.(type) {
	case nil:
		return `\N`
	case []byte:
		s = string(v)
	case string:
		s = v
	case int64:
		s = strconv.FormatInt(v, 10)
	case float64:
		s = strconv.FormatFloat(v, 'f', -1, 64)
	default:
		s = fmt.Sprint(v)
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && s != "" && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) {
		return strconv.FormatFloat(f, 'f', 5, 64)
	}
	return s
}

func readQuery(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name + ".sql")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tableDigest is a table's row count and a checksum of all its columns.
type tableDigest struct {
	Rows int
	Sum  string
}

func digest(t *testing.T, l loaded) map[string]tableDigest {
	t.Helper()
	out := map[string]tableDigest{}
	for _, tb := range moodledb.Tables() {
		rows := l.query(t, "SELECT * FROM mdl_"+tb+" ORDER BY id", nil)
		h := sha256.New()
		for _, r := range rows {
			h.Write([]byte(strings.Join(r, "\x1f") + "\n"))
		}
		out[tb] = tableDigest{Rows: len(rows), Sum: hex.EncodeToString(h.Sum(nil))[:16]}
	}
	return out
}

// TestThreeEngines loads the demo into SQLite, PostgreSQL and MariaDB (with
// different table prefixes), and checks that every table holds the same
// rows and that the reference queries agree, on each engine and with the
// dataset's cases.
func TestThreeEngines(t *testing.T) {
	ds := demo.Generate(demo.DemoConfig())
	counts, err := ds.RowCounts()
	if err != nil {
		t.Fatal(err)
	}
	prefixes := map[string]string{moodledb.SQLite: "mdl_", moodledb.Postgres: "m_", moodledb.MySQL: "moodle_"}
	type result struct {
		digest map[string]tableDigest
		q1, q2 map[int64][][]string
	}
	var (
		mu      sync.Mutex
		results = map[string]result{}
	)
	t.Run("load", func(t *testing.T) {
		for _, dialect := range moodledb.Dialects {
			t.Run(dbtest.Name(dialect), func(t *testing.T) {
				t.Parallel()
				l := load(t, ds, dialect, prefixes[dialect])
				res := result{digest: digest(t, l), q1: map[int64][][]string{}, q2: map[int64][][]string{}}
				for tb, d := range res.digest {
					if int64(d.Rows) != counts[tb] {
						t.Errorf("%s: %d rows, RowCounts says %d", tb, d.Rows, counts[tb])
					}
				}
				q1, q2 := readQuery(t, "q1_students"), readQuery(t, "q2_completion")
				for _, c := range ds.Courses[1:] {
					p := map[string]any{"courseid": c.ID}
					res.q1[c.ID] = l.query(t, q1, p)
					res.q2[c.ID] = l.query(t, q2, p)
				}
				checkQ1(t, ds, res.q1)
				checkQ2(t, ds, res.q1, res.q2)
				mu.Lock()
				results[dialect] = res
				mu.Unlock()
			})
		}
	})
	ref, ok := results[moodledb.SQLite]
	if !ok {
		t.Fatal("the SQLite load failed: nothing to compare with")
	}
	for _, dialect := range moodledb.Dialects[1:] {
		res, ok := results[dialect]
		if !ok {
			continue // skipped or failed above
		}
		name := dbtest.Name(dialect)
		for _, tb := range moodledb.Tables() {
			if res.digest[tb] != ref.digest[tb] {
				t.Errorf("%s: table %s is %+v, SQLite has %+v", name, tb, res.digest[tb], ref.digest[tb])
			}
		}
		if !reflect.DeepEqual(res.q1, ref.q1) {
			t.Errorf("%s: q1_students differs from SQLite", name)
		}
		if !reflect.DeepEqual(res.q2, ref.q2) {
			t.Errorf("%s: q2_completion differs from SQLite", name)
		}
	}
	if testing.Verbose() {
		var b strings.Builder
		for _, tb := range moodledb.Tables() {
			if d := ref.digest[tb]; d.Rows > 0 {
				fmt.Fprintf(&b, "%-28s %7d  %s\n", tb, d.Rows, d.Sum)
			}
		}
		t.Logf("engines compared: %d\n%s", len(results), b.String())
	}
}

// q1 columns.
const (
	q1UserID = iota
	q1Username
	q1IDNumber
	q1RUT
	q1First
	q1Last
	q1Email
	q1Code
	q1UEStart
	q1UEEnd
	q1DateStart
	q1DateEnd
)

func num(s string) int64 {
	if s == `\N` {
		return 0
	}
	f, _ := strconv.ParseFloat(s, 64)
	return int64(f)
}

// checkQ1 checks q1_students against the cases: who is a student of each
// course, and what the query makes of their RUT and dates.
func checkQ1(t *testing.T, ds *demo.Dataset, q1 map[int64][][]string) {
	t.Helper()
	rowsOf := func(courseID, userID int64) [][]string {
		var out [][]string
		for _, r := range q1[courseID] {
			if num(r[q1UserID]) == userID {
				out = append(out, r)
			}
		}
		return out
	}
	for _, c := range ds.Cases {
		rows := rowsOf(c.CourseID, c.UserID)
		switch c.Case {
		case "suspended", "deleted", "teacher", "enrol-disabled", "left":
			if len(rows) != 0 {
				t.Errorf("q1: %s user %d is among course %d's students", c.Case, c.UserID, c.CourseID)
			}
			continue
		}
		if len(rows) != 1 {
			t.Errorf("q1: %s user %d appears %d times in course %d, want once", c.Case, c.UserID, len(rows), c.CourseID)
			continue
		}
		r := rows[0]
		course := ds.Course(c.CourseID)
		_, rutErr := rut.Parse(r[q1RUT])
		switch c.Case {
		case "rut-dots", "rut-username-k", "rut-spaces":
			want := ds.User(c.UserID).RUT
			if r[q1RUT] != want || rutErr != nil {
				t.Errorf("q1: %s user %d has rut %q, want %q", c.Case, c.UserID, r[q1RUT], want)
			}
		case "no-rut", "rut-invalid":
			if rutErr == nil {
				t.Errorf("q1: %s user %d has a valid rut %q", c.Case, c.UserID, r[q1RUT])
			}
		case "enrol-no-dates":
			if r[q1UEStart] != `\N` || num(r[q1DateStart]) != course.StartDate || num(r[q1DateEnd]) != course.EndDate {
				t.Errorf("q1: %s user %d: ue_start %s, dates %s–%s, want the course's", c.Case, c.UserID, r[q1UEStart], r[q1DateStart], r[q1DateEnd])
			}
		case "no-dates":
			if r[q1DateStart] != `\N` || r[q1DateEnd] != `\N` {
				t.Errorf("q1: %s user %d has dates %s–%s", c.Case, c.UserID, r[q1DateStart], r[q1DateEnd])
			}
		case "no-end-date":
			if r[q1DateStart] == `\N` || r[q1DateEnd] != `\N` {
				t.Errorf("q1: %s user %d has dates %s–%s, want a start and no end", c.Case, c.UserID, r[q1DateStart], r[q1DateEnd])
			}
		case "future-start":
			if num(r[q1DateStart]) <= ds.Now {
				t.Errorf("q1: %s user %d starts at %s, not after the report", c.Case, c.UserID, r[q1DateStart])
			}
		case "ended-incomplete":
			if end := num(r[q1DateEnd]); end == 0 || end >= ds.Now {
				t.Errorf("q1: %s user %d ends at %s, not before the report", c.Case, c.UserID, r[q1DateEnd])
			}
		case "double-enrolment":
			if r[q1UEEnd] != `\N` || num(r[q1DateEnd]) != course.EndDate {
				t.Errorf("q1: %s user %d: ue_end %s date_end %s; the open self enrolment should fall back to the course end", c.Case, c.UserID, r[q1UEEnd], r[q1DateEnd])
			}
		}
		if c.Expect == demo.ExpectSent && rutErr != nil {
			t.Errorf("q1: user %d (%s) is to be sent but has no valid RUT: %v", c.UserID, c.Case, rutErr)
		}
		if r[q1Code] != normalize(course.Shortname) { // a numeric code reads as a number
			t.Errorf("q1: sence_code %q, want %q", r[q1Code], course.Shortname)
		}
	}
}

// checkQ2 checks q2_completion's shape: the same students as q1, section 0
// and the closing section present (the query does not exclude them), the
// empty module absent, the activity being deleted not counted, the live
// classes with completion (the reference query counts no other), and the
// passed-all student complete.
func checkQ2(t *testing.T, ds *demo.Dataset, q1, q2 map[int64][][]string) {
	t.Helper()
	const (
		userID = iota
		sectionID
		sectionNum
		sectionName
		nRequired
		nDone
		nSync
	)
	passed := map[int64]bool{}
	for _, c := range ds.CasesFor("passed-all") {
		passed[c.UserID] = true
	}
	for _, c := range ds.Courses[1:] {
		students := map[string]bool{}
		for _, r := range q1[c.ID] {
			students[r[q1UserID]] = true
		}
		seen := map[string]bool{}
		wantRequired, wantSync := map[int64]int64{}, map[int64]int64{}
		for _, s := range c.Sections {
			for _, a := range s.Activities {
				if a.Mandatory() {
					wantRequired[s.ID]++
					if a.Module == "bigbluebuttonbn" {
						wantSync[s.ID]++
					}
				}
			}
		}
		for _, r := range q2[c.ID] {
			seen[r[userID]] = true
			sid := num(r[sectionID])
			if num(r[nRequired]) != wantRequired[sid] {
				t.Errorf("q2: course %d section %s (%s): n_required %s, want %d", c.ID, r[sectionNum], r[sectionName], r[nRequired], wantRequired[sid])
			}
			if num(r[nSync]) != wantSync[sid] {
				t.Errorf("q2: course %d section %s (%s) has %s live classes with completion, want %d", c.ID, r[sectionNum], r[sectionName], r[nSync], wantSync[sid])
			}
			if passed[num(r[userID])] && r[nDone] != r[nRequired] {
				t.Errorf("q2: passed-all user %s: section %s done %s of %s", r[userID], r[sectionNum], r[nDone], r[nRequired])
			}
		}
		if !reflect.DeepEqual(seen, students) && len(q2[c.ID]) > 0 {
			t.Errorf("q2: course %d has students %v, q1 has %v", c.ID, keys(seen), keys(students))
		}
		for _, s := range c.Sections {
			if wantRequired[s.ID] == 0 {
				for _, r := range q2[c.ID] {
					if num(r[sectionID]) == s.ID {
						t.Errorf("q2: course %d section %d has no mandatory activity but appears", c.ID, s.Number)
						break
					}
				}
			}
		}
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestDeterministic: the same Config gives the same bytes; another seed
// does not.
func TestDeterministic(t *testing.T) {
	dump := func(cfg demo.Config, dialect string) []byte {
		var b bytes.Buffer
		if err := demo.Generate(cfg).WriteSQL(&b, dialect, "mdl_"); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	for _, dialect := range moodledb.Dialects {
		a, b := dump(demo.DemoConfig(), dialect), dump(demo.DemoConfig(), dialect)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two Generate(DemoConfig()) differ", dialect)
		}
		t.Logf("%s: %d bytes, sha256 %x", dialect, len(a), sha256.Sum256(a))
	}
	a := demo.Generate(demo.DemoConfig())
	b := demo.Generate(demo.DemoConfig())
	if !reflect.DeepEqual(a.Cases, b.Cases) || !reflect.DeepEqual(a.Roster(), b.Roster()) {
		t.Error("Cases or Roster differ between two Generate")
	}
	other := demo.DemoConfig()
	other.Seed++
	if bytes.Equal(dump(demo.DemoConfig(), "sqlite"), dump(other, "sqlite")) {
		t.Error("another seed gives the same data")
	}
}

// timeColumns are the columns that hold Unix times.
var timeColumns = map[string]bool{
	"timecreated": true, "timemodified": true, "timestart": true, "timeend": true, "startdate": true,
	"enddate": true, "firstaccess": true, "lastaccess": true, "lastlogin": true, "currentlogin": true,
	"added": true, "openingtime": true, "closingtime": true, "timeenrolled": true, "timestarted": true,
	"timecompleted": true, "allowsubmissionsfromdate": true, "cacherev": true, "duedate": true,
	"gradingduedate": true, "timeopen": true, "timeclose": true, "locktime": true, "timeadded": true,
	"start_time": true, "end_time": true, "join_time": true, "leave_time": true, // mod_zoom
}

// TestReportDateShift: moving the report date moves every time column by
// the same number of seconds and changes nothing else.
func TestReportDateShift(t *testing.T) {
	cfgA := demo.DemoConfig()
	cfgB := demo.DemoConfig()
	// 100 days later: southern summer, where the original data straddles
	// September's daylight saving change.
	cfgB.ReportDate = cfgA.ReportDate.AddDate(0, 0, 100)
	a, b := demo.Generate(cfgA), demo.Generate(cfgB)
	delta := b.Now - a.Now
	if delta == 0 {
		t.Fatal("Now did not move")
	}
	la, lb := load(t, a, moodledb.SQLite, "mdl_"), load(t, b, moodledb.SQLite, "mdl_")
	shifted := 0
	for _, tb := range moodledb.Tables() {
		q := "SELECT * FROM mdl_" + tb + " ORDER BY id"
		ra, rb := la.query(t, q, nil), lb.query(t, q, nil)
		rows, err := la.db.Query("SELECT * FROM mdl_" + tb + " LIMIT 0")
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		rows.Close()
		if len(ra) != len(rb) {
			t.Errorf("%s: %d rows, shifted %d", tb, len(ra), len(rb))
			continue
		}
		for i := range ra {
			for j, col := range cols {
				va, vb := ra[i][j], rb[i][j]
				if timeColumns[col] {
					if va == `\N` || num(va) == 0 {
						if va != vb {
							t.Errorf("%s id %s: %s is %s, shifted %s", tb, ra[i][0], col, va, vb)
						}
						continue
					}
					if num(vb)-num(va) != delta {
						t.Errorf("%s id %s: %s moved by %d s, want %d", tb, ra[i][0], col, num(vb)-num(va), delta)
					}
					shifted++
					continue
				}
				if va != vb && !(tb == "user" && col == "username" && strings.Contains(va, "@")) {
					t.Errorf("%s id %s: %s is %q, shifted %q", tb, ra[i][0], col, va, vb)
				}
			}
		}
	}
	t.Logf("%d time values moved by %d s", shifted, delta)
}

// TestCases checks the special cases and the roster against the dataset and
// the database.
func TestCases(t *testing.T) {
	ds := demo.Generate(demo.DemoConfig())
	required := []string{"rut-dots", "rut-username-k", "rut-spaces", "no-rut", "rut-invalid", "enrol-no-dates",
		"no-dates", "no-end-date", "suspended", "enrol-disabled", "deleted", "teacher", "double-enrolment",
		"no-grade", "passed-all", "ended-incomplete", "future-start", "not-registered", "non-sence-course",
		"nota-4.0", "nota-4.6", "nota-3.9", "zoom-class", "live-no-completion",
		"no-module-codes", "no-sence-group", "two-sence-groups", "left", "lookalike"}
	for _, name := range required {
		if len(ds.CasesFor(name)) == 0 {
			t.Errorf("no %q case", name)
		}
	}
	for _, c := range ds.Cases {
		if ds.User(c.UserID) == nil || ds.Course(c.CourseID) == nil {
			t.Errorf("case %+v: unknown user or course", c)
		}
		switch c.Expect {
		case demo.ExpectSent, demo.ExpectExcluded, demo.ExpectNotSent, demo.ExpectNoted, demo.ExpectCourseError, demo.ExpectUnselected:
		default:
			t.Errorf("case %+v: bad Expect", c)
		}
	}
	if u := ds.User(ds.CasesFor("rut-dots")[0].UserID); u.IDNumber != "12.345.678-5" {
		t.Errorf("rut-dots idnumber %q", u.IDNumber)
	}
	if u := ds.User(ds.CasesFor("rut-username-k")[0].UserID); u.Username != "17118181-k" || u.IDNumber != "" {
		t.Errorf("rut-username-k user %q / %q", u.Username, u.IDNumber)
	}

	// The courses the demo promises.
	var running, ended, late, other int
	for _, c := range ds.Courses[1:] {
		switch {
		case !c.SENCE:
			other++
			if c.Shortname != "INDUCCION-DOCENTES" {
				t.Errorf("non-SENCE course %q", c.Shortname)
			}
		case c.EndDate != 0 && c.EndDate < ds.Now:
			ended++
		case c.StartDate != 0 && c.StartDate < ds.Now && c.EndDate > ds.Now:
			running++
		}
		noCodes := c.ID == ds.CasesFor("no-module-codes")[0].CourseID
		if c.SENCE && !noCodes && (len(c.Modules()) < 4 || len(c.Modules()) > 5) {
			t.Errorf("course %s has %d modules", c.Shortname, len(c.Modules()))
		}
		if noCodes && len(c.Modules()) != 0 {
			t.Errorf("course %s, whose sections carry no module code, has %d modules", c.Shortname, len(c.Modules()))
		}
	}
	for _, c := range ds.CasesFor("future-start") {
		if ds.Course(c.CourseID).StartDate < ds.Now {
			late = 1
		}
	}
	if running < 2 || ended < 1 || late < 1 || other != 1 {
		t.Errorf("courses: %d running, %d ended, running with late starters %d, %d non-SENCE", running, ended, late, other)
	}
	if site := ds.Courses[0]; site.ID != 1 || site.SENCE {
		t.Errorf("course 1 is %+v", site)
	}

	// Roster: codes, valid RUTs, the unregistered student left out; the
	// course taught in two sections under its own code, idnumber, custom
	// field and each section's code; the course without module codes and
	// the look-alike not registered.
	roster := ds.Roster()
	grouped := ds.Course(ds.CasesFor("left")[0].CourseID)
	var grupos []string
	for _, rc := range roster {
		if rc.CodigoOferta == grouped.Shortname {
			grupos = append(grupos, rc.CodigoGrupo)
		}
	}
	if want := append([]string{grouped.Shortname, grouped.IDNumber, grouped.FieldValue}, demo.GroupCodes...); !reflect.DeepEqual(grupos, want) {
		t.Errorf("roster of the course in two sections: %v, want %v", grupos, want)
	}
	if len(roster) != ds.Config.Courses+len(grupos) {
		t.Fatalf("roster has %d courses", len(roster))
	}
	unregistered := ds.User(ds.CasesFor("not-registered")[0].UserID).RUT
	for _, rc := range roster {
		if (rc.CodigoOferta != rc.CodigoGrupo && rc.CodigoOferta != grouped.Shortname) || rc.CodigoOferta != ds.Course(courseID(ds, rc.CodigoOferta)).Shortname || len(rc.Modules) == 0 {
			t.Errorf("roster course %+v", rc)
		}
		if !slices.IsSorted(rc.Students) || len(rc.Students) == 0 {
			t.Errorf("roster %s students not sorted or empty", rc.CodigoOferta)
		}
		for _, s := range rc.Students {
			r, err := rut.Parse(s)
			if err != nil || r.String() != s {
				t.Errorf("roster %s: bad RUT %q", rc.CodigoOferta, s)
			}
			if s == unregistered {
				t.Errorf("roster %s lists the unregistered student", rc.CodigoOferta)
			}
		}
	}
	if unregistered == "" {
		t.Error("the not-registered student has no valid RUT")
	}

	// Real students, distinct users.
	l := load(t, ds, moodledb.SQLite, "mdl_")
	students := l.query(t, `SELECT COUNT(DISTINCT ra.userid) FROM mdl_role_assignments ra JOIN mdl_user u ON u.id = ra.userid
		WHERE ra.roleid = 5 AND u.deleted = 0`, nil)
	if n := num(students[0][0]); n < 60 {
		t.Errorf("%d students, want 60 or more", n)
	}

	// Grades of the no-grade and passed-all students (q4).
	q4 := readQuery(t, "q4_grades")
	for _, name := range []string{"no-grade", "passed-all"} {
		c := ds.CasesFor(name)[0]
		n := 0
		for _, r := range l.query(t, q4, map[string]any{"courseid": c.CourseID}) {
			if num(r[0]) != c.UserID {
				continue
			}
			n++
			switch name {
			case "no-grade":
				if r[4] != `\N` {
					t.Errorf("no-grade user %d has %s grade %s", c.UserID, r[3], r[4])
				}
			case "passed-all":
				if pct, _ := strconv.ParseFloat(r[5], 64); pct < 80 {
					t.Errorf("passed-all user %d has %s at %s%%", c.UserID, r[3], r[5])
				}
			}
		}
		if n == 0 {
			t.Errorf("%s user %d has no category or course grade rows", name, c.UserID)
		}
	}
	// The passed-all student completed the course; a student who never
	// finished did not.
	for _, c := range ds.CasesFor("passed-all") {
		r := l.query(t, "SELECT timecompleted FROM mdl_course_completions WHERE userid = :u AND course = :c", map[string]any{"u": c.UserID, "c": c.CourseID})
		if len(r) != 1 || r[0][0] == `\N` {
			t.Errorf("passed-all user %d: course_completions %v", c.UserID, r)
		}
	}
}

// TestIntegrity checks that the rows reference each other as Moodle's do.
func TestIntegrity(t *testing.T) {
	ds := demo.Generate(demo.DemoConfig())
	l := load(t, ds, moodledb.SQLite, "mdl_")
	zero := map[string]string{
		"course module without its instance": `SELECT COUNT(*) FROM mdl_course_modules cm JOIN mdl_modules m ON m.id = cm.module
			WHERE NOT EXISTS (SELECT 1 FROM (` + unionActivities() + `) a WHERE a.modname = m.name AND a.id = cm.instance AND a.course = cm.course)`,
		"course module in another course's section": `SELECT COUNT(*) FROM mdl_course_modules cm JOIN mdl_course_sections cs ON cs.id = cm.section WHERE cs.course <> cm.course`,
		"course module without context":             `SELECT COUNT(*) FROM mdl_course_modules cm LEFT JOIN mdl_context x ON x.contextlevel = 70 AND x.instanceid = cm.id WHERE x.id IS NULL`,
		"course without context":                    `SELECT COUNT(*) FROM mdl_course c LEFT JOIN mdl_context x ON x.contextlevel = 50 AND x.instanceid = c.id WHERE x.id IS NULL`,
		"log row with a wrong context": `SELECT COUNT(*) FROM mdl_logstore_standard_log l LEFT JOIN mdl_context x ON x.id = l.contextid
			WHERE x.id IS NULL OR x.contextlevel <> l.contextlevel OR x.instanceid <> l.contextinstanceid`,
		"activity log row outside its course": `SELECT COUNT(*) FROM mdl_logstore_standard_log l JOIN mdl_course_modules cm ON cm.id = l.contextinstanceid
			WHERE l.contextlevel = 70 AND cm.course <> l.courseid`,
		"completion event not pointing at its row": `SELECT COUNT(*) FROM mdl_logstore_standard_log l LEFT JOIN mdl_course_modules_completion c ON c.id = l.objectid
			WHERE l.eventname = '\core\event\course_module_completion_updated' AND (c.id IS NULL OR c.coursemoduleid <> l.contextinstanceid OR c.userid <> l.relateduserid)`,
		"grade total not paired with its category": `SELECT COUNT(*) FROM mdl_grade_items gi LEFT JOIN mdl_grade_categories gc ON gc.id = gi.iteminstance AND gc.courseid = gi.courseid
			WHERE gi.itemtype IN ('course', 'category') AND (gc.id IS NULL OR (gi.itemtype = 'course') <> (gc.parent IS NULL))`,
		"module grade item without its activity": `SELECT COUNT(*) FROM mdl_grade_items gi WHERE gi.itemtype = 'mod'
			AND NOT EXISTS (SELECT 1 FROM mdl_course_modules cm JOIN mdl_modules m ON m.id = cm.module WHERE m.name = gi.itemmodule AND cm.instance = gi.iteminstance AND cm.course = gi.courseid)`,
		"grade outside its range":              `SELECT COUNT(*) FROM mdl_grade_grades gg WHERE gg.finalgrade < gg.rawgrademin OR gg.finalgrade > gg.rawgrademax`,
		"user enrolment in a missing instance": `SELECT COUNT(*) FROM mdl_user_enrolments ue LEFT JOIN mdl_enrol e ON e.id = ue.enrolid WHERE e.id IS NULL`,
		"username not lower-case":              `SELECT COUNT(*) FROM mdl_user WHERE username <> lower(username)`,
		"dedication session of 120 s or less":  `SELECT COUNT(*) FROM mdl_block_dedication WHERE timespent <= 120`,
		"attendance summary without duration": `SELECT COUNT(*) FROM mdl_bigbluebuttonbn_logs WHERE log = 'Summary'
			AND (json_extract(meta, '$.data.duration') IS NULL OR json_extract(meta, '$.data.duration') <= 0)`,
		"module section without a grade category": `SELECT COUNT(*) FROM mdl_course_sections cs JOIN mdl_course c ON c.id = cs.course
			WHERE cs.id IN (:modules) AND NOT EXISTS (SELECT 1 FROM mdl_grade_categories gc WHERE gc.courseid = c.id AND gc.parent IS NOT NULL AND cs.name LIKE '%' || gc.fullname || '%')`,
		"event after the snapshot": `SELECT (SELECT COUNT(*) FROM mdl_logstore_standard_log WHERE timecreated > :now)
			+ (SELECT COUNT(*) FROM mdl_course_modules_completion WHERE timemodified > :now)
			+ (SELECT COUNT(*) FROM mdl_grade_grades WHERE timemodified > :now)
			+ (SELECT COUNT(*) FROM mdl_block_dedication WHERE timestart > :now)
			+ (SELECT COUNT(*) FROM mdl_bigbluebuttonbn_logs WHERE timecreated > :now)
			+ (SELECT COUNT(*) FROM mdl_course_completions WHERE timecompleted > :now)
			+ (SELECT COUNT(*) FROM mdl_zoom_meeting_participants WHERE leave_time > :now)`,
		"zoom participant without the meeting's report": `SELECT COUNT(*) FROM mdl_zoom_meeting_participants p LEFT JOIN mdl_zoom_meeting_details d ON d.id = p.detailsid
			LEFT JOIN mdl_zoom z ON z.id = d.zoomid WHERE z.id IS NULL OR p.duration <> p.leave_time - p.join_time OR p.duration <= 0`,
	}
	var modules []string
	for _, c := range ds.Courses {
		for _, s := range c.Modules() {
			modules = append(modules, strconv.FormatInt(s.ID, 10))
		}
	}
	for what, q := range zero {
		q = strings.ReplaceAll(q, ":modules", strings.Join(modules, ", "))
		if r := l.query(t, q, map[string]any{"now": ds.Now}); num(r[0][0]) != 0 {
			t.Errorf("%s: %s rows", what, r[0][0])
		}
	}
	// course_sections.sequence lists the section's course modules.
	seq := map[int64][]string{}
	for _, r := range l.query(t, "SELECT section, id FROM mdl_course_modules ORDER BY id", nil) {
		seq[num(r[0])] = append(seq[num(r[0])], strconv.FormatInt(num(r[1]), 10))
	}
	for _, r := range l.query(t, "SELECT id, sequence FROM mdl_course_sections", nil) {
		if want := normalize(strings.Join(seq[num(r[0])], ",")); r[1] != want {
			t.Errorf("section %s: sequence %q, want %q", r[0], r[1], want)
		}
	}
	// The special structure of the first course.
	a := ds.Courses[1]
	var long, deleting, disabled bool
	for _, act := range ds.Courses[1].Modules()[0].Activities {
		long = long || len([]rune(act.Name)) > 50 && act.Mandatory()
		disabled = disabled || act.Completion == 0 && act.Module == "resource"
	}
	for _, act := range a.Modules()[1].Activities {
		deleting = deleting || act.Deleting
	}
	last := a.Modules()[len(a.Modules())-1]
	for _, act := range last.Activities {
		if act.Completion != 0 {
			t.Errorf("the empty module %s has %s with completion", last.Code, act.Name)
		}
	}
	if !long || !deleting || !disabled {
		t.Errorf("first course: long name %v, deleting %v, completion-disabled resource %v", long, deleting, disabled)
	}
	if news := a.Sections[0].Activities[0]; news.Module != "forum" || news.Completion == 0 {
		t.Errorf("section 0 holds %s with completion %d", news.Module, news.Completion)
	}
	for _, name := range []string{"cli", "web"} {
		if r := l.query(t, "SELECT COUNT(*) FROM mdl_logstore_standard_log WHERE origin = :o", map[string]any{"o": name}); num(r[0][0]) == 0 {
			t.Errorf("no log rows with origin %s", name)
		}
	}
}

// unionActivities lists every activity instance of the 23 core tables and
// Zoom's.
func unionActivities() string {
	var parts []string
	for _, m := range []string{"assign", "bigbluebuttonbn", "book", "chat", "choice", "data", "feedback", "folder", "forum",
		"glossary", "h5pactivity", "imscp", "label", "lesson", "lti", "page", "quiz", "resource", "scorm", "survey", "url", "wiki", "workshop", "zoom"} {
		parts = append(parts, fmt.Sprintf("SELECT '%s' AS modname, id, course FROM mdl_%s", m, m))
	}
	return strings.Join(parts, " UNION ALL ")
}

// TestScaled loads a small Scaled dataset: courses past the fourth cycle
// through the shapes, and the later benchmark's shape holds.
func TestScaled(t *testing.T) {
	cfg := demo.Scaled(8, 400)
	cfg.LogEventsPerStudent = 60 // keep the test quick
	ds := demo.Generate(cfg)
	if len(ds.Courses) != 10 || ds.Config.ModulesPerCourse != 5 || ds.Config.ActivitiesPerModule != 10 {
		t.Fatalf("Scaled(8, 400): %d courses, config %+v", len(ds.Courses), ds.Config)
	}
	l := load(t, ds, moodledb.SQLite, "mdl_")
	r := l.query(t, "SELECT COUNT(*) FROM mdl_user_enrolments ue JOIN mdl_enrol e ON e.id = ue.enrolid JOIN mdl_course c ON c.id = e.courseid WHERE c.category = 2", nil)
	if n := num(r[0][0]); n < 400 || n > 440 {
		t.Errorf("%d SENCE enrolments, want about 400", n)
	}
	late := 0
	for _, c := range ds.CasesFor("future-start") {
		if c.CourseID > 5 {
			late++
		}
	}
	if late == 0 {
		t.Error("no late starters in the courses past the fourth")
	}
	for _, c := range ds.Courses[5:9] {
		if c.StartDate == 0 || c.EndDate == 0 {
			t.Errorf("course %s has no dates", c.Shortname)
		}
	}
}

// TestEscaping loads the demo with settings that change how string
// literals are read: MariaDB with NO_BACKSLASH_ESCAPES, PostgreSQL with
// standard_conforming_strings off. Event names full of backslashes must
// arrive unchanged.
func TestEscaping(t *testing.T) {
	cfg := demo.DemoConfig()
	cfg.Courses, cfg.StudentsPerCourse = 1, 3
	ds := demo.Generate(cfg)
	want := `\core\event\course_viewed`
	for _, tc := range []struct {
		dialect string
		param   func(dsn string) string
	}{
		{moodledb.MySQL, func(dsn string) string {
			sep := "?"
			if strings.Contains(dsn, "?") {
				sep = "&"
			}
			return dsn + sep + "sql_mode=%27NO_BACKSLASH_ESCAPES,STRICT_TRANS_TABLES%27"
		}},
		{moodledb.Postgres, func(dsn string) string {
			sep := "?"
			if strings.Contains(dsn, "?") {
				sep = "&"
			}
			return dsn + sep + "standard_conforming_strings=off"
		}},
	} {
		t.Run(dbtest.Name(tc.dialect), func(t *testing.T) {
			_, dsn := dbtest.OpenDSN(t, tc.dialect)
			db, err := sql.Open(dbtest.Driver(tc.dialect), tc.param(dsn))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			if err := moodledb.CreateSchema(ctx, db, tc.dialect, "mdl_"); err != nil {
				t.Fatal(err)
			}
			if err := ds.Load(ctx, db, tc.dialect, "mdl_"); err != nil {
				t.Fatal(err)
			}
			var got string
			if err := db.QueryRow("SELECT MIN(eventname) FROM mdl_logstore_standard_log WHERE target = 'course' AND action = 'viewed'").Scan(&got); err != nil || got != want {
				t.Errorf("eventname %q, %v; want %q", got, err, want)
			}
		})
	}
}

// BenchmarkLoad measures loading a tenth of the reference benchmark's
// courses (20 courses, 5,000 enrolments, about 2 million log rows) into each
// engine; run with -benchtime=1x.
func BenchmarkLoad(b *testing.B) {
	ds := demo.Generate(demo.Scaled(20, 5000))
	counts, err := ds.RowCounts()
	if err != nil {
		b.Fatal(err)
	}
	var rows int64
	for _, n := range counts {
		rows += n
	}
	for _, dialect := range moodledb.Dialects {
		b.Run(dbtest.Name(dialect), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				db := dbtest.Open(b, dialect)
				ctx := context.Background()
				if err := moodledb.CreateSchema(ctx, db, dialect, "mdl_"); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := ds.Load(ctx, db, dialect, "mdl_"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(counts["logstore_standard_log"]), "log-rows")
		})
	}
}

// courseID is the id of the course with a short name, 0 if none.
func courseID(ds *demo.Dataset, shortname string) int64 {
	for _, c := range ds.Courses {
		if c.Shortname == shortname {
			return c.ID
		}
	}
	return 0
}
