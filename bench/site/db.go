package site

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"

	"github.com/otec-tools/sence-engine/engine/moodledb"
)

// Open opens a writable connection for loading: dialect is sqlite,
// postgres or mysql and dsn is written as in a mapping's source.dsn (for
// SQLite a file path). With create, a missing PostgreSQL or MySQL database
// is created first.
func Open(ctx context.Context, dialect, dsn string, create bool) (*sql.DB, error) {
	driver, real := dialect, dsn
	switch dialect {
	case moodledb.SQLite:
		if !strings.HasPrefix(dsn, "file:") { // a path; a file: URI is used as it is
			real = "file:" + dsn + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)"
		}
	case moodledb.Postgres:
		driver = "pgx"
		if create {
			if err := createPostgres(ctx, dsn); err != nil {
				return nil, err
			}
		}
	case moodledb.MySQL:
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			return nil, err
		}
		if create {
			if err := createMySQL(ctx, *cfg); err != nil {
				return nil, err
			}
		}
		real = cfg.FormatDSN()
	default:
		return nil, fmt.Errorf("base de datos «%s» desconocida (use sqlite, postgres o mysql)", dialect)
	}
	db, err := sql.Open(driver, real)
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("no se pudo conectar a %s: %w", dialect, err)
	}
	return db, nil
}

func createPostgres(ctx context.Context, dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("--create necesita un DSN de PostgreSQL en forma de URL (postgres://usuario@host/base)")
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return fmt.Errorf("el DSN no nombra una base de datos")
	}
	admin := *u
	admin.Path = "/postgres"
	db, err := sql.Open("pgx", admin.String())
	if err != nil {
		return err
	}
	defer db.Close()
	var exists bool
	if err := db.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("no se pudo conectar a PostgreSQL: %w", err)
	}
	if !exists {
		if _, err := db.ExecContext(ctx, `CREATE DATABASE "`+strings.ReplaceAll(name, `"`, `""`)+`"`); err != nil {
			return err
		}
	}
	return nil
}

func createMySQL(ctx context.Context, cfg mysql.Config) error {
	name := cfg.DBName
	if name == "" {
		return fmt.Errorf("el DSN no nombra una base de datos")
	}
	cfg.DBName = ""
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+strings.ReplaceAll(name, "`", "``")+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
	return err
}

// DiskDir is the directory whose filesystem receives the data.
func DiskDir(ctx context.Context, db *sql.DB, dialect, dsn string) string {
	if dialect == moodledb.SQLite {
		path, _, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
		return filepath.Dir(path)
	}
	return DataDir(ctx, db, dialect)
}
