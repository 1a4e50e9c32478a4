package source

import (
	"fmt"
	"strings"
)

// A mapping's SQL must be one read: the engine checks its text before any
// database sees it, with the lexical rules of the dialect that will run it
// (comments, string literals, quoted identifiers, PostgreSQL's
// dollar-quoting, MySQL's executable comments). The database-side guards
// (read-only transactions and connections, no multi-statement protocol)
// stay in force behind this check; the check gives the clear message and
// refuses what a read-only transaction would not (SELECT … INTO OUTFILE,
// row locks, ATTACH on SQLite).

// StatementError is a query text the engine refuses to run. Off is the byte
// offset in the text of what it refers to.
type StatementError struct {
	Off int
	Msg string
}

func (e *StatementError) Error() string { return e.Msg }

// writeWords are words that only a statement that writes needs: a
// data-modifying WITH (PostgreSQL), SELECT … INTO a table or a file. The
// first word of a query is checked apart (SELECT or WITH). Inside string
// literals, comments and quoted identifiers they are fine.
var writeWords = map[string]bool{"insert": true, "update": true, "delete": true, "merge": true, "into": true}

// CheckStatement checks that sql is a single read (SELECT or WITH … SELECT)
// for the given driver (sqlite, postgres, mysql) and returns it without a
// trailing semicolon. Its errors are Spanish and say what to do.
func CheckStatement(driver, sql string) (string, error) {
	lx := lexers(driver)
	var toks []sqlTok
	end := len(sql)
	for i, l := range lx {
		ts, semi, after := l.tokens(sql)
		if after >= 0 {
			return "", &StatementError{Off: after, Msg: "la consulta tiene más de una instrucción SQL (hay texto después de un «;»): el motor ejecuta una sola lectura por consulta; quite el «;» y lo que sigue"}
		}
		if i == 0 {
			toks = ts
			if semi >= 0 {
				end = semi
			}
		}
	}
	if len(toks) == 0 {
		return "", &StatementError{Msg: "la consulta está vacía: escriba un SELECT"}
	}
	first := 0
	for first < len(toks) && toks[first].text == "(" {
		first++
	}
	if first == len(toks) || toks[first].kind != tokWord || (toks[first].lower != "select" && toks[first].lower != "with") {
		t := toks[min(first, len(toks)-1)]
		return "", &StatementError{Off: t.off, Msg: fmt.Sprintf("la consulta empieza con «%s»: el motor solo lee, y ejecuta únicamente lecturas (SELECT o WITH … SELECT)", t.text)}
	}
	for i, t := range toks {
		if t.kind != tokWord {
			continue
		}
		if t.lower == "for" && i+1 < len(toks) && toks[i+1].kind == tokWord {
			switch toks[i+1].lower {
			case "update", "share", "no", "key":
				return "", &StatementError{Off: t.off, Msg: fmt.Sprintf("la consulta bloquea filas («%s %s»): el motor solo lee y no debe bloquear las tablas de Moodle; quite esa cláusula", t.text, toks[i+1].text)}
			}
		}
		if t.lower == "lock" && i+1 < len(toks) && toks[i+1].lower == "in" {
			return "", &StatementError{Off: t.off, Msg: "la consulta bloquea filas («LOCK IN SHARE MODE»): el motor solo lee y no debe bloquear las tablas de Moodle; quite esa cláusula"}
		}
		if t.lower == "next" && i+2 < len(toks) && toks[i+1].lower == "value" && toks[i+2].lower == "for" {
			return "", &StatementError{Off: t.off, Msg: "la consulta avanza una secuencia («NEXT VALUE FOR»), lo que modifica la base: el motor solo lee"}
		}
		if writeWords[t.lower] {
			return "", &StatementError{Off: t.off, Msg: fmt.Sprintf("la consulta contiene «%s», que solo sirve para modificar datos: el motor solo lee (SELECT); si es el nombre de una columna o tabla, escríbalo entre comillas", t.text)}
		}
	}
	return strings.TrimRight(sql[:end], " \t\r\n"), nil
}

