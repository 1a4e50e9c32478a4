package site

import (
	"context"
	"database/sql"
	"fmt"
	"os"

	"github.com/otec-tools/sence-engine/engine/moodledb"
	"github.com/otec-tools/sence-engine/engine/moodledb/demo"
)

// bytesPerLogRow is what one log row takes on disk with its share of the
// other tables and of every index, measured on the reference site, plus
// room for the sorts that build the indexes.
var bytesPerLogRow = map[string]int64{
	moodledb.Postgres: 700,
	moodledb.MySQL:    900,
	moodledb.SQLite:   600,
}

// LogRows estimates the log rows of a dataset of cfg: Scaled's students
// make about 92 % of LogEventsPerStudent each (some never come).
func LogRows(cfg demo.Config) int64 {
	return int64(cfg.Courses) * int64(cfg.StudentsPerCourse) * int64(cfg.LogEventsPerStudent) * 92 / 100
}

// NeedBytes estimates the disk a site of cfg needs on dialect.
func NeedBytes(dialect string, cfg demo.Config) int64 {
	return LogRows(cfg) * bytesPerLogRow[dialect]
}

// DataDir asks the server where it keeps its files; "" when it cannot say
// or the directory is not on this machine.
func DataDir(ctx context.Context, db *sql.DB, dialect string) string {
	var q string
	switch dialect {
	case moodledb.Postgres:
		q = "SELECT setting FROM pg_settings WHERE name = 'data_directory'"
	case moodledb.MySQL:
		q = "SELECT @@datadir"
	default:
		return ""
	}
	var dir string
	if err := db.QueryRowContext(ctx, q).Scan(&dir); err != nil || dir == "" {
		return ""
	}
	if _, err := os.Stat(dir); err != nil {
		return ""
	}
	return dir
}

// CheckDisk refuses a load that would not fit in the free space of dir
// (the server's data directory, or for SQLite the file's).
func CheckDisk(dir, dialect string, cfg demo.Config) error {
	need := NeedBytes(dialect, cfg)
	free, err := FreeBytes(dir)
	if err != nil {
		return fmt.Errorf("no se pudo medir el espacio libre en %s: %w", dir, err)
	}
	if free < need {
		return fmt.Errorf("espacio insuficiente en %s: el sitio de %d cursos y %d alumnos por curso (unos %d millones de filas de registro) necesita unos %s y hay %s libres; use una escala menor o libere espacio",
			dir, cfg.Courses, cfg.StudentsPerCourse, LogRows(cfg)/1_000_000, GiB(need), GiB(free))
	}
	return nil
}

// GiB formats a size in gibibytes.
func GiB(n int64) string { return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30)) }

// Size is what the site's tables and indexes take on the server.
func Size(ctx context.Context, db *sql.DB, dialect, prefix string) (int64, error) {
	var q string
	switch dialect {
	case moodledb.Postgres:
		q = "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = current_schema() AND c.relname LIKE '" + prefix + "%'"
	case moodledb.MySQL:
		q = "SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE '" + prefix + "%'"
	default:
		q = "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
	}
	var n int64
	err := db.QueryRowContext(ctx, q).Scan(&n)
	return n, err
}
