package baseline

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/fn"
	"github.com/otec-tools/sence-engine/engine/rut"
)

// The rules of the standard preset (mappings/moodle.yaml), written as the
// Go a developer would write by hand for one Moodle: no expressions, no
// generic rows. Each mirrors the engine function the preset calls, to the
// rounding, so that the payloads are byte for byte the same.

// Params are the preset's parameters, read from the compiled mapping so
// that the three runners use the same values.
type Params struct {
	CourseCode, ModuleCode *regexp.Regexp
	RutFrom                string
	PassGrade, Exigencia   float64
	PassProgress           float64
	DedicationSource       string // block | log
	MaxGap, MinSession     int64
	// SyncModules are the synchronous activity types; the baselines read
	// the attendance of BigBlueButton only (the preset's default).
	SyncModules []string
}

// ParamsOf reads the parameters of a compiled mapping's params.
func ParamsOf(p map[string]any) (Params, error) {
	var out Params
	var errs []error
	str := func(k string) string {
		s, ok := p[k].(string)
		if !ok {
			errs = append(errs, fmt.Errorf("params.%s: not a text", k))
		}
		return s
	}
	num := func(k string) float64 {
		switch x := p[k].(type) {
		case int:
			return float64(x)
		case int64:
			return float64(x)
		case float64:
			return x
		}
		errs = append(errs, fmt.Errorf("params.%s: not a number", k))
		return 0
	}
	var err error
	if out.CourseCode, err = regexp.Compile(str("courseCodePattern")); err != nil {
		errs = append(errs, err)
	}
	if out.ModuleCode, err = regexp.Compile(str("moduleCodePattern")); err != nil {
		errs = append(errs, err)
	}
	out.RutFrom = str("rutFrom")
	out.PassGrade = num("passGrade")
	out.Exigencia = num("exigencia")
	out.PassProgress = num("passProgress")
	out.DedicationSource = str("dedicationSource")
	out.MaxGap = int64(num("maxGap"))
	out.MinSession = int64(num("minSession"))
	list, _ := p["syncModules"].([]any)
	for _, v := range list {
		m, ok := v.(string)
		if !ok {
			errs = append(errs, fmt.Errorf("params.syncModules: %v is not a text", v))
			continue
		}
		if m != "bigbluebuttonbn" {
			errs = append(errs, fmt.Errorf("params.syncModules: the baselines read the attendance of bigbluebuttonbn only, not %s", m))
		}
		out.SyncModules = append(out.SyncModules, m)
	}
	return out, errors.Join(errs...)
}

// date is the Chilean calendar day of a Moodle time.
func date(t int64) string { return time.Unix(t, 0).In(chile.Location).Format(time.DateOnly) }

// pct is the whole percentage done of total, rounded down, 0 to 100.
func pct(done, total int64) int {
	switch {
	case total <= 0, done <= 0:
		return 0
	case done >= total:
		return 100
	}
	return int(done * 100 / total)
}

// roundTo rounds half away from zero on the decimal text of x.
func roundTo(x float64, decimals int) float64 {
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(x, 'g', -1, 64))
	if !ok {
		return x
	}
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil)
	r.Mul(r, new(big.Rat).SetInt(scale))
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
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

// nota is the Chilean 1.0–7.0 grade of a percentage with an exigency.
func nota(p, exigencia float64) (float64, error) {
	const slack = 1e-9
	if p < -slack || p > 100+slack {
		return 0, fmt.Errorf("porcentaje de logro fuera de rango (0 a 100): %v", p)
	}
	x := min(max(p, 0), 100)
	if x < exigencia {
		return 1 + 3*x/exigencia, nil
	}
	return 4 + 3*(x-exigencia)/(100-exigencia), nil
}

// chileanScale reports a grade range of 1–7: its grades are Chilean
// grades already (notaFromGrade's rule).
func chileanScale(g grade) bool { return math.Abs(g.min-1) <= 0.001 && math.Abs(g.max-7) <= 0.001 }

// logroFromGrade is a grade as SENCE's achievement percentage: on a 1–7
// scale the one the exigency gives that grade, on any other its position
// in the range; ok is false when there is no grade or the range is empty.
func logroFromGrade(g grade, exigencia float64) (float64, bool, error) {
	if !g.final.Valid || g.max <= g.min {
		return 0, false, nil
	}
	v := g.final.Float64
	if !chileanScale(g) {
		return (v - g.min) * 100 / (g.max - g.min), true, nil
	}
	if v < 1-1e-9 || v > 7+1e-9 {
		return 0, false, fmt.Errorf("nota %v fuera de 1 a 7", v)
	}
	x := min(max(v, 1), 7)
	if x < 4 {
		return (x - 1) * exigencia / 3, true, nil
	}
	return exigencia + (x-4)*(100-exigencia)/3, true, nil
}

// notaFromGrade is a grade as a Chilean grade for the pass rules: a 1–7
// grade itself, any other through its percentage; rounded to 6 decimals.
func notaFromGrade(g grade, exigencia float64) (float64, bool, error) {
	if !g.final.Valid || g.max <= g.min {
		return 0, false, nil
	}
	v := g.final.Float64
	if chileanScale(g) {
		if v < 1-1e-9 || v > 7+1e-9 {
			return 0, false, fmt.Errorf("nota %v fuera de 1 a 7", v)
		}
		return roundTo(min(max(v, 1), 7), 6), true, nil
	}
	n, err := nota((v-g.min)*100/(g.max-g.min), exigencia)
	if err != nil {
		return 0, false, err
	}
	return roundTo(n, 6), true, nil
}

// truncate trims and keeps at most n characters.
func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// extract is what the preset's extract() gives: the group named code of
// the first match, or its first group, or the whole match.
func extract(s string, re *regexp.Regexp) string {
	m := re.FindStringSubmatchIndex(s)
	if m == nil {
		return ""
	}
	g := fn.ExtractGroup(re)
	if m[2*g] < 0 {
		return ""
	}
	return s[m[2*g]:m[2*g+1]]
}

// parseRUT reads a RUT as the preset's rut() does.
func parseRUT(s string) (rut.RUT, error) {
	if strings.TrimSpace(s) == "" {
		return rut.RUT{}, errors.New("RUT vacío")
	}
	return rut.Parse(s)
}

// liveSeconds is data.duration of a BigBlueButton Summary's meta, 0 when
// absent or when meta is not JSON; decimals are dropped, as toInt drops
// them.
func liveSeconds(meta string) (int64, error) {
	var doc any
	if meta == "" || json.Unmarshal([]byte(meta), &doc) != nil {
		return 0, nil
	}
	for _, part := range []string{"data", "duration"} {
		m, ok := doc.(map[string]any)
		if !ok {
			return 0, nil
		}
		doc = m[part]
	}
	switch d := doc.(type) {
	case nil:
		return 0, nil
	case float64:
		if math.Abs(d) >= 1<<63 {
			return 0, fmt.Errorf("duración %v demasiado grande", d)
		}
		return int64(d), nil
	case string:
		t := strings.TrimSpace(d)
		if i, err := strconv.ParseInt(t, 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(t, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("duración %q no es un número", d)
		}
		return int64(f), nil
	}
	return 0, fmt.Errorf("duración %v no es un número", doc)
}