// Functions returns the names (lower case, without schema) of the
// functions a single read calls: each word followed by «(». Keywords such
// as IN or EXISTS come along; callers look the names up in the catalogue.
func Functions(driver, sql string) []string {
	toks, _, _ := lexers(driver)[0].tokens(sql)
	seen := map[string]bool{}
	var out []string
	for i := 0; i+1 < len(toks); i++ {
		t := toks[i]
		if (t.kind == tokWord || t.kind == tokQuoted) && toks[i+1].text == "(" && !seen[t.lower] {
			seen[t.lower] = true
			out = append(out, t.lower)
		}
	}
	return out
}

// Token kinds of the statement lexer.
const (
	tokWord   = iota // a keyword or an unquoted identifier
	tokQuoted        // a quoted identifier
	tokString        // a string literal (text is empty)
	tokPunct         // any other single byte
)

type sqlTok struct {
	kind  int
	text  string
	lower string
	off   int
}

// lexer holds the lexical rules of one dialect.
type lexer struct {
	backslash     bool // backslash escapes in '…' (and "…" strings in MySQL)
	eStrings      bool // PostgreSQL E'…' strings always take backslash escapes
	dollar        bool // PostgreSQL $tag$…$tag$
	nested        bool // nested /* */ comments (PostgreSQL)
	hash          bool // # comments (MySQL)
	dashSpace     bool // MySQL: -- starts a comment only before a space
	execComments  bool // MySQL: /*! … */ is code
	doubleIsStr   bool // MySQL: "…" is a string (with backslash escapes)
	brackets      bool // SQLite: [identifier]
	backtickIdent bool
}

// lexers returns the dialect's lexers: the first reads the text as the
// server does by default, the others as it would under a setting that
// changes quoting (backslashes in strings), so that a statement boundary
// hidden under one reading is still found.
func lexers(driver string) []lexer {
	switch driver {
	case "postgres":
		base := lexer{eStrings: true, dollar: true, nested: true}
		alt := base
		alt.backslash = true // standard_conforming_strings = off
		return []lexer{base, alt}
	case "mysql":
		base := lexer{backslash: true, hash: true, dashSpace: true, execComments: true, doubleIsStr: true, backtickIdent: true}
		alt := base
		alt.backslash = false // NO_BACKSLASH_ESCAPES
		return []lexer{base, alt}
	default: // sqlite
		return []lexer{{brackets: true, backtickIdent: true}}
	}
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// tokens splits sql into code tokens. semi is the offset of the first «;»
// outside literals and comments (-1 if none); after is the offset of the
// first token after it (-1 if only blanks and comments follow).
func (l lexer) tokens(sql string) (toks []sqlTok, semi, after int) {
	semi, after = -1, -1
	emit := func(kind int, text string, off int) bool {
		if semi >= 0 {
			after = off
			return false
		}
		t := sqlTok{kind: kind, text: text, off: off}
		if kind == tokWord || kind == tokQuoted {
			t.lower = asciiLower(text)
		}
		toks = append(toks, t)
		return true
	}
	n := len(sql)
	for i := 0; i < n; {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < n && sql[i+1] == '-' && (!l.dashSpace || i+2 >= n || sql[i+2] <= ' '):
			i = lineEnd(sql, i)
		case c == '#' && l.hash:
			i = lineEnd(sql, i)
		case c == '/' && i+1 < n && sql[i+1] == '*':
			if l.execComments && i+2 < n && (sql[i+2] == '!' || sql[i+2] == 'M' && i+3 < n && sql[i+3] == '!') {
				// MySQL and MariaDB run what an executable comment holds:
				// read it as code (its closing */ is two punctuation bytes).
				i += 3
				if sql[i-1] == 'M' {
					i++
				}
				continue
			}
			i = l.commentEnd(sql, i)
		case c == '\'':
			esc := l.backslash
			if l.eStrings && i > 0 && (sql[i-1] == 'E' || sql[i-1] == 'e') && (i < 2 || !isWordByte(sql[i-2])) {
				esc = true
				toks = dropPrefixWord(toks, i-1)
			}
			off := i
			i = quoteEnd(sql, i, '\'', esc)
			if !emit(tokString, "", off) {
				return
			}
		case c == '"':
			off := i
			i = quoteEnd(sql, i, '"', l.doubleIsStr && l.backslash)
			kind := tokQuoted
			if l.doubleIsStr {
				kind = tokString
			}
			if !emit(kind, strings.ReplaceAll(sql[off+1:max(off+1, i-1)], `""`, `"`), off) {
				return
			}
		case c == '`' && l.backtickIdent:
			off := i
			i = quoteEnd(sql, i, '`', false)
			if !emit(tokQuoted, sql[off+1:max(off+1, i-1)], off) {
				return
			}
		case c == '[' && l.brackets:
			off := i
			j := strings.IndexByte(sql[i+1:], ']')
			if j < 0 {
				i = n
			} else {
				i += j + 2
			}
			if !emit(tokQuoted, sql[off+1:max(off+1, i-1)], off) {
				return
			}
		case c == '$' && l.dollar && (i == 0 || !isWordByte(sql[i-1])) && dollarTag(sql, i) != "":
			tag := dollarTag(sql, i)
			off := i
			j := strings.Index(sql[i+len(tag):], tag)
			if j < 0 {
				i = n
			} else {
				i += len(tag) + j + len(tag)
			}
			if !emit(tokString, "", off) {
				return
			}
		case c == ';':
			if semi < 0 {
				semi = i
			} else if after < 0 {
				after = i
				return
			}
			i++
		case isWordByte(c):
			j := i
			for j < n && isWordByte(sql[j]) {
				j++
			}
			if !emit(tokWord, sql[i:j], i) {
				return
			}
			i = j
		default:
			if !emit(tokPunct, sql[i:i+1], i) {
				return
			}
			i++
		}
	}
	return toks, semi, after
}

