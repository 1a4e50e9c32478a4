package build

import "fmt"

// SessionAcc applies the maximum-gap rule of Moodle's dedication block to a
// stream of event times of one key, in ascending order: the first event
// opens a session; a gap greater than Gap closes it at the previous event
// (time after the last click is not counted); sessions of length MinLen or
// less are dropped.
type SessionAcc struct {
	Gap, MinLen int64
	start, last int64
	open        bool
	Seconds     int64
	Sessions    int64
	Events      int64
	First, Last int64
}

// NewSessionAcc starts an accumulator.
func NewSessionAcc(gap, minLen int64) *SessionAcc { return &SessionAcc{Gap: gap, MinLen: minLen} }

// Add takes the next event time.
func (a *SessionAcc) Add(t int64) error {
	if a.open && t < a.last {
		return fmt.Errorf("los eventos deben venir ordenados por tiempo (ORDER BY); %d llegó después de %d", t, a.last)
	}
	a.Events++
	if !a.open {
		a.open, a.start, a.last, a.First = true, t, t, t
		a.Last = t
		return nil
	}
	if t-a.last > a.Gap {
		a.close()
		a.start = t
	}
	a.last, a.Last = t, t
	return nil
}

func (a *SessionAcc) close() {
	if l := a.last - a.start; l > a.MinLen {
		a.Seconds += l
		a.Sessions++
	}
}

// Row closes the open session and returns the totals as query columns.
func (a *SessionAcc) Row() map[string]any {
	if a.open {
		a.close()
		a.open = false
	}
	return map[string]any{"seconds": a.Seconds, "sessions": a.Sessions, "events": a.Events, "first": a.First, "last": a.Last}
}
