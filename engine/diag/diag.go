// Package diag is the one diagnostic type every checker of the engine uses:
// a problem at a place in a file, printed like a compiler does.
package diag

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Severity of a diagnostic.
type Severity int

const (
	Error Severity = iota
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "aviso"
	}
	return "error"
}

// Diagnostic is one problem found in a file. Line and Col are 1-based; 0
// means unknown. Msg and Hint are in Spanish: they are read by users.
type Diagnostic struct {
	File     string
	Line     int
	Col      int
	Severity Severity
	Msg      string
	Hint     string
}

func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.File)
	if d.Line > 0 {
		fmt.Fprintf(&b, ":%d", d.Line)
		if d.Col > 0 {
			fmt.Fprintf(&b, ":%d", d.Col)
		}
	}
	fmt.Fprintf(&b, ": %s: %s", d.Severity, d.Msg)
	if d.Hint != "" {
		b.WriteString("; " + d.Hint)
	}
	return b.String()
}

// List collects diagnostics so that every problem is reported at once.
type List []Diagnostic

// Errorf adds an error at a position.
func (l *List) Errorf(file string, line, col int, format string, args ...any) {
	*l = append(*l, Diagnostic{File: file, Line: line, Col: col, Severity: Error, Msg: fmt.Sprintf(format, args...)})
}

// Warnf adds a warning at a position.
func (l *List) Warnf(file string, line, col int, format string, args ...any) {
	*l = append(*l, Diagnostic{File: file, Line: line, Col: col, Severity: Warning, Msg: fmt.Sprintf(format, args...)})
}

// Add appends diagnostics.
func (l *List) Add(d ...Diagnostic) { *l = append(*l, d...) }

// HasErrors reports whether any diagnostic is an error.
func (l List) HasErrors() bool {
	return slices.ContainsFunc(l, func(d Diagnostic) bool { return d.Severity == Error })
}

// Count returns the number of errors and warnings.
func (l List) Count() (errs, warns int) {
	for _, d := range l {
		if d.Severity == Error {
			errs++
		} else {
			warns++
		}
	}
	return
}

// Sorted returns the diagnostics ordered by file, line and column, with
// exact duplicates removed.
func (l List) Sorted() List {
	out := slices.Clone(l)
	slices.SortStableFunc(out, func(a, b Diagnostic) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col), cmp.Compare(a.Msg, b.Msg))
	})
	return slices.Compact(out)
}

// Print writes the sorted list one diagnostic per line.
func (l List) Print(w io.Writer) {
	for _, d := range l.Sorted() {
		fmt.Fprintln(w, d.String())
	}
}

// Error makes a list with errors usable as an error value.
func (l List) Error() string {
	var b strings.Builder
	for i, d := range l.Sorted() {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(d.String())
	}
	return b.String()
}

// Suggest returns the candidate nearest to name by edit distance, or "" when
// none is close enough to be a plausible typo.
func Suggest(name string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := distance(strings.ToLower(name), strings.ToLower(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(2, len([]rune(name))/3)
	if bestD <= limit {
		return best
	}
	return ""
}

// Nearest returns up to n candidates nearest to name by edit distance,
// nearest first (ties in the candidates' order), however far: for a
// message that lists what exists when a name matches nothing.
func Nearest(name string, candidates []string, n int) []string {
	type cand struct {
		s string
		d int
	}
	cs := make([]cand, len(candidates))
	for i, c := range candidates {
		cs[i] = cand{c, distance(strings.ToLower(name), strings.ToLower(c))}
	}
	slices.SortStableFunc(cs, func(a, b cand) int { return cmp.Compare(a.d, b.d) })
	out := make([]string, 0, min(n, len(cs)))
	for _, c := range cs[:min(n, len(cs))] {
		out = append(out, c.s)
	}
	return out
}

// distance is the Levenshtein distance over runes.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// Plural is a count with its noun in Spanish: "1 curso", "3 cursos" (one
// and many may carry a verb: "curso quedó", "cursos quedaron").
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
