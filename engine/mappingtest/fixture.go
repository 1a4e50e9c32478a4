package mappingtest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/moodledb"
)

// Statement is an SQL statement with its arguments and the place in the
// test file it comes from.
type Statement struct {
	SQL  string
	Args []any
	Row  Row
}

// Inserts are the INSERT statements of a test's table rows (the file's
// then the test's), for the Moodle schema with prefix on SQLite. A table
// or column the schema lacks is an error at its place; a date written for
// an integer column (a Moodle time) becomes Unix seconds in Santiago.
func Inserts(file string, prefix string, tables ...[]TableRows) ([]Statement, diag.List) {
	var ds diag.List
	var out []Statement
	known := moodledb.Tables()
	for _, list := range tables {
		for _, t := range list {
			cols, err := moodledb.Columns(moodledb.SQLite, t.Table)
			if err != nil {
				msg := fmt.Sprintf("«%s» no es una tabla de Moodle del esquema incluido (escríbala sin prefijo, como course o user_enrolments)", t.Table)
				if s := diag.Suggest(strings.TrimPrefix(t.Table, prefix), known); s != "" {
					msg += fmt.Sprintf("; ¿quiso decir «%s»?", s)
				}
				ds.Errorf(file, t.Pos.Line, t.Pos.Col, "%s", msg)
				continue
			}
			types := map[string]string{}
			var names []string
			for _, c := range cols {
				types[c.Name] = c.Type
				names = append(names, c.Name)
			}
			for _, r := range t.Rows {
				var cs, ph []string
				var args []any
				ok := true
				for _, c := range r.Cells {
					typ, known := types[c.Column]
					if !known {
						msg := fmt.Sprintf("la tabla %s no tiene la columna «%s»", t.Table, c.Column)
						if s := diag.Suggest(c.Column, names); s != "" {
							msg += fmt.Sprintf("; ¿quiso decir «%s»?", s)
						}
						ds.Errorf(file, c.Pos.Line, c.Pos.Col, "%s", msg)
						ok = false
						continue
					}
					v := c.Value
					if s, isText := v.(string); isText && strings.HasPrefix(typ, "INTEGER") {
						at, err := moodleTime(s)
						if err != nil {
							ds.Errorf(file, c.Pos.Line, c.Pos.Col, "%s.%s es un entero (un tiempo de Moodle en segundos Unix): escriba un número, una fecha AAAA-MM-DD o una fecha y hora «AAAA-MM-DD HH:MM» (hora de Chile); se obtuvo «%s»", t.Table, c.Column, s)
							ok = false
							continue
						}
						v = at.Unix()
					}
					if b, isBool := v.(bool); isBool {
						v = 0
						if b {
							v = 1
						}
					}
					cs = append(cs, moodledb.QuoteIdent(moodledb.SQLite, c.Column))
					ph = append(ph, "?")
					args = append(args, v)
				}
				if !ok {
					continue
				}
				// A NOT NULL column without a default that the row leaves
				// out gets 0 or '', as Moodle's own code would write it.
				for _, c := range cols {
					if c.NotNull && !c.Default && !slices.ContainsFunc(r.Cells, func(x Cell) bool { return x.Column == c.Name }) {
						cs = append(cs, moodledb.QuoteIdent(moodledb.SQLite, c.Name))
						ph = append(ph, "?")
						if isNumeric(c.Type) {
							args = append(args, 0)
						} else {
							args = append(args, "")
						}
					}
				}
				q := "INSERT INTO " + moodledb.QuoteIdent(moodledb.SQLite, prefix+t.Table)
				if len(cs) == 0 {
					q += " DEFAULT VALUES"
				} else {
					q += " (" + strings.Join(cs, ", ") + ") VALUES (" + strings.Join(ph, ", ") + ")"
				}
				out = append(out, Statement{SQL: q, Args: args, Row: r})
			}
		}
	}
	return out, ds
}

func isNumeric(typ string) bool {
	for _, p := range []string{"INT", "NUMERIC", "REAL", "DOUBLE", "FLOAT", "DECIMAL", "BIGINT", "SMALLINT"} {
		if strings.HasPrefix(typ, p) {
			return true
		}
	}
	return false
}

// moodleTime reads a date, or a date and time, in Santiago.
func moodleTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02", "2006-01-02 15:04", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, chile.Location); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a time")
}

// RowsSQL is the SQLite query that returns a test's rows for a query
// instead of running it: cols are the columns the replaced query returns
// (NULL where a row leaves one out; a column it does not return is an
// error at its place). With courseIDs (the replaced query reads
// :courseids) it keeps the rows of the batch's courses, as the database
// would.
func RowsSQL(file string, q QueryRows, cols []string, courseIDs bool) (string, diag.List) {
	var ds diag.List
	for _, r := range q.Rows {
		for _, c := range r.Cells {
			if !slices.Contains(cols, c.Column) {
				msg := fmt.Sprintf("la consulta %s no devuelve la columna «%s» (columnas: %s)", q.Query, c.Column, strings.Join(cols, ", "))
				if s := diag.Suggest(c.Column, cols); s != "" {
					msg += fmt.Sprintf("; ¿quiso decir «%s»?", s)
				}
				ds.Errorf(file, c.Pos.Line, c.Pos.Col, "%s", msg)
			}
		}
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = moodledb.QuoteIdent(moodledb.SQLite, c)
	}
	var selects []string
	for _, r := range q.Rows {
		vals := map[string]any{}
		for _, c := range r.Cells {
			vals[c.Column] = c.Value
		}
		items := make([]string, len(cols))
		for i, c := range cols {
			items[i] = literal(vals[c]) + " AS " + quoted[i]
		}
		selects = append(selects, "SELECT "+strings.Join(items, ", "))
	}
	if len(selects) == 0 {
		items := make([]string, len(cols))
		for i := range cols {
			items[i] = "NULL AS " + quoted[i]
		}
		selects = append(selects, "SELECT "+strings.Join(items, ", ")+" WHERE 1 = 0")
	}
	sql := "SELECT " + strings.Join(quoted, ", ") + " FROM (" + strings.Join(selects, " UNION ALL ") + ") given"
	if courseIDs && slices.Contains(cols, "courseid") {
		sql += " WHERE courseid IN (:courseids)"
	}
	return sql, ds
}

// literal writes a value as an SQLite literal.
func literal(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case bool:
		if x {
			return "1"
		}
		return "0"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		s := strconv.FormatFloat(x, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0" // a real, as written
		}
		return s
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'"
	}
	return "NULL"
}
