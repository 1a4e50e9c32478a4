package fn

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// num is a number read from whatever a database driver or an expression
// gives: integer kinds stay exact in i, everything is also in f.
type num struct {
	i     int64
	f     float64
	isInt bool
}

// decimalRe is the only text form of a number accepted: what databases
// print (no hex, no "Inf", no thousands separators).
var decimalRe = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$`)

// errEmpty marks a missing value, so that callers can word it for their
// field ("fecha vacía").
var errEmpty = fmt.Errorf("valor vacío")

// toNum reads a number. A nil (or nil pointer) value is errEmpty.
func toNum(v any) (num, error) {
	switch x := v.(type) {
	case nil:
		return num{}, errEmpty
	case int:
		return num{i: int64(x), f: float64(x), isInt: true}, nil
	case int64:
		return num{i: x, f: float64(x), isInt: true}, nil
	case float64:
		return floatNum(x)
	case string:
		return parseNum(x)
	case []byte:
		return parseNum(string(x))
	case json.Number:
		return parseNum(string(x))
	case bool:
		return num{}, fmt.Errorf("el valor lógico %v no es un número", x)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n := rv.Int()
		return num{i: n, f: float64(n), isInt: true}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return num{f: float64(u)}, nil
		}
		return num{i: int64(u), f: float64(u), isInt: true}, nil
	case reflect.Float32, reflect.Float64:
		return floatNum(rv.Float())
	case reflect.String:
		return parseNum(rv.String())
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return num{}, errEmpty
		}
		return toNum(rv.Elem().Interface())
	}
	return num{}, fmt.Errorf("%s no es un número", show(v))
}

func floatNum(f float64) (num, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return num{}, fmt.Errorf("el valor %v no es un número", f)
	}
	return num{f: f}, nil
}

func parseNum(s string) (num, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return num{}, errEmpty
	}
	if i, err := strconv.ParseInt(t, 10, 64); err == nil {
		return num{i: i, f: float64(i), isInt: true}, nil
	}
	if !decimalRe.MatchString(t) {
		return num{}, fmt.Errorf("%s no es un número", show(s))
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return num{}, fmt.Errorf("%s no es un número representable", show(s))
	}
	return floatNum(f)
}

// toInteger reads a whole number: integers, integral floats and texts.
func toInteger(v any) (int64, error) {
	n, err := toNum(v)
	if err != nil {
		return 0, err
	}
	if n.isInt {
		return n.i, nil
	}
	if n.f != math.Trunc(n.f) || math.Abs(n.f) >= 1<<63 {
		return 0, fmt.Errorf("%s no es un número entero", show(v))
	}
	return int64(n.f), nil
}

// toText reads a text: strings, []byte, integers as decimal text; nil (or a
// nil pointer) is "" with ok true. Other values are not text.
func toText(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case string:
		return x, true
	case []byte:
		return string(x), true
	case fmt.Stringer:
		return x.String(), true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return rv.String(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(rv.Uint(), 10), true
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return "", true
		}
		return toText(rv.Elem().Interface())
	}
	return "", false
}

// isEmpty reports nil, a nil pointer, map or slice, and "".
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []byte:
		return len(x) == 0
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice:
		return rv.IsNil()
	case reflect.String:
		return rv.Len() == 0
	}
	return false
}

// show quotes a value for a message: texts in «», long ones shortened.
func show(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case []byte:
		s = string(x)
	case nil:
		return "un valor vacío"
	default:
		s = fmt.Sprint(v)
	}
	if utf8.RuneCountInString(s) > 60 {
		s = string([]rune(s)[:60]) + "…"
	}
	return "«" + s + "»"
}

// Int reads a whole number from whatever a database driver or an
// expression gives (integers of any size, integral floats, decimal texts
// and bytes): the rules of toInt(). The engine reads numbers through Int
// and Float wherever a value may come from either.
func Int(v any) (int64, error) { return toInteger(v) }

// Float reads a number from whatever a database driver or an expression
// gives: the rules of toFloat().
func Float(v any) (float64, error) {
	n, err := toNum(v)
	return n.f, err
}
