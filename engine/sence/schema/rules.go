package schema

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/rut"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// RuleList names, for a person, what Check verifies of a student: the
// schema and the Rules (engine explain lists them as passed or failed).
var RuleList = []string{
	"el esquema JSON de SENCE: cada campo presente, con su tipo, largo y rango",
	"el RUT del alumno con su dígito verificador (módulo 11)",
	"las fechas son días reales AAAA-MM-DD",
	"fechaFin no es anterior a fechaInicio (alumno y módulos)",
	"fechaEjecucion está entre fechaInicio y fechaFin",
	"las notas son números (no una división por cero)",
}

// Rules checks what the schema cannot say: RUT check digits (modulo 11),
// real calendar dates, fechaFin not before fechaInicio (student and module),
// fechaEjecucion inside the student's period, rutOtec a valid RUT and the
// token an upper-case UUID (the export placeholder payload.RedactedToken is
// accepted). Grades must also be finite numbers, which JSON cannot carry.
// Problems come sorted by student and path.
func (v *Validator) Rules(c *payload.Course) []Problem {
	f := courseFacts{rutOtec: &c.RutOtec, token: &c.Token, students: make([]*studentFacts, len(c.ListaAlumnos))}
	for i := range c.ListaAlumnos {
		a := &c.ListaAlumnos[i]
		s := &studentFacts{rut: &a.RutAlumno, dv: &a.DvAlumno, ini: &a.FechaInicio, fin: &a.FechaFin, eje: &a.FechaEjecucion, grade: a.EvaluacionFinal}
		for j := range a.ListaModulos {
			m := &a.ListaModulos[j]
			s.modules = append(s.modules, &moduleFacts{code: m.CodigoModulo, ini: &m.FechaInicio, fin: &m.FechaFin, grade: m.NotaModulo})
		}
		f.students[i] = s
	}
	return finish(f.check())
}

// The rules read "facts": the fields they need, each nil when absent or of
// the wrong JSON type (the schema reports those), so that one set of rules
// serves typed courses and documents read from files.
type courseFacts struct {
	rutOtec, token *string
	students       []*studentFacts // nil entries are not objects
}

type studentFacts struct {
	rut           *int64
	dv            *string
	ini, fin, eje *string
	grade         *float64
	modules       []*moduleFacts
}

type moduleFacts struct {
	code     string
	ini, fin *string
	grade    *float64
}

// factsOf reads the facts of a decoded document (after fixKeys).
func factsOf(root any) courseFacts {
	doc, _ := root.(map[string]any)
	f := courseFacts{rutOtec: str(doc, "rutOtec"), token: str(doc, "token")}
	list, _ := doc["listaAlumnos"].([]any)
	for _, item := range list {
		a, ok := item.(map[string]any)
		if !ok {
			f.students = append(f.students, nil)
			continue
		}
		s := &studentFacts{rut: integer(a, "rutAlumno"), dv: str(a, "dvAlumno"),
			ini: str(a, "fechaInicio"), fin: str(a, "fechaFin"), eje: str(a, "fechaEjecucion")}
		mods, _ := a["listaModulos"].([]any)
		for _, mi := range mods {
			m, _ := mi.(map[string]any)
			code, _ := m["codigoModulo"].(string)
			s.modules = append(s.modules, &moduleFacts{code: code, ini: str(m, "fechaInicio"), fin: str(m, "fechaFin")})
		}
		f.students = append(f.students, s)
	}
	return f
}

func str(m map[string]any, k string) *string {
	if s, ok := m[k].(string); ok {
		return &s
	}
	return nil
}

func integer(m map[string]any, k string) *int64 {
	if n, ok := m[k].(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return &i
		}
	}
	return nil
}

func (f courseFacts) check() []Problem {
	var out []Problem
	if f.rutOtec != nil {
		if msg := rutOtecMsg(*f.rutOtec); msg != "" {
			out = append(out, Problem{Student: -1, Path: "rutOtec", Value: *f.rutOtec, Msg: msg})
		}
	}
	if t := f.token; t != nil && *t != payload.RedactedToken && !uuidUpper.MatchString(*t) {
		out = append(out, Problem{Student: -1, Path: "token", Msg: tokenMsg(*t)})
	}
	for i, s := range f.students {
		if s != nil {
			out = s.check(out, i)
		}
	}
	return out
}

