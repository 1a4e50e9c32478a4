package fn

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"
)

// numArg reads a numeric argument, wording a missing value with what.
func numArg(name, what string, v any) (num, error) {
	n, err := toNum(v)
	if errors.Is(err, errEmpty) {
		return num{}, fail(name, "%s vacío", what)
	}
	if err != nil {
		return num{}, &Error{Func: name, Msg: what + ": " + err.Error(), Err: err}
	}
	return n, nil
}

func pctImpl(*time.Location) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		if err := arity("pct", params, 2, 2); err != nil {
			return nil, err
		}
		done, err := numArg("pct", "el número de actividades hechas", params[0])
		if err != nil {
			return nil, err
		}
		total, err := numArg("pct", "el total de actividades", params[1])
		if err != nil {
			return nil, err
		}
		return pct(done, total)
	}
}

func pct(done, total num) (int, error) {
	switch {
	case total.f < 0:
		return 0, fail("pct", "el total (%v) no puede ser negativo", total.f)
	case total.f == 0, done.f <= 0:
		return 0, nil
	case done.f >= total.f:
		return 100, nil
	case done.isInt && total.isInt && total.i <= math.MaxInt64/100:
		return int(done.i * 100 / total.i), nil // exact
	}
	// 1e-9 absorbs binary fractions: 0.29 of 1 is 29 %, not 28.
	return int(math.Floor(done.f*100/total.f + 1e-9)), nil
}

func clampImpl(*time.Location) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		if err := arity("clamp", params, 3, 3); err != nil {
			return nil, err
		}
		var ns [3]num
		for i, what := range []string{"el valor", "el mínimo", "el máximo"} {
			n, err := numArg("clamp", what, params[i])
			if err != nil {
				return nil, err
			}
			ns[i] = n
		}
		x, lo, hi := ns[0], ns[1], ns[2]
		if lo.f > hi.f {
			return nil, fail("clamp", "el mínimo (%v) es mayor que el máximo (%v)", lo.f, hi.f)
		}
		if x.isInt && lo.isInt && hi.isInt {
			return int(min(max(x.i, lo.i), hi.i)), nil
		}
		return min(max(x.f, lo.f), hi.f), nil
	}
}

func roundToImpl(*time.Location) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		if err := arity("roundTo", params, 2, 2); err != nil {
			return nil, err
		}
		x, err := numArg("roundTo", "el valor", params[0])
		if err != nil {
			return nil, err
		}
		d, err := toInteger(params[1])
		if err != nil || d < 0 || d > 15 {
			return nil, fail("roundTo", "los decimales deben ser un entero de 0 a 15; se obtuvo %s", show(params[1]))
		}
		return roundTo(x.f, int(d)), nil
	}
}

// roundTo rounds the decimal a person reads in x (its shortest decimal
// form: 2.675, not 2.67499999…) half away from zero.
func roundTo(x float64, decimals int) float64 {
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(x, 'g', -1, 64))
	if !ok {
		return x
	}
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil)
	r.Mul(r, new(big.Rat).SetInt(scale))
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	// |remainder| ≥ half of the denominator: away from zero.
	if m.Abs(m).Lsh(m, 1).Cmp(r.Denom()) >= 0 {
		if r.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	f, _ := new(big.Rat).SetFrac(q, scale).Float64()
	return f
}

// Chile's 1.0–7.0 scale: the exigency (percentage that earns a 4.0) splits
// it into two straight lines, 0 %→1.0 to exigency→4.0 to 100 %→7.0.
const (
	notaMin, notaPass, notaMax = 1.0, 4.0, 7.0
	defaultExigencia           = 60.0
	// slack absorbs float noise such as a computed 100.00000000000001 %.
	slack = 1e-9
)

// exigencia reads the optional exigency, the second argument of nota and
// notaPct (60 % when absent).
func exigencia(name string, params []any) (float64, error) {
	if len(params) < 2 {
		return defaultExigencia, nil
	}
	return exigenciaArg(name, params[1])
}

func exigenciaArg(name string, v any) (float64, error) {
	e, err := numArg(name, "la exigencia", v)
	if err != nil {
		return 0, err
	}
	if e.f <= 0 || e.f >= 100 {
		return 0, fail(name, "la exigencia debe estar entre 0 y 100 (sin incluirlos); se obtuvo %v", e.f)
	}
	return e.f, nil
}

func notaImpl(*time.Location) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		if err := arity("nota", params, 1, 2); err != nil {
			return nil, err
		}
		p, err := numArg("nota", "el porcentaje de logro", params[0])
		if err != nil {
			return nil, err
		}
		e, err := exigencia("nota", params)
		if err != nil {
			return nil, err
		}
		if p.f < -slack || p.f > 100+slack {
			return nil, fail("nota", "porcentaje de logro fuera de rango (0 a 100): %v; use clamp(x, 0, 100) si la nota puede superar el máximo", p.f)
		}
		x := min(max(p.f, 0), 100)
		if x < e {
			return notaMin + (notaPass-notaMin)*x/e, nil
		}
		return notaPass + (notaMax-notaPass)*(x-e)/(100-e), nil
	}
}

