// Package dedication computes the sessions of Moodle's dedication block
// (the maximum-gap rule) incrementally: what a night's run has folded in is
// kept with a watermark, and the next run reads only the log events from
// the watermark on, resuming the session that was open at the watermark.
// The totals are exactly those of a full recomputation (the property test
// checks it on random event streams).
//
// The rule: the events of a key (a student in a course, or in a module)
// ordered by time; the first opens a session; a gap greater than Gap closes
// it at the previous event (time after the last click does not count);
// sessions of MinLen seconds or less are dropped.
//
// The watermark: a run reads the events with since ≤ t < reportEnd, where
// since is the previous watermark, and folds into the saved state only
// those with t < upto, the new watermark. upto must be a time before which
// the log is complete when the run reads it: Moodle writes an event when it
// happens, so the time of reading less a margin (one hour,
// assemble.SessionMargin: the engine runs at 22:00; the report day ends at
// midnight, and the events of those two hours are written after the run). The events from upto to reportEnd count in
// tonight's totals and are read again tomorrow.
package dedication

import "fmt"

// Rule is the maximum-gap rule with its two limits, in seconds.
type Rule struct {
	Gap, MinLen int64
}

// State is what the events of one key up to a watermark leave: the closed
// sessions' totals and the session still open, which the next events may
// extend.
type State struct {
	Seconds  int64 // length of the closed sessions longer than MinLen
	Sessions int64 // how many of them
	Events   int64
	First    int64 // first event (0 when Events is 0)
	Last     int64 // last event: the end of the open session
	Start    int64 // start of the open session
}

// Totals are a key's figures with its open session closed.
type Totals struct {
	Seconds, Sessions, Events, First, Last int64
}

// Add folds the next event, at time t, into s. Events must come in
// ascending time.
func (r Rule) Add(s *State, t int64) error {
	if s.Events > 0 && t < s.Last {
		return fmt.Errorf("los eventos deben venir ordenados por tiempo (ORDER BY); %d llegó después de %d", t, s.Last)
	}
	if s.Events == 0 {
		s.First, s.Start = t, t
	} else if t-s.Last > r.Gap {
		r.close(s)
		s.Start = t
	}
	s.Last = t
	s.Events++
	return nil
}

func (r Rule) close(s *State) {
	if l := s.Last - s.Start; l > r.MinLen {
		s.Seconds += l
		s.Sessions++
	}
}

// Totals closes the open session of a copy of s.
func (r Rule) Totals(s State) Totals {
	if s.Events > 0 {
		r.close(&s)
	}
	return Totals{Seconds: s.Seconds, Sessions: s.Sessions, Events: s.Events, First: s.First, Last: s.Last}
}

// Increment is one run over the events since the last watermark: for each
// key it resumes the saved state, folds in the events before the new
// watermark, keeps that as the state to save, and goes on with the later
// events for tonight's totals only.
type Increment struct {
	Rule
	Since, Upto int64 // the previous watermark and the new one
	saved       map[string]State
	next        map[string]State
}

// NewIncrement starts a run from the saved states (nil for none) and the
// watermark they were saved at.
func NewIncrement(r Rule, saved map[string]State, since, upto int64) *Increment {
	if saved == nil {
		saved = map[string]State{}
	}
	return &Increment{Rule: r, Since: since, Upto: max(upto, since), saved: saved, next: make(map[string]State, len(saved))}
}

// Stream follows one key's new events.
type Stream struct {
	inc  *Increment
	key  string
	s    State
	kept bool // s was stored in next (an event at or after Upto came)
}

// Key starts the new events of key, which must each come once, events in
// ascending time after their key.
func (inc *Increment) Key(key string) *Stream {
	return &Stream{inc: inc, key: key, s: inc.saved[key]}
}

// Add takes the key's next event; events before Since were folded in
// already and are refused.
func (st *Stream) Add(t int64) error {
	if t < st.inc.Since {
		return fmt.Errorf("evento en %d anterior a la marca %d: la consulta debe leer desde la marca (:since)", t, st.inc.Since)
	}
	if t >= st.inc.Upto && !st.kept {
		st.inc.next[st.key] = st.s
		st.kept = true
	}
	return st.inc.Rule.Add(&st.s, t)
}

// Totals ends the key's events and returns tonight's figures.
func (st *Stream) Totals() Totals {
	if !st.kept {
		st.inc.next[st.key] = st.s
		st.kept = true
	}
	return st.inc.Rule.Totals(st.s)
}

// Untouched returns the totals of the saved keys that had no new event,
// and keeps them for the next run.
func (inc *Increment) Untouched(fn func(key string, t Totals)) {
	for k, s := range inc.saved {
		if _, ok := inc.next[k]; ok {
			continue
		}
		inc.next[k] = s
		fn(k, inc.Rule.Totals(s))
	}
}

// Next is the state to save with the watermark Upto.
func (inc *Increment) Next() map[string]State { return inc.next }

// Changed is the part of Next that differs from the saved states: what a
// store that kept those must rewrite.
func (inc *Increment) Changed() map[string]State {
	out := map[string]State{}
	for k, s := range inc.next {
		if o, ok := inc.saved[k]; !ok || o != s {
			out[k] = s
		}
	}
	return out
}

// Saved is what a run keeps of one course of a stream: the states of its
// keys and the watermark they were folded up to.
type Saved struct {
	Watermark int64
	States    map[string]State
}

// Update is what a run saves of one course of a stream.
type Update struct {
	Course    string
	Watermark int64
	// Replace drops the course's saved states first (a full
	// recomputation); otherwise States holds only the keys that changed.
	Replace bool
	States  map[string]State
}
