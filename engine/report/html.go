package report

import (
	"embed"
	"fmt"
	"html"
	"html/template"
	"io"
	"slices"
	"strings"

	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/nightly"
)

//go:embed page
var page embed.FS

var tmpl = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"join":     strings.Join,
	"words":    OutcomeWords,
	"outcomes": outcomesOf,
	"values":   valuesText,
	"spark":    spark,
	"showing":  showing,
	"plural":   diag.Plural,
	"row":      countsRow,
}).ParseFS(page, "page/report.html.tmpl"))

func mustRead(name string) string {
	b, err := page.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

var (
	css = template.CSS(mustRead("page/report.css"))
	js  = template.JS(mustRead("page/report.js"))
)

// WriteHTML writes the page: one file with its style and script inside,
// nothing loaded from elsewhere.
func (m *Model) WriteHTML(w io.Writer) error {
	m.err = nil
	if err := tmpl.Execute(w, struct {
		*Model
		CSS template.CSS
		JS  template.JS
	}{m, css, js}); err != nil {
		return err
	}
	return m.err
}

// outcomeOrder is the order of the outcome filter.
var outcomeOrder = []string{nightly.StudentRejected, nightly.StudentExcluded, nightly.StudentHeld, nightly.StudentLeft,
	nightly.StudentPending, nightly.StudentUnconfirmed, nightly.StudentNotSent, nightly.StudentAccepted,
	nightly.StudentUnchanged, nightly.StudentSkipped, nightly.StudentDryRun, ToSend}

// outcomesOf are the outcomes present, problems first.
func outcomesOf(m *Model) []string {
	seen := map[string]bool{}
	for _, c := range m.Courses {
		for _, o := range c.outcomes {
			seen[o] = true
		}
		for _, s := range c.Students {
			seen[s.Outcome] = true
		}
	}
	var out []string
	for _, o := range outcomeOrder {
		if seen[o] {
			out = append(out, o)
			delete(seen, o)
		}
	}
	var rest []string
	for o := range seen {
		rest = append(rest, o)
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// showing is the filter's count before anything is typed (the script
// says the same).
func showing(t Counts) string {
	if t.Students() == 1 {
		return "Se muestra el único alumno"
	}
	return fmt.Sprintf("Se muestran los %d alumnos", t.Students())
}

func valuesText(v *Values) string {
	return fmt.Sprintf("%d %%, %s, %s", v.Progress, Estado(v.Estado), Duration(v.Seconds))
}

// spark draws the progress of the last nights as a small inline SVG.
func spark(points []Point) template.HTML {
	switch len(points) {
	case 0:
		return `<span class="muted">sin envíos aceptados</span>`
	case 1:
		return template.HTML(fmt.Sprintf(`%d %% <span class="muted">(una noche: %s)</span>`, points[0].Progress, html.EscapeString(points[0].Night)))
	}
	const w, h = 96.0, 24.0
	var title, pts []string
	step := (w - 4) / float64(len(points)-1)
	var x, y float64
	for i, p := range points {
		x, y = 2+float64(i)*step, 2+(100-float64(p.Progress))/100*(h-4)
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		title = append(title, fmt.Sprintf("%s: %d %%", p.Night, p.Progress))
	}
	label := html.EscapeString("Avance aceptado por noche: " + strings.Join(title, ", "))
	return template.HTML(fmt.Sprintf(`<svg class="spark" viewBox="0 0 96 24" width="96" height="24" role="img" aria-label="%s"><title>%s</title><polyline points="%s" fill="none" stroke="currentColor" stroke-width="1.5"/><circle cx="%.1f" cy="%.1f" r="2" fill="currentColor"/></svg> %d %%`,
		label, label, strings.Join(pts, " "), x, y, points[len(points)-1].Progress))
}

// countsRow is a row of counts with the name of its first column.
func countsRow(export bool, c Counts) struct {
	First string
	Counts
} {
	first := "Aceptados"
	if export {
		first = "Para enviar"
	}
	return struct {
		First string
		Counts
	}{first, c}
}
