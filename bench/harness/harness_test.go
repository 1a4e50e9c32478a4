package harness

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/moodledb"
	"github.com/otec-tools/sence-engine/engine/moodledb/dbtest"
)

// childEnv makes the test binary act as sencebench: Compare runs each
// runner in a child process, and here the child is this binary.
const childEnv = "SENCEBENCH_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestHarnessTiny runs the whole harness at a tiny scale on every engine
// with a server: load the site, run the engine and both baselines each in
// its own process, and require the same payloads from all three.
func TestHarnessTiny(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(childEnv, "1")
	sc := Scale{Courses: 5, Enrolments: 200, Events: 40}
	for _, dialect := range moodledb.Dialects {
		t.Run(dbtest.Name(dialect), func(t *testing.T) {
			ctx := context.Background()
			db, dsn := dbtest.OpenDSN(t, dialect)
			if _, err := LoadSite(ctx, db, dialect, dsn, "mdl_", sc, false, t.Logf); err != nil {
				t.Fatal(err)
			}
			dedications := []string{"block"}
			if dialect == moodledb.SQLite {
				dedications = append(dedications, "log")
			}
			for _, ded := range dedications {
				cfg := CompareConfig{
					RunConfig: RunConfig{Dialect: dialect, DSN: dsn, Prefix: "mdl_", Dedication: ded, BatchSize: 2},
					Runners:   Runners,
					Dir:       t.TempDir(),
					Command:   []string{exe},
				}
				rep, err := Compare(ctx, cfg, t.Logf)
				if err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				rep.Print(&out, Runners)
				t.Logf("dedication %s:\n%s", ded, out.String())
				if !rep.Identical {
					t.Fatalf("payloads differ:\n%s", rep.Difference)
				}
				e := rep.Runs["engine"]
				if e.Sent < 150 || e.Excluded == 0 || e.MaxRSS == 0 || e.CPU == 0 {
					t.Errorf("implausible figures: %+v", e)
				}
				if p := rep.Runs["perstudent"]; p.Queries < 5*e.Sent {
					t.Errorf("the per-student baseline ran %d queries for %d students", p.Queries, e.Sent)
				}
			}
		})
	}
}

// TestRunCommand covers the command line of a single run.
func TestRunCommand(t *testing.T) {
	var stderr bytes.Buffer
	if code := Main(context.Background(), []string{"run", "--db", "sqlite"}, &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), "--dsn") {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
	if code := Main(context.Background(), []string{"nada"}, &bytes.Buffer{}, &stderr); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
}

// TestNightlyTiny runs the incremental-dedication benchmark at a tiny
// scale on every engine with a server: the second night reads only the new
// events and sends what a recomputation from the whole log sends, and the
// events it added are gone afterwards.
func TestNightlyTiny(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(childEnv, "1")
	sc := Scale{Courses: 4, Enrolments: 120, Events: 60}
	for _, dialect := range moodledb.Dialects {
		t.Run(dbtest.Name(dialect), func(t *testing.T) {
			ctx := context.Background()
			db, dsn := dbtest.OpenDSN(t, dialect)
			if _, err := LoadSite(ctx, db, dialect, dsn, "mdl_", sc, false, t.Logf); err != nil {
				t.Fatal(err)
			}
			var before int64
			db.QueryRow("SELECT COUNT(*) FROM mdl_logstore_standard_log").Scan(&before)
			cfg := NightlyConfig{RunConfig: RunConfig{Dialect: dialect, DSN: dsn, Prefix: "mdl_", BatchSize: 3},
				Dir: t.TempDir(), NewEvents: 0.05, Command: []string{exe}}
			rep, err := Nightly(ctx, cfg, t.Logf)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			rep.Print(&out)
			t.Logf("\n%s", out.String())
			if !rep.Identical {
				t.Fatalf("the incremental second night differs from the recomputation: %s", rep.Difference)
			}
			if rep.Added == 0 || rep.Second.Rows*4 > rep.SecondFull.Rows || rep.Second.SessionsResumed == 0 {
				t.Errorf("the second night read %d rows (recomputed: %d) after %d new events, %d courses resumed",
					rep.Second.Rows, rep.SecondFull.Rows, rep.Added, rep.Second.SessionsResumed)
			}
			var after int64
			db.QueryRow("SELECT COUNT(*) FROM mdl_logstore_standard_log").Scan(&after)
			if after != before {
				t.Errorf("the log has %d events after the benchmark, %d before", after, before)
			}
		})
	}
}
