package assemble

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/dedication"
	"github.com/otec-tools/sence-engine/engine/fn"
	"github.com/otec-tools/sence-engine/engine/plan"
)

// sessions streams an event query ordered by key and time, and applies the
// maximum-gap rule: a gap larger than Gap closes a session at the previous
// event; sessions not longer than MinLen are dropped. With a session store
// and a query that reads :since, each course resumes the sessions saved by
// the last run and reads only the events since its watermark; the totals
// are those of a full recomputation (engine/dedication).
func (b *builder) sessions(ctx context.Context, q *plan.Query, batch []*courseEntity, ids []int64, groups map[string][][]any) error {
	sr, err := b.startSessions(ctx, q, batch)
	if err != nil {
		return err
	}
	// A group's row: the key values in q.Keys order, then the totals, as
	// q.Columns names them.
	emit := func(k string, vals []any, t dedication.Totals) {
		groups[k] = [][]any{append(vals, t.Seconds, t.Sessions, t.Events, t.First, t.Last)}
	}
	if err := b.streamEvents(ctx, sr, ids, groups, emit); err != nil {
		return err
	}
	// The keys with saved sessions and no new event.
	for _, inc := range sr.incs {
		inc.Untouched(func(k string, t dedication.Totals) {
			emit(k, keyValues(k, len(q.Keys)), t)
		})
	}
	return sr.save(ctx, batch)
}

// sessionRun is one sessions query over a batch: each course's increment
// (from its saved watermark, or from the start) and what to save.
type sessionRun struct {
	q       *plan.Query
	store   SessionStore // nil: nothing saved or loaded
	fp      string
	now     time.Time
	saved   map[string]dedication.Saved
	incs    map[string]*dedication.Increment
	resumed map[string]bool
}

// startSessions loads what the last run saved for the batch's courses
// and sets each course's increment and the query's :since.
func (b *builder) startSessions(ctx context.Context, q *plan.Query, batch []*courseEntity) (*sessionRun, error) {
	sr := &sessionRun{q: q, store: b.opts.Sessions, now: time.Now(), resumed: map[string]bool{}}
	if !q.Incremental {
		sr.store = nil
	}
	if b.opts.Now != nil {
		sr.now = b.opts.Now()
	}
	upto := b.repT1
	if sr.store != nil {
		upto = min(sr.now.Add(-SessionMargin).Unix(), b.repT1)
		sr.fp = b.fingerprint(q)
		if !b.opts.RecomputeSessions {
			courseIDs := make([]string, len(batch))
			for i, c := range batch {
				courseIDs[i] = c.id
			}
			var err error
			if sr.saved, err = sr.store.LoadSessions(ctx, q.Name, sr.fp, courseIDs); err != nil {
				return nil, err
			}
		}
	}
	// One increment per course: from its watermark, or from the start when
	// nothing usable was saved (a report day before the watermark is
	// recomputed, and not saved, for the saved sessions are newer).
	rule := dedication.Rule{Gap: q.Gap, MinLen: q.MinLen}
	sr.incs = make(map[string]*dedication.Increment, len(batch))
	b.since = math.MaxInt64
	for _, c := range batch {
		sv, ok := sr.saved[c.id]
		if ok && sv.Watermark <= b.repT1 {
			sr.resumed[c.id] = true
		} else {
			sv = dedication.Saved{}
		}
		sr.incs[c.id] = dedication.NewIncrement(rule, sv.States, sv.Watermark, upto)
		b.since = min(b.since, sv.Watermark)
	}
	if len(batch) == 0 {
		b.since = 0
	}
	if sr.store != nil {
		b.stats.SessionsResumed += len(sr.resumed)
		b.stats.SessionsFull += len(batch) - len(sr.resumed)
	}
	return sr, nil
}

