package source

import (
	"fmt"
	"strings"
	"unicode"
)

// The SQL of a mapping is plain SQL with three additions the engine expands:
//
//	{user}        a Moodle table; the site's table prefix is applied
//	{chat?}       an optional Moodle table (a plugin a site may have
//	              uninstalled): where the database lacks it, an empty table
//	              with its columns is read instead (see DB.Query)
//	:courseids    the ids of the batch of courses being read (inside IN (...))
//	:name         a parameter of the mapping, or :reportStart / :reportEnd / :since
//
// Quotes, comments and PostgreSQL's :: casts are left alone.

// token kinds found by scan.
const (
	tokText = iota
	tokTable
	tokParam
)

type sqlToken struct {
	kind     int
	text     string // table or parameter name, or raw text
	off      int    // byte offset in the source
	optional bool   // {table?}
}

// scan splits SQL into text, {table} and :param tokens.
func scan(sql string) []sqlToken {
	var out []sqlToken
	start := 0
	flush := func(end int) {
		if end > start {
			out = append(out, sqlToken{kind: tokText, text: sql[start:end], off: start})
		}
	}
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for j < len(sql) {
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c { // doubled quote
						j += 2
						continue
					}
					break
				}
				if sql[j] == '\\' && c == '\'' {
					j++
				}
				j++
			}
			i = j + 1
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				i = len(sql)
			} else {
				i += j
			}
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			j := strings.Index(sql[i+2:], "*/")
			if j < 0 {
				i = len(sql)
			} else {
				i += j + 4
			}
		case c == ':' && i+1 < len(sql) && sql[i+1] == ':':
			i += 2
			for i < len(sql) && isIdent(sql[i]) {
				i++
			}
		case c == ':' && i+1 < len(sql) && isIdentStart(sql[i+1]) && (i == 0 || !isIdent(sql[i-1])):
			j := i + 1
			for j < len(sql) && isIdent(sql[j]) {
				j++
			}
			flush(i)
			out = append(out, sqlToken{kind: tokParam, text: sql[i+1 : j], off: i})
			start, i = j, j
		case c == '{':
			j := i + 1
			for j < len(sql) && isIdent(sql[j]) {
				j++
			}
			name, optional := sql[i+1:j], j < len(sql) && sql[j] == '?'
			if optional {
				j++
			}
			if j < len(sql) && sql[j] == '}' && name != "" {
				flush(i)
				out = append(out, sqlToken{kind: tokTable, text: name, off: i, optional: optional})
				start, i = j+1, j+1
			} else {
				i++
			}
		default:
			i++
		}
	}
	flush(len(sql))
	return out
}

func isIdentStart(c byte) bool { return c == '_' || unicode.IsLetter(rune(c)) && c < 128 }
func isIdent(c byte) bool      { return isIdentStart(c) || c >= '0' && c <= '9' }

// Ref is a table or parameter referenced by a query, with its offset.
type Ref struct {
	Name string
	Off  int
	// Optional is set on a table written {name?}.
	Optional bool
}

// Tables lists the {table} references of a query.
func Tables(sql string) []Ref { return refs(sql, tokTable) }

// Params lists the :name references of a query.
func Params(sql string) []Ref { return refs(sql, tokParam) }

func refs(sql string, kind int) []Ref {
	var out []Ref
	for _, t := range scan(sql) {
		if t.kind == kind {
			out = append(out, Ref{Name: t.text, Off: t.off, Optional: t.optional})
		}
	}
	return out
}

// Expand applies the table prefix and replaces every :name with question
// mark placeholders, returning the arguments in order. A list argument (the
// course ids, a list parameter) expands to one placeholder per element, to
// be written inside IN (...); an empty list to NULL, which matches nothing.
func Expand(sql, prefix string, arg func(name string) (any, bool)) (string, []any, error) {
	var args []any
	text, err := expand(sql, prefix, arg, false, func(b *strings.Builder, v any) {
		b.WriteByte('?')
		args = append(args, v)
	})
	if err != nil {
		return "", nil, err
	}
	return text, args, nil
}

// Literal is Expand for a person to read (engine explain): each parameter
// is written as a literal value where Expand writes a placeholder, and an
// optional table {chat?} as the prefixed table. The text is never run.
func Literal(sql, prefix string, arg func(name string) (any, bool)) (string, error) {
	return expand(sql, prefix, arg, true, func(b *strings.Builder, v any) {
		b.WriteString(literal(v))
	})
}

// expand writes sql with the table prefix applied and each parameter value
// (each element of a list) written by param.
func expand(sql, prefix string, arg func(name string) (any, bool), plainOptional bool, param func(*strings.Builder, any)) (string, error) {
	var b strings.Builder
	for _, t := range scan(sql) {
		switch t.kind {
		case tokText:
			b.WriteString(t.text)
		case tokTable:
			if t.optional && !plainOptional {
				// Resolved by the DB against its catalogue (resolveOptional).
				b.WriteString(optionalMarker(t.text, prefix+t.text))
				continue
			}
			b.WriteString(prefix + t.text)
		case tokParam:
			v, ok := arg(t.text)
			if !ok {
				return "", fmt.Errorf("parámetro «:%s» desconocido", t.text)
			}
			var list []any
			switch x := v.(type) {
			case []int64:
				list = make([]any, len(x))
				for i, id := range x {
					list[i] = id
				}
			case []any:
				list = x
			default:
				param(&b, v)
				continue
			}
			if len(list) == 0 {
				b.WriteString("NULL") // IN (NULL) matches nothing
				continue
			}
			for i, item := range list {
				if i > 0 {
					b.WriteString(", ")
				}
				param(&b, item)
			}
		}
	}
	return b.String(), nil
}

