package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/rut"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/sence/schema"
)

// ExplainVersion is the version of the explanation's JSON form.
const ExplainVersion = 1

// ExplainOptions say what to explain.
type ExplainOptions struct {
	ReportDate time.Time
	// Course is the course (codigoOferta, short name or Moodle id); only
	// it is read from the database.
	Course string
	// Student is a RUT ("12.345.678-5", "12345678-5") or a Moodle user id.
	Student string
	// Module keeps only the module with this code (or Moodle id).
	Module string
	// Field keeps only the expressions of this name (a field, a var,
	// "include" or a warning), at every level.
	Field string
	Now   func() time.Time
}

// Explanation is why a student's payload is what it is: the values, the
// expressions that gave them, what each read, the rows and queries they
// came from, the rules that left the student or a module out, and the
// checks of SENCE's schema and rules. Its JSON form is versioned.
type Explanation struct {
	Version    int              `json:"version"`
	Mapping    string           `json:"mapeo"`
	ReportDate string           `json:"fechaReporte"`
	Field      string           `json:"campo,omitempty"`
	Module     string           `json:"modulo,omitempty"`
	Course     ExplainedCourse  `json:"curso"`
	Student    ExplainedEntity  `json:"alumno"`
	Checks     *ExplainedChecks `json:"validacion"`
	Queries    []ExplainedQuery `json:"consultas"`
	plan       *plan.Plan
	// keepQueries, with --field, are the queries the kept evaluations read.
	keepQueries map[string]bool
}

// ExplainedCourse is the course the student belongs to, with the course
// level's expressions.
type ExplainedCourse struct {
	ID           string       `json:"idMoodle"`
	CodigoOferta string       `json:"codigoOferta"`
	Nombre       string       `json:"nombre"`
	Error        string       `json:"error,omitempty"`
	Rows         []RowsOf     `json:"filas"`
	Evals        []Evaluation `json:"expresiones"`
}

// ExplainedEntity is the student, one of its modules or one of their
// activities.
type ExplainedEntity struct {
	Level int    `json:"-"`
	ID    string `json:"idMoodle"`
	// Code is the RUT of the student, codigoModulo of a module,
	// codigoActividad of an activity.
	Code  string `json:"codigo,omitempty"`
	Label string `json:"nombre,omitempty"`
	// Outcome is "incluido", "excluido" (a value failed or a check of
	// SENCE's rules did) or "no se informa" (its include rule).
	Outcome  string            `json:"resultado"`
	Reasons  []string          `json:"motivos,omitempty"`
	Rows     []RowsOf          `json:"filas"`
	Evals    []Evaluation      `json:"expresiones"`
	Children []ExplainedEntity `json:"hijos,omitempty"`
}

// RowsOf are the rows a query gave one entity.
type RowsOf struct {
	Query string `json:"consulta"`
	// Multiple queries give a list; the others one row or none.
	Multiple bool             `json:"multiple,omitempty"`
	Rows     []map[string]any `json:"filas"`
	// NotRead is set when the query's «when» was false.
	NotRead bool `json:"noLeida,omitempty"`
}

// Evaluation is one expression evaluated for one entity.
type Evaluation struct {
	Kind    string `json:"tipo"` // campo, variable, include, aviso, split
	Name    string `json:"nombre"`
	Value   any    `json:"valor"`
	Error   string `json:"error,omitempty"`
	Skipped bool   `json:"omitida,omitempty"`
	Expr    string `json:"expresion"`
	Place   string `json:"lugar"`
	Reads   []Read `json:"lee"`
}

// Read is a name an expression read, with its value then.
type Read struct {
	Name   string `json:"nombre"`
	Value  any    `json:"valor"`
	Source string `json:"origen"`
	// Query is the query the value came from, when it did.
	Query string `json:"consulta,omitempty"`
	// Missing is set when the name had no value (it failed or was skipped).
	Missing bool `json:"sinValor,omitempty"`
}

// ExplainedChecks are SENCE's schema and rules applied to the student in
// the course's payload.
type ExplainedChecks struct {
	// Checked is false when the student never reached the payload (left
	// out or excluded before); Note says why.
	Checked  bool     `json:"revisado"`
	Note     string   `json:"nota,omitempty"`
	Rules    []string `json:"reglas"`
	Problems []string `json:"problemas"`
}

// ExplainedQuery is a query the build ran, as run.
type ExplainedQuery struct {
	Name  string `json:"nombre"`
	Level string `json:"nivel"`
	Place string `json:"lugar"`
	SQL   string `json:"sql"`
}

