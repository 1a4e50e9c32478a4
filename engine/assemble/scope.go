package assemble

import (
	"fmt"
	"slices"
	"strings"

	"github.com/otec-tools/sence-engine/engine/eval"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// actResult is the outcome of building the activities of one module.
type actResult struct {
	list []any
	out  []payload.Actividad
	err  error
}

// scope is what expressions of one entity see.
type scope map[string]any

func (b *builder) baseScope() scope {
	return scope{plan.NameParams: b.plan.Params, plan.NameReportDate: b.rep}
}

// scopeSize counts the names a scope of lv holds: params, reportDate, the
// parents, the children, the columns, the query rows, vars and fields.
func scopeSize(lv *plan.Level) int {
	if lv == nil {
		return 8
	}
	return 3 + lv.Index + len(lv.Flat) + len(lv.Queries) + len(lv.Steps)
}

// sharesActivities reports whether a module's activities come out the
// same for every student: no activity query carries the student's key and
// no activity expression reads the student or the module (the module's
// values are the student's). Then they are built once per module of a
// course instead of once per student, which is most of the entities of a
// run.
func sharesActivities(pl *plan.Plan) bool {
	alv := pl.Levels[mapping.Activity]
	if alv == nil || alv.From == nil {
		return false
	}
	studentKey := pl.Levels[mapping.Student].Key
	for _, q := range alv.Queries {
		if slices.Contains(q.Keys, studentKey) {
			return false
		}
	}
	progs := []*plan.Step{}
	progs = append(progs, alv.Steps...)
	if alv.Include != nil {
		progs = append(progs, &plan.Step{Prog: alv.Include})
	}
	for _, s := range progs {
		for _, id := range s.Prog.Idents {
			if id == mapping.ParentNames[mapping.Student] || id == mapping.ParentNames[mapping.Module] {
				return false
			}
		}
	}
	return true
}

// entity identity: key column → canonical value.
type ids map[string]string

func (b *builder) keyFor(q *plan.Query, id ids) string {
	return compositeKey(nil, len(q.Keys), func(i int) string { return id[q.Keys[i]] })
}

// attach puts the rows of the level's queries (other than From) for the
// entity into its scope.
func (b *builder) attach(lv *plan.Level, sc scope, id ids, idx index) error {
	for _, q := range lv.Queries {
		if q == lv.From {
			continue
		}
		var rows [][]any
		if !q.Skipped {
			rows = idx.vals[q][b.keyFor(q, id)]
		}
		cols := idx.cols[q]
		if q.Multiple {
			list := make([]any, len(rows))
			for i, r := range rows {
				list[i] = rowMap(cols, r)
			}
			sc[q.Name] = list
			continue
		}
		if len(rows) > 1 {
			return fmt.Errorf("la consulta «%s» devolvió %d filas para un mismo %s (%s); debe devolver una, o declarar «multiple: true»", q.Name, len(rows), mapping.LevelWords[lv.Index], describeIDs(q.Keys, id))
		}
		var row map[string]any
		if len(rows) == 1 {
			row = rowMap(cols, rows[0])
		} else {
			row = b.emptyRow(q)
		}
		sc[q.Name] = row
		for _, c := range q.Columns {
			if lv.Flat[c] == q {
				sc[c] = row[c]
			}
		}
	}
	return nil
}

// emptyRow is q's row of nil values, shared by the entities q has no row
// for.
func (b *builder) emptyRow(q *plan.Query) map[string]any {
	row, ok := b.emptyRows[q]
	if !ok {
		row = make(map[string]any, len(q.Columns))
		for _, c := range q.Columns {
			row[c] = nil
		}
		b.emptyRows[q] = row
	}
	return row
}

func describeIDs(keys []string, id ids) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + id[k]
	}
	return strings.Join(parts, ", ")
}

