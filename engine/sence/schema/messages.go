package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xeipuuv/gojsonschema"

	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/rut"
)

// expect says, per SENCE field, what a valid value is; messages read
// "<field> debe ser <expect>; se obtuvo <value>".
var expect = map[string]string{
	"rutOtec":                  "el RUT del OTEC como texto, sin puntos, con guion y dígito verificador (por ejemplo «76543210-3»)",
	"idSistema":                "1350",
	"token":                    "el token de SENCE como texto: un UUID en mayúsculas",
	"codigoOferta":             "un texto con el código del curso de SIC",
	"codigoGrupo":              "un texto con el código de la sección de SIC",
	"codigoEnvio":              "un texto",
	"codigoModulo":             "un texto con el código del módulo de SIC",
	"codigoActividad":          "un texto de hasta 50 caracteres",
	"cantActividadSincronica":  "un entero mayor o igual a 0",
	"cantActividadAsincronica": "un entero mayor o igual a 0",
	"tiempoConectividad":       "un entero de segundos mayor o igual a 0",
	"estado":                   "1 (cursando), 2 (aprobado) o 3 (reprobado)",
	"porcentajeAvance":         "un entero entre 0 y 100",
	"evaluacionFinal":          "un número entre 0 y 100 (la nota como porcentaje)",
	"notaModulo":               "un número entre 0 y 100 (la nota como porcentaje)",
	"rutAlumno":                "el número del RUT sin dígito verificador (un entero entre 1 y 999999999)",
	"dvAlumno":                 "un texto con el dígito verificador: un número de 0 a 9 o K",
	"fechaInicio":              "una fecha AAAA-MM-DD entre comillas",
	"fechaFin":                 "una fecha AAAA-MM-DD entre comillas",
	"fechaEjecucion":           "una fecha AAAA-MM-DD entre comillas",
	"listaAlumnos":             "una lista de alumnos",
	"listaModulos":             "una lista de módulos",
	"listaActividades":         "una lista de actividades",
}

// about says what a required field holds, for "falta …" messages.
var about = map[string]string{
	"rutOtec":            "RUT del OTEC sin puntos, con guion y dígito verificador",
	"idSistema":          "siempre 1350",
	"token":              "token generado en el administrador de tokens de SENCE",
	"codigoOferta":       "código del curso en SIC",
	"codigoGrupo":        "código de la sección en SIC",
	"listaAlumnos":       "los alumnos del curso",
	"rutAlumno":          "número del RUT sin dígito verificador",
	"dvAlumno":           "dígito verificador del RUT",
	"tiempoConectividad": "tiempo de conexión en segundos",
	"estado":             "1 cursando, 2 aprobado, 3 reprobado",
	"porcentajeAvance":   "porcentaje de actividades obligatorias completadas, entero de 0 a 100",
	"fechaInicio":        "fecha de inicio, AAAA-MM-DD",
	"fechaFin":           "fecha de fin, AAAA-MM-DD",
	"fechaEjecucion":     "fecha a la que corresponde el avance, AAAA-MM-DD",
	"listaModulos":       "los módulos del alumno",
	"codigoModulo":       "código del módulo en SIC",
	"listaActividades":   "las actividades del módulo",
	"codigoActividad":    "código o nombre de la actividad",
}

// emptyList explains why a list must not be empty, in terms of what the
// mapping found (or did not find) in the LMS.
var emptyList = map[string]string{
	"listaAlumnos":     "listaAlumnos no puede estar vacía: el curso no tiene alumnos que informar",
	"listaModulos":     "listaModulos no puede estar vacía: el alumno no tiene módulos con actividades obligatorias",
	"listaActividades": "listaActividades no puede estar vacía: el módulo no tiene actividades obligatorias",
}

// itemOf names the object each list holds.
var itemOf = map[string]string{
	"listaAlumnos":     "un objeto con los datos de un alumno",
	"listaModulos":     "un objeto con los datos de un módulo",
	"listaActividades": "un objeto con el codigoActividad de una actividad",
}

var dates = map[string]bool{"fechaInicio": true, "fechaFin": true, "fechaEjecucion": true}

// translate turns a gojsonschema error into a Problem a course coordinator
// understands.
func (v *Validator) translate(e gojsonschema.ResultError, root any) Problem {
	segs := contextSegs(e.Context())
	base := joinPath(segs)
	switch e.(type) {
	case *gojsonschema.RequiredError:
		k := detail(e, "property")
		msg := "falta el campo obligatorio " + k
		if a := about[k]; a != "" {
			msg += " (" + a + ")"
		}
		return Problem{Path: joinKey(base, k), Msg: msg}
	case *gojsonschema.AdditionalPropertyNotAllowedError:
		k := detail(e, "property")
		obj, _ := lookup(root, segs).(map[string]any)
		return Problem{Path: joinKey(base, k), Value: scalar(e.Value()), Msg: v.unknownKeyMsg(k, levelOf(segs), obj)}
	}
	return valueProblem(segs, base, e.Value(), isMinItems(e), isPattern(e), e.Description())
}