// literal is a parameter value as SQL text: numbers as they are, text
// quoted with its quotes doubled, nil as NULL, booleans as 1 and 0.
func literal(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'"
	case bool:
		if x {
			return "1"
		}
		return "0"
	case int, int64, int32, float64, float32:
		return fmt.Sprint(x)
	}
	return "'" + strings.ReplaceAll(fmt.Sprint(v), "'", "''") + "'"
}

// Columns returns the output column names of a SELECT, read from its
// top-level select list (the first SELECT outside parentheses, so that a
// WITH query or a UNION is read at its first branch). Each item's name is
// its alias, or the last part of a qualified column. An item without a
// name the engine can tell (an expression without alias, or *) is an
// error: the mapping must name it with AS.
func Columns(sql string) ([]string, error) {
	// Work on a copy with comments and string contents blanked, so that
	// keywords inside them are not seen.
	clean := []byte(sql)
	for _, t := range scanNoStrings(sql) {
		for i := t[0]; i < t[1]; i++ {
			if clean[i] != '\n' {
				clean[i] = ' '
			}
		}
	}
	s := string(clean)
	depth := 0
	selStart := -1
	lower := asciiLower(s)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		default:
			if depth == 0 && selStart < 0 && wordAt(lower, i, "select") {
				selStart = i + len("select")
			}
		}
		if selStart >= 0 {
			break
		}
	}
	if selStart < 0 {
		return nil, fmt.Errorf("no se encontró la cláusula SELECT")
	}
	// Find the end of the select list: FROM at depth 0 (or the end).
	end := len(s)
	depth = 0
	for i := selStart; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		default:
			if depth == 0 && (wordAt(lower, i, "from") || wordAt(lower, i, "union")) {
				end = i
			}
		}
		if end != len(s) {
			break
		}
	}
	list := s[selStart:end]
	if w := strings.Fields(asciiLower(list)); len(w) > 0 && w[0] == "distinct" {
		list = list[strings.Index(asciiLower(list), "distinct")+len("distinct"):]
	}
	var items []string
	depth, from := 0, 0
	for i := 0; i < len(list); i++ {
		switch list[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				items = append(items, list[from:i])
				from = i + 1
			}
		}
	}
	items = append(items, list[from:])
	var cols []string
	for _, it := range items {
		name, err := itemName(strings.TrimSpace(it), sql)
		if err != nil {
			return nil, err
		}
		cols = append(cols, name)
	}
	return cols, nil
}

// scanNoStrings returns byte ranges of comments and string contents.
func scanNoStrings(sql string) [][2]int {
	var out [][2]int
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '\'':
			j := i + 1
			for j < len(sql) && !(sql[j] == '\'' && (j+1 >= len(sql) || sql[j+1] != '\'')) {
				if sql[j] == '\'' {
					j++
				}
				j++
			}
			out = append(out, [2]int{i + 1, min(j, len(sql))})
			i = j + 1
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				j = len(sql) - i
			}
			out = append(out, [2]int{i, i + j})
			i += j
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			j := strings.Index(sql[i+2:], "*/")
			if j < 0 {
				j = len(sql) - i - 2
			} else {
				j += 2
			}
			out = append(out, [2]int{i, i + 2 + j})
			i += 2 + j
		default:
			i++
		}
	}
	return out
}

func wordAt(lower string, i int, w string) bool {
	if !strings.HasPrefix(lower[i:], w) {
		return false
	}
	if i > 0 && isIdent(lower[i-1]) {
		return false
	}
	j := i + len(w)
	return j >= len(lower) || !isIdent(lower[j])
}

func itemName(it, sql string) (string, error) {
	if it == "" {
		return "", fmt.Errorf("la lista del SELECT tiene un elemento vacío")
	}
	if it == "*" || strings.HasSuffix(it, ".*") {
		return "", fmt.Errorf("«%s»: liste las columnas en vez de usar *, para que el motor sepa qué columnas existen", it)
	}
	fields := strings.Fields(it)
	last := strings.Trim(fields[len(fields)-1], "\"`")
	if len(fields) >= 2 {
		prev := fields[len(fields)-2]
		pl := strings.ToLower(prev)
		named := pl == "as" || pl == "end" || strings.HasSuffix(prev, ")") || strings.HasSuffix(prev, "'") ||
			isPlainIdent(strings.ReplaceAll(strings.Trim(prev, "\"`"), ".", "_"))
		if named && isPlainIdent(last) {
			return last, nil
		}
		return "", fmt.Errorf("no se puede saber el nombre de la columna «%s»: póngale un alias con AS", compact(it))
	}
	// A single token: a column, qualified or not.
	if i := strings.LastIndexByte(last, '.'); i >= 0 {
		last = strings.Trim(last[i+1:], "\"`")
	}
	if isPlainIdent(last) {
		return last, nil
	}
	return "", fmt.Errorf("no se puede saber el nombre de la columna «%s»: póngale un alias con AS", compact(it))
}

func isPlainIdent(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdent(s[i]) {
			return false
		}
	}
	return true
}

func compact(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}
