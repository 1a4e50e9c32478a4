package cli

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/moodledb"
	"github.com/otec-tools/sence-engine/engine/moodledb/dbtest"
	"github.com/otec-tools/sence-engine/engine/moodledb/demo"
)

// coursesSQL is the preset's courses query, with room for one more
// column and something after it.
const coursesSQL = `SELECT c.id AS courseid, c.shortname, c.fullname, c.idnumber,
             NULLIF(c.startdate, 0) AS startdate,
             NULLIF(c.enddate, 0) AS enddate%s
        FROM {course} c
       WHERE c.format <> 'site'%s`

// TestReadOnlyWhateverTheDSN: on each engine, DSN options that would let a
// query write, stacked statements and functions that write are refused by
// `export` and by `validate --db` alike, with a Spanish message that names
// the query, and Moodle's rows are unchanged afterwards.
func TestReadOnlyWhateverTheDSN(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(dbtest.Name(dialect), func(t *testing.T) {
			dir := demoDir(t)
			admin, dsn := demoDatabase(t, dialect, dir)
			var extra []string // objects that write, made by the test
			switch dialect {
			case "postgres":
				extra = []string{"CREATE FUNCTION wipe() RETURNS int LANGUAGE plpgsql AS $$ BEGIN DELETE FROM mdl_user; RETURN 1; END $$"}
			case "mysql":
				extra = []string{"CREATE SEQUENCE s", "CREATE FUNCTION wipe() RETURNS INT MODIFIES SQL DATA BEGIN DELETE FROM mdl_user; RETURN 1; END"}
			}
			for _, s := range extra {
				if _, err := admin.Exec(s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			before := fingerprint(t, admin)

			type tc struct {
				name, dsn, column, tail string
				want                    string // in the message of both commands
				named                   bool   // the message names the query
			}
			cases := []tc{
				{name: "stacked DELETE", dsn: dsn, tail: ";\n      DELETE FROM {user}", want: "más de una instrucción", named: true},
				{name: "COMMIT then DELETE", dsn: dsn, tail: ";\n      COMMIT; DELETE FROM {user}", want: "más de una instrucción", named: true},
				{name: "SELECT INTO", dsn: dsn, column: ", c.id AS x INTO {course_copy}", want: "«INTO»", named: true},
			}
			switch dialect {
			case "sqlite":
				rw := dsn + "&mode=rw&_query_only=0"
				cases = append(cases,
					tc{name: "mode=rw and stacked DELETE", dsn: rw, tail: ";\n      DELETE FROM {user}", want: "más de una instrucción", named: true},
					tc{name: "ATTACH in the DSN", dsn: dsn + "&_pragma=" + urlEscape("foreign_keys(1);ATTACH '"+filepath.Join(dir, "attached.db")+"' AS x"), want: "no se permite"})
			case "postgres":
				cases = append(cases,
					tc{name: "nextval", dsn: dsn, column: ",\n             nextval('mdl_user_id_seq') AS n", want: "«nextval»", named: true},
					tc{name: "writing function", dsn: dsn, column: ",\n             wipe() AS w", want: "«wipe»", named: true},
					tc{name: "simple protocol", dsn: dsn + "&default_query_exec_mode=simple_protocol", want: "simple_protocol no se permite"})
			case "mysql":
				cases = append(cases,
					tc{name: "multiStatements", dsn: dsn + "&multiStatements=true", want: "multiStatements=true no se permite"},
					tc{name: "NEXTVAL", dsn: dsn, column: ",\n             NEXTVAL(s) AS n", want: "«nextval»", named: true},
					tc{name: "writing function", dsn: dsn, column: ",\n             wipe() AS w", want: "«wipe»", named: true})
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					site := filepath.Join(t.TempDir(), "site.yaml")
					yaml := fmt.Sprintf("version: 1\nextends: %s\nsource:\n  driver: %s\n  dsn: %q\nqueries:\n  courses:\n    sql: |\n      %s\n",
						filepath.Join(dir, "mapping.yaml"), dialect, c.dsn, fmt.Sprintf(coursesSQL, c.column, c.tail))
					if err := os.WriteFile(site, []byte(yaml), 0o600); err != nil {
						t.Fatal(err)
					}
					out := filepath.Join(t.TempDir(), "out")
					for _, args := range [][]string{{"export", site, "--date", "2026-11-20", "--out", out}, {"validate", "--db", site}} {
						r := run(t, map[string]string{"SENCE_TOKEN": secretToken}, args...)
						msg := r.stdout + r.stderr
						if r.code == ExitOK || !strings.Contains(msg, c.want) || c.named && !strings.Contains(msg, "consulta «courses»") {
							t.Errorf("%s: exit %d, want a refusal with %q:\n%s", args[0], r.code, c.want, msg)
						}
						if strings.Contains(msg, "panic") || strings.Contains(msg, "goroutine") {
							t.Errorf("%s: a crash:\n%s", args[0], msg)
						}
					}
					if _, err := os.Stat(out); err == nil {
						t.Errorf("export wrote %s", out)
					}
				})
			}
			if after := fingerprint(t, admin); after != before {
				t.Errorf("Moodle's rows changed: %s, before %s", after, before)
			}
			if _, err := os.Stat(filepath.Join(dir, "attached.db")); err == nil {
				t.Error("ATTACH created a file")
			}
			// The same DSNs without the refused query still read Moodle:
			// the engine rewrote what it could (SQLite mode=rw).
			if dialect == "sqlite" {
				site := filepath.Join(t.TempDir(), "site.yaml")
				os.WriteFile(site, []byte(fmt.Sprintf("version: 1\nextends: %s\nsource:\n  dsn: %q\n", filepath.Join(dir, "mapping.yaml"), dsn+"&mode=rw")), 0o600)
				if r := run(t, map[string]string{"SENCE_TOKEN": secretToken}, "export", site, "--date", "2026-11-20"); r.code != ExitProblems || !strings.Contains(r.stdout, "Total: 5 cursos para enviar") {
					t.Errorf("mode=rw export: exit %d\n%s%s", r.code, r.stdout, r.stderr)
				}
			}
		})
	}
}