func (s *studentFacts) check(out []Problem, i int) []Problem {
	base := "listaAlumnos[" + strconv.Itoa(i) + "]."
	who := ""
	if s.rut != nil && *s.rut > 0 && s.dv != nil && len(*s.dv) == 1 {
		who = strconv.FormatInt(*s.rut, 10) + "-" + upperDV(*s.dv)
	}
	add := func(path string, value any, msg string) {
		out = append(out, Problem{Student: i, RUT: who, Path: base + path, Value: value, Msg: msg})
	}

	if s.rut != nil && s.dv != nil {
		n, dv := *s.rut, *s.dv
		switch {
		case n < 1 || n > 999999999:
			add("rutAlumno", n, fmt.Sprintf("rutAlumno debe ser %s; se obtuvo %d", expect["rutAlumno"], n))
		case len(dv) != 1 || !isDV(dv[0]):
			add("dvAlumno", dv, fmt.Sprintf("dvAlumno debe ser %s; se obtuvo «%s»", expect["dvAlumno"], dv))
		case !rut.Valid(n, dv):
			add("dvAlumno", dv, fmt.Sprintf("el RUT %s no es válido: para %d el dígito verificador es %s; revise rutAlumno y dvAlumno",
				who, n, rut.CheckDigit(n)))
		}
	}

	ini, okIni := checkDate(add, "fechaInicio", s.ini)
	fin, okFin := checkDate(add, "fechaFin", s.fin)
	eje, okEje := checkDate(add, "fechaEjecucion", s.eje)
	switch {
	case okIni && okFin && fin.Before(ini):
		add("fechaFin", *s.fin, fmt.Sprintf("fechaFin «%s» es anterior a fechaInicio «%s»", *s.fin, *s.ini))
	case okIni && okFin && okEje && eje.Before(ini):
		add("fechaEjecucion", *s.eje, fmt.Sprintf(
			"fechaEjecucion «%s» es anterior a fechaInicio «%s»: el alumno aún no empieza y no tiene avance que informar", *s.eje, *s.ini))
	case okIni && okFin && okEje && eje.After(fin):
		add("fechaEjecucion", *s.eje, fmt.Sprintf(
			"fechaEjecucion «%s» es posterior a fechaFin «%s»: debe ser la fecha del informe limitada a fechaFin (SENCE exige que esté entre fechaInicio y fechaFin)", *s.eje, *s.fin))
	}
	if g := s.grade; g != nil && !finite(*g) {
		add("evaluacionFinal", nil, nonFiniteMsg("evaluacionFinal", *g))
	}

	for j, m := range s.modules {
		madd := func(path string, value any, msg string) {
			add("listaModulos["+strconv.Itoa(j)+"]."+path, value, msg)
		}
		mIni, okIni := checkDate(madd, "fechaInicio", m.ini)
		mFin, okFin := checkDate(madd, "fechaFin", m.fin)
		if okIni && okFin && mFin.Before(mIni) {
			madd("fechaFin", *m.fin, fmt.Sprintf("fechaFin «%s» del módulo %s es anterior a su fechaInicio «%s»", *m.fin, m.code, *m.ini))
		}
		if g := m.grade; g != nil && !finite(*g) {
			madd("notaModulo", nil, nonFiniteMsg("notaModulo", *g))
		}
	}
	return out
}

// checkDate reports a date that is not a real YYYY-MM-DD day and returns it
// parsed; ok is false when it is absent or wrong.
func checkDate(add func(path string, value any, msg string), name string, s *string) (time.Time, bool) {
	if s == nil {
		return time.Time{}, false
	}
	t, ok := parseDate(*s)
	if !ok {
		add(name, *s, dateMsg(name, *s))
	}
	return t, ok
}

// parseDate accepts exactly YYYY-MM-DD naming a real calendar day.
func parseDate(s string) (time.Time, bool) { return chile.ParseDay(s) }

func isDV(c byte) bool { return c >= '0' && c <= '9' || c == 'K' || c == 'k' }

func upperDV(dv string) string {
	if dv == "k" {
		return "K"
	}
	return dv
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func nonFiniteMsg(name string, f float64) string {
	return fmt.Sprintf("%s no es un número (%v): revise el cálculo del mapeo, por ejemplo una división por cero", name, f)
}
