package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// native is sence-avance.schema.json compiled for the engine's typed
// payloads: it applies the schema's keywords to the fields of a
// payload.Course directly, without the JSON tree gojsonschema needs, which
// makes it two orders of magnitude faster. It is built from the schema file
// itself and refuses (New fails) any keyword or shape it does not
// implement, so it can never check less than the schema says; the
// differential tests and FuzzNativeMatchesReference hold it to
// gojsonschema's verdicts, paths and messages.
type native struct {
	fields [levels]map[string]*rule
	byID   [nFields]*rule
}

// field names a key of a level, so the walker reaches its rule without a
// map lookup.
type field int

const (
	fRutOtec field = iota
	fIDSistema
	fToken
	fCodigoOferta
	fCodigoGrupo
	fCodigoEnvio
	fCantSincronica
	fCantAsincronica
	fListaAlumnos
	fRutAlumno
	fDvAlumno
	fTiempoAlumno
	fEstadoAlumno
	fAvanceAlumno
	fInicioAlumno
	fFinAlumno
	fEjecucion
	fEvaluacionFinal
	fListaModulos
	fCodigoModulo
	fTiempoModulo
	fEstadoModulo
	fAvanceModulo
	fInicioModulo
	fFinModulo
	fNotaModulo
	fCantSincronicaModulo
	fCantAsincronicaModulo
	fListaActividades
	fCodigoActividad
	nFields
)

// fields are the level and key of each field, in the order of
// payload.Keys (the f… constants above follow it).
var fields = func() (out [nFields]struct {
	level int
	key   string
}) {
	i := 0
	for level, keys := range payload.Keys {
		for _, k := range keys {
			if i == int(nFields) {
				panic("schema: payload.Keys has more keys than the field constants")
			}
			out[i].level, out[i].key = level, k.Name
			i++
		}
	}
	if i != int(nFields) {
		panic("schema: payload.Keys has fewer keys than the field constants")
	}
	return out
}()

// rule is what the schema asks of one property.
type rule struct {
	types []string // "string", "integer", "number", "array", "null"
	// isString … isNull say which JSON types types accepts.
	isString, isInteger, isNumber, isArray, isNull bool
	enum                                           []string // allowed values as JSON texts
	minimum                                        *bound
	maximum                                        *bound
	minLen, maxLen                                 int // -1 when absent
	pattern                                        *regexp.Regexp
	// match is pattern.MatchString, or a hand-written equivalent for the
	// schema's most frequent patterns (see fastMatchers).
	match    func(string) bool
	minItems int // -1 when absent
}

// fastMatchers replace the regular expressions checked on every student
// and module; TestFastMatchers and FuzzFastMatchers hold each to its
// regexp. RE2's \d is [0-9], \S is [^\t\n\f\r ] and . is anything but \n.
var fastMatchers = map[string]func(string) bool{
	`^\d{4}-\d{2}-\d{2}$`: func(s string) bool {
		if len(s) != 10 || s[4] != '-' || s[7] != '-' {
			return false
		}
		for i := 0; i < 10; i++ {
			if i != 4 && i != 7 && (s[i] < '0' || s[i] > '9') {
				return false
			}
		}
		return true
	},
	`^[0-9Kk]$`: func(s string) bool {
		return len(s) == 1 && (s[0] >= '0' && s[0] <= '9' || s[0] == 'K' || s[0] == 'k')
	},
	`^\S(.*\S)?$`: func(s string) bool {
		n := len(s)
		return n > 0 && !isRE2Space(s[0]) && !isRE2Space(s[n-1]) && strings.IndexByte(s, '\n') < 0
	},
}

