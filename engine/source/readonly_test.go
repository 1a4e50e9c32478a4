package source

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/moodledb/dbtest"
)

// guardFixture is a database with a table of two rows, and on the servers
// a sequence and a function that deletes those rows.
func guardFixture(t *testing.T, dialect string) (admin *sql.DB, dsn string) {
	t.Helper()
	admin, dsn = dbtest.OpenDSN(t, dialect)
	stmts := []string{"CREATE TABLE t (id INT)", "INSERT INTO t VALUES (1), (2)"}
	switch dialect {
	case "postgres":
		stmts = append(stmts, "CREATE SEQUENCE s",
			"CREATE FUNCTION wipe() RETURNS int LANGUAGE plpgsql AS $$ BEGIN DELETE FROM t; RETURN 1; END $$")
	case "mysql":
		stmts = append(stmts, "CREATE SEQUENCE s",
			"CREATE FUNCTION wipe() RETURNS INT MODIFIES SQL DATA BEGIN DELETE FROM t; RETURN 1; END")
	}
	for _, s := range stmts {
		if _, err := admin.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return admin, dsn
}

func rowsLeft(t *testing.T, admin *sql.DB) int {
	t.Helper()
	var n int
	if err := admin.QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDatabaseGuards: below the statement check, the connection and the
// transaction refuse writes on each engine, whatever the DSN asks for.
// The test sends the writes straight to the transaction, as a lexer
// fooled by some quoting would.
func TestDatabaseGuards(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(dbtest.Name(dialect), func(t *testing.T) {
			admin, dsn := guardFixture(t, dialect)
			// The user's DSN asks for a writable connection.
			switch dialect {
			case "sqlite":
				dsn += "&mode=rw&_query_only=0&_txlock=immediate"
			case "postgres":
				dsn += "&options=-c%20default_transaction_read_only%3Doff"
			}
			db, err := Open(ctx, dialect, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if dialect != "mysql" {
				// Outside the engine's transactions too (MySQL has only
				// the read-only transaction).
				if _, err := db.ExecContext(ctx, "DELETE FROM t"); err == nil {
					t.Error("a write outside a transaction was accepted")
				}
			}
			writes := []string{"DELETE FROM t", "SELECT 1; DELETE FROM t", "COMMIT; DELETE FROM t"}
			switch dialect {
			case "sqlite":
				writes = append(writes, "PRAGMA query_only = 0", "ATTACH DATABASE '"+filepath.Join(t.TempDir(), "new.db")+"' AS x")
			case "postgres":
				writes = append(writes, "SELECT nextval('s')", "SELECT wipe()", "SET transaction_read_only = off")
			case "mysql":
				writes = append(writes, "SELECT NEXTVAL(s)", "SELECT wipe()")
			}
			for _, w := range writes {
				tx, err := db.ReadTx(ctx)
				if err != nil {
					t.Fatal(err)
				}
				rows, err := tx.QueryContext(ctx, w)
				if err == nil {
					for rows.Next() {
					}
					err = rows.Err()
					rows.Close()
				}
				if err == nil {
					// SET alone is harmless; the next write must still fail.
					_, err = tx.ExecContext(ctx, "DELETE FROM t")
				}
				tx.Rollback()
				if err == nil {
					t.Errorf("%q: accepted", w)
				}
			}
			if n := rowsLeft(t, admin); n != 2 {
				t.Errorf("%d rows left, want 2", n)
			}
		})
	}
}

// TestAttachCreatesNoFile: SQLite's ATTACH creates a missing file even on
// a read-only connection; the engine's connection refuses it first.
func TestAttachCreatesNoFile(t *testing.T) {
	_, dsn := guardFixture(t, "sqlite")
	db, err := Open(context.Background(), "sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	target := filepath.Join(t.TempDir(), "created.db")
	_, err = db.Exec("ATTACH DATABASE '" + target + "' AS x")
	if err == nil {
		t.Fatal("ATTACH accepted")
	}
	if _, err := os.Stat(target); err == nil {
		t.Fatal("ATTACH created a file")
	}
}

// TestDSNPolicy: the DSN options that would let a query write, or run
// several statements, are refused with what to do.
func TestDSNPolicy(t *testing.T) {
	cases := []struct{ driver, dsn, want string }{
		{"mysql", "ro:s3cr3t@tcp(127.0.0.1:1)/moodle?multiStatements=true", "multiStatements=true no se permite"},
		{"mysql", "ro:s3cr3t@tcp(127.0.0.1:1)/moodle?allowAllFiles=true", "allowAllFiles=true no se permite"},
		{"postgres", "postgres://ro:s3cr3t@127.0.0.1:1/moodle?default_query_exec_mode=simple_protocol", "simple_protocol no se permite"},
		{"sqlite", "file:/tmp/x.db?_pragma=foreign_keys(1);ATTACH 'y.db' AS y", "no se pueden leer"},
		{"sqlite", "file:/tmp/x.db?_pragma=foreign_keys(1)%3BATTACH%20'y.db'%20AS%20y", "no se permite"},
		{"sqlite", "file:/tmp/x.db?_pragma=writable_schema(1)", "no se permite"},
		{"sqlite", "file:/tmp/x.db?vfs=memdb", "vfs no se permite"},
	}
	for _, c := range cases {
		_, err := Open(context.Background(), c.driver, c.dsn)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "source.dsn") {
			t.Errorf("%s: got %v, want %q", c.dsn, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("password shown: %v", err)
		}
	}
	got, err := sqliteDSN("file:/var/m.db?mode=rwc&_query_only=0&_txlock=exclusive&_pragma=busy_timeout(60000)&cache=shared", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mode=ro", "_query_only=1", "_txlock=deferred", "_busy_timeout=2000", "cache=shared"} {
		if !strings.Contains(got, want) {
			t.Errorf("sqliteDSN = %q, want %q in it", got, want)
		}
	}
	if strings.Contains(got, "rwc") || strings.Contains(got, "exclusive") || strings.Contains(got, "60000") {
		t.Errorf("sqliteDSN kept the user's mode: %q", got)
	}
}

// TestQueryTimeout: a query that runs longer than the timeout is stopped,
// on each engine, and the error says so (a slow query, and on the servers
// a table locked by another session).
func TestQueryTimeout(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(dbtest.Name(dialect), func(t *testing.T) {
			admin, dsn := guardFixture(t, dialect)
			db, err := OpenConfig(ctx, Config{Driver: dialect, DSN: dsn, Timeout: 300 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			slow := map[string]string{
				"sqlite":   "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT MAX(i) AS m FROM n",
				"postgres": "SELECT pg_sleep(5) AS s",
				"mysql":    "SELECT SLEEP(5) AS s",
			}[dialect]
			queries := []string{slow}
			if dialect != "sqlite" {
				lock := map[string]string{"postgres": "LOCK TABLE t IN ACCESS EXCLUSIVE MODE", "mysql": "LOCK TABLES t WRITE"}[dialect]
				conn, err := admin.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				if dialect == "postgres" {
					if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := conn.ExecContext(ctx, lock); err != nil {
					t.Fatal(err)
				}
				queries = append(queries, "SELECT id FROM t")
			}
			for _, q := range queries {
				start := time.Now()
				tx, err := db.ReadTx(ctx)
				if err != nil {
					t.Fatal(err)
				}
				rows, err := db.Query(ctx, tx, q, nil, nil)
				if err == nil {
					for rows.Next() {
					}
					err = rows.Err()
					rows.Close()
				}
				tx.Rollback()
				took := time.Since(start)
				if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "source.timeout") {
					t.Errorf("%q: got %v, want a timeout", q, err)
				}
				if took > 4*time.Second {
					t.Errorf("%q: stopped after %s", q, took)
				}
			}
		})
	}
}
