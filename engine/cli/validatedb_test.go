package cli

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/otec-tools/sence-engine/engine/moodledb"
	"github.com/otec-tools/sence-engine/engine/moodledb/dbtest"
)

// TestValidateDBSpeaksSpanish: the database mistakes a new installation
// makes get one diagnostic per cause from validate --db, on each engine,
// at the line of the user's file that sets (or should set) the cause,
// with what to do, and no driver English: a table prefix the database
// does not have (left as the preset's, or written wrong), a user without
// the right to read (PostgreSQL and MariaDB: with the GRANT to run), and
// plugins this Moodle lacks (with the parameter that avoids them).
func TestValidateDBSpeaksSpanish(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(dbtest.Name(dialect), func(t *testing.T) {
			var out strings.Builder
			names := map[string]string{} // generated names → placeholders, for the golden file
			dir := t.TempDir()
			names[dir] = "DIR"
			site := func(name, dsn, extra string) string {
				p := filepath.Join(dir, name)
				text := fmt.Sprintf("version: 1\nextends: moodle\nsource:\n  driver: %s\n  dsn: %q\n%ssence:\n  rutOtec: \"76543210-3\"\n  token: ${SENCE_TOKEN}\n", dialect, dsn, extra)
				if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			check := func(title, path string, causes int) {
				t.Helper()
				r := run(t, map[string]string{"SENCE_TOKEN": secretToken}, "validate", "--db", path)
				fmt.Fprintf(&out, "== %s (exit %d)\n%s", title, r.code, r.stdout)
				if r.code != ExitProblems {
					t.Errorf("%s: exit %d, want %d\n%s%s", title, r.code, ExitProblems, r.stdout, r.stderr)
				}
				if n := strings.Count(r.stdout, ": error: "); n != causes {
					t.Errorf("%s: %d diagnostics, want one per cause (%d):\n%s", title, n, causes, r.stdout)
				}
				for _, english := range []string{"does not exist", "doesn't exist", "permission denied", "command denied", "no such table", "SQLSTATE", "Error 1"} {
					if strings.Contains(r.stdout+r.stderr, english) {
						t.Errorf("%s: the driver's English reaches the user (%q):\n%s", title, english, r.stdout)
					}
				}
			}

			// A Moodle installed with the prefix mdl2_: the preset's mdl_
			// left as is, then a prefix written wrong.
			db, dsn := dbtest.OpenDSN(t, dialect)
			nameDB(names, dialect, dsn)
			if err := moodledb.CreateSchema(context.Background(), db, dialect, "mdl2_"); err != nil {
				t.Fatal(err)
			}
			check("prefijo del preset, Moodle con mdl2_", site("prefix-default.yaml", dsn, ""), 1)
			check("prefijo mal escrito", site("prefix-wrong.yaml", dsn, "  prefix: moodle_\n"), 1)
			// export stops at the first refused query and points to
			// validate --db for the cause.
			r := run(t, map[string]string{"SENCE_TOKEN": secretToken}, "export", filepath.Join(dir, "prefix-default.yaml"), "--date", "2026-11-20")
			if r.code != ExitFailed || !strings.Contains(r.stderr, "la tabla «mdl_course» no existe en la base de datos") || !strings.Contains(r.stderr, "engine validate --db") {
				t.Errorf("export with the wrong prefix: exit %d\n%s", r.code, r.stderr)
			}

			// Plugins this Moodle does not have: the dedication block
			// (read by default) and Zoom (read because the site asks).
			db2, dsn2 := dbtest.OpenDSN(t, dialect)
			nameDB(names, dialect, dsn2)
			if err := moodledb.CreateSchema(context.Background(), db2, dialect, "mdl_"); err != nil {
				t.Fatal(err)
			}
			for _, tb := range []string{"block_dedication", "zoom_meeting_participants", "zoom_meeting_details", "zoom"} {
				if _, err := db2.Exec("DROP TABLE mdl_" + tb); err != nil {
					t.Fatal(err)
				}
			}
			check("sin el bloque de dedicación ni Zoom", site("plugins.yaml", dsn2, "params:\n  syncModules: [bigbluebuttonbn, zoom]\n"), 2)

			// A user that may read nothing of Moodle: nothing granted at
			// all (PostgreSQL: not even the schema, whose tables it then
			// does not see; MariaDB: it may not connect), or only part
			// (PostgreSQL: the schema; MariaDB: one table).
			if dialect != "sqlite" {
				for i, some := range []bool{false, true} {
					user, userDSN := readOnlyUser(t, dialect, db2, dsn2, some)
					names[user] = fmt.Sprintf("USUARIO%d", i+1)
					title := "usuario sin ningún permiso"
					if some {
						title = "usuario con algún permiso, sin SELECT en las tablas"
					}
					check(title, site(fmt.Sprintf("grant%d.yaml", i+1), userDSN, "params:\n  dedicationSource: log\n"), 1)
				}
			}
			got := out.String()
			for from, to := range names {
				got = strings.ReplaceAll(got, from, to)
			}
			got = regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(got, "127.0.0.1:PUERTO")
			golden(t, "validate-db-"+dialect+".golden", got)
		})
	}
}

// nameDB records the generated database (MySQL) or schema (PostgreSQL)
// of a DSN under a placeholder.
func nameDB(names map[string]string, dialect, dsn string) {
	n := len(names)
	switch dialect {
	case "postgres":
		if u, err := url.Parse(dsn); err == nil {
			names[u.Query().Get("search_path")] = fmt.Sprintf("ESQUEMA%d", n)
		}
	case "mysql":
		if c, err := mysql.ParseDSN(dsn); err == nil {
			names[c.DBName] = fmt.Sprintf("BASE%d", n)
		}
	}
}

// readOnlyUser creates a database user that may not read Moodle's
// tables, with some rights (PostgreSQL: USAGE on the schema; MariaDB:
// SELECT on mdl_course, so that it may connect) or none, and returns its
// name and a DSN that connects as it.
func readOnlyUser(t *testing.T, dialect string, admin *sql.DB, dsn string, some bool) (string, string) {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	user := "sence_ro_" + hex.EncodeToString(b)
	switch dialect {
	case "postgres":
		if _, err := admin.Exec("CREATE ROLE " + user + " LOGIN"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			admin.Exec("DROP OWNED BY " + user)
			admin.Exec("DROP ROLE " + user)
		})
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		if some {
			if _, err := admin.Exec(`GRANT USAGE ON SCHEMA "` + u.Query().Get("search_path") + `" TO ` + user); err != nil {
				t.Fatal(err)
			}
		}
		u.User = url.User(user)
		return user, u.String()
	default:
		c, err := mysql.ParseDSN(dsn)
		if err != nil {
			t.Fatal(err)
		}
		stmts := []string{"CREATE USER '" + user + "'@'%'"}
		if some {
			stmts = append(stmts, "GRANT SELECT ON `"+c.DBName+"`.`mdl_course` TO '"+user+"'@'%'")
		}
		for _, s := range stmts {
			if _, err := admin.Exec(s); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() { admin.Exec("DROP USER '" + user + "'@'%'") })
		c.User, c.Passwd = user, ""
		return user, c.FormatDSN()
	}
}