// Explain builds one course with a tracer and explains one of its
// students. A course, student, module or field that names nothing is a
// Usage failure that lists the nearest names.
func Explain(ctx context.Context, pl *plan.Plan, o ExplainOptions) (*Explanation, error) {
	db, err := Open(ctx, pl.Mapping)
	if err != nil {
		return nil, fail(Failed, err)
	}
	defer db.Close()
	tr := newTracer(pl)
	v, err := schema.New()
	if err != nil {
		return nil, fail(Failed, err)
	}
	var checked []checkedCourse
	var results []*assemble.CourseResult
	built, err := Build(ctx, db, pl, BuildOptions{
		ReportDate: o.ReportDate, Courses: []string{o.Course}, Token: payload.RedactedToken, Now: o.Now, Workers: 1,
		Trace: tr,
		Validate: func(c *payload.Course) ([]schema.Problem, error) {
			ps, err := v.Check(c)
			cc := checkedCourse{problems: ps}
			for _, a := range c.ListaAlumnos {
				cc.ruts = append(cc.ruts, fmt.Sprintf("%d-%s", a.RutAlumno, a.DvAlumno))
			}
			checked = append(checked, cc)
			return ps, err
		},
	}, func(r *assemble.CourseResult) error {
		results = append(results, r)
		return nil
	})
	if err != nil {
		if KindOf(err) == Usage {
			if near := diag.Nearest(o.Course, tr.courseNames, 5); len(near) > 0 {
				err = failf(Usage, "%v\ncursos más parecidos: %s", err, strings.Join(near, ", "))
			}
		}
		return nil, err
	}
	if len(results) == 0 {
		why := "el mapeo no lo selecciona"
		for _, u := range built.Summary.Unselected {
			if u.Shortname == o.Course || u.CourseID == o.Course {
				why = u.Reason
			}
		}
		return nil, failf(Usage, "--course %s: el curso no es un curso SENCE del mapeo, no hay alumnos que explicar: %s", o.Course, why)
	}
	x := &Explanation{Version: ExplainVersion, Mapping: pl.Mapping.File, ReportDate: chile.Date(o.ReportDate),
		Field: o.Field, Module: o.Module, plan: pl}
	r := results[0]
	x.Course = ExplainedCourse{ID: r.CourseID, CodigoOferta: r.CodigoOferta, Nombre: r.Label}
	for _, r := range results {
		if r.Err != nil {
			x.Course.Error = r.Err.Error()
		}
	}
	if c := tr.entity([]string{r.CourseID}); c != nil {
		x.Course.Rows, x.Course.Evals = c.rows, c.evals
	}
	if len(tr.studentKeys(r.CourseID)) == 0 && x.Course.Error != "" {
		return nil, failf(Problems, "--course %s: el curso tiene un error y no se construyó ninguno de sus alumnos, así que no hay alumno que explicar:\n%s%s",
			o.Course, x.Course.Error, failedAt(x.Course.Evals))
	}
	sid, err := tr.findStudent(r.CourseID, o.Student)
	if err != nil {
		return nil, err
	}
	x.Student = tr.explainStudent(r.CourseID, sid, results)
	x.Checks = studentChecks(x.Student, checked)
	if o.Module != "" {
		if err := x.keepModule(o.Module); err != nil {
			return nil, err
		}
	}
	if o.Field != "" {
		if err := x.keepField(o.Field); err != nil {
			return nil, err
		}
	}
	for _, q := range tr.queries {
		if x.keepQueries == nil || x.keepQueries[q.Name] {
			x.Queries = append(x.Queries, q)
		}
	}
	return x, nil
}

// failedAt names the expressions that failed and where they are written.
func failedAt(evs []Evaluation) string {
	var b strings.Builder
	for _, ev := range evs {
		if ev.Error != "" {
			fmt.Fprintf(&b, "\n(«%s», en %s)", ev.Name, ev.Place)
		}
	}
	return b.String()
}

type checkedCourse struct {
	ruts     []string
	problems []schema.Problem
}

