package demo

import (
	"bufio"
	"bytes"
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
// the dataset's size; on PostgreSQL and SQLite the log's indexes are built
// after its rows. Ids are explicit, so the three engines hold the same
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
	// The log is most of the rows and has eight secondary indexes: building
	// them once after the insert is several times faster than maintaining
	// them row by row. PostgreSQL and SQLite do it inside the transaction;
	// on MySQL DDL would commit it, so the indexes stay.
	var rebuild []string
	if dialect != moodledb.MySQL {
		drop, create, err := tableIndexes(dialect, prefix, "logstore_standard_log")
		if err != nil {
			return err
		}
		for _, q := range drop {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("load demo: %s: %w", q, err)
			}
		}
		rebuild = create
	}
	if err := ds.emit(out); err != nil {
		return fmt.Errorf("load demo: %w", err)
	}
	for _, q := range rebuild {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("load demo: %s: %w", q, err)
		}
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

// WriteSQL writes the dataset as the INSERT statements Load sends, one per
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

// tableIndexes returns the statements that drop a table's secondary
// indexes and those that create them again, from the schema's DDL.
func tableIndexes(dialect, prefix, table string) (drop, create []string, err error) {
	stmts, err := moodledb.Statements(dialect, prefix)
	if err != nil {
		return nil, nil, err
	}
	on := " ON " + moodledb.QuoteIdent(dialect, prefix+table) + " ("
	for _, q := range stmts {
		if !strings.Contains(q, on) {
			continue
		}
		f := strings.Fields(q) // CREATE [UNIQUE] INDEX name ON …
		name := f[2]
		if f[1] == "UNIQUE" {
			name = f[3]
		}
		drop = append(drop, "DROP INDEX IF EXISTS "+name)
		create = append(create, q)
	}
	return drop, create, nil
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
//
// On SQLite and MySQL a batch is INSERT … VALUES (…), (…). On PostgreSQL it
// is INSERT … SELECT * FROM unnest('{…}'::bigint[], '{…}'::text[], …), one
// array per column: PostgreSQL analyses every row of a VALUES list, which
// made it load about 8,000 rows a second; arrays are read in bulk and load
// several times faster.
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
	w := &tableWriter{o: o, name: name, ncols: len(cols)}
	if o.dialect == moodledb.Postgres {
		head.WriteString(") SELECT * FROM unnest(")
		types, err := arrayTypes(name, cols)
		if err != nil && o.err == nil {
			o.err = err
		}
		w.arrayTypes = types
		w.cols = make([][]byte, len(cols))
	} else {
		head.WriteString(") VALUES ")
	}
	w.head = []byte(head.String())
	o.writers[name] = w
	o.order = append(o.order, w)
	return w
}

// arrayTypes gives the PostgreSQL array type that carries each column's
// values; INSERT's assignment casts take them to the column's own type.
func arrayTypes(table string, cols []string) ([]string, error) {
	decl, err := moodledb.Columns(moodledb.Postgres, table)
	if err != nil {
		return nil, err
	}
	byName := map[string]string{}
	for _, c := range decl {
		byName[c.Name] = c.Type
	}
	out := make([]string, len(cols))
	for i, c := range cols {
		t, ok := byName[c]
		switch {
		case !ok:
			return nil, fmt.Errorf("table %s has no column %s", table, c)
		case strings.HasPrefix(t, "VARCHAR") || t == "TEXT":
			out[i] = "text[]"
		case strings.HasPrefix(t, "NUMERIC") || strings.HasPrefix(t, "DOUBLE"):
			out[i] = "numeric[]"
		default: // BIGSERIAL, BIGINT, INTEGER, SMALLINT
			out[i] = "bigint[]"
		}
	}
	return out, nil
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
	o          *sqlOut
	name       string
	ncols      int
	head       []byte
	buf        []byte   // the VALUES rows; the statement being flushed
	cols       [][]byte // PostgreSQL: each column's array elements
	arrayTypes []string // PostgreSQL: each column's array type
	size       int
	rows       int
	total      int64
	nvals      int
	spill      []byte // where values past the last column go (an error)
}

