package nightly

import (
	"fmt"
	"time"

	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/mapping"
)

// Window is SENCE's daily send window, in America/Santiago: by default
// 22:00 to 00:00. An end not after the start crosses midnight.
type Window struct {
	Start, End string // "HH:MM"
}

// NewWindow is the window a mapping configures, with SENCE's defaults.
func NewWindow(w mapping.Window) Window {
	out := Window{Start: w.Start, End: w.End}
	if out.Start == "" {
		out.Start = "22:00"
	}
	if out.End == "" {
		out.End = "00:00"
	}
	return out
}

func (w Window) String() string { return fmt.Sprintf("%s a %s", w.Start, w.End) }

// at is the instant of "HH:MM" on the Santiago day of day.
func at(day time.Time, hhmm string) time.Time {
	c, err := time.Parse("15:04", hhmm)
	if err != nil { // the mapping loader checks the format
		c = time.Time{}
	}
	y, m, d := day.Date()
	return time.Date(y, m, d, c.Hour(), c.Minute(), 0, 0, chile.Location)
}

// Bounds returns the window that contains t, or else the next one: the
// first of the windows starting yesterday, today and tomorrow that has
// not ended at t.
func (w Window) Bounds(t time.Time) (start, end time.Time) {
	t = t.In(chile.Location)
	for day := -1; day <= 1; day++ {
		d := t.AddDate(0, 0, day)
		start, end = at(d, w.Start), at(d, w.End)
		if !end.After(start) {
			end = at(d.AddDate(0, 0, 1), w.End)
		}
		if t.Before(end) {
			return start, end
		}
	}
	return start, end
}

// Contains reports whether t lies in the window.
func (w Window) Contains(t time.Time) bool {
	start, end := w.Bounds(t)
	return !t.Before(start) && t.Before(end)
}
