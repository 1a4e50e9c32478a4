package pipeline

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/plan"
)

// The tracer engine explain builds with: it keeps, per entity of the
// course, the rows and every evaluation with the values it read.

// traced is what the tracer keeps of one entity.
type traced struct {
	keys  []string
	rows  []RowsOf
	evals []Evaluation
}

// tracer keeps, per entity, its rows and evaluations, with every value
// read at the time of the evaluation.
type tracer struct {
	pl          *plan.Plan
	names       [4]map[string]string // level → var/field name → kind
	order       []string             // entity keys in order of first trace
	byKey       map[string]*traced
	queries     []ExplainedQuery
	courseNames []string
}

func newTracer(pl *plan.Plan) *tracer {
	t := &tracer{pl: pl, byKey: map[string]*traced{}}
	for i, lv := range pl.Levels {
		t.names[i] = map[string]string{}
		for _, v := range lv.Vars {
			t.names[i][v.Name] = "variable"
		}
		for _, f := range lv.Fields {
			t.names[i][f.Name] = "campo"
		}
	}
	return t
}

func joinKeys(keys []string) string { return strings.Join(keys, "\x00") }

func (t *tracer) entity(keys []string) *traced { return t.byKey[joinKeys(keys)] }

// Query records a query as run.
func (t *tracer) Query(q *plan.Query, sql string) {
	level := ""
	if q.Level >= 0 {
		level = mapping.LevelNames[q.Level]
	}
	t.queries = append(t.queries, ExplainedQuery{Name: q.Name, Level: level, Place: place(q.SQL.Pos), SQL: strings.TrimRight(sql, "\n")})
}

// Eval records one evaluation with the values it read.
func (t *tracer) Eval(tr assemble.Trace) {
	if tr.Level == mapping.Course && tr.Kind == assemble.TraceStep && tr.Step.Name == "codigoOferta" {
		if s, ok := tr.Value.(string); ok && s != "" && !slices.Contains(t.courseNames, s) {
			t.courseNames = append(t.courseNames, s)
		}
	}
	k := joinKeys(tr.Keys)
	e := t.byKey[k]
	if e == nil {
		e = &traced{keys: slices.Clone(tr.Keys), rows: t.rowsOf(tr.Level, tr.Scope)}
		t.byKey[k] = e
		t.order = append(t.order, k)
	} else if tr.Level == mapping.Course {
		// A course's other queries are attached after its first
		// expressions (those that select it) are evaluated.
		e.rows = t.rowsOf(tr.Level, tr.Scope)
	}
	ev := Evaluation{Value: plain(tr.Value, 3), Skipped: tr.Skipped, Expr: strings.TrimRight(tr.Prog.Text.Src, "\n"), Place: place(tr.Prog.Text.Pos)}
	switch tr.Kind {
	case assemble.TraceStep:
		ev.Name, ev.Kind = tr.Step.Name, "variable"
		if tr.Step.IsField {
			ev.Kind = "campo"
		}
	case assemble.TraceInclude:
		ev.Name, ev.Kind = "include", "include"
	case assemble.TraceWarning:
		ev.Name, ev.Kind = tr.Step.Name, "aviso"
	case assemble.TraceSplit:
		ev.Name, ev.Kind = "courses.split", "split"
	}
	if tr.Err != nil {
		ev.Error = tr.Err.Error()
	}
	ev.Reads = t.reads(tr)
	for i := range ev.Reads {
		ev.Reads[i].Query = queryOf(ev.Reads[i].Source)
	}
	// courses.split and the course's late steps run again per payload:
	// the last evaluation stands.
	if i := slices.IndexFunc(e.evals, func(o Evaluation) bool { return o.Name == ev.Name && o.Kind == ev.Kind }); i >= 0 {
		e.evals[i] = ev
		return
	}
	e.evals = append(e.evals, ev)
}

