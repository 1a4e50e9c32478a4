package assemble

import (
	"github.com/otec-tools/sence-engine/engine/eval"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/plan"
)

// Tracer is told of every expression a build evaluates and of every query
// it runs (engine explain). A build without one (Options.Trace nil) pays a
// nil check per evaluation. It is called from the build's goroutines: with
// Options.Workers other than 1 it must be safe for concurrent use.
type Tracer interface {
	// Eval is told of one expression evaluated for one entity.
	Eval(Trace)
	// Query is told of a query run, with its SQL as run and the values of
	// its parameters written in (for a person to read, never to run).
	Query(q *plan.Query, sql string)
}

// TraceKind says what an evaluated expression is for.
type TraceKind int

const (
	// TraceStep is a var or a field (Trace.Step says which).
	TraceStep TraceKind = iota + 1
	// TraceInclude is a level's include rule.
	TraceInclude
	// TraceWarning is one of a level's warnings.
	TraceWarning
	// TraceSplit is courses.split, evaluated per student.
	TraceSplit
)

// Trace is one expression evaluated for one entity.
type Trace struct {
	Kind  TraceKind
	Level int
	// Keys identify the entity: the canonical value of the key of each
	// level from the course down to the entity's.
	Keys []string
	// Step is the var or field (TraceStep) or the warning (TraceWarning).
	Step *plan.Step
	Prog *eval.Program
	// Scope is what the expression read. It is the entity's live scope:
	// later steps add to it, so a Tracer reads what it needs during the
	// call.
	Scope map[string]any
	Value any
	Err   error
	// Skipped is a step not evaluated because a value it reads failed.
	Skipped bool
}

// trace tells the tracer of one evaluation; the caller checks b.tr.
func (b *builder) trace(t Trace, sc scope) {
	t.Scope = sc
	t.Keys = b.entityKeys(t.Level, sc)
	b.tr.Eval(t)
}

// entityKeys is the identity of the entity whose scope is sc, read from
// the rows of its level's and its parents' From queries.
func (b *builder) entityKeys(level int, sc scope) []string {
	keys := make([]string, level+1)
	for i := 0; i <= level; i++ {
		s := sc
		if i < level {
			s, _ = sc[mapping.ParentNames[i]].(scope)
		}
		lv := b.plan.Levels[i]
		if row, ok := s[lv.From.Name].(map[string]any); ok {
			keys[i] = canon(row[lv.Key])
		}
	}
	return keys
}

// progLevels maps each expression of the plan to its level; courses.split
// is the student's (it reads the student's scope).
func progLevels(pl *plan.Plan) map[*eval.Program]int {
	out := map[*eval.Program]int{}
	for i, lv := range pl.Levels {
		for _, s := range lv.Steps {
			out[s.Prog] = i
		}
		for _, s := range lv.Warnings {
			out[s.Prog] = i
		}
		if lv.Include != nil {
			out[lv.Include] = i
		}
	}
	if p := pl.Levels[mapping.Course].SplitProg; p != nil {
		out[p] = mapping.Student
	}
	return out
}