// findStudent finds the student a --student value names: a Moodle user
// id, or a RUT in any common form.
func (t *tracer) findStudent(course, who string) (string, error) {
	students := t.studentKeys(course)
	want := strings.TrimSpace(who)
	for _, s := range students {
		if s.keys[1] == want {
			return want, nil
		}
	}
	if r, err := rut.Parse(want); err == nil {
		for _, s := range students {
			if s.rutOf() == r.String() {
				return s.keys[1], nil
			}
		}
	}
	var names []string
	described := map[string]string{}
	for _, s := range students {
		d := "id " + s.keys[1]
		if r := s.rutOf(); r != "" {
			d = r + " (" + d + ")"
			names = append(names, r)
			described[r] = d
		}
		names = append(names, s.keys[1])
		described[s.keys[1]] = d
	}
	var near []string
	for _, n := range diag.Nearest(want, names, 8) {
		if d := described[n]; !slices.Contains(near, d) {
			near = append(near, d)
		}
	}
	msg := fmt.Sprintf("--student %s: ningún alumno del curso tiene ese RUT ni ese id de usuario de Moodle", who)
	if len(near) > 0 {
		msg += "\nalumnos más parecidos: " + strings.Join(near[:min(5, len(near))], ", ")
	}
	return "", fail(Usage, errors.New(msg))
}

// explainStudent puts together a student, its modules and activities.
func (t *tracer) explainStudent(course, sid string, results []*assemble.CourseResult) ExplainedEntity {
	st := t.entity([]string{course, sid})
	out := ExplainedEntity{Level: mapping.Student, ID: sid, Code: st.rutOf(), Label: st.labelOf(), Rows: st.rows, Evals: st.evals}
	out.Outcome, out.Reasons = studentOutcome(sid, st, results)
	for _, k := range t.order {
		e := t.byKey[k]
		if len(e.keys) != 3 || e.keys[0] != course || e.keys[1] != sid {
			continue
		}
		m := ExplainedEntity{Level: mapping.Module, ID: e.keys[2], Rows: e.rows, Evals: e.evals}
		if s, ok := e.valueOf("codigoModulo").(string); ok {
			m.Code = s
		}
		m.Outcome, m.Reasons = entityOutcome(e)
		for _, k := range t.order {
			a := t.byKey[k]
			if len(a.keys) != 4 || !slices.Equal(a.keys[:3], e.keys) {
				continue
			}
			ae := ExplainedEntity{Level: mapping.Activity, ID: a.keys[3], Rows: a.rows, Evals: a.evals}
			if s, ok := a.valueOf("codigoActividad").(string); ok {
				ae.Code = s
			}
			ae.Outcome, ae.Reasons = entityOutcome(a)
			m.Children = append(m.Children, ae)
		}
		out.Children = append(out.Children, m)
	}
	return out
}

// studentOutcome is what the build did with the student, and why.
func studentOutcome(sid string, st *traced, results []*assemble.CourseResult) (string, []string) {
	for _, r := range results {
		for _, e := range r.Excluded {
			if e.UserID == sid {
				return "excluido", e.Reasons
			}
		}
		for _, n := range r.Notes {
			if n.Level == mapping.Student && n.UserID == sid {
				return "no se informa", []string{"la regla «include» da: " + n.Msg}
			}
		}
		for _, s := range r.Sent {
			if s.UserID == sid {
				return "incluido", nil
			}
		}
	}
	if len(results) > 0 && results[0].Err != nil {
		r := results[0]
		return "excluido", []string{"el curso no se puede enviar: " + r.Err.Error()}
	}
	if inc := st.find("include"); inc != nil && inc.Error == "" {
		return "no se informa", []string{fmt.Sprintf("la regla «include» da %v: lo deja fuera sin decir por qué", showValue(inc.Value))}
	}
	return "no se informa", []string{"el motor no lo incluyó en ningún envío"}
}

func (e *traced) find(name string) *Evaluation {
	for i := range e.evals {
		if e.evals[i].Name == name {
			return &e.evals[i]
		}
	}
	return nil
}

// entityOutcome is a module's or activity's outcome, read from its
// include rule and its evaluations.
func entityOutcome(e *traced) (string, []string) {
	var errs []string
	for _, ev := range e.evals {
		if ev.Error != "" {
			errs = append(errs, ev.Name+": "+ev.Error)
		}
	}
	if len(errs) > 0 {
		return "con error", errs
	}
	inc := e.find("include")
	if inc == nil {
		return "incluido", nil
	}
	switch v := inc.Value.(type) {
	case bool:
		if v {
			return "incluido", nil
		}
	case string:
		if v == "" {
			return "incluido", nil
		}
		return "no se envía", []string{"la regla «include» da: " + v}
	}
	return "no se envía", []string{fmt.Sprintf("la regla «include» da %v: lo deja fuera sin decir por qué", showValue(inc.Value))}
}

