package assemble_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/moodledb/demo"
	"github.com/otec-tools/sence-engine/engine/plan"
)

type recorder struct {
	evals   []assemble.Trace
	queries []string
	steps   map[string]bool // level/name of the steps traced
}

func (r *recorder) Eval(t assemble.Trace) {
	r.evals = append(r.evals, t)
	if t.Step != nil {
		r.steps[mapping.LevelNames[t.Level]+"."+t.Step.Name] = true
	}
}

func (r *recorder) Query(q *plan.Query, sql string) { r.queries = append(r.queries, q.Name+": "+sql) }

// TestTraceChangesNothing: a build with a tracer gives the same payloads,
// exclusions and notes as one without (the activities, shared between
// students without a tracer, are built per student with one), and the
// tracer hears of every step of every level, with each entity's keys, and
// of every query with its parameters written in.
func TestTraceChangesNothing(t *testing.T) {
	dsn, _ := loadDemo(t, "sqlite", "mdl_", demo.DemoConfig())
	pl := demoPlan(t, "sqlite", dsn, "mdl_")
	plain, _ := runBuild(t, pl, assemble.Options{Check: validator(t), Workers: 1})
	rec := &recorder{steps: map[string]bool{}}
	traced, _ := runBuild(t, pl, assemble.Options{Check: validator(t), Workers: 1, Trace: rec})
	if len(plain) != len(traced) {
		t.Fatalf("%d courses traced, %d without", len(traced), len(plain))
	}
	for i := range plain {
		a, b := plain[i], traced[i]
		if (a.Payload == nil) != (b.Payload == nil) || a.Payload != nil && !bytes.Equal(canonical(t, a.Payload), canonical(t, b.Payload)) {
			t.Errorf("course %s: the payload differs with a tracer", a.CodigoOferta)
		}
		if !slices.EqualFunc(a.Excluded, b.Excluded, func(x, y assemble.Exclusion) bool { return x.UserID == y.UserID && slices.Equal(x.Reasons, y.Reasons) }) ||
			!slices.Equal(a.Notes, b.Notes) {
			t.Errorf("course %s: exclusions or notes differ with a tracer", a.CodigoOferta)
		}
	}
	for _, lv := range pl.Levels {
		for _, s := range lv.Steps {
			if k := mapping.LevelNames[lv.Index] + "." + s.Name; !rec.steps[k] {
				t.Errorf("no trace of %s", k)
			}
		}
	}
	kinds := map[assemble.TraceKind]bool{}
	for _, e := range rec.evals {
		kinds[e.Kind] = true
		if len(e.Keys) != e.Level+1 || slices.Contains(e.Keys, "") {
			t.Fatalf("%s %v: keys %q", mapping.LevelNames[e.Level], e.Kind, e.Keys)
		}
	}
	for _, k := range []assemble.TraceKind{assemble.TraceStep, assemble.TraceInclude, assemble.TraceWarning} {
		if !kinds[k] {
			t.Errorf("no trace of kind %d", k)
		}
	}
	ids := 0
	for _, q := range rec.queries {
		if strings.Contains(q, ":courseids") || strings.Contains(q, ":reportEnd") {
			t.Errorf("query not written out: %.200s", q)
		}
		if strings.Contains(q, "IN (2, 3, 4, 5, 7, 8)") {
			ids++
		}
	}
	if len(rec.queries) == 0 || ids == 0 {
		t.Errorf("%d queries, %d with the course ids written in", len(rec.queries), ids)
	}
}
