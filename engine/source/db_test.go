package source

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	cases := map[string][2]string{
		"postgres://ro:s3cr3t@db.otec.cl:5432/moodle?sslmode=require": {"postgres", "postgres://ro:***@db.otec.cl:5432/moodle?sslmode=require"},
		"host=db user=ro password=s3cr3t dbname=moodle":               {"postgres", "host=db user=ro password=*** dbname=moodle"},
		"ro:s3cr3t@tcp(db:3306)/moodle?parseTime=true":                {"mysql", "ro:***@tcp(db:3306)/moodle?parseTime=true"},
		"/var/lib/moodle.db": {"sqlite", "/var/lib/moodle.db"},
	}
	for in, c := range cases {
		if got := Redact(c[0], in); got != c[1] {
			t.Errorf("Redact(%q) = %q, want %q", in, got, c[1])
		}
	}
}

// TestConnectionErrors: each failure a user meets is one line that says
// what to do, names the DSN and never shows the password.
func TestConnectionErrors(t *testing.T) {
	type tc struct {
		name, driver, dsn, want string
		needs                   string // env var of a server the case needs
	}
	cases := []tc{
		{"SQLite missing file", "sqlite", filepath.Join(t.TempDir(), "no", "moodle.db"), "no se puede abrir el archivo SQLite", ""},
		{"Postgres server down", "postgres", "postgres://ro:s3cr3t@127.0.0.1:1/moodle?sslmode=disable&connect_timeout=5", "rechazó la conexión", ""},
		{"Postgres wrong host", "postgres", "postgres://ro:s3cr3t@nonexistent.invalid/moodle?connect_timeout=5", "DNS", ""},
		{"MariaDB server down", "mysql", "ro:s3cr3t@tcp(127.0.0.1:1)/moodle?timeout=5s", "rechazó la conexión", ""},
		{"Postgres unknown user", "postgres", "postgres://nobody_here:s3cr3t@127.0.0.1:5432/postgres?sslmode=disable", "usuario o contraseña rechazados", "SENCE_TEST_POSTGRES_DSN"},
		{"Postgres missing database", "postgres", "postgres://postgres:s3cr3t@127.0.0.1:5432/no_such_db_xyz?sslmode=disable", "la base de datos no existe", "SENCE_TEST_POSTGRES_DSN"},
		{"Postgres TLS certificate not trusted", "postgres", "postgres://postgres:s3cr3t@127.0.0.1:5432/postgres?sslmode=verify-full", "TLS", "SENCE_TEST_POSTGRES_DSN"},
		{"MariaDB wrong password", "mysql", "root:s3cr3t@tcp(127.0.0.1:3306)/test", "usuario o contraseña rechazados", "SENCE_TEST_MYSQL_DSN"},
		{"MariaDB missing database", "mysql", "root@tcp(127.0.0.1:3306)/no_such_db_xyz", "la base de datos no existe", "SENCE_TEST_MYSQL_DSN"},
		{"MariaDB TLS required", "mysql", "root:s3cr3t@tcp(127.0.0.1:3306)/test?tls=true", "TLS", "SENCE_TEST_MYSQL_DSN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.needs != "" && os.Getenv(c.needs) == "" {
				if os.Getenv("SENCE_TEST_REQUIRE_DB") != "" {
					t.Fatalf("%s is not set", c.needs)
				}
				t.Skipf("%s is not set", c.needs)
			}
			db, err := Open(context.Background(), c.driver, c.dsn)
			if err == nil {
				db.Close()
				t.Fatal("connected")
			}
			msg := err.Error()
			if !errors.Is(err, ErrConnect) || !strings.Contains(msg, c.want) {
				t.Errorf("got %q, want it to contain %q", msg, c.want)
			}
			if strings.Contains(msg, "s3cr3t") {
				t.Errorf("password shown: %q", msg)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("not one line: %q", msg)
			}
		})
	}
}