// studentChecks are SENCE's schema and rules applied to the student in
// the payload they were checked in.
func studentChecks(st ExplainedEntity, checked []checkedCourse) *ExplainedChecks {
	out := &ExplainedChecks{Rules: schema.RuleList, Problems: []string{}}
	for _, c := range checked {
		i := slices.Index(c.ruts, st.Code)
		if st.Code == "" || i < 0 {
			continue
		}
		out.Checked = true
		for _, p := range c.problems {
			if p.Student == i || p.Student < 0 {
				msg := p.Msg
				if p.Path != "" && !strings.Contains(msg, p.Path) {
					msg = p.Path + ": " + msg
				}
				out.Problems = append(out.Problems, msg)
			}
		}
		return out
	}
	out.Note = "el alumno no llegó al envío (" + st.Outcome + "): sus datos no se revisaron con el esquema ni las reglas de SENCE"
	return out
}

// keepModule keeps only the module named by code or id.
func (x *Explanation) keepModule(code string) error {
	var names []string
	for _, m := range x.Student.Children {
		if m.Code == code || m.ID == code {
			x.Student.Children = []ExplainedEntity{m}
			return nil
		}
		if m.Code != "" {
			names = append(names, m.Code)
		}
	}
	msg := fmt.Sprintf("--module %s: el alumno no tiene ese módulo (código de módulo o id de sección de Moodle)", code)
	switch {
	case len(names) > 0:
		msg += "\nmódulos del alumno, el más parecido primero: " + strings.Join(diag.Nearest(code, names, 10), ", ")
	case len(x.Student.Children) == 0:
		msg += fmt.Sprintf("\nno se evaluó ningún módulo del alumno (%s): explíquelo sin --module", x.Student.Outcome)
	}
	return fail(Usage, errors.New(msg))
}

// keepField keeps, at every level, the evaluations called name and those
// of the same entity whose values they read, however indirectly; the rows
// and queries they read; and the entities that keep an evaluation.
func (x *Explanation) keepField(name string) error {
	known := map[string]bool{"include": true, "courses.split": true}
	for _, lv := range x.plan.Levels {
		for _, v := range lv.Vars {
			known[v.Name] = true
		}
		for _, f := range lv.Fields {
			known[f.Name] = true
		}
		for _, w := range lv.Warnings {
			known[w.Name] = true
		}
	}
	if !known[name] {
		names := make([]string, 0, len(known))
		for n := range known {
			names = append(names, n)
		}
		sort.Strings(names)
		return failf(Usage, "--field %s: ningún nivel del mapeo tiene un campo, variable o aviso con ese nombre\nnombres más parecidos: %s", name, strings.Join(diag.Nearest(name, names, 5), ", "))
	}
	queries := map[string]bool{}
	keep := func(evs []Evaluation, rows []RowsOf) ([]Evaluation, []RowsOf) {
		want := map[string]bool{name: true}
		// Evaluations come in dependency order: walk them backwards.
		for i := len(evs) - 1; i >= 0; i-- {
			if !want[evs[i].Name] {
				continue
			}
			for _, r := range evs[i].Reads {
				if r.Source == "variable" || r.Source == "campo" {
					want[r.Name] = true
				}
			}
		}
		out := []Evaluation{}
		used := map[string]bool{}
		for _, ev := range evs {
			if want[ev.Name] {
				out = append(out, ev)
				for _, r := range ev.Reads {
					used[r.Query] = true
				}
			}
		}
		kept := []RowsOf{}
		for _, r := range rows {
			if used[r.Query] {
				kept = append(kept, r)
				queries[r.Query] = true
			}
		}
		return out, kept
	}
	x.Course.Evals, x.Course.Rows = keep(x.Course.Evals, x.Course.Rows)
	var walk func(e *ExplainedEntity) bool
	walk = func(e *ExplainedEntity) bool {
		e.Evals, e.Rows = keep(e.Evals, e.Rows)
		var children []ExplainedEntity
		for i := range e.Children {
			if walk(&e.Children[i]) {
				children = append(children, e.Children[i])
			}
		}
		e.Children = children
		return len(e.Evals) > 0 || len(children) > 0
	}
	walk(&x.Student)
	x.keepQueries = queries
	return nil
}

// showValue is a value as the explanation's text shows it.
func showValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case string:
		return strconv.Quote(x)
	}
	return fmt.Sprint(v)
}
