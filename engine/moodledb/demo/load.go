package demo

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/otec-tools/sence-engine/engine/moodledb"
)

// flushAt is the size at which a multi-row INSERT is sent: far below
// MySQL's smallest usual max_allowed_packet (4 MiB) and SQLite's statement
// limit, large enough that per-statement overhead does not matter.
const flushAt = 1 << 20

// Load inserts the dataset into db, whose Moodle tables (see
// moodledb.CreateSchema) must exist and be empty, in one transaction.
// Rows are generated and sent in multi-row INSERTs of about a megabyte,
// course by course and student by student, so memory stays flat whatever
// the dataset's size. Ids are explicit, so the three engines hold the same
// rows; on PostgreSQL the id sequences are moved past them.
func (ds *Dataset) Load(ctx context.Context, db *sql.DB, dialect, prefix string) error {
	if err := checkTarget(dialect, prefix); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("load demo: %w", err)
	}
	defer tx.Rollback()
	out := &sqlOut{dialect: dialect, prefix: prefix, mysqlBackslash: dialect == moodledb.MySQL}
	if dialect == moodledb.MySQL {
		var mode string
		if err := tx.QueryRowContext(ctx, "SELECT @@SESSION.sql_mode").Scan(&mode); err != nil {
			return fmt.Errorf("load demo: read sql_mode: %w", err)
		}
		out.mysqlBackslash = !strings.Contains(mode, "NO_BACKSLASH_ESCAPES")
	}
	out.exec = func(q []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, string(q))
		return err
	}
	if err := ds.emit(out); err != nil {
		return fmt.Errorf("load demo: %w", err)
	}
	if dialect == moodledb.Postgres {
		for _, t := range moodledb.Tables() {
			name := moodledb.QuoteIdent(dialect, prefix+t)
			q := fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%s', 'id'), COALESCE((SELECT MAX(id) FROM %s), 0) + 1, false)", name, name)
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("load demo: move id sequence of %s: %w", name, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("load demo: %w", err)
	}
	return nil
}

// WriteSQL writes the dataset as INSERT statements for dialect, one per
// line and ending in ";", for loading with the engine's own client after
// the statements of moodledb.Statements. MySQL strings are escaped for the
// default sql_mode (backslash escapes on).
func (ds *Dataset) WriteSQL(w io.Writer, dialect, prefix string) error {
	if err := checkTarget(dialect, prefix); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	out := &sqlOut{dialect: dialect, prefix: prefix, mysqlBackslash: dialect == moodledb.MySQL}
	out.exec = func(q []byte) error {
		bw.Write(q)
		_, err := bw.WriteString(";\n")
		return err
	}
	if err := ds.emit(out); err != nil {
		return err
	}
	return bw.Flush()
}

func checkTarget(dialect, prefix string) error {
	if _, err := moodledb.Statements(dialect, prefix); err != nil {
		return err
	}
	return nil
}

// sqlOut turns rows into multi-row INSERT statements for one dialect.
type sqlOut struct {
	dialect        string
	prefix         string
	mysqlBackslash bool // MySQL without NO_BACKSLASH_ESCAPES: \ escapes in strings
	exec           func([]byte) error
	err            error
	writers        map[string]*tableWriter
	order          []*tableWriter
}

// table returns the writer of a table (without prefix) with its columns.
func (o *sqlOut) table(name string, cols ...string) *tableWriter {
	if w, ok := o.writers[name]; ok {
		return w
	}
	if o.writers == nil {
		o.writers = map[string]*tableWriter{}
	}
	var head strings.Builder
	head.WriteString("INSERT INTO ")
	head.WriteString(moodledb.QuoteIdent(o.dialect, o.prefix+name))
	head.WriteString(" (")
	for i, c := range cols {
		if i > 0 {
			head.WriteString(", ")
		}
		head.WriteString(moodledb.QuoteIdent(o.dialect, c))
	}
	head.WriteString(") VALUES ")
	w := &tableWriter{o: o, name: name, ncols: len(cols), head: []byte(head.String())}
	o.writers[name] = w
	o.order = append(o.order, w)
	return w
}

func (o *sqlOut) flushAll() error {
	for _, w := range o.order {
		w.flush()
	}
	return o.err
}

// tableWriter accumulates the rows of one table. Values are appended with
// the typed methods between begin and end, in column order; the first error
// sticks in sqlOut.err.
type tableWriter struct {
	o     *sqlOut
	name  string
	ncols int
	head  []byte
	buf   []byte
	rows  int
	total int64
	nvals int
}

func (w *tableWriter) begin() {
	if w.rows == 0 {
		w.buf = append(w.buf[:0], w.head...)
	} else {
		w.buf = append(w.buf, ',')
	}
	w.buf = append(w.buf, '(')
	w.nvals = 0
}

func (w *tableWriter) sep() {
	if w.nvals > 0 {
		w.buf = append(w.buf, ',')
	}
	w.nvals++
}

// i appends an integer.
func (w *tableWriter) i(v int64) {
	w.sep()
	w.buf = strconv.AppendInt(w.buf, v, 10)
}

// n appends NULL.
func (w *tableWriter) n() {
	w.sep()
	w.buf = append(w.buf, "NULL"...)
}

// f appends a decimal with Moodle's five places.
func (w *tableWriter) f(v float64) {
	w.sep()
	w.buf = strconv.AppendFloat(w.buf, v, 'f', 5, 64)
}

// s appends a string literal, escaped for the dialect.
func (w *tableWriter) s(v string) {
	w.sep()
	backslash := strings.IndexByte(v, '\\') >= 0
	switch {
	case backslash && w.o.dialect == moodledb.Postgres:
		// E'' strings read the same whatever standard_conforming_strings.
		w.buf = append(w.buf, 'E', '\'')
		w.buf = appendEscaped(w.buf, v, true)
	default:
		w.buf = append(w.buf, '\'')
		w.buf = appendEscaped(w.buf, v, backslash && w.o.mysqlBackslash)
	}
	w.buf = append(w.buf, '\'')
}

// appendEscaped appends v with quotes doubled and, if asked, backslashes
// doubled.
func appendEscaped(b []byte, v string, backslash bool) []byte {
	special := "'"
	if backslash {
		special = "'\\"
	}
	for {
		i := strings.IndexAny(v, special)
		if i < 0 {
			return append(b, v...)
		}
		b = append(b, v[:i+1]...)
		b = append(b, v[i])
		v = v[i+1:]
	}
}

// sn appends a string, or NULL when empty.
func (w *tableWriter) sn(v string) {
	if v == "" {
		w.n()
		return
	}
	w.s(v)
}

// in appends an integer, or NULL when 0.
func (w *tableWriter) in(v int64) {
	if v == 0 {
		w.n()
		return
	}
	w.i(v)
}

// row appends a whole row of static data: int, int64, float64, string or
// nil (NULL).
func (w *tableWriter) row(vals ...any) {
	w.begin()
	for _, v := range vals {
		switch v := v.(type) {
		case nil:
			w.n()
		case int:
			w.i(int64(v))
		case int64:
			w.i(v)
		case float64:
			w.f(v)
		case string:
			w.s(v)
		default:
			panic(fmt.Sprintf("demo: %s: value of type %T", w.name, v))
		}
	}
	w.end()
}

func (w *tableWriter) end() {
	w.buf = append(w.buf, ')')
	if w.nvals != w.ncols && w.o.err == nil {
		w.o.err = fmt.Errorf("table %s: row with %d values for %d columns", w.name, w.nvals, w.ncols)
	}
	w.rows++
	w.total++
	if len(w.buf) >= flushAt {
		w.flush()
	}
}

func (w *tableWriter) flush() {
	if w.rows == 0 {
		return
	}
	if w.o.err == nil {
		if err := w.o.exec(w.buf); err != nil {
			w.o.err = fmt.Errorf("insert into %s%s: %w", w.o.prefix, w.name, err)
		}
	}
	w.rows = 0
	w.buf = w.buf[:0]
}

// RowCounts generates the dataset without writing it and returns the number
// of rows of each table that has any.
func (ds *Dataset) RowCounts() (map[string]int64, error) {
	out := &sqlOut{dialect: moodledb.SQLite, prefix: moodledb.DefaultPrefix, exec: func([]byte) error { return nil }}
	if err := ds.emit(out); err != nil {
		return nil, err
	}
	counts := map[string]int64{}
	for _, w := range out.order {
		counts[w.name] = w.total
	}
	return counts, nil
}
