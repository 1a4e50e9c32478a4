package chile

import (
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"2026-11-20", true}, {"2024-02-29", true}, {"2025-02-29", false}, {"2026-1-20", false},
		{"20-11-2026", false}, {"2026-02-30", false}, {"2026-00-10", false}, {"2026-11-00", false}, {"2026/11/20", false}, {"2026-11-20 ", false}, {"", false}, {"2026-13-01", false},
	} {
		d, err := ParseDate(c.in)
		if (err == nil) != c.ok {
			t.Errorf("ParseDate(%q) = %v, %v; want ok=%v", c.in, d, err, c.ok)
			continue
		}
		if c.ok && (Date(d) != c.in || d.Hour() != 0 || d.Location() != Location) {
			t.Errorf("ParseDate(%q) = %v, not midnight of that day in Santiago", c.in, d)
		}
		if IsDate(c.in) != c.ok {
			t.Errorf("IsDate(%q) = %v", c.in, !c.ok)
		}
		if day, ok := ParseDay(c.in); ok != c.ok || ok && (day.Format(DateLayout) != c.in || day.Location() != time.UTC) {
			t.Errorf("ParseDay(%q) = %v, %v", c.in, day, ok)
		}
	}
}

// TestToday: the Chilean day, not UTC's: 02:00 UTC on the 21st is still
// the 20th in Santiago (UTC-3 in summer); 03:59 UTC is the day before in
// winter (UTC-4).
func TestToday(t *testing.T) {
	at := time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)
	if got := Date(Today(at)); got != "2026-11-20" {
		t.Errorf("Today(%v) = %s, want 2026-11-20", at, got)
	}
	if Today(at).In(Location).Hour() != 0 {
		t.Errorf("Today(%v) = %v, not midnight", at, Today(at))
	}
	if got := Date(time.Date(2026, 6, 1, 3, 59, 0, 0, time.UTC)); got != "2026-05-31" {
		t.Errorf("winter (UTC-4): %s, want 2026-05-31", got)
	}
}
