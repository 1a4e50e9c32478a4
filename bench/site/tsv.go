package site

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// chunk is a run of rows of one table in the tab-separated text format
// that PostgreSQL's COPY … FROM STDIN and MySQL's LOAD DATA read with their
// defaults: fields separated by tabs, rows ended by a newline, NULL as \N,
// and backslash escapes (\\, \t, \n, \r) inside text.
type chunk struct {
	table   string // without prefix
	columns []string
	rows    []byte
	n       int // rows in the chunk
}

// tsvWriter turns the INSERT statements that demo.(*Dataset).WriteSQL writes
// for SQLite into chunks: one statement per line, ending in ";\n", in the
// form
//
//	INSERT INTO "mdl_t" ("a", "b") VALUES (1,'it''s',NULL),(2,'\',3.50000)
//
// (quotes doubled, backslashes as they are; E” literals, where a doubled
// backslash stands for one, are read too).
// The demo keeps its row generation to itself; its SQL text is a public,
// documented format, and reading it back costs a small part of what the
// database spends on the rows.
type tsvWriter struct {
	prefix string
	out    func(chunk) error
	stmt   []byte // the statement being received
	quote  bool   // inside a string literal of stmt
	err    error
}

func (w *tsvWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := len(p)
	for len(p) > 0 {
		end := w.scan(p)
		if end < 0 {
			w.stmt = append(w.stmt, p...)
			break
		}
		w.stmt = append(w.stmt, p[:end]...)
		p = p[end:]
		if err := w.statement(w.stmt); err != nil {
			w.err = err
			return 0, err
		}
		w.stmt = w.stmt[:0]
	}
	return n, nil
}

// scan looks for the ";\n" that ends the statement outside string
// literals and returns the offset just past it in p, or -1. The newline
// may come in the next write: a ';' outside quotes only ever ends a
// statement, so the ';' is enough.
func (w *tsvWriter) scan(p []byte) int {
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case w.quote:
			j := bytes.IndexByte(p[i:], '\'')
			if j < 0 {
				return -1
			}
			i += j
			// A doubled quote ('') stays inside the literal: the next
			// byte, checked by the outer state, reopens it.
			w.quote = false
		case c == '\'':
			w.quote = true
		case c == ';':
			return i + 1
		}
	}
	return -1
}

// Close reports a statement left unfinished.
func (w *tsvWriter) Close() error {
	if w.err != nil {
		return w.err
	}
	if len(bytes.TrimSpace(w.stmt)) > 0 {
		return errors.New("demo SQL ends in the middle of a statement")
	}
	return nil
}

func (w *tsvWriter) statement(s []byte) error {
	s = bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(s), []byte(";")))
	if len(s) == 0 {
		return nil
	}
	const head = `INSERT INTO "`
	if !bytes.HasPrefix(s, []byte(head)) {
		return fmt.Errorf("unexpected demo SQL: %.60q", s)
	}
	s = s[len(head):]
	q := bytes.IndexByte(s, '"')
	if q < 0 {
		return fmt.Errorf("unexpected demo SQL: %.60q", s)
	}
	table := strings.TrimPrefix(string(s[:q]), w.prefix)
	s = s[q+1:]
	open, vals := bytes.IndexByte(s, '('), bytes.Index(s, []byte(") VALUES "))
	if open < 0 || vals < open {
		return fmt.Errorf("unexpected demo SQL for %s: %.60q", table, s)
	}
	var cols []string
	for _, c := range strings.Split(string(s[open+1:vals]), ",") {
		cols = append(cols, strings.Trim(strings.TrimSpace(c), `"`))
	}
	rows, n, err := valuesToTSV(s[vals+len(") VALUES "):], len(cols), make([]byte, 0, len(s)))
	if err != nil {
		return fmt.Errorf("demo SQL for %s: %w", table, err)
	}
	return w.out(chunk{table: table, columns: cols, rows: rows, n: n})
}

// valuesToTSV converts "(v,v,…),(v,…)" into TSV rows.
func valuesToTSV(s []byte, ncols int, out []byte) ([]byte, int, error) {
	rows := 0
	i := 0
	for i < len(s) {
		if s[i] != '(' {
			return nil, 0, fmt.Errorf("expected ( at %d", i)
		}
		i++
		for col := 0; ; col++ {
			if col > 0 {
				out = append(out, '\t')
			}
			switch {
			case s[i] == '\'' || s[i] == 'E' && i+1 < len(s) && s[i+1] == '\'':
				escapes := s[i] == 'E'
				if escapes {
					i++
				}
				i++ // opening quote
				for {
					j := bytes.IndexByte(s[i:], '\'')
					if j < 0 {
						return nil, 0, errors.New("unterminated string")
					}
					out = appendTSV(out, s[i:i+j], escapes)
					i += j + 1
					if i < len(s) && s[i] == '\'' { // doubled quote
						out = append(out, '\'')
						i++
						continue
					}
					break
				}
			case bytes.HasPrefix(s[i:], []byte("NULL")):
				out = append(out, '\\', 'N')
				i += 4
			default:
				j := i
				for j < len(s) && s[j] != ',' && s[j] != ')' {
					j++
				}
				if j == i {
					return nil, 0, fmt.Errorf("empty value at %d", i)
				}
				out = append(out, s[i:j]...)
				i = j
			}
			if i >= len(s) {
				return nil, 0, errors.New("row not closed")
			}
			if s[i] == ')' {
				if col+1 != ncols {
					return nil, 0, fmt.Errorf("row with %d values for %d columns", col+1, ncols)
				}
				i++
				break
			}
			if s[i] != ',' {
				return nil, 0, fmt.Errorf("unexpected %q at %d", s[i], i)
			}
			i++
		}
		out = append(out, '\n')
		rows++
		if i < len(s) {
			if s[i] != ',' {
				return nil, 0, fmt.Errorf("unexpected %q between rows", s[i])
			}
			i++
		}
	}
	return out, rows, nil
}

// appendTSV appends the text of a literal: with escapes (an E” literal)
// a doubled backslash stands for one. Backslash, tab, newline and carriage
// return are then escaped for COPY and LOAD DATA.
func appendTSV(out, lit []byte, escapes bool) []byte {
	for i := 0; i < len(lit); i++ {
		c := lit[i]
		switch c {
		case '\\':
			if escapes && i+1 < len(lit) && lit[i+1] == '\\' {
				i++
			}
			out = append(out, '\\', '\\')
		case '\t':
			out = append(out, '\\', 't')
		case '\n':
			out = append(out, '\\', 'n')
		case '\r':
			out = append(out, '\\', 'r')
		default:
			out = append(out, c)
		}
	}
	return out
}
