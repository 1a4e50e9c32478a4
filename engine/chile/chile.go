// Package chile is Chile's civil time as SENCE counts it: the one
// America/Santiago location of the engine (daylight saving included, the
// zone database embedded so that every machine has the same rules), its
// calendar days and the YYYY-MM-DD dates SENCE reads and writes.
package chile

import (
	"fmt"
	"time"
	_ "time/tzdata" // America/Santiago even without a system zone database
)

// Zone is the name of SENCE's time zone.
const Zone = "America/Santiago"

// DateLayout is how SENCE writes a date: YYYY-MM-DD.
const DateLayout = time.DateOnly

// Location is America/Santiago.
var Location = func() *time.Location {
	loc, err := time.LoadLocation(Zone)
	if err != nil {
		// time/tzdata is embedded: only a broken build gets here.
		panic("chile: " + err.Error())
	}
	return loc
}()

// Today is the start (00:00 in Santiago) of the Chilean day of t.
func Today(t time.Time) time.Time {
	t = t.In(Location)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, Location)
}

// ParseDate reads a YYYY-MM-DD date as the start of that day in Santiago.
// Only a real calendar day written that way is accepted.
func ParseDate(s string) (time.Time, error) {
	d, err := time.ParseInLocation(DateLayout, s, Location)
	if err != nil || len(s) != len(DateLayout) {
		return time.Time{}, fmt.Errorf("«%s» no es una fecha AAAA-MM-DD", s)
	}
	return d, nil
}

// IsDate says whether s is a date written the only way SENCE accepts it:
// YYYY-MM-DD, a real calendar day.
func IsDate(s string) bool {
	_, ok := ParseDay(s)
	return ok
}

// ParseDay reads exactly YYYY-MM-DD naming a real calendar day, as
// midnight UTC: the calendar day alone, without time arithmetic, for the
// checks made on every student and module (no allocation).
func ParseDay(s string) (time.Time, bool) {
	if len(s) != len(DateLayout) {
		return time.Time{}, false
	}
	for i := range len(s) {
		if c := s[i]; (i == 4 || i == 7) != (c == '-') || c != '-' && (c < '0' || c > '9') {
			return time.Time{}, false
		}
	}
	y := int(s[0]-'0')*1000 + int(s[1]-'0')*100 + int(s[2]-'0')*10 + int(s[3]-'0')
	m := time.Month(int(s[5]-'0')*10 + int(s[6]-'0'))
	d := int(s[8]-'0')*10 + int(s[9]-'0')
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	// time.Date normalises 02-30 to 03-02: a real day comes back unchanged.
	if m < 1 || m > 12 || d < 1 || t.Month() != m || t.Day() != d {
		return time.Time{}, false
	}
	return t, true
}

// Date is the Chilean calendar day of t, YYYY-MM-DD.
func Date(t time.Time) string { return t.In(Location).Format(DateLayout) }
