package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/pipeline"
	"github.com/otec-tools/sence-engine/engine/voice"
)

// cmdExplain shows why a student's payload is what it is.
func cmdExplain(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "explain", "MAPEO.yaml")
	course := fs.String("course", "", "el curso (su `código`: codigoOferta, nombre corto o id); obligatorio")
	student := fs.String("student", "", "el alumno: su `RUT` (12345678-5) o su id de usuario de Moodle; obligatorio")
	module := fs.String("module", "", "solo este módulo (su `código` de módulo SENCE o el id de su sección)")
	field := fs.String("field", "", "en cada nivel, solo la expresión con este `nombre` (un campo, una variable, include o un aviso) y las que ella lee")
	date := fs.String("date", "", "fecha de reporte `AAAA-MM-DD` (por omisión, hoy en America/Santiago)")
	asJSON := fs.Bool("json", false, "muestra la explicación en JSON (versión 1)")
	pos, code, done := fs.parseN(args, 1, 1)
	if done {
		return code
	}
	switch {
	case *course == "":
		return fs.fail("falta --course: el curso del alumno")
	case *student == "":
		return fs.fail("falta --student: el RUT o el id de Moodle del alumno")
	}
	rd, err := reportDate(e, *date)
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return ExitUsage
	}
	pl := loadPlan(e, pos[0])
	if pl == nil {
		return ExitProblems
	}
	x, err := pipeline.Explain(ctx, pl, pipeline.ExplainOptions{ReportDate: rd, Course: *course, Student: *student,
		Module: *module, Field: *field, Now: e.Now})
	if err != nil {
		return exitOfFailure(e, err)
	}
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(x); err != nil {
			fmt.Fprintln(e.Stderr, err)
			return ExitFailed
		}
		return ExitOK
	}
	writeExplanation(e.Stdout, x)
	return ExitOK
}

// writeExplanation prints an explanation for a terminal.
func writeExplanation(w io.Writer, x *pipeline.Explanation) {
	st := x.Student
	fmt.Fprintf(w, "Alumno %s\n", voice.Student(st.Label, st.Code, "", st.ID))
	fmt.Fprintf(w, "Curso %s (%s), id Moodle %s; fecha de reporte %s (America/Santiago)\n", x.Course.CodigoOferta, x.Course.Nombre, x.Course.ID, x.ReportDate)
	if x.Field != "" {
		fmt.Fprintf(w, "Solo las expresiones «%s» (--field)\n", x.Field)
	}
	if x.Module != "" {
		fmt.Fprintf(w, "Solo el módulo %s (--module)\n", x.Module)
	}
	fmt.Fprintf(w, "\nResultado: %s\n", outcomeText(st))
	for _, r := range st.Reasons {
		fmt.Fprintf(w, "  motivo: %s\n", r)
	}
	if x.Course.Error != "" {
		fmt.Fprintf(w, "  el curso tiene un error: %s\n", x.Course.Error)
	}

	fmt.Fprintln(w)
	writeEntity(w, &st, "")
	writeChecks(w, x.Checks)
	for _, m := range st.Children {
		fmt.Fprintf(w, "\n%s\n", entityTitle(&m))
		writeEntity(w, &m, "  ")
		for _, a := range m.Children {
			fmt.Fprintf(w, "\n  %s\n", entityTitle(&a))
			writeEntity(w, &a, "    ")
		}
	}
	if len(x.Course.Evals) > 0 {
		fmt.Fprintf(w, "\nCurso %s: lo que el nivel courses calculó\n", x.Course.CodigoOferta)
		c := pipeline.ExplainedEntity{Rows: x.Course.Rows, Evals: x.Course.Evals}
		writeEntity(w, &c, "  ")
	}
	writeQueries(w, x.Queries)
}

func outcomeText(e pipeline.ExplainedEntity) string {
	switch e.Outcome {
	case "incluido":
		return "se informa a SENCE (incluido en el envío del curso)"
	case "excluido":
		return "excluido del envío: no se informa hasta que se corrija"
	case "no se informa":
		return "no se informa: la regla «include» del mapeo lo deja fuera"
	}
	return e.Outcome
}

func entityTitle(e *pipeline.ExplainedEntity) string {
	word := mapping.LevelWords[e.Level]
	name := word + " " + e.ID
	if e.Code != "" {
		name = fmt.Sprintf("%s %s (id Moodle %s)", word, e.Code, e.ID)
	}
	out := strings.ToUpper(name[:1]) + name[1:] + ": " + e.Outcome
	for _, r := range e.Reasons {
		out += "\n  motivo: " + r
	}
	return out
}

