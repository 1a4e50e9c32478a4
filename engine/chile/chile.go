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
	_, err := ParseDate(s)
	return err == nil
}

// Date is the Chilean calendar day of t, YYYY-MM-DD.
func Date(t time.Time) string { return t.In(Location).Format(DateLayout) }
