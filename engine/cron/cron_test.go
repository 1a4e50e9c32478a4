package cron

import (
	"strings"
	"testing"
	"time"
)

var santiago = mustLoad("America/Santiago")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func at(loc *time.Location, y int, mo time.Month, d, h, mi int) time.Time {
	return time.Date(y, mo, d, h, mi, 0, 0, loc)
}

func TestNext(t *testing.T) {
	for _, c := range []struct {
		expr string
		from time.Time
		want time.Time
	}{
		// The default: every night at 22:00.
		{"0 22 * * *", at(santiago, 2026, 11, 20, 15, 0), at(santiago, 2026, 11, 20, 22, 0)},
		{"0 22 * * *", at(santiago, 2026, 11, 20, 22, 0), at(santiago, 2026, 11, 21, 22, 0)},
		{"0 22 * * *", at(santiago, 2026, 11, 20, 21, 59), at(santiago, 2026, 11, 20, 22, 0)},
		{"0 22 * * *", at(santiago, 2026, 12, 31, 23, 0), at(santiago, 2027, 1, 1, 22, 0)},
		// Lists, ranges and steps.
		{"5,35 22-23 * * *", at(santiago, 2026, 11, 20, 22, 6), at(santiago, 2026, 11, 20, 22, 35)},
		{"5,35 22-23 * * *", at(santiago, 2026, 11, 20, 23, 35), at(santiago, 2026, 11, 21, 22, 5)},
		{"*/15 22 * * *", at(santiago, 2026, 11, 20, 22, 31), at(santiago, 2026, 11, 20, 22, 45)},
		{"10-50/20 * * * *", at(santiago, 2026, 11, 20, 3, 31), at(santiago, 2026, 11, 20, 3, 50)},
		{"7/20 * * * *", at(santiago, 2026, 11, 20, 3, 48), at(santiago, 2026, 11, 20, 4, 7)},
		// Weekdays only; 2026-11-20 is a Friday.
		{"30 22 * * 1-5", at(santiago, 2026, 11, 20, 23, 0), at(santiago, 2026, 11, 23, 22, 30)},
		// 7 is Sunday too.
		{"0 22 * * 7", at(santiago, 2026, 11, 20, 23, 0), at(santiago, 2026, 11, 22, 22, 0)},
		{"0 22 * * 0", at(santiago, 2026, 11, 20, 23, 0), at(santiago, 2026, 11, 22, 22, 0)},
		// Both day fields restricted: either matches (the 1st, or a Monday).
		{"0 22 1 * 1", at(santiago, 2026, 11, 24, 0, 0), at(santiago, 2026, 11, 30, 22, 0)},
		{"0 22 1 * 1", at(santiago, 2026, 11, 30, 23, 0), at(santiago, 2026, 12, 1, 22, 0)},
		// A day field starting with * combines with AND (Vixie).
		{"0 22 */2 * 1", at(santiago, 2026, 11, 20, 0, 0), at(santiago, 2026, 11, 23, 22, 0)},
		// Month and day of month.
		{"0 0 1 1 *", at(santiago, 2026, 11, 20, 0, 0), at(santiago, 2027, 1, 1, 0, 0)},
		{"0 12 29 2 *", at(santiago, 2026, 3, 1, 0, 0), at(santiago, 2028, 2, 29, 12, 0)},
		// Seconds in the start time do not matter: strictly after the minute.
		{"* * * * *", time.Date(2026, 11, 20, 22, 0, 30, 0, santiago), at(santiago, 2026, 11, 20, 22, 1)},
		// Evaluated in Santiago whatever the zone of the start time.
		{"0 22 * * *", time.Date(2026, 11, 21, 0, 30, 0, 0, time.UTC), at(santiago, 2026, 11, 20, 22, 0)},
		{"0 22 * * *", time.Date(2026, 11, 21, 2, 30, 0, 0, time.UTC), at(santiago, 2026, 11, 21, 22, 0)},
		// Chile starts DST on 2026-09-06: 00:00 jumps to 01:00, so 00:30 does
		// not exist that day and the next is the day after.
		{"30 0 * * *", at(santiago, 2026, 9, 5, 12, 0), at(santiago, 2026, 9, 7, 0, 30)},
		// Chile ends DST on 2026-04-05: 00:00 comes back to 23:00 of the day
		// before; the schedule still fires every night at 22:00.
		{"0 22 * * *", at(santiago, 2026, 4, 4, 22, 30), at(santiago, 2026, 4, 5, 22, 0)},
	} {
		s, err := Parse(c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		got, ok := s.Next(c.from, santiago)
		if !ok || !got.Equal(c.want) {
			t.Errorf("%s from %s: %s (%v), want %s", c.expr, c.from, got, ok, c.want)
		}
		if ok && !s.Matches(got.In(santiago)) {
			t.Errorf("%s: Next gave %s, which does not match", c.expr, got)
		}
	}
}

func TestNeverMatches(t *testing.T) {
	s, err := Parse("0 0 31 2 *")
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := s.Next(at(santiago, 2026, 1, 1, 0, 0), santiago); ok {
		t.Errorf("30 February matched: %s", got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ expr, want string }{
		{"", "debe tener 5 campos"},
		{"0 22 * *", "debe tener 5 campos"},
		{"0 22 * * * *", "debe tener 5 campos"},
		{"60 22 * * *", "campo minuto: 60 está fuera del rango 0-59"},
		{"0 24 * * *", "campo hora: 24 está fuera del rango 0-23"},
		{"0 22 0 * *", "día del mes: 0 está fuera del rango 1-31"},
		{"0 22 * 13 *", "mes: 13 está fuera del rango 1-12"},
		{"0 22 * * 8", "día de la semana: 8 está fuera del rango 0-7"},
		{"0 22 * jan *", "«jan» no es un número"},
		{"0 22-20 * * *", "el inicio es mayor que el fin"},
		{"*/0 22 * * *", "paso «0»"},
		{"0 22 1,,2 * *", "falta un número"},
		{"0 -1 * * *", "falta un número"},
		{"0 22/ * * *", "paso «»"},
	} {
		_, err := Parse(c.expr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.expr, err, c.want)
		}
	}
}

func TestString(t *testing.T) {
	s, err := Parse("  0   22 * *  * ")
	if err != nil {
		t.Fatal(err)
	}
	if s.String() != "0 22 * * *" {
		t.Errorf("%q", s.String())
	}
}

// FuzzParse: whatever the text, Parse does not panic, and for any
// expression it accepts, Next returns a later minute that Matches.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0 22 * * *", "*/5 1-3,7 1,15 */2 1-5", "7/20 * * * 0,7", "0 0 31 2 *", "a b c d e", "1-", "*/"} {
		f.Add(s)
	}
	from := at(santiago, 2026, 11, 20, 22, 30)
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := Parse(expr)
		if err != nil {
			return
		}
		again, err := Parse(s.String())
		if err != nil || *again != *s {
			t.Fatalf("String %q does not parse back to the same schedule: %v", s.String(), err)
		}
		next, ok := s.Next(from, santiago)
		if !ok {
			return
		}
		if !next.After(from) {
			t.Fatalf("%q: Next %s is not after %s", expr, next, from)
		}
		if !s.Matches(next) {
			t.Fatalf("%q: Next %s does not match", expr, next)
		}
	})
}