// evalSteps runs the steps in order. A failed step does not stop the
// others: every independent problem of an entity is reported at once;
// steps that read a failed one are skipped, as their failure would only
// repeat it.
func (b *builder) evalSteps(steps []*plan.Step, sc scope) error {
	var errs StepErrors
	var failed map[string]bool
	for _, s := range steps {
		if failed != nil && readsAny(s, failed) {
			failed[s.Name] = true
			if b.tr != nil {
				b.trace(Trace{Kind: TraceStep, Level: b.progLevel[s.Prog], Step: s, Prog: s.Prog, Skipped: true}, sc)
			}
			continue
		}
		v, err := s.Prog.RunVM(&b.vm, sc)
		if b.tr != nil {
			b.trace(Trace{Kind: TraceStep, Level: b.progLevel[s.Prog], Step: s, Prog: s.Prog, Value: v, Err: err}, sc)
		}
		if err != nil {
			errs = append(errs, &StepError{Step: s, Err: err})
			if failed == nil {
				failed = map[string]bool{}
			}
			failed[s.Name] = true
			continue
		}
		sc[s.Name] = v
	}
	if len(errs) == 0 {
		return nil
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errs
}

func readsAny(s *plan.Step, names map[string]bool) bool {
	for _, id := range s.Prog.Idents {
		if names[id] {
			return true
		}
	}
	return false
}

// StepErrors are several independent failures of one entity.
type StepErrors []*StepError

func (e StepErrors) Error() string {
	parts := make([]string, len(e))
	for i, x := range e {
		parts[i] = x.Error()
	}
	return strings.Join(parts, "; ")
}

// StepError is an expression that failed for one entity.
type StepError struct {
	Step *plan.Step
	Err  error
}

func (e *StepError) Error() string { return e.Step.Name + ": " + e.Err.Error() }

func (e *StepError) Unwrap() error { return e.Err }

// runner runs p, an include rule, on the builder's VM.
func (b *builder) runner(p *eval.Program) func(map[string]any) (any, error) {
	if b.tr != nil {
		return func(env map[string]any) (any, error) {
			v, err := p.RunVM(&b.vm, env)
			b.trace(Trace{Kind: TraceInclude, Level: b.progLevel[p], Prog: p, Value: v, Err: err}, env)
			return v, err
		}
	}
	return func(env map[string]any) (any, error) { return p.RunVM(&b.vm, env) }
}

// include evaluates an include rule: true keeps the entity; false leaves it
// out silently; a text leaves it out with that text as the reason.
func (b *builder) include(run func(map[string]any) (any, error), sc scope) (bool, string, error) {
	v, err := run(sc)
	if err != nil {
		return false, "", &StepError{Step: &plan.Step{Name: "include"}, Err: err}
	}
	switch x := v.(type) {
	case bool:
		return x, "", nil
	case string:
		return x == "", x, nil
	case nil:
		return false, "", nil
	}
	return false, "", &StepError{Step: &plan.Step{Name: "include"}, Err: fmt.Errorf("debe dar true, false o un texto con el motivo; dio %v", v)}
}

// fromRows returns the From rows of a level under one parent key, in the
// order the query returned them.
func (idx index) fromRows(q *plan.Query, parentKey string) []map[string]any {
	return idx.maps[q][parentKey]
}

// under is fromRows for a parent given by its key prefix.
func (idx index) under(q *plan.Query, prefix string) []map[string]any {
	return idx.maps[q][prefix]
}

func (b *builder) newScope(lv *plan.Level, row map[string]any, parents []scope) scope {
	sc := make(scope, b.scopeSize[lv.Index])
	sc[plan.NameParams], sc[plan.NameReportDate] = b.plan.Params, b.rep
	for i, p := range parents {
		sc[mapping.ParentNames[i]] = p
	}
	for _, col := range lv.From.Columns {
		if lv.Flat[col] == lv.From {
			sc[col] = row[col]
		}
	}
	sc[lv.From.Name] = row
	return sc
}

// parentPrefix is the key prefix under which q's rows of one parent lie:
// the parent identity restricted to the keys q carries.
func (b *builder) parentPrefix(q *plan.Query, parent ids) string {
	return keyPrefix(len(q.Keys), func(i int) (string, bool) {
		v, ok := parent[q.Keys[i]]
		return v, ok
	})
}