func isRE2Space(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// bound is a minimum or maximum, exactly representable as a float64 (New
// checks it), so that comparing float64 values with it decides as
// gojsonschema's exact rationals do.
type bound struct {
	f     float64
	i     int64
	isInt bool // the bound is an integer within int64
}

// The keys each level of a payload.Course carries in JSON: always, or only
// when set (see treeOf), from payload.Keys.
var alwaysKeys, optionalKeys = func() (always, optional [levels][]string) {
	for level, keys := range payload.Keys {
		optional[level] = []string{}
		for _, k := range keys {
			if k.Optional {
				optional[level] = append(optional[level], k.Name)
			} else {
				always[level] = append(always[level], k.Name)
			}
		}
	}
	return always, optional
}()

// Keywords the compiler understands; any other makes compileNative fail.
var (
	fieldKeywords  = []string{"title", "description", "$ref", "type", "enum", "minimum", "maximum", "minLength", "maxLength", "pattern", "minItems", "items"}
	objectKeywords = []string{"$schema", "$id", "title", "description", "type", "additionalProperties", "required", "properties", "definitions"}
)

// compileNative reads the schema into rules.
func compileNative(src []byte) (*native, error) {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, err
	}
	defs, _ := root["definitions"].(map[string]any)
	resolve := func(s map[string]any) (map[string]any, error) {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s, nil
		}
		// Draft 7 ignores the siblings of $ref, as gojsonschema does.
		name, ok := strings.CutPrefix(ref, "#/definitions/")
		target, _ := defs[name].(map[string]any)
		if !ok || target == nil {
			return nil, fmt.Errorf("$ref %q not supported", ref)
		}
		if _, nested := target["$ref"]; nested {
			return nil, fmt.Errorf("$ref %q points to another $ref", ref)
		}
		return target, nil
	}
	n := &native{}
	obj := root
	for level := range levels {
		for k := range obj {
			if !slices.Contains(objectKeywords, k) {
				return nil, fmt.Errorf("level %d: keyword %q not supported", level, k)
			}
		}
		if obj["type"] != "object" || obj["additionalProperties"] != false {
			return nil, fmt.Errorf("level %d: must be an object without additional properties", level)
		}
		props, _ := obj["properties"].(map[string]any)
		n.fields[level] = map[string]*rule{}
		for name, p := range props {
			ps, ok := p.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("property %s is not a schema", name)
			}
			target, err := resolve(ps)
			if err != nil {
				return nil, fmt.Errorf("property %s: %w", name, err)
			}
			r, err := compileRule(target)
			if err != nil {
				return nil, fmt.Errorf("property %s: %w", name, err)
			}
			n.fields[level][name] = r
		}
		// The typed payload must only carry allowed keys, and always the
		// required ones: otherwise every document would fail, and the
		// native checks would have to say so.
		for _, k := range append(slices.Clone(alwaysKeys[level]), optionalKeys[level]...) {
			if n.fields[level][k] == nil {
				return nil, fmt.Errorf("level %d: the payload carries %s, which the schema does not allow", level, k)
			}
		}
		req, _ := obj["required"].([]any)
		for _, k := range req {
			if !slices.Contains(alwaysKeys[level], k.(string)) {
				return nil, fmt.Errorf("level %d: %v is required but the payload may leave it out", level, k)
			}
		}
		if level+1 == levels {
			break
		}

		list, _ := props[listKey[level]].(map[string]any)
		items, _ := list["items"].(map[string]any)
		next, err := resolve(items)
		if next == nil || err != nil {
			return nil, fmt.Errorf("level %d: %s.items must reference the next level: %v", level, listKey[level], err)
		}
		obj = next
	}
	for id, f := range fields {
		n.byID[id] = n.fields[f.level][f.key]
		if n.byID[id] == nil {
			return nil, fmt.Errorf("level %d: no rule for %s", f.level, f.key)
		}
	}
	return n, nil
}