func notaPctImpl(*time.Location) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		if err := arity("notaPct", params, 1, 2); err != nil {
			return nil, err
		}
		n, err := numArg("notaPct", "la nota", params[0])
		if err != nil {
			return nil, err
		}
		e, err := exigencia("notaPct", params)
		if err != nil {
			return nil, err
		}
		if n.f < notaMin-slack || n.f > notaMax+slack {
			return nil, fail("notaPct", "nota fuera de rango (1,0 a 7,0): %v", n.f)
		}
		x := min(max(n.f, notaMin), notaMax)
		if x < notaPass {
			return (x - notaMin) * e / (notaPass - notaMin), nil
		}
		return e + (x-notaPass)*(100-e)/(notaMax-notaPass), nil
	}
}

func toIntImpl(*time.Location) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		if err := arity("toInt", params, 1, 1); err != nil {
			return nil, err
		}
		n, err := numArg("toInt", "el valor", params[0])
		if err != nil {
			return nil, err
		}
		if n.isInt {
			return int(n.i), nil
		}
		if math.Abs(n.f) >= 1<<63 {
			return nil, fail("toInt", "%s es demasiado grande para un entero", show(fmt.Sprint(params[0])))
		}
		return int(n.f), nil // decimals dropped, toward zero, as expr's int()
	}
}

func toFloatImpl(*time.Location) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		if err := arity("toFloat", params, 1, 1); err != nil {
			return nil, err
		}
		n, err := numArg("toFloat", "el valor", params[0])
		if err != nil {
			return nil, err
		}
		return n.f, nil
	}
}

// A Moodle grade item or category on Chile's own scale has grademin 1 and
// grademax 7; scaleSlack absorbs the decimals databases return them with
// (DECIMAL(10,5) as text or float).
const scaleSlack = 0.001

// notaDecimals is the precision of a Chilean grade computed from a
// percentage: enough for any grade a person writes, and coarse enough that
// float noise (3.9999999999999996 from an exact 60 %) never fails a pass
// mark.
const notaDecimals = 6

// moodleGrade reads a Moodle grade and its range. ok is false when there
// is no grade (nil) or the range is empty, as gradePct treats them.
func moodleGrade(name string, params []any) (v, lo, hi float64, ok bool, err error) {
	if err := arity(name, params, 3, 4); err != nil {
		return 0, 0, 0, false, err
	}
	if isEmpty(params[0]) {
		return 0, 0, 0, false, nil
	}
	g, err := numArg(name, "la nota", params[0])
	if err != nil {
		return 0, 0, 0, false, err
	}
	l, err := numArg(name, "la nota mínima de la escala", params[1])
	if err != nil {
		return 0, 0, 0, false, err
	}
	h, err := numArg(name, "la nota máxima de la escala", params[2])
	if err != nil {
		return 0, 0, 0, false, err
	}
	return g.f, l.f, h.f, h.f > l.f, nil
}

// chileanScale reports whether a range is Chile's 1.0–7.0.
func chileanScale(lo, hi float64) bool {
	return math.Abs(lo-notaMin) <= scaleSlack && math.Abs(hi-notaMax) <= scaleSlack
}

// notaFromGradeImpl is the Chilean grade of a Moodle grade: on a 1–7 scale the
// grade itself, on any other its percentage through the exigency.
func notaFromGradeImpl(*time.Location) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		v, lo, hi, ok, err := moodleGrade("notaFromGrade", params)
		if err != nil || !ok {
			return nil, err
		}
		e, err := exigencia4("notaFromGrade", params)
		if err != nil {
			return nil, err
		}
		if chileanScale(lo, hi) {
			if v < notaMin-slack || v > notaMax+slack {
				return nil, fail("notaFromGrade", "la nota %v está fuera de su escala (1,0 a 7,0)", v)
			}
			return roundTo(min(max(v, notaMin), notaMax), notaDecimals), nil
		}
		p := (v - lo) * 100 / (hi - lo)
		if p < -slack || p > 100+slack {
			return nil, fail("notaFromGrade", "la nota %v está fuera de su escala (%v a %v)", v, lo, hi)
		}
		p = min(max(p, 0), 100)
		n := notaPass + (notaMax-notaPass)*(p-e)/(100-e)
		if p < e {
			n = notaMin + (notaPass-notaMin)*p/e
		}
		return roundTo(n, notaDecimals), nil
	}
}

// logroFromGradeImpl is the achievement percentage of a Moodle grade: on a 1–7
// scale the percentage the exigency gives that grade, on any other the
// grade's position in its range (as gradePct).
func logroFromGradeImpl(*time.Location) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		v, lo, hi, ok, err := moodleGrade("logroFromGrade", params)
		if err != nil || !ok {
			return nil, err
		}
		e, err := exigencia4("logroFromGrade", params)
		if err != nil {
			return nil, err
		}
		if !chileanScale(lo, hi) {
			return (v - lo) * 100 / (hi - lo), nil
		}
		if v < notaMin-slack || v > notaMax+slack {
			return nil, fail("logroFromGrade", "la nota %v está fuera de su escala (1,0 a 7,0)", v)
		}
		x := min(max(v, notaMin), notaMax)
		if x < notaPass {
			return (x - notaMin) * e / (notaPass - notaMin), nil
		}
		return e + (x-notaPass)*(100-e)/(notaMax-notaPass), nil
	}
}

// exigencia4 reads the optional fourth argument of notaFromGrade and
// logroFromGrade, 60 % when absent.
func exigencia4(name string, params []any) (float64, error) {
	if len(params) < 4 {
		return defaultExigencia, nil
	}
	return exigenciaArg(name, params[3])
}
