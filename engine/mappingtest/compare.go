package mappingtest

import (
	"encoding/json"
	"fmt"
	"github.com/otec-tools/sence-engine/engine/voice"
	"strconv"
	"strings"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/mapping"
)

// Failure is an expectation that did not hold, at the place in the test
// file that states it. Msg is for a person.
type Failure struct {
	Pos mapping.Pos
	Msg string
}

func (f Failure) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", f.Pos.File, f.Pos.Line, f.Pos.Col, f.Msg)
}

// Built is what a test's build gave: every course built, in order, and
// the courses the selection left out that the mapping reports.
type Built struct {
	Courses    []*assemble.CourseResult
	Unselected []assemble.UnselectedCourse
}

// Compare checks a test's expectations against what its build gave and
// returns every expectation that did not hold, in the order written.
func Compare(t Test, b Built) []Failure {
	var out []Failure
	for _, c := range t.Courses {
		out = append(out, compareCourse(c, b)...)
	}
	return out
}

type obj = map[string]any

func compareCourse(c CourseExpect, b Built) []Failure {
	var fs []Failure
	fail := func(p mapping.Pos, format string, args ...any) {
		fs = append(fs, Failure{Pos: p, Msg: fmt.Sprintf(format, args...)})
	}
	name := "curso " + c.Code
	var rs []*assemble.CourseResult
	for _, r := range b.Courses {
		if r.CodigoOferta == c.Code && (c.Group == "" || r.CodigoGrupo == c.Group) {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		why := "la selección de cursos no lo incluye"
		for _, u := range b.Unselected {
			if u.Shortname == c.Code {
				why = u.Reason
			}
		}
		var built []string
		for _, r := range b.Courses {
			built = append(built, voice.Course(r.CodigoOferta, r.CodigoGrupo))
		}
		fail(c.Pos, "curso %s: no se construyó (%s); cursos construidos: %s", voice.Course(c.Code, c.Group), why, listOr(built, "ninguno"))
		return fs
	}
	if c.Group == "" && len(rs) > 1 && (len(c.Fields) > 0 || c.Error != nil) {
		var gs []string
		for _, r := range rs {
			gs = append(gs, r.CodigoGrupo)
		}
		fail(c.Pos, "%s: se envía en %d grupos (%s): indique «group» para comparar sus campos", name, len(rs), strings.Join(gs, ", "))
		return fs
	}
	r := rs[0]
	if c.Error != nil {
		switch {
		case r.Err == nil:
			fail(c.Error.Pos, "%s: esperado que no se construya (%s), pero se construyó", name, quote(c.Error.Text))
		case !c.Error.Matches(r.Err.Error()):
			fail(c.Error.Pos, "%s: error: esperado %s, obtenido %s", name, quote(c.Error.Text), quote(r.Err.Error()))
		}
		return fs
	}
	for _, r := range rs {
		if r.Err != nil {
			fail(c.Pos, "curso %s: no se construyó: %v", voice.Course(r.CodigoOferta, r.CodigoGrupo), r.Err)
			return fs
		}
	}
	var courseObj obj
	if r.Payload != nil {
		courseObj = toObj(r.Payload)
	}
	for _, f := range c.Fields {
		if courseObj == nil {
			fail(f.Pos, "campo %s: esperado %s, pero el curso no tiene envío (ningún alumno se envía)", f.Name, show(f.Value))
			continue
		}
		compareField(f, courseObj, name, fail)
	}
	for _, s := range c.Students {
		compareStudent(s, rs, name, fail)
	}
	for _, x := range c.Excluded {
		compareExcluded(x, rs, name, fail)
	}
	for _, m := range c.ModulesOut {
		compareModuleOut(m, rs, name, fail)
	}
	for _, w := range c.Warnings {
		var got []string
		found := false
		for _, r := range rs {
			for _, n := range r.Notes {
				if n.Warning {
					txt := strings.TrimSpace(n.Who + ": " + n.Msg)
					got = append(got, quote(txt))
					found = found || w.Matches(txt)
				}
			}
		}
		if !found {
			fail(w.Pos, "%s: aviso: esperado %s, obtenido %s", name, quote(w.Text), listOr(got, "ningún aviso"))
		}
	}
	return fs
}

func compareStudent(s StudentExpect, rs []*assemble.CourseResult, course string, fail func(mapping.Pos, string, ...any)) {
	who := "alumno " + cmpOr(s.RUT, "id "+s.UserID)
	for _, r := range rs {
		for i, sent := range r.Sent {
			if !sameStudent(s.RUT, s.UserID, sent) || r.Payload == nil || i >= len(r.Payload.ListaAlumnos) {
				continue
			}
			st := toObj(r.Payload.ListaAlumnos[i])
			for _, f := range s.Fields {
				compareField(f, st, course+", "+who, fail)
			}
			mods, _ := st["listaModulos"].([]any)
			for _, m := range s.Modules {
				compareModule(m, mods, r, course+", "+who, fail)
			}
			return
		}
	}
	if why := outReasons(rs, s.RUT, s.UserID); len(why) > 0 {
		fail(s.Pos, "%s: %s no se envía: %s", course, who, strings.Join(why, "; "))
		return
	}
	fail(s.Pos, "%s: %s no está en el curso (alumnos enviados: %s)", course, who, listOr(sentNames(rs), "ninguno"))
}

func compareModule(m ModuleExpect, mods []any, r *assemble.CourseResult, ctx string, fail func(mapping.Pos, string, ...any)) {
	var codes []string
	for _, x := range mods {
		mo, _ := x.(obj)
		code, _ := mo["codigoModulo"].(string)
		codes = append(codes, code)
		if code != m.Code {
			continue
		}
		where := ctx + ", módulo " + m.Code
		for _, f := range m.Fields {
			compareField(f, mo, where, fail)
		}
		acts, _ := mo["listaActividades"].([]any)
		for _, a := range m.Activities {
			var names []string
			found := false
			for _, y := range acts {
				ao, _ := y.(obj)
				code, _ := ao["codigoActividad"].(string)
				names = append(names, quote(code))
				if code == a.Code {
					found = true
					for _, f := range a.Fields {
						compareField(f, ao, where+", actividad "+quote(a.Code), fail)
					}
					break
				}
			}
			if !found {
				fail(a.Pos, "%s: la actividad %s no se envía (actividades enviadas: %s)", where, quote(a.Code), listOr(names, "ninguna"))
			}
		}
		return
	}
	msg := fmt.Sprintf("%s: el módulo %s no se envía (módulos enviados: %s)", ctx, m.Code, listOr(codes, "ninguno"))
	for _, n := range r.Notes {
		if n.Level == mapping.Module && !n.Warning && n.Who == "módulo "+m.Code {
			msg += "; " + n.Msg
		}
	}
	fail(m.Pos, "%s", msg)
}

func compareExcluded(x StudentOut, rs []*assemble.CourseResult, course string, fail func(mapping.Pos, string, ...any)) {
	who := "alumno " + cmpOr(x.RUT, "id "+x.UserID)
	for _, r := range rs {
		for _, s := range r.Sent {
			if sameStudent(x.RUT, x.UserID, s) {
				fail(x.Pos, "%s: esperado que %s no se envíe, pero se envía", course, who)
				return
			}
		}
	}
	why := outReasons(rs, x.RUT, x.UserID)
	if len(why) == 0 {
		fail(x.Pos, "%s: esperado que %s no se envíe, pero no está en el curso (¿está matriculado como estudiante?)", course, who)
		return
	}
	if x.Reason == nil {
		return
	}
	for _, w := range why {
		if x.Reason.Matches(w) {
			return
		}
	}
	fail(x.Reason.Pos, "%s, %s: motivo: esperado %s, obtenido %s", course, who, quote(x.Reason.Text), quoteList(why))
}

func compareModuleOut(m ModuleOut, rs []*assemble.CourseResult, course string, fail func(mapping.Pos, string, ...any)) {
	var got []string
	for _, r := range rs {
		for _, n := range r.Notes {
			if n.Level != mapping.Module || n.Warning {
				continue
			}
			if m.Code != "" && n.Who != "módulo "+m.Code {
				continue
			}
			if m.Reason == nil || m.Reason.Matches(n.Msg) {
				return
			}
			got = append(got, n.Msg)
		}
	}
	what := "un módulo"
	if m.Code != "" {
		what = "el módulo " + m.Code
	}
	if m.Reason == nil {
		fail(m.Pos, "%s: esperado que %s se deje fuera, pero se envía o no existe", course, what)
		return
	}
	fail(m.Reason.Pos, "%s: %s dejado fuera: motivo: esperado %s, obtenido %s", course, what, quote(m.Reason.Text), listOr(quoteAll(got), "ningún módulo dejado fuera con ese código"))
}

// outReasons are the reasons a student was not sent: excluded for an
// error, or left out by a rule.
func outReasons(rs []*assemble.CourseResult, rut, userid string) []string {
	var out []string
	for _, r := range rs {
		for _, e := range r.Excluded {
			if sameStudent(rut, userid, e) {
				out = append(out, e.Reasons...)
			}
		}
		for _, n := range r.Notes {
			if n.Level == mapping.Student && !n.Warning && (rut != "" && n.RUT == rut || userid != "" && n.UserID == userid) {
				out = append(out, n.Msg)
			}
		}
	}
	return out
}

func sameStudent(rut, userid string, e assemble.Exclusion) bool {
	return rut != "" && e.RUT == rut || userid != "" && e.UserID == userid
}

func sentNames(rs []*assemble.CourseResult) []string {
	var out []string
	for _, r := range rs {
		for _, s := range r.Sent {
			out = append(out, cmpOr(s.RUT, "id "+s.UserID))
		}
	}
	return out
}

func compareField(f Field, o obj, where string, fail func(mapping.Pos, string, ...any)) {
	got, ok := o[f.Name]
	if !ok {
		got = nil
	}
	if !equal(f.Value, got) {
		fail(f.Pos, "campo %s: esperado %s, obtenido %s (%s)", f.Name, show(f.Value), show(got), where)
	}
}

// equal compares a value written in YAML with one read from the JSON of
// a payload: numbers by value (4 and 4.0 are equal), texts exactly, null
// and a field not sent alike.
func equal(want, got any) bool {
	if wf, ok := number(want); ok {
		gf, ok := number(got)
		return ok && wf == gf
	}
	return want == got
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// show writes a value the way JSON does, texts in quotes.
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "nada (el campo no se envía)"
	case string:
		return strconv.Quote(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func toObj(v any) obj {
	b, err := json.Marshal(v)
	if err != nil {
		return obj{}
	}
	var o obj
	if json.Unmarshal(b, &o) != nil {
		return obj{}
	}
	return o
}

func quote(s string) string { return "«" + s + "»" }

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = quote(s)
	}
	return out
}

func quoteList(ss []string) string { return strings.Join(quoteAll(ss), "; ") }

func listOr(ss []string, none string) string {
	if len(ss) == 0 {
		return none
	}
	return strings.Join(ss, ", ")
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