func compileRule(s map[string]any) (*rule, error) {
	r := &rule{minLen: -1, maxLen: -1, minItems: -1}
	for k, v := range s {
		if !slices.Contains(fieldKeywords, k) {
			return nil, fmt.Errorf("keyword %q not supported", k)
		}
		var err error
		switch k {
		case "type":
			switch t := v.(type) {
			case string:
				r.types = []string{t}
			case []any:
				for _, x := range t {
					r.types = append(r.types, fmt.Sprint(x))
				}
			}
		case "enum":
			list, _ := v.([]any)
			for _, x := range list {
				b, err := json.Marshal(x)
				if err != nil {
					return nil, err
				}
				r.enum = append(r.enum, string(b))
			}
		case "minimum":
			r.minimum, err = boundOf(v)
		case "maximum":
			r.maximum, err = boundOf(v)
		case "minLength":
			r.minLen, err = intOf(v)
		case "maxLength":
			r.maxLen, err = intOf(v)
		case "minItems":
			r.minItems, err = intOf(v)
		case "pattern":
			r.pattern, err = regexp.Compile(fmt.Sprint(v))
			if err == nil {
				r.match = r.pattern.MatchString
				if f, ok := fastMatchers[r.pattern.String()]; ok {
					r.match = f
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	if len(r.types) == 0 {
		return nil, fmt.Errorf("no type")
	}
	r.isString, r.isArray, r.isNull = slices.Contains(r.types, "string"), slices.Contains(r.types, "array"), slices.Contains(r.types, "null")
	r.isNumber = slices.Contains(r.types, "number")
	r.isInteger = r.isNumber || slices.Contains(r.types, "integer")
	return r, nil
}

func boundOf(v any) (*bound, error) {
	n, ok := v.(json.Number)
	if !ok {
		return nil, fmt.Errorf("%v is not a number", v)
	}
	exact, ok := new(big.Rat).SetString(string(n))
	if !ok {
		return nil, fmt.Errorf("%v is not a number", v)
	}
	f, isExact := exact.Float64()
	if !isExact {
		return nil, fmt.Errorf("%v is not exactly a float64", v)
	}
	b := &bound{f: f}
	if exact.IsInt() && exact.Num().IsInt64() {
		b.i, b.isInt = exact.Num().Int64(), true
	}
	return b, nil
}

func intOf(v any) (int, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%v is not an integer", v)
	}
	i, err := n.Int64()
	return int(i), err
}

// check walks a course and returns the schema's problems, located as
// locate would locate them.
func (n *native) check(c *payload.Course) []Problem {
	w := walker{n: n}
	w.str(fRutOtec, c.RutOtec)
	w.int(fIDSistema, int64(c.IDSistema))
	if c.Token != payload.RedactedToken { // an export with the token left out on purpose
		w.str(fToken, c.Token)
	}
	w.str(fCodigoOferta, c.CodigoOferta)
	w.str(fCodigoGrupo, c.CodigoGrupo)
	if c.CodigoEnvio != "" {
		w.str(fCodigoEnvio, c.CodigoEnvio)
	}
	w.optInt(fCantSincronica, c.CantActividadSincronica)
	w.optInt(fCantAsincronica, c.CantActividadAsincronica)
	if !w.list(fListaAlumnos, len(c.ListaAlumnos), c.ListaAlumnos == nil) {
		return w.out
	}
	for i := range c.ListaAlumnos {
		a := &c.ListaAlumnos[i]
		w.i, w.student = i, a
		w.int(fRutAlumno, a.RutAlumno)
		w.str(fDvAlumno, a.DvAlumno)
		w.int(fTiempoAlumno, a.TiempoConectividad)
		w.int(fEstadoAlumno, int64(a.Estado))
		w.int(fAvanceAlumno, int64(a.PorcentajeAvance))
		w.str(fInicioAlumno, a.FechaInicio)
		w.str(fFinAlumno, a.FechaFin)
		w.str(fEjecucion, a.FechaEjecucion)
		w.optFloat(fEvaluacionFinal, a.EvaluacionFinal)
		if !w.list(fListaModulos, len(a.ListaModulos), a.ListaModulos == nil) {
			continue
		}
		for j := range a.ListaModulos {
			m := &a.ListaModulos[j]
			w.j = j
			w.str(fCodigoModulo, m.CodigoModulo)
			w.int(fTiempoModulo, m.TiempoConectividad)
			w.int(fEstadoModulo, int64(m.Estado))
			w.int(fAvanceModulo, int64(m.PorcentajeAvance))
			w.str(fInicioModulo, m.FechaInicio)
			w.str(fFinModulo, m.FechaFin)
			w.optFloat(fNotaModulo, m.NotaModulo)
			w.optInt(fCantSincronicaModulo, m.CantActividadSincronica)
			w.optInt(fCantAsincronicaModulo, m.CantActividadAsincronica)
			if !w.list(fListaActividades, len(m.ListaActividades), m.ListaActividades == nil) {
				continue
			}
			for k := range m.ListaActividades {
				w.k = k
				w.str(fCodigoActividad, m.ListaActividades[k].CodigoActividad)
			}
		}
	}
	return w.out
}

// walker checks one course; i, j, k are the current student, module and
// activity.
type walker struct {
	n       *native
	out     []Problem
	i, j, k int
	student *payload.Alumno
}

// fail records a problem at field f, worded by valueProblem.
func (w *walker) fail(f field, val any, minItems, pattern bool, desc string) {
	level, key := fields[f].level, fields[f].key
	segs := make([]string, 0, 7)
	if level >= 1 {
		segs = append(segs, "listaAlumnos", strconv.Itoa(w.i))
	}
	if level >= 2 {
		segs = append(segs, "listaModulos", strconv.Itoa(w.j))
	}
	if level >= 3 {
		segs = append(segs, "listaActividades", strconv.Itoa(w.k))
	}
	segs = append(segs, key)
	p := valueProblem(segs, joinPath(segs), val, minItems, pattern, desc)
	p.Student = -1
	if level >= 1 {
		p.Student = w.i
		if a := w.student; a.RutAlumno > 0 && len(a.DvAlumno) == 1 {
			p.RUT = strconv.FormatInt(a.RutAlumno, 10) + "-" + strings.ToUpper(a.DvAlumno)
		}
	}
	w.out = append(w.out, p)
}

func (w *walker) str(f field, s string) {
	r := w.n.byID[f]
	switch {
	case !r.isString:
		w.fail(f, s, false, false, "tipo")
	case r.enum != nil && !slices.Contains(r.enum, jsonText(s)):
		w.fail(f, s, false, false, "enum")
	case r.minLen >= 0 && shorter(s, r.minLen):
		w.fail(f, s, false, false, "minLength")
	case r.maxLen >= 0 && longer(s, r.maxLen):
		w.fail(f, s, false, false, "maxLength")
	case r.match != nil && !r.match(s):
		w.fail(f, s, false, true, "pattern")
	}
}

// shorter and longer compare a length in characters, counting them only
// when the length in bytes (one to four per character) does not decide.
func shorter(s string, n int) bool {
	return len(s) < n || len(s) < 4*n && utf8.RuneCountInString(s) < n
}

func longer(s string, n int) bool {
	return len(s) > n && utf8.RuneCountInString(s) > n
}

func jsonText(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (w *walker) int(f field, v int64) {
	r := w.n.byID[f]
	switch {
	case !r.isInteger:
		w.fail(f, intNum(v), false, false, "tipo")
	case r.maximum != nil && cmpInt(v, r.maximum) > 0:
		w.fail(f, intNum(v), false, false, "maximum")
	case r.minimum != nil && cmpInt(v, r.minimum) < 0:
		w.fail(f, intNum(v), false, false, "minimum")
	case r.enum != nil && !slices.Contains(r.enum, strconv.FormatInt(v, 10)):
		w.fail(f, intNum(v), false, false, "enum")
	}
}

func cmpInt(v int64, b *bound) int {
	if b.isInt {
		return cmpOrdered(v, b.i)
	}
	return cmpOrdered(float64(v), b.f)
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (w *walker) optInt(f field, p *int) {
	if p != nil {
		w.int(f, int64(*p))
	}
}

// optFloat checks a number as JSON carries it: its shortest decimal text
// (treeOf's), an integer when that text is one. A NaN or infinite value is
// not in the JSON at all (Rules reports it).
func (w *walker) optFloat(f field, p *float64) {
	if p == nil || !finite(*p) {
		return
	}
	x := *p
	r := w.n.byID[f]
	isInt := x == math.Trunc(x)
	val := func() any { return json.Number(strconv.FormatFloat(x, 'g', -1, 64)) }
	switch {
	case !r.isNumber && !(isInt && r.isInteger):
		w.fail(f, val(), false, false, "tipo")
	case r.maximum != nil && x > r.maximum.f:
		w.fail(f, val(), false, false, "maximum")
	case r.minimum != nil && x < r.minimum.f:
		w.fail(f, val(), false, false, "minimum")
	case r.enum != nil && !slices.Contains(r.enum, string(val().(json.Number))):
		w.fail(f, val(), false, false, "enum")
	}
}

// list checks a list and reports whether its items are to be checked: a
// null list is a type error and has no items.
func (w *walker) list(f field, n int, isNil bool) bool {
	r := w.n.byID[f]
	if isNil {
		if !r.isNull {
			w.fail(f, nil, false, false, "tipo")
		}
		return false
	}
	if !r.isArray {
		w.fail(f, []any{}, false, false, "tipo")
		return false
	}
	if r.minItems >= 0 && n < r.minItems {
		w.fail(f, []any{}, true, false, "minItems")
	}
	return true
}
