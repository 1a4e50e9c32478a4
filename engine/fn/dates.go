package fn

import (
	"errors"
	"math"
	"time"

	"github.com/otec-tools/sence-engine/engine/chile"
)

// maxEpoch is 9999-12-31 23:59:59 UTC: later values are not dates in
// seconds (usually milliseconds).
const maxEpoch = 253402300799

func dateImpl(loc *time.Location) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		if err := arity("date", params, 1, 1); err != nil {
			return nil, err
		}
		secs, err := epochSeconds(params[0])
		if err != nil {
			return nil, err
		}
		if t, ok := params[0].(time.Time); ok {
			return t.In(loc).Format(time.DateOnly), nil
		}
		return time.Unix(secs, 0).In(loc).Format(time.DateOnly), nil
	}
}

// epochSeconds reads a Moodle date: seconds since 1970, where 0 means "not
// set".
func epochSeconds(v any) (int64, error) {
	if t, ok := v.(time.Time); ok {
		if t.IsZero() {
			return 0, fail("date", "fecha vacía")
		}
		return t.Unix(), nil
	}
	n, err := toNum(v)
	if errors.Is(err, errEmpty) {
		return 0, fail("date", "fecha vacía")
	}
	if err != nil {
		return 0, fail("date", "%s no es una fecha de Moodle (segundos desde 1970)", show(v))
	}
	f := n.f
	if n.isInt {
		f = float64(n.i)
	}
	switch {
	case f > maxEpoch:
		return 0, fail("date", "fecha fuera de rango: %s segundos es posterior al año 9999 (¿está en milisegundos?)", show(v))
	case f < 0:
		return 0, fail("date", "fecha vacía o inválida: %s es negativo", show(v))
	case f < 1:
		return 0, fail("date", "fecha vacía")
	}
	if n.isInt {
		return n.i, nil
	}
	return int64(math.Floor(f)), nil
}

func epochImpl(loc *time.Location) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		if err := arity("epoch", params, 1, 1); err != nil {
			return nil, err
		}
		day, err := dayArg("epoch", params[0])
		if err != nil {
			return nil, err
		}
		if day.IsZero() {
			return nil, fail("epoch", "fecha vacía")
		}
		return int(startOfDay(day, loc)), nil
	}
}

// startOfDay is the first second whose local date in loc is day (a UTC
// midnight). Where the clock jumps over midnight (Chile's September
// change: 00:00 becomes 01:00) that is not 00:00, and time.Date may then
// answer an instant of the day before, so the boundary is searched.
func startOfDay(day time.Time, loc *time.Location) int64 {
	y, m, d := day.Date()
	onOrAfter := func(sec int64) bool {
		ly, lm, ld := time.Unix(sec, 0).In(loc).Date()
		return time.Date(ly, lm, ld, 0, 0, 0, 0, time.UTC).Compare(day) >= 0
	}
	if t := time.Date(y, m, d, 0, 0, 0, 0, loc).Unix(); onOrAfter(t) && !onOrAfter(t-1) {
		return t
	}
	hi := time.Date(y, m, d, 12, 0, 0, 0, loc).Unix() // noon: well inside the day
	lo := hi - 36*3600                                // well inside the day before
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if onOrAfter(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// extremeImpl is earliest (sign -1) and latest (sign 1).
func extremeImpl(name string, sign int) func(*time.Location) func(params ...any) (any, error) {
	return func(*time.Location) func(params ...any) (any, error) {
		return func(params ...any) (any, error) {
			if err := arity(name, params, 1, -1); err != nil {
				return nil, err
			}
			best := ""
			var bestDay time.Time
			for _, p := range params {
				day, err := dayArg(name, p)
				if err != nil {
					return nil, err
				}
				if day.IsZero() {
					continue
				}
				if best == "" || day.Compare(bestDay) == sign {
					best, bestDay = day.Format(time.DateOnly), day
				}
			}
			return best, nil
		}
	}
}

func daysBetweenImpl(*time.Location) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		if err := arity("daysBetween", params, 2, 2); err != nil {
			return nil, err
		}
		a, err := dayArg("daysBetween", params[0])
		if err != nil {
			return nil, err
		}
		b, err := dayArg("daysBetween", params[1])
		if err != nil {
			return nil, err
		}
		if a.IsZero() || b.IsZero() {
			return nil, fail("daysBetween", "fecha vacía")
		}
		return int((b.Unix() - a.Unix()) / 86400), nil
	}
}

// dayArg reads a "YYYY-MM-DD" argument as a UTC midnight; nil and "" give
// the zero time.
func dayArg(name string, v any) (time.Time, error) {
	s, ok := toText(v)
	if !ok {
		return time.Time{}, fail(name, "%s no es una fecha AAAA-MM-DD", show(v))
	}
	if s == "" {
		return time.Time{}, nil
	}
	day, ok := parseDay(s)
	if !ok {
		return time.Time{}, fail(name, "%s no es una fecha válida (AAAA-MM-DD)", show(s))
	}
	return day, nil
}

// parseDay accepts exactly YYYY-MM-DD naming a real calendar day
// (chile.ParseDay), year 1 excepted.
func parseDay(s string) (time.Time, bool) {
	t, ok := chile.ParseDay(s)
	if !ok || t.IsZero() {
		return time.Time{}, false
	}
	return t, true
}