// streamEvents reads the query's events in key and time order into each
// key's stream, emitting a key's totals when the next key starts.
func (b *builder) streamEvents(ctx context.Context, sr *sessionRun, ids []int64, groups map[string][][]any, emit func(string, []any, dedication.Totals)) error {
	q := sr.q
	rows, err := b.open(ctx, q, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	ti := slices.Index(rows.Columns, q.Sessions.Time)
	if ti < 0 {
		return &QueryError{q.Name, q.SQL.Pos, fmt.Errorf("no devuelve la columna «%s» de «sessions.time»", q.Sessions.Time)}
	}
	ks := newKeyStreams(q, rows.Columns, sr.incs, emit)
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return &QueryError{q.Name, q.SQL.Pos, err}
		}
		b.stats.Rows++
		t, err := fn.Int(vals[ti])
		if err != nil {
			continue // no time: not an event
		}
		st, inc, err := ks.at(vals, groups)
		if err != nil {
			return err
		}
		// Events of a course outside the batch are ignored, and those
		// before a course's watermark were folded in by an earlier run.
		if st == nil || t < inc.Since {
			continue
		}
		if err := st.Add(t); err != nil {
			return &QueryError{q.Name, q.SQL.Pos, err}
		}
	}
	ks.flush()
	if err := rows.Err(); err != nil {
		return &QueryError{q.Name, q.SQL.Pos, err}
	}
	return nil
}

// keyStreams follows the key of an event stream ordered by key: a row
// with the current key's values continues its stream without building its
// key text.
type keyStreams struct {
	q         *plan.Query
	cols      []string
	keyCols   []int // the key columns' indexes
	courseCol int
	incs      map[string]*dedication.Increment
	emit      func(string, []any, dedication.Totals)

	started bool
	cur     []any // the current key's values
	curKey  string
	keyVals map[string]any
	inc     *dedication.Increment
	st      *dedication.Stream // nil: a course outside the batch
}

func newKeyStreams(q *plan.Query, cols []string, incs map[string]*dedication.Increment, emit func(string, []any, dedication.Totals)) *keyStreams {
	ks := &keyStreams{q: q, cols: cols, incs: incs, emit: emit, courseCol: slices.Index(cols, q.Keys[0])}
	for i, c := range cols {
		if slices.Contains(q.Keys, c) {
			ks.keyCols = append(ks.keyCols, i)
		}
	}
	ks.cur = make([]any, len(ks.keyCols))
	return ks
}

// at is the stream of a row's key; a key seen before, after another, is
// an error (the rows are not ordered by key).
func (ks *keyStreams) at(vals []any, groups map[string][][]any) (*dedication.Stream, *dedication.Increment, error) {
	same := ks.started
	for j, i := range ks.keyCols {
		if same && vals[i] != ks.cur[j] {
			same = false
		}
	}
	if same {
		return ks.st, ks.inc, nil
	}
	r := make(map[string]any, len(ks.q.Keys))
	for _, i := range ks.keyCols {
		r[ks.cols[i]] = vals[i]
	}
	k := keyOf(r, ks.q.Keys)
	if !ks.started || k != ks.curKey {
		ks.flush()
		if _, seen := groups[k]; seen {
			q := ks.q
			return nil, nil, &QueryError{q.Name, q.SQL.Pos, fmt.Errorf("las filas deben venir ordenadas por %s y luego por %s (ORDER BY)", strings.Join(q.Keys, ", "), q.Sessions.Time)}
		}
		ks.curKey, ks.keyVals, ks.started = k, r, true
		if ks.inc = ks.incs[canonAt(vals, ks.courseCol)]; ks.inc != nil {
			ks.st = ks.inc.Key(k)
		}
	}
	for j, i := range ks.keyCols {
		ks.cur[j] = vals[i]
	}
	return ks.st, ks.inc, nil
}

// flush emits the current key's totals.
func (ks *keyStreams) flush() {
	if ks.st == nil {
		return
	}
	vals := make([]any, 0, len(ks.q.Keys)+len(plan.SessionColumns))
	for _, k := range ks.q.Keys {
		vals = append(vals, ks.keyVals[k])
	}
	ks.emit(ks.curKey, vals, ks.st.Totals())
	ks.st = nil
}

// save stores each course's sessions with its new watermark.
func (sr *sessionRun) save(ctx context.Context, batch []*courseEntity) error {
	if sr.store == nil {
		return nil
	}
	var updates []dedication.Update
	for _, c := range batch {
		inc := sr.incs[c.id]
		if sv, ok := sr.saved[c.id]; ok && !sr.resumed[c.id] && sv.Watermark > inc.Upto {
			continue // never move a watermark back
		}
		u := dedication.Update{Course: c.id, Watermark: inc.Upto, Replace: !sr.resumed[c.id], States: inc.Next()}
		if !u.Replace {
			u.States = inc.Changed()
		}
		updates = append(updates, u)
	}
	return sr.store.SaveSessions(ctx, sr.q.Name, sr.fp, sr.now, updates)
}