// writeEntity prints an entity's rows and evaluations.
func writeEntity(w io.Writer, e *pipeline.ExplainedEntity, ind string) {
	if len(e.Rows) > 0 {
		fmt.Fprintf(w, "%sFilas que leyó:\n", ind)
		for _, r := range e.Rows {
			writeRows(w, r, ind+"  ")
		}
	}
	if len(e.Evals) > 0 {
		fmt.Fprintf(w, "%sExpresiones, en el orden en que se evaluaron:\n", ind)
		writeEvals(w, e.Evals, ind+"  ")
	}
}

func writeRows(w io.Writer, r pipeline.RowsOf, ind string) {
	switch {
	case r.NotRead:
		fmt.Fprintf(w, "%s%s: no se lee (su «when» es falso)\n", ind, r.Query)
	case len(r.Rows) == 0:
		fmt.Fprintf(w, "%s%s: ninguna fila\n", ind, r.Query)
	case len(r.Rows) == 1 && !r.Multiple:
		fmt.Fprintf(w, "%s%s: %s\n", ind, r.Query, showRow(r.Rows[0]))
	default:
		fmt.Fprintf(w, "%s%s: %s\n", ind, r.Query, plural(len(r.Rows), "fila", "filas"))
		for _, row := range r.Rows {
			fmt.Fprintf(w, "%s  %s\n", ind, showRow(row))
		}
	}
}

func writeEvals(w io.Writer, evs []pipeline.Evaluation, ind string) {
	for i, ev := range evs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		res := "= " + show(ev.Value)
		switch {
		case ev.Skipped:
			res = "sin valor: no se evaluó porque lee un valor que falló"
		case ev.Error != "":
			res = "ERROR: " + ev.Error
		}
		fmt.Fprintf(w, "%s%s %s %s\n", ind, evalKindWord(ev.Kind), ev.Name, res)
		fmt.Fprintf(w, "%s  en %s:\n", ind, ev.Place)
		for _, line := range strings.Split(ev.Expr, "\n") {
			fmt.Fprintf(w, "%s    │ %s\n", ind, line)
		}
		if len(ev.Reads) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s  leyó:\n", ind)
		width := 0
		for _, r := range ev.Reads {
			width = max(width, len([]rune(r.Name)))
		}
		for _, r := range ev.Reads {
			v := show(r.Value)
			if n, ok := rowList(r.Value); ok && n > 1 {
				// The rows are listed once, under «Filas que leyó».
				v = fmt.Sprintf("[%d filas]", n)
			}
			if r.Missing {
				v = "(sin valor)"
			}
			fmt.Fprintf(w, "%s    %s%s = %s   (%s)\n", ind, r.Name, strings.Repeat(" ", width-len([]rune(r.Name))), v, r.Source)
		}
	}
}

// rowList says whether v is a list of rows, and how long.
func rowList(v any) (int, bool) {
	l, ok := v.([]any)
	if !ok || len(l) == 0 {
		return 0, false
	}
	_, ok = l[0].(map[string]any)
	return len(l), ok
}

func evalKindWord(k string) string {
	switch k {
	case "campo":
		return "campo"
	case "variable":
		return "variable"
	case "include", "split":
		return "regla"
	case "aviso":
		return "aviso"
	}
	return k
}

func writeChecks(w io.Writer, c *pipeline.ExplainedChecks) {
	if c == nil {
		return
	}
	fmt.Fprintln(w, "\nEsquema y reglas de SENCE:")
	if !c.Checked {
		fmt.Fprintf(w, "  %s\n", c.Note)
		return
	}
	if len(c.Problems) == 0 {
		fmt.Fprintln(w, "  el alumno cumple todo lo que se revisa:")
		for _, r := range c.Rules {
			fmt.Fprintf(w, "    ✓ %s\n", r)
		}
		return
	}
	fmt.Fprintf(w, "  %s:\n", plural(len(c.Problems), "problema", "problemas"))
	for _, p := range c.Problems {
		fmt.Fprintf(w, "    ✗ %s\n", p)
	}
	fmt.Fprintln(w, "  lo que se revisa:")
	for _, r := range c.Rules {
		fmt.Fprintf(w, "    · %s\n", r)
	}
}

func writeQueries(w io.Writer, qs []pipeline.ExplainedQuery) {
	if len(qs) == 0 {
		return
	}
	fmt.Fprintln(w, "\nConsultas, tal como se ejecutaron (con :courseids y los parámetros escritos como valores, solo para leer):")
	for _, q := range qs {
		fmt.Fprintf(w, "\n  %s (nivel %s, %s):\n", q.Name, q.Level, q.Place)
		for _, line := range strings.Split(q.SQL, "\n") {
			fmt.Fprintf(w, "    │ %s\n", line)
		}
	}
}

// show is a value as a terminal shows it: text quoted, rows as {k: v}
// with sorted keys, lists in brackets; long texts cut.
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case string:
		if r := []rune(x); len(r) > 100 {
			x = string(r[:100]) + "…"
		}
		return strconv.Quote(x)
	case map[string]any:
		return showRow(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = show(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func showRow(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + show(m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
