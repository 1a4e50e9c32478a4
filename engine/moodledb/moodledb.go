// Package moodledb carries the part of Moodle 4.4's database schema that SENCE
// mappings and engine doctor read (26 core tables, groups, course custom
// fields and the site's configuration among them, 23 activity tables and the
// Zoom plugin's meeting and participant tables, with Moodle's indexes) for
// SQLite, PostgreSQL and MySQL/MariaDB, so that tests, the demo and a
// user's trial run can build a Moodle database without a Moodle install.
//
// The DDL files under ddl/ are generated from Moodle's XMLDB definitions with
// the table prefix mdl_; CreateSchema rewrites that prefix to any other.
package moodledb

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// The dialects whose DDL is embedded. MariaDB uses MySQL.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
	MySQL    = "mysql"
)

// Dialects lists every supported dialect, in the order tests run them.
var Dialects = []string{SQLite, Postgres, MySQL}

// DefaultPrefix is the table prefix of a standard Moodle install and of the
// embedded DDL.
const DefaultPrefix = "mdl_"

// mysqlTableOptions are the options Moodle itself gives every table on
// MySQL/MariaDB: the DDL files leave them to the server's defaults, which
// may still be latin1 on an old server and would mangle accented names.
const mysqlTableOptions = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci ROW_FORMAT=DYNAMIC"

// maxIdentLen is the shortest identifier limit of the three engines
// (PostgreSQL truncates past 63 bytes, which would make index names collide).
const maxIdentLen = 63

//go:embed ddl/*.sql
var ddlFiles embed.FS

// statement is one DDL statement with the positions of the "mdl_" prefixes
// that name its table and index, so any other prefix can be put there
// without touching column names, defaults or comments.
type statement struct {
	text     string
	prefixAt []int // byte offsets of each "mdl_" to replace
	table    string
	index    string // "" for CREATE TABLE
}

type schema struct {
	stmts  []statement
	tables []string
	err    error
}

var (
	tableRe = regexp.MustCompile("^CREATE TABLE ([\"`])mdl_([a-z0-9_]+)([\"`]) \\(")
	indexRe = regexp.MustCompile("^CREATE (?:UNIQUE )?INDEX mdl_([a-z0-9_]+) ON ([\"`])mdl_([a-z0-9_]+)([\"`]) \\(")
	// prefixRe is Moodle's own rule for $CFG->prefix, lower case only so
	// that names mean the same on case-sensitive and insensitive servers.
	prefixRe = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

var schemas = map[string]func() *schema{}

func init() {
	for _, d := range Dialects {
		schemas[d] = sync.OnceValue(func() *schema { return parseDDL(d) })
	}
}

func parseDDL(dialect string) *schema {
	src, err := ddlFiles.ReadFile("ddl/" + dialect + ".sql")
	if err != nil {
		return &schema{err: err}
	}
	s := &schema{}
	for _, text := range SplitStatements(string(src)) {
		st := statement{text: text}
		if m := tableRe.FindStringSubmatchIndex(text); m != nil {
			st.table = text[m[4]:m[5]]
			st.prefixAt = []int{m[4] - len("mdl_")}
			s.tables = append(s.tables, st.table)
		} else if m := indexRe.FindStringSubmatchIndex(text); m != nil {
			st.index = text[m[2]:m[3]]
			st.table = text[m[6]:m[7]]
			st.prefixAt = []int{m[2] - len("mdl_"), m[6] - len("mdl_")}
		} else {
			return &schema{err: fmt.Errorf("ddl/%s.sql: unexpected statement %.60q", dialect, text)}
		}
		s.stmts = append(s.stmts, st)
	}
	return s
}

func load(dialect string) (*schema, error) {
	f, ok := schemas[dialect]
	if !ok {
		return nil, fmt.Errorf("unknown dialect %q (want one of %s)", dialect, strings.Join(Dialects, ", "))
	}
	s := f()
	return s, s.err
}

// Tables lists the Moodle tables of the schema without prefix, in creation
// order (the same for every dialect).
func Tables() []string {
	s, err := load(SQLite)
	if err != nil {
		panic(err) // the embedded files are checked by the tests
	}
	return slices.Clone(s.tables)
}

// Column is a column of a Moodle table as the dialect's DDL declares it.
type Column struct {
	Name string
	Type string // as written in the DDL, e.g. "BIGINT", "VARCHAR(255)", "NUMERIC(10,5)"
	// NotNull without Default: an INSERT must give the column a value
	// (engine test gives 0 or '' to those a test leaves out).
	NotNull, Default bool
}

// columnRe reads a column definition line of the DDL.
var columnRe = regexp.MustCompile("^\\s*[\"`]([a-z0-9_]+)[\"`] ([A-Z]+(?:\\([0-9,]+\\))?(?: PRECISION)?)")

// Columns lists a table's columns (table without prefix) in order.
func Columns(dialect, table string) ([]Column, error) {
	s, err := load(dialect)
	if err != nil {
		return nil, err
	}
	for _, st := range s.stmts {
		if st.index != "" || st.table != table {
			continue
		}
		var out []Column
		for _, line := range strings.Split(st.text, "\n")[1:] {
			if m := columnRe.FindStringSubmatch(line); m != nil {
				out = append(out, Column{Name: m[1], Type: m[2], NotNull: strings.Contains(line, " NOT NULL"), Default: strings.Contains(line, " DEFAULT ")})
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("no Moodle table %q in the schema", table)
}

// CheckPrefix reports whether prefix can name the tables and indexes of the
// schema on every engine.
func CheckPrefix(prefix string) error {
	if !prefixRe.MatchString(prefix) {
		return fmt.Errorf("table prefix %q must be lower-case letters, digits and underscores, starting with a letter", prefix)
	}
	s, err := load(SQLite)
	if err != nil {
		return err
	}
	longest := ""
	for _, st := range s.stmts {
		for _, n := range []string{st.table, st.index} {
			if len(n) > len(longest) {
				longest = n
			}
		}
	}
	if len(prefix)+len(longest) > maxIdentLen {
		return fmt.Errorf("table prefix %q is too long: index %s%s would exceed %d characters", prefix, prefix, longest, maxIdentLen)
	}
	return nil
}

// Statements returns the DDL of dialect with prefix in place of mdl_, one
// statement per element, without trailing semicolons. On MySQL each
// table's indexes are declared inside its CREATE TABLE, with Moodle's table
// options: every DDL statement there commits and rebuilds the table, and
// one statement per table is several times faster to apply.
func Statements(dialect, prefix string) ([]string, error) {
	s, err := load(dialect)
	if err != nil {
		return nil, err
	}
	if err := CheckPrefix(prefix); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(s.stmts))
	for _, st := range s.stmts {
		var b strings.Builder
		last := 0
		for _, at := range st.prefixAt {
			b.WriteString(st.text[last:at])
			b.WriteString(prefix)
			last = at + len("mdl_")
		}
		b.WriteString(st.text[last:])
		out = append(out, b.String())
	}
	if dialect == MySQL {
		return mysqlInline(s.stmts, out), nil
	}
	return out, nil
}

// mysqlIndexRe splits a rendered CREATE INDEX into its kind, name and
// column list.
var mysqlIndexRe = regexp.MustCompile("^CREATE ((?:UNIQUE )?INDEX [a-z0-9_]+) ON `[a-z0-9_]+` (\\(.*\\))$")

// mysqlInline moves each table's indexes into its CREATE TABLE and adds
// the table options.
func mysqlInline(stmts []statement, rendered []string) []string {
	var out []string
	var table strings.Builder
	flush := func() {
		if table.Len() > 0 {
			table.WriteString(")" + mysqlTableOptions)
			out = append(out, table.String())
			table.Reset()
		}
	}
	for i, st := range stmts {
		q := rendered[i]
		if st.index == "" {
			flush()
			table.WriteString(strings.TrimSuffix(q, ")"))
			continue
		}
		m := mysqlIndexRe.FindStringSubmatch(q)
		table.WriteString(",\n  " + m[1] + " " + m[2])
	}
	flush()
	return out
}

// CreateSchema creates the Moodle tables and indexes with prefix in db. On
// SQLite and PostgreSQL it is all or nothing; MySQL commits each DDL
// statement, so a failure there can leave some tables behind (DropSchema
// removes them). It fails if a table already exists.
func CreateSchema(ctx context.Context, db *sql.DB, dialect, prefix string) error {
	stmts, err := Statements(dialect, prefix)
	if err != nil {
		return err
	}
	if dialect == MySQL {
		for _, q := range stmts {
			if _, err := db.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("create moodle schema: %.60s: %w", q, err)
			}
		}
		return nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create moodle schema: %w", err)
	}
	defer tx.Rollback()
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create moodle schema: %.60s: %w", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create moodle schema: %w", err)
	}
	return nil
}

