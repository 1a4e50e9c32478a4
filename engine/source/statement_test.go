package source

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestCheckStatement: what each dialect's lexer reads as one read, and
// what it refuses, with the reason in the message.
func TestCheckStatement(t *testing.T) {
	all := []string{"sqlite", "postgres", "mysql"}
	cases := []struct {
		drivers []string
		sql     string
		want    string // accepted text, or "" when refused
		err     string // part of the message when refused
	}{
		{all, "SELECT 1 AS x", "SELECT 1 AS x", ""},
		{all, "  select a from t;  \n", "  select a from t", ""},
		{all, "SELECT a FROM t; -- the end\n", "SELECT a FROM t", ""},
		{all, "WITH s AS (SELECT 1 AS a) SELECT a FROM s", "WITH s AS (SELECT 1 AS a) SELECT a FROM s", ""},
		{all, "(SELECT 1 AS a) UNION (SELECT 2)", "(SELECT 1 AS a) UNION (SELECT 2)", ""},
		{all, "SELECT ';' AS sep, 'a''; DROP' AS s FROM t", "SELECT ';' AS sep, 'a''; DROP' AS s FROM t", ""},
		{all, "SELECT a FROM t /* ; DELETE FROM t */", "SELECT a FROM t /* ; DELETE FROM t */", ""},
		{all, "SELECT a -- ; DELETE FROM t\nFROM t", "SELECT a -- ; DELETE FROM t\nFROM t", ""},
		{all, "SELECT u.deleted, u.timecreated, intotal FROM {user} u", "SELECT u.deleted, u.timecreated, intotal FROM {user} u", ""},
		{all, "SELECT 1; DELETE FROM t", "", "más de una instrucción"},
		{all, "SELECT 1;DELETE FROM t;", "", "más de una instrucción"},
		{all, "COMMIT; DELETE FROM t", "", "más de una instrucción"},
		{all, "SELECT 1;;", "", "más de una instrucción"},
		{all, "DELETE FROM t", "", "empieza con «DELETE»"},
		{all, "COMMIT", "", "empieza con «COMMIT»"},
		{all, "ATTACH DATABASE 'x.db' AS x", "", "empieza con «ATTACH»"},
		{all, "PRAGMA query_only = 0", "", "empieza con «PRAGMA»"},
		{all, "  -- only a comment\n", "", "vacía"},
		{all, "", "", "vacía"},
		{all, "WITH d AS (DELETE FROM t RETURNING id) SELECT id FROM d", "", "«DELETE»"},
		{all, "SELECT a INTO b FROM t", "", "«INTO»"},
		{all, "SELECT a FROM t INTO OUTFILE '/tmp/x'", "", "«INTO»"},
		{all, "SELECT a FROM t FOR UPDATE", "", "bloquea filas"},
		{all, "SELECT a FROM t FOR SHARE", "", "bloquea filas"},
		{all, "SELECT a FROM t LOCK IN SHARE MODE", "", "bloquea filas"},
		{all, "SELECT NEXT VALUE FOR s AS n", "", "secuencia"},
		// A dotted capital I changes length when lower-cased.
		{all, "İİSELECT a", "", "empieza con «İİSELECT»"},
		{all, "SELECT 'İ' AS İ FROM t", "SELECT 'İ' AS İ FROM t", ""},
		// PostgreSQL: dollar quoting, E-strings, nested comments, $1.
		{[]string{"postgres"}, "SELECT $$;DELETE FROM t$$ AS a", "SELECT $$;DELETE FROM t$$ AS a", ""},
		{[]string{"postgres"}, "SELECT $x$ $$ ; $x$ AS a", "SELECT $x$ $$ ; $x$ AS a", ""},
		{[]string{"postgres"}, "SELECT $1::int AS a; DELETE FROM t", "", "más de una instrucción"},
		{[]string{"postgres"}, "SELECT E'\\'; DELETE FROM t; --' AS a", "SELECT E'\\'; DELETE FROM t; --' AS a", ""},
		{[]string{"postgres"}, "SELECT a FROM t /* /* */ ; DELETE FROM t */", "SELECT a FROM t /* /* */ ; DELETE FROM t */", ""},
		// A backslash ends a standard string, but not under
		// standard_conforming_strings = off: both readings must be one
		// statement.
		{[]string{"postgres"}, "SELECT 'a\\'; DELETE FROM t; --' AS a", "", "más de una instrucción"},
		// MySQL: backslash escapes (or not, under NO_BACKSLASH_ESCAPES),
		// # comments, -- only before a space, executable comments.
		{[]string{"mysql"}, "SELECT 'a\\'; DELETE FROM t; --' AS a", "", "más de una instrucción"},
		{[]string{"mysql"}, "SELECT a FROM t # ; DELETE FROM t", "SELECT a FROM t # ; DELETE FROM t", ""},
		{[]string{"mysql"}, "SELECT 1 --1; DELETE FROM t", "", "más de una instrucción"},
		{[]string{"mysql"}, "SELECT 1 /*!; DELETE FROM t */", "", "más de una instrucción"},
		{[]string{"mysql"}, "SELECT 1 /*M!100000 INTO OUTFILE '/tmp/x' */", "", "«INTO»"},
		{[]string{"mysql"}, "SELECT `a;b` FROM t", "SELECT `a;b` FROM t", ""},
		{[]string{"mysql"}, `SELECT "a;b" AS x FROM t`, `SELECT "a;b" AS x FROM t`, ""},
		{[]string{"mysql"}, "SELECT $$; DELETE FROM t $$ AS a", "", "más de una instrucción"},
		// SQLite: [identifiers], no backslash escapes.
		{[]string{"sqlite"}, "SELECT [a;b] FROM t", "SELECT [a;b] FROM t", ""},
		{[]string{"sqlite"}, "SELECT 'a\\'; DELETE FROM t", "", "más de una instrucción"},
		{[]string{"sqlite"}, "SELECT \"update\" FROM t", "SELECT \"update\" FROM t", ""},
	}
	for _, c := range cases {
		for _, d := range c.drivers {
			got, err := CheckStatement(d, c.sql)
			if c.err == "" {
				if err != nil || got != c.want {
					t.Errorf("%s: CheckStatement(%q) = %q, %v; want %q", d, c.sql, got, err, c.want)
				}
				continue
			}
			var se *StatementError
			if err == nil || !strings.Contains(err.Error(), c.err) || !errors.As(err, &se) {
				t.Errorf("%s: CheckStatement(%q) = %q, %v; want an error with %q", d, c.sql, got, err, c.err)
			}
		}
	}
}

