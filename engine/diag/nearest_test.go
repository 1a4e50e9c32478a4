package diag

import (
	"slices"
	"testing"
)

func TestNearest(t *testing.T) {
	names := []string{"16987654-1", "7850596-6", "16987645-1", "24710721-5"}
	for _, c := range []struct {
		name string
		n    int
		want []string
	}{
		{"16987654-2", 2, []string{"16987654-1", "16987645-1"}},
		{"x", 10, []string{"7850596-6", "16987654-1", "16987645-1", "24710721-5"}}, // the shorter first, then in order
		{"x", 0, []string{}},
	} {
		if got := Nearest(c.name, names, c.n); !slices.Equal(got, c.want) {
			t.Errorf("Nearest(%q, %d) = %v, want %v", c.name, c.n, got, c.want)
		}
	}
}