// valueProblem words a value at segs (base is their path) that breaks a
// keyword of the schema: minItems and pattern say which, where it changes
// the message; desc is the keyword's own description, for fields without
// a message of their own. The native validator uses it too, so both say
// the same.
func valueProblem(segs []string, base string, val any, minItems, pattern bool, desc string) Problem {
	p := Problem{Path: base, Value: scalar(val)}
	name, isItem := fieldOf(segs)
	if name == "token" {
		p.Value = nil // a secret, even when malformed
	}
	s, isString := val.(string)
	switch {
	case name == "":
		p.Msg = "el documento debe ser un objeto JSON con los datos de un curso; se obtuvo " + describe(val)
	case isItem:
		p.Msg = fmt.Sprintf("%s debe ser %s; se obtuvo %s", base, itemOf[name], describe(val))
	case emptyList[name] != "" && (val == nil || minItems):
		p.Msg = emptyList[name]
	case dates[name] && isString:
		p.Msg = dateMsg(name, s)
	case name == "token" && isString:
		p.Msg = tokenMsg(s)
	case name == "rutOtec" && isString && rutOtecMsg(s) != "":
		p.Msg = rutOtecMsg(s)
	case isString && pattern && strings.HasPrefix(name, "codigo"):
		if s == "" {
			p.Msg = name + " no puede estar vacío"
		} else {
			p.Msg = fmt.Sprintf("%s «%s» tiene espacios o saltos de línea al inicio o al final; SIC no reconocerá el código", name, s)
		}
	case name == "codigoActividad" && isString:
		if n := utf8.RuneCountInString(s); n > 50 {
			p.Msg = fmt.Sprintf("codigoActividad «%s» tiene %d caracteres y SENCE admite hasta 50: use truncate(nombre, 50) en el mapeo", s, n)
		} else {
			p.Msg = "codigoActividad no puede estar vacío"
		}
	case expect[name] != "":
		p.Msg = fmt.Sprintf("%s debe ser %s; se obtuvo %s", name, expect[name], describe(val))
	default:
		// Not reached with the embedded schema; keep the library's words.
		p.Msg = fmt.Sprintf("%s no cumple el esquema de SENCE: %s", cmpOr(base, "el documento"), desc)
	}
	return p
}

func isMinItems(e gojsonschema.ResultError) bool {
	_, ok := e.(*gojsonschema.ArrayMinItemsError)
	return ok
}

