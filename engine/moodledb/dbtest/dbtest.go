// Package dbtest gives each test its own empty database on SQLite,
// PostgreSQL or MySQL/MariaDB, and removes it afterwards, so tests that need
// a Moodle database can run concurrently and repeatedly against one server.
//
// The servers come from the environment (.ci/databases.sh sets both):
//
//	SENCE_TEST_POSTGRES_DSN  e.g. postgres://postgres@127.0.0.1:5432/sence_test?sslmode=disable
//	SENCE_TEST_MYSQL_DSN     e.g. root@tcp(127.0.0.1:3306)/sence_test?charset=utf8mb4
//
// A test on a server whose variable is unset is skipped, not failed, unless
// SENCE_TEST_REQUIRE_DB is set (CI sets it): then it fails.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"

	"github.com/otec-tools/sence-engine/engine/moodledb"
)

// Environment variables naming the test servers.
const (
	PostgresEnv = "SENCE_TEST_POSTGRES_DSN"
	MySQLEnv    = "SENCE_TEST_MYSQL_DSN"
	// RequireEnv, when set, turns a missing server into a test failure.
	RequireEnv = "SENCE_TEST_REQUIRE_DB"
)

// Name is the name to give a subtest on dialect's engine: CI looks for
// passing tests named after the servers it starts (Postgres, MariaDB).
func Name(dialect string) string {
	switch dialect {
	case moodledb.SQLite:
		return "SQLite"
	case moodledb.Postgres:
		return "Postgres"
	case moodledb.MySQL:
		return "MariaDB"
	}
	return dialect
}

// Driver returns the database/sql driver name for a dialect.
func Driver(dialect string) string {
	switch dialect {
	case moodledb.Postgres:
		return "pgx"
	case moodledb.MySQL:
		return "mysql"
	}
	return dialect
}

// Open returns a connection to a new, empty database for dialect: a file in
// t.TempDir() for SQLite, a new schema (first on the search_path) for
// PostgreSQL, a new database for MySQL. It skips the test when the server's
// DSN variable is unset, and drops what it created when the test ends.
func Open(t testing.TB, dialect string) *sql.DB {
	t.Helper()
	db, _ := OpenDSN(t, dialect)
	return db
}

// OpenDSN is Open that also returns the DSN of the new database, for code
// under test that opens its own connections.
func OpenDSN(t testing.TB, dialect string) (*sql.DB, string) {
	t.Helper()
	switch dialect {
	case moodledb.SQLite:
		dsn := "file:" + t.TempDir() + "/moodle.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
		return open(t, dialect, dsn), dsn
	case moodledb.Postgres:
		return openPostgres(t)
	case moodledb.MySQL:
		return openMySQL(t)
	}
	t.Fatalf("dbtest: unknown dialect %q", dialect)
	return nil, ""
}

func open(t testing.TB, dialect, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(Driver(dialect), dsn)
	if err != nil {
		t.Fatalf("dbtest: open %s: %v", dialect, err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("dbtest: connect to %s: %v", dialect, err)
	}
	return db
}

func serverDSN(t testing.TB, env string) string {
	t.Helper()
	dsn := os.Getenv(env)
	if dsn == "" && os.Getenv(RequireEnv) != "" {
		t.Fatalf("%s is not set and %s requires the database tests", env, RequireEnv)
	}
	if dsn == "" {
		t.Skipf("%s is not set: skipping the test on this server (source .ci/databases.sh to run it)", env)
	}
	return dsn
}

var nameRe = regexp.MustCompile(`[^a-z0-9]+`)

// uniqueName is a lower-case identifier made of the test's name and random
// bytes, short enough for every engine.
func uniqueName(t testing.TB) string {
	b := make([]byte, 5)
	rand.Read(b)
	base := nameRe.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(base) > 30 {
		base = base[len(base)-30:]
	}
	return "sence_t_" + strings.Trim(base, "_") + "_" + hex.EncodeToString(b)
}

func openPostgres(t testing.TB) (*sql.DB, string) {
	t.Helper()
	base := serverDSN(t, PostgresEnv)
	admin := open(t, moodledb.Postgres, base)
	name := uniqueName(t)
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA "`+name+`"`); err != nil {
		t.Fatalf("dbtest: create schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), `DROP SCHEMA "`+name+`" CASCADE`); err != nil {
			t.Errorf("dbtest: drop schema %s: %v", name, err)
		}
	})
	dsn, err := withSearchPath(base, name)
	if err != nil {
		t.Fatalf("dbtest: %s: %v", PostgresEnv, err)
	}
	return open(t, moodledb.Postgres, dsn), dsn
}

// withSearchPath adds a search_path run-time parameter to a PostgreSQL DSN
// in URL or key=value form.
func withSearchPath(dsn, schema string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", err
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return dsn + " search_path=" + schema, nil
}

func openMySQL(t testing.TB) (*sql.DB, string) {
	t.Helper()
	base := serverDSN(t, MySQLEnv)
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		t.Fatalf("dbtest: %s: %v", MySQLEnv, err)
	}
	admin := open(t, moodledb.MySQL, base)
	name := uniqueName(t)
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		t.Fatalf("dbtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE `"+name+"`"); err != nil {
			t.Errorf("dbtest: drop database %s: %v", name, err)
		}
	})
	cfg.DBName = name
	dsn := cfg.FormatDSN()
	return open(t, moodledb.MySQL, dsn), dsn
}

// Bind turns a query written with :name parameters (as in the reference
// SQL of the spec) into the dialect's placeholders and the argument list.
// Names are letters, digits and underscores; "::" (a PostgreSQL cast) is
// left alone.
func Bind(dialect, query string, params map[string]any) (string, []any, error) {
	var (
		b    strings.Builder
		args []any
		pos  = map[string]int{}
	)
	for i := 0; i < len(query); i++ {
		c := query[i]
		if c != ':' || i+1 >= len(query) || query[i+1] == ':' || !isNameByte(query[i+1]) || (i > 0 && query[i-1] == ':') {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(query) && isNameByte(query[j]) {
			j++
		}
		name := query[i+1 : j]
		v, ok := params[name]
		if !ok {
			return "", nil, fmt.Errorf("query parameter :%s has no value", name)
		}
		if dialect == moodledb.Postgres {
			n, seen := pos[name]
			if !seen {
				args = append(args, v)
				n = len(args)
				pos[name] = n
			}
			fmt.Fprintf(&b, "$%d", n)
		} else {
			args = append(args, v)
			b.WriteByte('?')
		}
		i = j - 1
	}
	return b.String(), args, nil
}

func isNameByte(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}
