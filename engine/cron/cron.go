// Package cron reads the 5-field cron expressions of run.schedule (minute
// hour day-of-month month day-of-week) and finds the next time one matches
// in a time zone. It knows lists, ranges, steps and *, as Vixie cron does;
// names (jan, mon) and the @ shortcuts are not needed by a nightly run and
// are rejected with a message saying what to write instead.
package cron

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed expression.
type Schedule struct {
	expr   string
	minute uint64 // bit i set: minute i matches
	hour   uint64
	dom    uint64
	month  uint64
	dow    uint64 // 0..6, Sunday is 0 (7 in the expression is Sunday too)
	// domAll and dowAll record a day field that starts with "*": when
	// both day fields are restricted, a day matching either one matches,
	// as in every cron since Vixie's.
	domAll, dowAll bool
}

type field struct {
	name     string
	min, max int
}

var fields = [5]field{
	{"minuto", 0, 59},
	{"hora", 0, 23},
	{"día del mes", 1, 31},
	{"mes", 1, 12},
	{"día de la semana", 0, 7},
}

// Parse reads "minute hour day-of-month month day-of-week".
func Parse(expr string) (*Schedule, error) {
	parts := strings.Fields(expr)
	if len(parts) != 5 {
		return nil, fmt.Errorf("la expresión cron «%s» debe tener 5 campos (minuto hora día-del-mes mes día-de-la-semana), como «0 22 * * *»", expr)
	}
	s := &Schedule{expr: strings.Join(parts, " ")}
	dst := [5]*uint64{&s.minute, &s.hour, &s.dom, &s.month, &s.dow}
	for i, p := range parts {
		bits, all, err := parseField(p, fields[i])
		if err != nil {
			return nil, fmt.Errorf("expresión cron «%s», campo %s: %w", expr, fields[i].name, err)
		}
		*dst[i] = bits
		switch i {
		case 2:
			s.domAll = all
		case 4:
			s.dowAll = all
		}
	}
	if s.dow&(1<<7) != 0 { // 7 is Sunday
		s.dow = s.dow&^(1<<7) | 1
	}
	return s, nil
}

// String is the expression as parsed, with single spaces.
func (s *Schedule) String() string { return s.expr }

// parseField reads a comma-separated list of *, N, A-B, each with an
// optional /STEP. all reports a field starting with "*" (Vixie's rule for
// combining the day fields).
func parseField(text string, f field) (bits uint64, all bool, err error) {
	if text == "" {
		return 0, false, fmt.Errorf("está vacío")
	}
	all = strings.HasPrefix(text, "*")
	for item := range strings.SplitSeq(text, ",") {
		rng, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			step, err = number(stepText, 1, f.max-f.min+1)
			if err != nil {
				return 0, false, fmt.Errorf("paso «%s»: %w", stepText, err)
			}
		}
		lo, hi := f.min, f.max
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			if lo, err = number(a, f.min, f.max); err != nil {
				return 0, false, fmt.Errorf("rango «%s»: %w", rng, err)
			}
			if hi, err = number(b, f.min, f.max); err != nil {
				return 0, false, fmt.Errorf("rango «%s»: %w", rng, err)
			}
			if lo > hi {
				return 0, false, fmt.Errorf("rango «%s»: el inicio es mayor que el fin", rng)
			}
		default:
			if lo, err = number(rng, f.min, f.max); err != nil {
				return 0, false, err
			}
			if hasStep { // "5/15" means 5-max/15
				hi = f.max
			} else {
				hi = lo
			}
		}
		for v := lo; v <= hi; v += step {
			bits |= 1 << v
		}
	}
	return bits, all, nil
}

func number(s string, lo, hi int) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("falta un número")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("«%s» no es un número (use números: 0 es domingo, 1 es enero)", s)
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s está fuera del rango %d-%d", s, lo, hi)
	}
	return n, nil
}

// Matches reports whether the wall-clock minute of t in its location
// matches the schedule.
func (s *Schedule) Matches(t time.Time) bool {
	return s.month&(1<<int(t.Month())) != 0 && s.dayMatches(t) &&
		s.hour&(1<<t.Hour()) != 0 && s.minute&(1<<t.Minute()) != 0
}

func (s *Schedule) dayMatches(t time.Time) bool {
	dom := s.dom&(1<<t.Day()) != 0
	dow := s.dow&(1<<int(t.Weekday())) != 0
	if s.domAll || s.dowAll {
		return dom && dow
	}
	return dom || dow
}

// maxSteps bounds Next: enough to cross several years of day and hour
// skips, so that an expression no date satisfies ("0 0 31 2 *") ends.
const maxSteps = 100_000

// Next returns the first minute strictly after t, in loc, that matches.
// ok is false when no time in the next years matches. Wall-clock times a
// daylight-saving change skips do not exist and are not returned; a time
// the change repeats matches once per occurrence.
func (s *Schedule) Next(t time.Time, loc *time.Location) (time.Time, bool) {
	t = t.In(loc).Truncate(time.Minute).Add(time.Minute)
	for range maxSteps {
		y, mo, d := t.Date()
		h := t.Hour()
		var next time.Time
		switch {
		case s.month&(1<<int(mo)) == 0:
			next = time.Date(y, mo+1, 1, 0, 0, 0, 0, loc)
		case !s.dayMatches(t):
			next = time.Date(y, mo, d+1, 0, 0, 0, 0, loc)
		case s.hour&(1<<h) == 0:
			next = time.Date(y, mo, d, h+1, 0, 0, 0, loc)
		case s.minute&(1<<t.Minute()) == 0:
			next = t.Add(time.Minute)
		default:
			return t, true
		}
		// time.Date may normalise a wall time a DST change skips or
		// repeats to an instant not after t: always move forward.
		if !next.After(t) {
			next = t.Add(time.Minute)
		}
		t = next
	}
	return time.Time{}, false
}