func isPattern(e gojsonschema.ResultError) bool {
	_, ok := e.(*gojsonschema.DoesNotMatchPatternError)
	return ok
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// unknownKeyMsg explains a key SENCE does not accept at a level, naming the
// key it probably meant.
func (v *Validator) unknownKeyMsg(k string, level int, obj map[string]any) string {
	if level >= levels {
		level = levels - 1
	}
	s := diag.Suggest(k, v.keys[level])
	if s == "" {
		return fmt.Sprintf("clave desconocida «%s»: SENCE no la acepta; quítela del envío", k)
	}
	if _, taken := obj[s]; taken {
		return fmt.Sprintf("clave desconocida «%s»: SENCE no la acepta (¿una copia mal escrita de «%s», que ya está?); quítela del envío", k, s)
	}
	return renameMsg(k, s)
}

func renameMsg(k, s string) string {
	msg := fmt.Sprintf("clave «%s» mal escrita: SENCE espera «%s»", k, s)
	if strings.EqualFold(k, s) {
		msg += " (distingue mayúsculas de minúsculas)"
	}
	return msg
}

// rename is a key fixKeys renamed, as paths before and after.
type rename struct{ from, to string }

// fixKeys renames misspelt keys (one clear suggestion, the right key absent)
// to SENCE's names, level by level, so that the schema then checks what they
// hold. Each rename is reported; the renames are returned top-down so that
// paths taken before them can be rewritten (see renamePath).
func (v *Validator) fixKeys(root any) ([]Problem, []rename) {
	var out []Problem
	var renames []rename
	var walk func(obj map[string]any, level int, path string)
	walk = func(obj map[string]any, level int, path string) {
		var unknown []string
		for k := range obj {
			if _, ok := slices.BinarySearch(v.keys[level], k); !ok {
				unknown = append(unknown, k)
			}
		}
		slices.Sort(unknown)
		for _, k := range unknown {
			s := diag.Suggest(k, v.keys[level])
			if _, taken := obj[s]; s == "" || taken {
				continue
			}
			out = append(out, Problem{Path: joinKey(path, k), Value: scalar(obj[k]), Msg: renameMsg(k, s)})
			renames = append(renames, rename{joinKey(path, k), joinKey(path, s)})
			obj[s] = obj[k]
			delete(obj, k)
		}
		if level+1 >= levels {
			return
		}
		lk := listKey[level]
		list, _ := obj[lk].([]any)
		for i, item := range list {
			if m, ok := item.(map[string]any); ok {
				walk(m, level+1, joinKey(path, lk)+"["+strconv.Itoa(i)+"]")
			}
		}
	}
	if m, ok := root.(map[string]any); ok {
		walk(m, 0, "")
	}
	return out, renames
}

// renamePath rewrites a path of the document as read into SENCE's names
// for every renamed key above its last segment: the last segment stays as
// written, since that is what the message about it names.
func renamePath(p string, renames []rename) string {
	for _, r := range renames {
		if rest, ok := strings.CutPrefix(p, r.from); ok && rest != "" && (rest[0] == '.' || rest[0] == '[') {
			p = r.to + rest
		}
	}
	return p
}

var uuidUpper = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`)

// tokenMsg explains a malformed token without repeating it: it is a secret.
func tokenMsg(tok string) string {
	switch {
	case strings.TrimSpace(tok) == "":
		return "falta el token de SENCE (se genera en el administrador de tokens de SENCE)"
	case uuidUpper.MatchString(strings.ToUpper(tok)):
		return "el token está en minúsculas; SENCE solo acepta el token en mayúsculas"
	case uuidUpper.MatchString(strings.ToUpper(strings.TrimSpace(tok))):
		return "el token tiene espacios al inicio o al final; SENCE no lo aceptará"
	default:
		return "el token no tiene el formato de SENCE: un UUID en mayúsculas (XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX)"
	}
}

var rutOtecRe = regexp.MustCompile(`^\d{1,9}-[0-9K]$`)

// rutOtecMsg explains a wrong rutOtec, or returns "" when it is right.
func rutOtecMsg(s string) string {
	if strings.TrimSpace(s) == "" {
		return "falta rutOtec (" + about["rutOtec"] + ")"
	}
	r, err := rut.Parse(s)
	if re := (*rut.Error)(nil); errors.As(err, &re) {
		return fmt.Sprintf("rutOtec «%s» no es un RUT válido: %s", s, re.Reason)
	} else if err != nil {
		return fmt.Sprintf("rutOtec «%s» no es un RUT válido", s)
	}
	if !rutOtecRe.MatchString(s) {
		return fmt.Sprintf("rutOtec «%s» debe escribirse sin puntos, con guion y dígito verificador en mayúscula: «%s»", s, r)
	}
	return ""
}

// dateMsg is the message for a date that is not a real YYYY-MM-DD date.
func dateMsg(name, s string) string {
	if s == "" {
		return fmt.Sprintf("falta %s (%s)", name, about[name])
	}
	return fmt.Sprintf("%s «%s» no es una fecha válida (AAAA-MM-DD)", name, s)
}

// describe words a JSON value for "se obtuvo …".
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null (vacío)"
	case string:
		return "el texto «" + clip(x) + "»"
	case json.Number:
		return x.String()
	case bool:
		return "el valor lógico " + strconv.FormatBool(x)
	case map[string]any:
		return "un objeto"
	case []any:
		return "una lista"
	}
	return fmt.Sprint(v)
}

// clip shortens long texts quoted in messages.
func clip(s string) string {
	const n = 60
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// scalar keeps a value for Problem.Value: numbers as int64 or float64,
// strings and booleans as they are, objects and lists dropped.
func scalar(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	case string, bool:
		return x
	}
	return nil
}

func detail(e gojsonschema.ResultError, key string) string {
	s, _ := e.Details()[key].(string)
	return s
}

// contextSegs splits a gojsonschema context ("(root).listaAlumnos.3") into
// its segments without the root.
func contextSegs(c *gojsonschema.JsonContext) []string {
	if c == nil {
		return nil
	}
	segs := strings.Split(c.String("\x00"), "\x00")
	return segs[1:]
}

// joinPath writes segments as listaAlumnos[3].listaModulos[0].fechaFin.
func joinPath(segs []string) string {
	var b strings.Builder
	for _, s := range segs {
		if isIndex(s) {
			b.WriteString("[" + s + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

func joinKey(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// levelOf is the level (0 course … 3 activity) of the object at segs.
func levelOf(segs []string) int {
	n := 0
	for _, s := range segs {
		if isIndex(s) {
			n++
		}
	}
	return n
}

// fieldOf returns the SENCE field a path ends in; isItem is true when the
// path ends in a list index (the item itself is wrong).
func fieldOf(segs []string) (name string, isItem bool) {
	if len(segs) == 0 {
		return "", false
	}
	last := segs[len(segs)-1]
	if isIndex(last) && len(segs) > 1 {
		return segs[len(segs)-2], true
	}
	return last, false
}

// lookup walks a decoded document along path segments.
func lookup(root any, segs []string) any {
	cur := root
	for _, s := range segs {
		switch x := cur.(type) {
		case map[string]any:
			cur = x[s]
		case []any:
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			cur = x[i]
		default:
			return nil
		}
	}
	return cur
}