// dropPrefixWord removes the E of an E'…' string, read as a word.
func dropPrefixWord(toks []sqlTok, off int) []sqlTok {
	if k := len(toks) - 1; k >= 0 && toks[k].off == off && toks[k].kind == tokWord {
		return toks[:k]
	}
	return toks
}

func lineEnd(sql string, i int) int {
	if j := strings.IndexByte(sql[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(sql)
}

// commentEnd returns the offset after the /* */ comment at i; an
// unterminated comment runs to the end.
func (l lexer) commentEnd(sql string, i int) int {
	depth := 0
	for j := i; j+1 < len(sql); {
		switch {
		case sql[j] == '/' && sql[j+1] == '*' && (l.nested || depth == 0):
			depth++
			j += 2
		case sql[j] == '*' && sql[j+1] == '/':
			depth--
			j += 2
			if depth == 0 {
				return j
			}
		default:
			j++
		}
	}
	return len(sql)
}

// quoteEnd returns the offset after the quoted text that starts at i; a
// doubled quote is a quote, and with esc a backslash escapes the next
// byte. An unterminated literal runs to the end.
func quoteEnd(sql string, i int, q byte, esc bool) int {
	for j := i + 1; j < len(sql); j++ {
		switch {
		case esc && sql[j] == '\\':
			j++
		case sql[j] == q:
			if j+1 < len(sql) && sql[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(sql)
}

// dollarTag returns the $tag$ opening a dollar-quoted string at i, or "".
// $1 (a parameter) is not one.
func dollarTag(sql string, i int) string {
	j := i + 1
	if j < len(sql) && sql[j] >= '0' && sql[j] <= '9' {
		return ""
	}
	for j < len(sql) && sql[j] != '$' {
		if !isWordByte(sql[j]) || sql[j] == '$' {
			return ""
		}
		j++
	}
	if j >= len(sql) {
		return ""
	}
	return sql[i : j+1]
}

// asciiLower lower-cases ASCII letters only, so that byte offsets stay
// those of the original text (strings.ToLower changes the length of some
// letters, such as İ).
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for k := i; k < len(b); k++ {
				if b[k] >= 'A' && b[k] <= 'Z' {
					b[k] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