func place(p mapping.Pos) string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// rowsOf are the rows of the level's queries in an entity's scope.
func (t *tracer) rowsOf(level int, sc map[string]any) []RowsOf {
	var out []RowsOf
	for _, q := range t.pl.Levels[level].Queries {
		r := RowsOf{Query: q.Name, Multiple: q.Multiple, NotRead: q.Skipped, Rows: []map[string]any{}}
		switch v := sc[q.Name].(type) {
		case map[string]any:
			if !allNil(v) || q == t.pl.Levels[level].From {
				r.Rows = append(r.Rows, plainRow(v))
			}
		case []any:
			for _, x := range v {
				if m, ok := x.(map[string]any); ok {
					r.Rows = append(r.Rows, plainRow(m))
				}
			}
		}
		out = append(out, r)
	}
	return out
}

func allNil(m map[string]any) bool {
	for _, v := range m {
		if v != nil {
			return false
		}
	}
	return true
}

func plainRow(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = plain(v, 1)
	}
	return out
}

// reads are the names an evaluation read, each with its value and where
// it comes from.
func (t *tracer) reads(tr assemble.Trace) []Read {
	lv := t.pl.Levels[tr.Level]
	sc := tr.Scope
	var out []Read
	members := tr.Prog.Members
	for _, id := range tr.Prog.Idents {
		v, present := sc[id]
		switch {
		case id == plan.NameParams:
			for _, m := range uniq(members[id]) {
				p, _ := v.(map[string]any)
				out = append(out, Read{Name: "params." + m, Value: plain(p[m], 2), Source: "parámetro"})
			}
		case id == plan.NameReportDate:
			out = append(out, Read{Name: id, Value: v, Source: "fecha de reporte"})
		case id == plan.NameSplit || id == plan.NameStaticList:
			out = append(out, Read{Name: id, Value: plain(v, 1), Source: "del motor"})
		case parentLevel(id) >= 0 && parentLevel(id) < tr.Level:
			pl := parentLevel(id)
			p := toMap(v)
			for _, m := range uniq(members[id]) {
				pv, ok := p[m]
				out = append(out, Read{Name: id + "." + m, Value: plain(pv, 2), Source: t.origin(pl, m) + " del " + mapping.LevelWords[pl], Missing: !ok})
			}
		case tr.Level < 3 && id == plan.ChildList[tr.Level]:
			out = append(out, t.childReads(tr, id, v)...)
		case t.names[tr.Level][id] != "":
			out = append(out, Read{Name: id, Value: plain(v, 2), Source: t.names[tr.Level][id], Missing: !present})
		case present:
			if q := queryNamed(lv, id); q != nil {
				if ms := uniq(members[id]); len(ms) > 0 && !q.Multiple {
					row := toMap(v)
					for _, m := range ms {
						out = append(out, Read{Name: id + "." + m, Value: plain(row[m], 2), Source: "columna de la consulta " + q.Name})
					}
					continue
				}
				src := "fila de la consulta " + q.Name
				if q.Multiple {
					src = "filas de la consulta " + q.Name
				}
				out = append(out, Read{Name: id, Value: plain(v, 3), Source: src})
				continue
			}
			out = append(out, Read{Name: id, Value: plain(v, 2), Source: t.origin(tr.Level, id)})
		}
	}
	return out
}

// queryOf is the query a read's origin names, if any.
func queryOf(source string) string {
	const w = "consulta "
	i := strings.Index(source, w)
	if i < 0 {
		return ""
	}
	name, _, _ := strings.Cut(source[i+len(w):], " ")
	return name
}