func TestStatementErrorOffset(t *testing.T) {
	_, err := CheckStatement("sqlite", "SELECT a\nFROM t;\n  DELETE FROM t")
	var se *StatementError
	if !errors.As(err, &se) || se.Off != strings.Index("SELECT a\nFROM t;\n  DELETE FROM t", "DELETE") {
		t.Errorf("error %v, want the offset of DELETE", err)
	}
}

func TestFunctions(t *testing.T) {
	got := Functions("postgres", "SELECT COALESCE(a, 0) AS a, pg_catalog.nextval('s') AS n, \"setval\" ('s', 1), 'now()' FROM t WHERE a IN (1) AND count (*) > 0")
	want := []string{"coalesce", "nextval", "setval", "in", "count"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Functions = %v, want %v", got, want)
	}
}

// FuzzCheckStatement: no input makes the check panic, and an accepted text
// is a prefix of the input with no statement boundary under any reading.
func FuzzCheckStatement(f *testing.F) {
	f.Add("SELECT a FROM t; -- x")
	f.Add("SELECT $a$;$a$, E'\\'', '\\' AS x /* /* */ */ # ; \n -- ;")
	f.Add("WITH x AS (SELECT 1) SELECT [a], `b`, \"c\" FROM x;")
	f.Add("İİSELECT a")
	f.Fuzz(func(t *testing.T, s string) {
		for _, d := range []string{"sqlite", "postgres", "mysql"} {
			got, err := CheckStatement(d, s)
			Functions(d, s)
			if err != nil {
				var se *StatementError
				if !errors.As(err, &se) || se.Off < 0 || se.Off > len(s) {
					t.Fatalf("%s: %q: error %v with a bad offset", d, s, err)
				}
				continue
			}
			if !strings.HasPrefix(s, got) {
				t.Fatalf("%s: %q: accepted text %q is not a prefix", d, s, got)
			}
			for _, l := range lexers(d) {
				if _, _, after := l.tokens(got); after >= 0 {
					t.Fatalf("%s: %q: accepted text %q holds two statements", d, s, got)
				}
			}
		}
	})
}
