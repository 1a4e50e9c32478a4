package source

import (
	"reflect"
	"strings"
	"testing"
)

func TestColumns(t *testing.T) {
	cases := []struct {
		sql  string
		want []string
		err  string
	}{
		{"SELECT u.id AS userid, u.username, idnumber FROM {user} u", []string{"userid", "username", "idnumber"}, ""},
		{"select distinct ue.userid, count(*) n from x", []string{"userid", "n"}, ""},
		{"SELECT CASE WHEN a THEN 1 ELSE 0 END flag, MAX(t) AS last_seen FROM t", []string{"flag", "last_seen"}, ""},
		{"WITH s AS (SELECT a FROM t) SELECT s.a AS x, (SELECT 1 FROM y) AS sub FROM s", []string{"x", "sub"}, ""},
		{"SELECT a AS x FROM t UNION ALL SELECT b FROM u", []string{"x"}, ""},
		{"SELECT 'from' AS word, \"select\" AS w2 -- from here\n FROM t", []string{"word", "w2"}, ""},
		{"SELECT COALESCE(a, b) FROM t", nil, "alias"},
		{"SELECT a + b FROM t", nil, "alias"},
		{"SELECT * FROM t", nil, "*"},
		{"UPDATE t SET a = 1", nil, "SELECT"},
	}
	for _, c := range cases {
		got, err := Columns(c.sql)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Columns(%q) = %v, %v; want error with %q", c.sql, got, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Columns(%q) = %v, %v; want %v", c.sql, got, err, c.want)
		}
	}
}

func TestExpand(t *testing.T) {
	sql := "SELECT x::text, ':no' AS s FROM {user} u -- :comment\nWHERE u.course IN (:courseids) AND u.t > :gap AND j->>'{a}' = '{b}'"
	got, args, err := Expand(sql, "m_", func(n string) (any, bool) {
		switch n {
		case "courseids":
			return []int64{4, 7}, true
		case "gap":
			return 2700, true
		}
		return nil, false
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "SELECT x::text, ':no' AS s FROM m_user u -- :comment\nWHERE u.course IN (?, ?) AND u.t > ? AND j->>'{a}' = '{b}'"
	if got != want {
		t.Errorf("Expand:\n got %q\nwant %q", got, want)
	}
	if !reflect.DeepEqual(args, []any{int64(4), int64(7), 2700}) {
		t.Errorf("args = %v", args)
	}
	// A list parameter expands like the course ids; an empty one to NULL.
	for _, c := range []struct {
		v        []any
		sql      string
		wantArgs []any
	}{
		{[]any{"bigbluebuttonbn", "zoom"}, "SELECT 1 AS x WHERE m.name IN (?, ?)", []any{"bigbluebuttonbn", "zoom"}},
		{[]any{}, "SELECT 1 AS x WHERE m.name IN (NULL)", nil},
	} {
		got, args, err := Expand("SELECT 1 AS x WHERE m.name IN (:mods)", "", func(string) (any, bool) { return c.v, true })
		if err != nil || got != c.sql || !reflect.DeepEqual(args, c.wantArgs) {
			t.Errorf("list %v: %q %v %v", c.v, got, args, err)
		}
	}
	if _, _, err := Expand("SELECT :nope AS x", "", func(string) (any, bool) { return nil, false }); err == nil {
		t.Error("unknown parameter accepted")
	}
}

// TestLiteral: the text engine explain shows is the SQL as run with each
// parameter written as a value, quotes inside text doubled; an optional
// table reads as the table.
func TestLiteral(t *testing.T) {
	arg := func(n string) (any, bool) {
		switch n {
		case "courseids":
			return []int64{4, 7}, true
		case "mods":
			return []any{"zoom", "o'neil"}, true
		case "none":
			return []any{}, true
		case "start":
			return int64(1763607600), true
		case "ratio":
			return 0.5, true
		case "flag":
			return true, true
		}
		return nil, false
	}
	for _, c := range []struct{ sql, want string }{
		{"SELECT 1 AS x FROM {log} l WHERE l.course IN (:courseids) AND l.t >= :start", "SELECT 1 AS x FROM m_log l WHERE l.course IN (4, 7) AND l.t >= 1763607600"},
		{"SELECT 1 AS x FROM {chat?} c WHERE c.name IN (:mods) AND ':start' = s", "SELECT 1 AS x FROM m_chat c WHERE c.name IN ('zoom', 'o''neil') AND ':start' = s"},
		{"SELECT :ratio AS r, :flag AS f WHERE x IN (:none)", "SELECT 0.5 AS r, 1 AS f WHERE x IN (NULL)"},
	} {
		got, err := Literal(c.sql, "m_", arg)
		if err != nil || got != c.want {
			t.Errorf("Literal(%q)\n got %q, %v\nwant %q", c.sql, got, err, c.want)
		}
	}
	if _, err := Literal("SELECT :nope AS x", "", arg); err == nil {
		t.Error("unknown parameter accepted")
	}
}

func FuzzColumns(f *testing.F) {
	f.Add("SELECT a AS b FROM t")
	f.Add("WITH x AS (SELECT 1) SELECT (a), 'b' c FROM x")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = Columns(s)
		_, _, _ = Expand(s, "p_", func(string) (any, bool) { return 1, true })
	})
}
