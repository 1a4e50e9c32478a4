package source

import (
	"slices"
	"testing"
)

func TestSearchPath(t *testing.T) {
	for _, c := range []struct {
		setting string
		want    []string
	}{
		{`"$user", public`, []string{"sence_ro", "public"}},
		{`$user,public`, []string{"sence_ro", "public"}},
		{`moodle`, []string{"moodle"}},
		{`"Mixed ""Case""", moodle`, []string{`Mixed "Case"`, "moodle"}},
		{``, nil},
	} {
		if got := searchPath(c.setting, "sence_ro"); !slices.Equal(got, c.want) {
			t.Errorf("searchPath(%q) = %q, want %q", c.setting, got, c.want)
		}
	}
}

func TestPgIdent(t *testing.T) {
	for in, want := range map[string]string{"public": "public", "sence_ro": "sence_ro", "Moodle": `"Moodle"`, `a"b`: `"a""b"`, "1x": `"1x"`} {
		if got := pgIdent(in); got != want {
			t.Errorf("pgIdent(%q) = %s, want %s", in, got, want)
		}
	}
}