// demoDatabase returns a connection to the demo data on dialect's engine
// (for SQLite, the demo directory's database) and the DSN to read it.
func demoDatabase(t *testing.T, dialect, dir string) (*sql.DB, string) {
	t.Helper()
	if dialect == "sqlite" {
		dsn := "file:" + filepath.Join(dir, "moodle.db") + "?_pragma=busy_timeout(5000)"
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db, dsn
	}
	db, dsn := dbtest.OpenDSN(t, dialect)
	ctx := context.Background()
	if err := moodledb.CreateSchema(ctx, db, dialect, "mdl_"); err != nil {
		t.Fatal(err)
	}
	cfg := demo.DemoConfig()
	cfg.ReportDate = demo.DefaultReportDate
	if err := demo.Generate(cfg).Load(ctx, db, dialect, "mdl_"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dsn, "?") {
		dsn += "?"
	}
	return db, dsn
}

// fingerprint summarises the rows a stray write would change.
func fingerprint(t *testing.T, db *sql.DB) string {
	t.Helper()
	var users, sumID, courses int64
	var names string
	if err := db.QueryRow("SELECT COUNT(*), COALESCE(SUM(id), 0), MAX(firstname) FROM mdl_user").Scan(&users, &sumID, &names); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT COUNT(*) FROM mdl_course").Scan(&courses); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d users (Σid %d, %s), %d courses", users, sumID, names, courses)
}

func urlEscape(s string) string {
	return strings.NewReplacer("%", "%25", ";", "%3B", " ", "%20", "'", "%27", "&", "%26").Replace(s)
}

// TestQueryTimeoutNamesTheQuery: with source.timeout, a slow query (and on
// the servers, a table locked by another session) stops the export, and
// validate --db, promptly with the query's name and what to do.
func TestQueryTimeoutNamesTheQuery(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(dbtest.Name(dialect), func(t *testing.T) {
			dir := demoDir(t)
			admin, dsn := demoDatabase(t, dialect, dir)
			slow := map[string]string{
				"sqlite":   ",\n             (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT MAX(i) FROM n) AS slow",
				"postgres": ",\n             pg_sleep(30) AS slow",
				"mysql":    ",\n             SLEEP(30) AS slow",
			}[dialect]
			write := func(column string) string {
				site := filepath.Join(t.TempDir(), "site.yaml")
				yaml := fmt.Sprintf("version: 1\nextends: %s\nsource:\n  driver: %s\n  dsn: %q\n  timeout: 500ms\nqueries:\n  courses:\n    sql: |\n      %s\n",
					filepath.Join(dir, "mapping.yaml"), dialect, dsn, fmt.Sprintf(coursesSQL, column, ""))
				os.WriteFile(site, []byte(yaml), 0o600)
				return site
			}
			check := func(what string, args ...string) {
				t.Helper()
				start := time.Now()
				r := run(t, nil, args...)
				msg := r.stdout + r.stderr
				if r.code == ExitOK || !strings.Contains(msg, "consulta «courses»") || !strings.Contains(msg, "source.timeout") || !strings.Contains(msg, "500ms") {
					t.Errorf("%s: %s: exit %d, want the query named and source.timeout:\n%s", what, args[0], r.code, msg)
				}
				if took := time.Since(start); took > 10*time.Second {
					t.Errorf("%s: %s took %s", what, args[0], took)
				}
			}
			check("slow query", "export", write(slow), "--date", "2026-11-20")
			if dialect == "sqlite" {
				return
			}
			conn, err := admin.Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			lock := "LOCK TABLES mdl_course WRITE"
			if dialect == "postgres" {
				conn.ExecContext(context.Background(), "BEGIN")
				lock = "LOCK TABLE mdl_course IN ACCESS EXCLUSIVE MODE"
			}
			if _, err := conn.ExecContext(context.Background(), lock); err != nil {
				t.Fatal(err)
			}
			site := write("")
			check("locked table", "export", site, "--date", "2026-11-20")
			check("locked table", "validate", "--db", site)
		})
	}
}
