package assemble

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/ledger"
	"github.com/otec-tools/sence-engine/engine/moodledb/demo"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/source"
)

// nightly builds every course's payload of a report day, with the
// sessions kept in ledger (nil: recomputed from the whole log), reading at
// 22:00 of that day.
func nightly(t *testing.T, pl *plan.Plan, day time.Time, ledger *ledger.Ledger, recompute bool, courses ...string) (map[string][]byte, Stats) {
	t.Helper()
	ctx := context.Background()
	db, err := source.Open(ctx, "sqlite", pl.Mapping.Source.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	opts := Options{ReportDate: day, RecomputeSessions: recompute, BatchSize: 2, Courses: courses,
		Now: func() time.Time { return day.Add(22 * time.Hour) }}
	if ledger != nil {
		opts.Sessions = ledger
	}
	out := map[string][]byte{}
	stats, err := Build(ctx, db, pl, opts, func(r *CourseResult) error {
		if r.Err != nil {
			return r.Err
		}
		if r.Payload != nil {
			b, err := payload.Marshal(r.Payload)
			if err != nil {
				return err
			}
			out[r.CourseID] = b
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, stats
}

// logRows are the demo log's events a night may add copies of: module
// events (they count for the course and the module) and course events.
type logRows struct {
	db   *sql.DB
	cols []string
	ids  []int64
}

func openLog(t *testing.T, dsn string) *logRows {
	db, err := sql.Open("sqlite", "file:"+strings.TrimPrefix(dsn, "file:"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	l := &logRows{db: db}
	rows, err := db.Query(`SELECT name FROM pragma_table_info('mdl_logstore_standard_log') WHERE name NOT IN ('id', 'timecreated')`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var c string
		rows.Scan(&c)
		l.cols = append(l.cols, c)
	}
	rows.Close()
	rows, err = db.Query(`SELECT id FROM mdl_logstore_standard_log WHERE userid > 0 AND contextlevel IN (50, 70) ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		l.ids = append(l.ids, id)
	}
	rows.Close()
	if len(l.ids) == 0 {
		t.Fatal("the demo log has no events to copy")
	}
	return l
}

// add copies n random events of the log to random times in [from, to),
// some of them exactly at the edges, and bursts that continue a session.
func (l *logRows) add(t *testing.T, r *rand.Rand, n int, from, to int64, edges ...int64) {
	t.Helper()
	cols := strings.Join(l.cols, ", ")
	stmt := fmt.Sprintf("INSERT INTO mdl_logstore_standard_log (%s, timecreated) SELECT %s, ? FROM mdl_logstore_standard_log WHERE id = ?", cols, cols)
	for i := range n {
		at := from + r.Int64N(to-from)
		if len(edges) > 0 && i%7 == 0 {
			at = edges[r.IntN(len(edges))] + r.Int64N(3) - 1
		}
		id := l.ids[r.IntN(len(l.ids))]
		burst := 1 + r.IntN(4)
		for range burst {
			if at >= from && at < to {
				if _, err := l.db.Exec(stmt, at, id); err != nil {
					t.Fatal(err)
				}
			}
			at += r.Int64N(3000) // within the gap or just over it
		}
	}
}

// TestIncrementalSessionsEqualFull runs the demo site with dedication from
// the log through several nights: each night new events arrive (some
// before the last watermark's report day ended, some exactly at the
// watermark, some in bursts that continue the session open at it), the
// incremental run reads only the events since the watermark from the
// ledger, and its payloads must be byte for byte those of a full
// recomputation of the same night.
func TestIncrementalSessionsEqualFull(t *testing.T) {
	cfg := demo.DemoConfig()
	cfg.StudentsPerCourse = 6
	cfg.EdgeCourses = false // reports, not payloads: nothing to do with dedication
	pl := hotSite(t, cfg, "params:\n  dedicationSource: log\n")
	log := openLog(t, pl.Mapping.Source.DSN)
	ledger, err := ledger.Open(context.Background(), filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()
	r := rand.New(rand.NewPCG(7, 8))
	day0 := demo.DefaultReportDate
	var fullRows int
	for night := range 5 {
		day := day0.AddDate(0, 0, night)
		if night > 0 {
			prev := day.AddDate(0, 0, -1)
			mark := prev.Add(22*time.Hour - SessionMargin).Unix() // last night's watermark
			// Events from the watermark on (the log before it was complete
			// when last night's run read it: SessionMargin): last night's
			// last hours, today until the run reads, and after it
			// (tomorrow's run sees those).
			log.add(t, r, 40, mark, day.Add(23*time.Hour).Unix(), mark, prev.AddDate(0, 0, 1).Unix())
		}
		inc, is := nightly(t, pl, day, ledger, false)
		full, fs := nightly(t, pl, day, nil, false)
		if len(inc) == 0 || len(inc) != len(full) {
			t.Fatalf("night %d: %d incremental payloads, %d full", night, len(inc), len(full))
		}
		for id, want := range full {
			if !bytes.Equal(inc[id], want) {
				t.Fatalf("night %d, course %s: the incremental payload differs from the full recomputation:\n%s\n%s", night, id, inc[id], want)
			}
		}
		if night == 0 {
			if is.SessionsResumed != 0 || is.SessionsFull == 0 {
				t.Errorf("first night: %d courses resumed, %d full; want all full", is.SessionsResumed, is.SessionsFull)
			}
			fullRows = fs.Rows
			continue
		}
		if is.SessionsFull != 0 || is.SessionsResumed == 0 {
			t.Errorf("night %d: %d courses resumed, %d full; want all resumed", night, is.SessionsResumed, is.SessionsFull)
		}
		if is.Rows*2 > fs.Rows || fs.Rows < fullRows {
			t.Errorf("night %d: the incremental run read %d rows, the full one %d: it should read only the new events", night, is.Rows, fs.Rows)
		}
	}

	// Courses of a batch at different watermarks: one course ran alone
	// a night more (engine run --course), and the batch reads from the
	// older watermark; the newer course must not count its events twice.
	day5 := day0.AddDate(0, 0, 5)
	var one string
	for id := range full0(t, pl, day5) {
		if one == "" || id < one {
			one = id
		}
	}
	log.add(t, r, 30, day0.AddDate(0, 0, 4).Add(22*time.Hour-SessionMargin).Unix(), day5.Add(23*time.Hour).Unix())
	// Two sessions queries (dedication_log and module_log), one course.
	if got, s := nightly(t, pl, day5, ledger, false, one); len(got) != 1 || s.SessionsResumed != 2 || s.SessionsFull != 0 {
		t.Fatalf("one course alone: %d payloads, %d resumed, %d full", len(got), s.SessionsResumed, s.SessionsFull)
	}
	day6 := day0.AddDate(0, 0, 6)
	log.add(t, r, 30, day5.Add(22*time.Hour-SessionMargin).Unix(), day6.Add(23*time.Hour).Unix())
	mixed, _ := nightly(t, pl, day6, ledger, false)
	for id, want := range full0(t, pl, day6) {
		if !bytes.Equal(mixed[id], want) {
			t.Fatalf("a batch of courses at different watermarks differs from the full recomputation (course %s)", id)
		}
	}

	// A report day before the watermark (an export of an earlier day) is
	// recomputed, and does not move the watermark back.
	early, es := nightly(t, pl, day0, ledger, false)
	full, _ := nightly(t, pl, day0, nil, false)
	for id, want := range full {
		if !bytes.Equal(early[id], want) {
			t.Fatalf("an earlier report day with the ledger differs from the full recomputation (course %s)", id)
		}
	}
	if es.SessionsResumed != 0 {
		t.Errorf("an earlier report day resumed %d courses from a later watermark", es.SessionsResumed)
	}
	last := day6
	if _, s := nightly(t, pl, last, ledger, false); s.SessionsResumed == 0 || s.SessionsFull != 0 {
		t.Errorf("after the earlier day, the last night resumed %d courses, %d full: the watermark moved back", s.SessionsResumed, s.SessionsFull)
	}

	// --full-dedication reads the whole log and saves what it finds.
	rec, rs := nightly(t, pl, last, ledger, true)
	want, _ := nightly(t, pl, last, nil, false)
	for id := range want {
		if !bytes.Equal(rec[id], want[id]) {
			t.Fatalf("a recomputation differs (course %s)", id)
		}
	}
	if rs.SessionsResumed != 0 {
		t.Errorf("a recomputation resumed %d courses", rs.SessionsResumed)
	}
}

// TestSessionsFingerprint: sessions saved under another rule are not
// resumed (a changed maxGap would otherwise mix two rules).
func TestSessionsFingerprint(t *testing.T) {
	cfg := demo.DemoConfig()
	cfg.StudentsPerCourse = 3
	cfg.EdgeCourses = false // reports, not payloads: nothing to do with dedication
	pl := hotSite(t, cfg, "params:\n  dedicationSource: log\n")
	ledger, err := ledger.Open(context.Background(), filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()
	day := demo.DefaultReportDate
	nightly(t, pl, day, ledger, false)
	if _, s := nightly(t, pl, day.AddDate(0, 0, 1), ledger, false); s.SessionsResumed == 0 {
		t.Fatal("the same mapping did not resume its sessions")
	}
	other := hotSite(t, cfg, "params:\n  dedicationSource: log\n  maxGap: 1800\n")
	other.Mapping.Source = pl.Mapping.Source
	got, s := nightly(t, other, day.AddDate(0, 0, 2), ledger, false)
	if s.SessionsResumed != 0 {
		t.Errorf("sessions saved with maxGap 2700 were resumed with 1800: %d courses", s.SessionsResumed)
	}
	want, _ := nightly(t, other, day.AddDate(0, 0, 2), nil, false)
	for id := range want {
		if !bytes.Equal(got[id], want[id]) {
			t.Fatalf("course %s differs from the full recomputation after the rule changed", id)
		}
	}
}

// full0 is a night recomputed from the whole log.
func full0(t *testing.T, pl *plan.Plan, day time.Time) map[string][]byte {
	out, _ := nightly(t, pl, day, nil, false)
	return out
}