// childReads are the values a level's expression read of its children:
// each field read from the list's elements, child by child.
func (t *tracer) childReads(tr assemble.Trace, id string, v any) []Read {
	list, _ := v.([]any)
	child := tr.Level + 1
	if len(tr.Prog.Elements) == 0 {
		return []Read{{Name: id, Value: plural(len(list), mapping.LevelWords[child], mapping.LevelPlurals[child]), Source: mapping.LevelPlurals[child] + " del " + mapping.LevelWords[tr.Level]}}
	}
	var out []Read
	for _, f := range tr.Prog.Elements {
		vals := make([]any, 0, len(list))
		found := false
		for _, c := range list {
			m := toMap(c)
			x, ok := m[f]
			found = found || ok
			vals = append(vals, plain(x, 1))
		}
		if !found && len(list) > 0 {
			continue // a field of something else the predicate reads
		}
		out = append(out, Read{Name: id + "[]." + f, Value: vals, Source: t.origin(child, f) + " de cada " + mapping.LevelWords[child]})
	}
	return out
}

// origin says where a name of a level's scope comes from.
func (t *tracer) origin(level int, name string) string {
	if k := t.names[level][name]; k != "" {
		return k
	}
	lv := t.pl.Levels[level]
	if q := lv.Flat[name]; q != nil {
		return "columna de la consulta " + q.Name
	}
	if q := queryNamed(lv, name); q != nil {
		if q.Multiple {
			return "filas de la consulta " + q.Name
		}
		return "fila de la consulta " + q.Name
	}
	return "valor"
}

func queryNamed(lv *plan.Level, name string) *plan.Query {
	for _, q := range lv.Queries {
		if q.Name == name {
			return q
		}
	}
	return nil
}

func parentLevel(name string) int { return slices.Index(mapping.ParentNames[:], name) }

func uniq(s []string) []string {
	var out []string
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// toMap reads a scope or a row (a named map type or a plain one).
func toMap(v any) map[string]any {
	if m, ok := v.(map[string]any); ok {
		return m
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return nil
	}
	out := make(map[string]any, rv.Len())
	it := rv.MapRange()
	for it.Next() {
		out[it.Key().String()] = it.Value().Interface()
	}
	return out
}

// plain is a value as a person reads it and JSON carries it: scalars as
// they are, rows and lists to depth levels, an entity (a scope, which
// reaches its parents and children) as a mark, anything else as its text.
func plain(v any, depth int) any {
	switch x := v.(type) {
	case nil, bool, string, int, int64, float64, int32, float32:
		return x
	case []byte:
		return string(x)
	case time.Time:
		return x.Format(time.RFC3339)
	case map[string]any:
		if depth <= 0 {
			return "{…}"
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plain(e, depth-1)
		}
		return out
	case []any:
		if depth <= 0 {
			return "[…]"
		}
		out := make([]any, 0, min(len(x), maxListed+1))
		for i, e := range x {
			if i == maxListed {
				out = append(out, fmt.Sprintf("… y %d más", len(x)-maxListed))
				break
			}
			out = append(out, plain(e, depth-1))
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	case fmt.Stringer:
		return x.String()
	}
	if reflect.ValueOf(v).Kind() == reflect.Map {
		return "{entidad}"
	}
	return fmt.Sprint(v)
}

// maxListed is how many elements of a list an explanation shows.
const maxListed = 20

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// studentKeys are the students traced in a course, in build order.
func (t *tracer) studentKeys(course string) []*traced {
	var out []*traced
	for _, k := range t.order {
		e := t.byKey[k]
		if len(e.keys) == 2 && e.keys[0] == course {
			out = append(out, e)
		}
	}
	return out
}

// valueOf is the value an entity's evaluation of name gave, or nil.
func (e *traced) valueOf(name string) any {
	for _, ev := range e.evals {
		if ev.Name == name && ev.Error == "" && !ev.Skipped {
			return ev.Value
		}
	}
	return nil
}

// rutOf is the student's RUT as sent, "" when it could not be told.
func (e *traced) rutOf() string {
	n, dv := e.valueOf("rutAlumno"), e.valueOf("dvAlumno")
	if n == nil || dv == nil {
		return ""
	}
	return fmt.Sprintf("%v-%v", n, dv)
}

func (e *traced) labelOf() string {
	s, _ := e.valueOf("label").(string)
	return s
}