// DropSchema drops the tables CreateSchema creates (their indexes go with
// them), ignoring those that do not exist, so that a test can start over.
func DropSchema(ctx context.Context, db *sql.DB, dialect, prefix string) error {
	if _, err := load(dialect); err != nil {
		return err
	}
	if err := CheckPrefix(prefix); err != nil {
		return err
	}
	tables := Tables()
	slices.Reverse(tables)
	for _, t := range tables {
		q := "DROP TABLE IF EXISTS " + QuoteIdent(dialect, prefix+t)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("drop moodle schema: %s: %w", q, err)
		}
	}
	return nil
}

// QuoteIdent quotes a table or column name for dialect. Names must not
// contain quote characters; Moodle's never do.
func QuoteIdent(dialect, name string) string {
	if dialect == MySQL {
		return "`" + name + "`"
	}
	return `"` + name + `"`
}

// SplitStatements splits an SQL script on the semicolons that end its
// statements: those outside quotes ('…', "…", `…`) and comments (-- and
// /* */). Comments are dropped; empty statements are skipped.
func SplitStatements(script string) []string {
	var (
		out   []string
		cur   strings.Builder
		quote byte
	)
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	for i := 0; i < len(script); i++ {
		c := script[i]
		switch {
		case quote != 0:
			cur.WriteByte(c)
			if c == quote {
				if i+1 < len(script) && script[i+1] == quote { // doubled quote
					cur.WriteByte(c)
					i++
				} else {
					quote = 0
				}
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
			cur.WriteByte(c)
		case c == '-' && i+1 < len(script) && script[i+1] == '-':
			for i < len(script) && script[i] != '\n' {
				i++
			}
			cur.WriteByte('\n')
		case c == '/' && i+1 < len(script) && script[i+1] == '*':
			end := strings.Index(script[i+2:], "*/")
			if end < 0 {
				i = len(script)
			} else {
				i += 2 + end + 1
			}
			cur.WriteByte(' ')
		case c == ';':
			flush()
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return out
}