func (w *tableWriter) begin() {
	w.nvals = 0
	if w.cols != nil {
		return
	}
	if w.rows == 0 {
		w.buf = append(w.buf[:0], w.head...)
	} else {
		w.buf = append(w.buf, ',')
	}
	w.buf = append(w.buf, '(')
}

// val returns the buffer the next value goes to, with its separator.
func (w *tableWriter) val() *[]byte {
	w.nvals++
	if w.cols == nil {
		if w.nvals > 1 {
			w.buf = append(w.buf, ',')
		}
		return &w.buf
	}
	if w.nvals > w.ncols {
		return &w.spill
	}
	c := &w.cols[w.nvals-1]
	if w.rows > 0 {
		*c = append(*c, ',')
	}
	return c
}

// i appends an integer.
func (w *tableWriter) i(v int64) {
	b := w.val()
	*b = strconv.AppendInt(*b, v, 10)
}

// n appends NULL.
func (w *tableWriter) n() {
	b := w.val()
	*b = append(*b, "NULL"...)
}

// f appends a decimal with Moodle's five places.
func (w *tableWriter) f(v float64) {
	b := w.val()
	*b = strconv.AppendFloat(*b, v, 'f', 5, 64)
}

// s appends a string, escaped for the dialect.
func (w *tableWriter) s(v string) {
	b := w.val()
	if w.cols != nil {
		// An array element: double quotes, \ before " and \.
		*b = append(*b, '"')
		for {
			i := strings.IndexAny(v, `"\`)
			if i < 0 {
				break
			}
			*b = append(*b, v[:i]...)
			*b = append(*b, '\\', v[i])
			v = v[i+1:]
		}
		*b = append(*b, v...)
		*b = append(*b, '"')
		return
	}
	*b = append(*b, '\'')
	*b = appendEscaped(*b, v, w.o.mysqlBackslash && strings.IndexByte(v, '\\') >= 0)
	*b = append(*b, '\'')
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
	if w.nvals != w.ncols && w.o.err == nil {
		w.o.err = fmt.Errorf("table %s: row with %d values for %d columns", w.name, w.nvals, w.ncols)
	}
	w.rows++
	w.total++
	if w.cols == nil {
		w.buf = append(w.buf, ')')
		w.size = len(w.buf)
	} else {
		w.size = 0
		for _, c := range w.cols {
			w.size += len(c)
		}
	}
	if w.size >= flushAt {
		w.flush()
	}
}

func (w *tableWriter) flush() {
	if w.rows == 0 {
		return
	}
	if w.cols != nil {
		w.buf = append(w.buf[:0], w.head...)
		for i, c := range w.cols {
			if i > 0 {
				w.buf = append(w.buf, ", "...)
			}
			// The array's text as a string literal: E'' when it holds
			// backslashes, so it reads the same whatever
			// standard_conforming_strings says.
			if bytes.IndexByte(c, '\\') >= 0 {
				w.buf = append(w.buf, 'E', '\'', '{')
				for _, ch := range c {
					switch ch {
					case '\'', '\\':
						w.buf = append(w.buf, ch, ch)
					default:
						w.buf = append(w.buf, ch)
					}
				}
			} else {
				w.buf = append(w.buf, '\'', '{')
				w.buf = appendEscaped(w.buf, string(c), false)
			}
			w.buf = append(w.buf, '}', '\'', ':', ':')
			w.buf = append(w.buf, w.arrayTypes[i]...)
			w.cols[i] = c[:0]
		}
		w.buf = append(w.buf, ')')
	}
	if w.o.err == nil {
		if err := w.o.exec(w.buf); err != nil {
			w.o.err = fmt.Errorf("insert into %s%s: %w", w.o.prefix, w.name, err)
		}
	}
	w.rows, w.size = 0, 0
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
