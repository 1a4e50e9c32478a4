package schema

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/schemas"
)

// sameAsReference requires Check (native) and CheckReference
// (gojsonschema) to report exactly the same problems: same students,
// paths, values, RUTs and messages, hence the same verdict.
func sameAsReference(t testing.TB, v *Validator, c *payload.Course) {
	t.Helper()
	got, err := v.Check(c)
	if err != nil {
		t.Fatal(err)
	}
	want, err := v.CheckReference(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		doc, _ := json.Marshal(c)
		t.Fatalf("native and gojsonschema disagree on %.400s\nnative:\n%s\ngojsonschema:\n%s", doc, listProblems(got), listProblems(want))
	}
}

func listProblems(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "  %d %q %#v %q: %s\n", p.Student, p.Path, p.Value, p.RUT, p.Msg)
	}
	return b.String()
}

// TestNativeFieldByField breaks every field in every way the schema can
// notice and compares the two validators each time.
func TestNativeFieldByField(t *testing.T) {
	v := validator(t)
	strs := []string{"", " ", "x", " x", "x ", "a\nb", "a\tb", "\u00a0CAP-1", "CAP-1\u00a0", "k", "K", "0", "12", "-",
		"2026-02-30", "2026-2-1", "2026-04-15", "20260415", "２０２６-04-15", "0E3D8AF8-AAAA-4C15-0000-1E6E418A457E",
		"0e3d8af8-aaaa-4c15-0000-1e6e418a457e", payload.RedactedToken, "76543210-3", "76.543.210-3", "76543210-k",
		strings.Repeat("a", 50), strings.Repeat("ó", 50), strings.Repeat("ó", 51), strings.Repeat("x", 200)}
	ints := []int64{math.MinInt64, -1000000000, -1, 0, 1, 2, 3, 4, 99, 100, 101, 1349, 1350, 1351, 999999999, 1000000000, math.MaxInt64}
	floats := []float64{math.Inf(-1), -1, -1e-300, math.Copysign(0, -1), 0, 1e-7, 59.999, 99.99999999999999, 100, 100.00000000000001, 101, 1e21, math.NaN(), math.Inf(1)}
	type edit struct {
		name string
		set  func(c *payload.Course)
	}
	var edits []edit
	addStr := func(name string, f func(c *payload.Course, s string)) {
		for _, s := range strs {
			edits = append(edits, edit{fmt.Sprintf("%s=%q", name, s), func(c *payload.Course) { f(c, s) }})
		}
	}
	addInt := func(name string, f func(c *payload.Course, n int64)) {
		for _, n := range ints {
			edits = append(edits, edit{fmt.Sprintf("%s=%d", name, n), func(c *payload.Course) { f(c, n) }})
		}
	}
	addFloat := func(name string, f func(c *payload.Course, x *float64)) {
		edits = append(edits, edit{name + "=nil", func(c *payload.Course) { f(c, nil) }})
		for _, x := range floats {
			edits = append(edits, edit{fmt.Sprintf("%s=%v", name, x), func(c *payload.Course) { f(c, ptr(x)) }})
		}
	}
	st := func(c *payload.Course) *payload.Alumno { return &c.ListaAlumnos[1] }
	mod := func(c *payload.Course) *payload.Modulo { return &c.ListaAlumnos[1].ListaModulos[1] }
	addStr("rutOtec", func(c *payload.Course, s string) { c.RutOtec = s })
	addStr("token", func(c *payload.Course, s string) { c.Token = s })
	addStr("codigoOferta", func(c *payload.Course, s string) { c.CodigoOferta = s })
	addStr("codigoGrupo", func(c *payload.Course, s string) { c.CodigoGrupo = s })
	addStr("codigoEnvio", func(c *payload.Course, s string) { c.CodigoEnvio = s })
	addInt("idSistema", func(c *payload.Course, n int64) { c.IDSistema = int(n) })
	addInt("cantActividadSincronica", func(c *payload.Course, n int64) { c.CantActividadSincronica = ptr(int(n)) })
	addInt("rutAlumno", func(c *payload.Course, n int64) { st(c).RutAlumno = n })
	addStr("dvAlumno", func(c *payload.Course, s string) { st(c).DvAlumno = s })
	addInt("tiempoConectividad", func(c *payload.Course, n int64) { st(c).TiempoConectividad = n })
	addInt("estado", func(c *payload.Course, n int64) { st(c).Estado = int(n) })
	addInt("porcentajeAvance", func(c *payload.Course, n int64) { st(c).PorcentajeAvance = int(n) })
	addStr("fechaInicio", func(c *payload.Course, s string) { st(c).FechaInicio = s })
	addStr("fechaFin", func(c *payload.Course, s string) { st(c).FechaFin = s })
	addStr("fechaEjecucion", func(c *payload.Course, s string) { st(c).FechaEjecucion = s })
	addFloat("evaluacionFinal", func(c *payload.Course, x *float64) { st(c).EvaluacionFinal = x })
	addStr("codigoModulo", func(c *payload.Course, s string) { mod(c).CodigoModulo = s })
	addInt("modulo.tiempoConectividad", func(c *payload.Course, n int64) { mod(c).TiempoConectividad = n })
	addInt("modulo.estado", func(c *payload.Course, n int64) { mod(c).Estado = int(n) })
	addInt("modulo.porcentajeAvance", func(c *payload.Course, n int64) { mod(c).PorcentajeAvance = int(n) })
	addStr("modulo.fechaInicio", func(c *payload.Course, s string) { mod(c).FechaInicio = s })
	addStr("modulo.fechaFin", func(c *payload.Course, s string) { mod(c).FechaFin = s })
	addFloat("notaModulo", func(c *payload.Course, x *float64) { mod(c).NotaModulo = x })
	addInt("modulo.cantActividadAsincronica", func(c *payload.Course, n int64) { mod(c).CantActividadAsincronica = ptr(int(n)) })
	addStr("codigoActividad", func(c *payload.Course, s string) { mod(c).ListaActividades[0].CodigoActividad = s })
	edits = append(edits,
		edit{"listaAlumnos=nil", func(c *payload.Course) { c.ListaAlumnos = nil }},
		edit{"listaAlumnos=[]", func(c *payload.Course) { c.ListaAlumnos = []payload.Alumno{} }},
		edit{"listaModulos=nil", func(c *payload.Course) { st(c).ListaModulos = nil }},
		edit{"listaModulos=[]", func(c *payload.Course) { st(c).ListaModulos = []payload.Modulo{} }},
		edit{"listaActividades=nil", func(c *payload.Course) { mod(c).ListaActividades = nil }},
		edit{"listaActividades=[]", func(c *payload.Course) { mod(c).ListaActividades = []payload.Actividad{} }},
	)
	for _, e := range edits {
		c := makeCourse(3, 2, 2)
		e.set(c)
		t.Run(e.name, func(t *testing.T) { sameAsReference(t, v, c) })
	}
}

// randomCourse makes a course from a seed: mostly valid, with each field
// broken now and then, in every way TestNativeFieldByField knows and with
// text from the fuzzer.
func randomCourse(seed uint64, text string) *payload.Course {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pick := func(p float64) bool { return r.Float64() < p }
	str := func(valid string) string {
		if !pick(0.08) {
			return valid
		}
		switch r.IntN(6) {
		case 0:
			return text
		case 1:
			return ""
		case 2:
			return " " + valid
		case 3:
			return valid + "\n"
		case 4:
			if len(text) > 0 {
				return text[:r.IntN(len(text))]
			}
			return "k"
		}
		return strings.Repeat("ñ", r.IntN(60))
	}
	num := func(valid int64) int64 {
		if !pick(0.08) {
			return valid
		}
		return []int64{-1, 0, 1, 3, 4, 100, 101, 1350, 999999999, 1000000000, math.MaxInt64, math.MinInt64, r.Int64N(2000) - 1000}[r.IntN(13)]
	}
	flt := func() *float64 {
		switch {
		case pick(0.1):
			return nil
		case pick(0.1):
			return ptr([]float64{math.NaN(), math.Inf(1), -0.0001, 100.0000001, 1e21, -1e-320, 100}[r.IntN(7)])
		}
		return ptr(r.Float64() * 100)
	}
	optInt := func(valid int) *int {
		if pick(0.1) {
			return nil
		}
		n := int(num(int64(valid)))
		return &n
	}
	c := &payload.Course{
		RutOtec: str("76543210-3"), IDSistema: int(num(1350)), Token: str("0E3D8AF8-AAAA-4C15-0000-1E6E418A457E"),
		CodigoOferta: str("CAP-26-01-13-0001-1"), CodigoGrupo: str("CAP-26-01-13-0001-1"),
		CantActividadSincronica: optInt(2), CantActividadAsincronica: optInt(8),
	}
	if pick(0.1) {
		c.CodigoEnvio = str("envio-1")
	}
	if pick(0.05) {
		c.Token = payload.RedactedToken
	}
	n := r.IntN(4)
	if n > 0 || pick(0.5) {
		c.ListaAlumnos = make([]payload.Alumno, 0, n)
	}
	for range n {
		rutN := int64(1_000_000 + r.IntN(30_000_000))
		a := payload.Alumno{
			RutAlumno: num(rutN), DvAlumno: str(checkDigit(rutN)), TiempoConectividad: num(int64(r.IntN(100000))),
			Estado: int(num(int64(1 + r.IntN(3)))), PorcentajeAvance: int(num(int64(r.IntN(101)))),
			FechaInicio: str("2026-03-02"), FechaFin: str("2026-06-30"), FechaEjecucion: str("2026-04-15"),
			EvaluacionFinal: flt(),
		}
		nm := r.IntN(3)
		if nm > 0 || pick(0.5) {
			a.ListaModulos = make([]payload.Modulo, 0, nm)
		}
		for range nm {
			m := payload.Modulo{
				CodigoModulo: str("C61001-O101-M1"), TiempoConectividad: num(int64(r.IntN(10000))), Estado: int(num(1)),
				PorcentajeAvance: int(num(int64(r.IntN(101)))), FechaInicio: str("2026-03-05"), FechaFin: str("2026-04-01"),
				NotaModulo: flt(), CantActividadSincronica: optInt(1), CantActividadAsincronica: optInt(3),
			}
			na := r.IntN(3)
			if na > 0 || pick(0.5) {
				m.ListaActividades = make([]payload.Actividad, 0, na)
			}
			for range na {
				m.ListaActividades = append(m.ListaActividades, payload.Actividad{CodigoActividad: str("Actividad Formativa 1")})
			}
			a.ListaModulos = append(a.ListaModulos, m)
		}
		c.ListaAlumnos = append(c.ListaAlumnos, a)
	}
	return c
}

func checkDigit(n int64) string {
	sum, mul := int64(0), int64(2)
	for ; n > 0; n /= 10 {
		sum += (n % 10) * mul
		if mul++; mul > 7 {
			mul = 2
		}
	}
	switch d := 11 - sum%11; d {
	case 11:
		return "0"
	case 10:
		return "K"
	default:
		return fmt.Sprint(d)
	}
}

// TestNativeRandomCourses compares the validators on random courses.
func TestNativeRandomCourses(t *testing.T) {
	v := validator(t)
	n := 3000
	if testing.Short() {
		n = 300
	}
	invalid := 0
	for seed := range uint64(n) {
		c := randomCourse(seed, "x\u00a0y")
		sameAsReference(t, v, c)
		if ps, _ := v.Check(c); len(ps) > 0 {
			invalid++
		}
	}
	// Both verdicts must be exercised.
	if invalid == 0 || invalid == n {
		t.Errorf("%d of %d random courses invalid: the generator does not exercise both verdicts", invalid, n)
	}
}

// FuzzNativeMatchesReference: for any course the fuzzer makes, the native
// validator and gojsonschema accept and reject alike, with the same
// problems at the same paths.
func FuzzNativeMatchesReference(f *testing.F) {
	v := validator(f)
	f.Add(uint64(1), "")
	f.Add(uint64(7), "CAP-1 ")
	f.Add(uint64(42), "2026-02-29")
	f.Add(uint64(99), strings.Repeat("é", 51))
	f.Fuzz(func(t *testing.T, seed uint64, text string) {
		sameAsReference(t, v, randomCourse(seed, text))
	})
}

// TestNativeRefusesWhatItDoesNotImplement: a schema keyword or shape the
// native validator does not know makes New's compilation fail rather than
// check less than gojsonschema.
func TestNativeRefusesWhatItDoesNotImplement(t *testing.T) {
	src := string(schemas.SenceAvance())
	if _, err := compileNative([]byte(src)); err != nil {
		t.Fatalf("the embedded schema: %v", err)
	}
	for name, edit := range map[string][2]string{
		"format":             {`"pattern": "^\\d{4}-\\d{2}-\\d{2}$"`, `"format": "date"`},
		"multipleOf":         {`"minimum": 0,`, `"multipleOf": 5,`},
		"new required field": {`"required": ["codigoActividad"]`, `"required": ["codigoActividad", "tipo"]`},
		"additional allowed": {`"additionalProperties": false,
  "required"`, `"additionalProperties": true,
  "required"`},
		"inexact bound": {`"maximum": 999999999`, `"maximum": 0.1`},
	} {
		changed := strings.Replace(src, edit[0], edit[1], 1)
		if changed == src {
			t.Fatalf("%s: edit not applied", name)
		}
		if _, err := compileNative([]byte(changed)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// matcherCases are texts around the edges of the schema's patterns.
var matcherCases = []string{"", " ", "x", "xy", " x", "x ", "x\n", "\nx", "a\nb", "a\rb", "a b", "a\tb", "\u00a0", "a\u00a0",
	"\u2028x", "x\x85", "\xff", "a\xffb", "ñ", "K", "k", "0", "9", "Kk", "2026-04-15", "2026-4-15", "2026-04-1a",
	"２０２６-04-15", "2026/04/15", "12026-04-15", "2026-04-15\n", "0000-00-00", "C61001-O101-M1", "\f", "\v", "x\v"}

// TestFastMatchers holds each hand-written matcher to its regexp.
func TestFastMatchers(t *testing.T) {
	for pattern, match := range fastMatchers {
		re := regexp.MustCompile(pattern)
		for _, s := range matcherCases {
			if match(s) != re.MatchString(s) {
				t.Errorf("%s on %q: matcher %v, regexp %v", pattern, s, match(s), re.MatchString(s))
			}
		}
	}
	// Every pattern with a matcher is one the schema has.
	src := string(schemas.SenceAvance())
	for pattern := range fastMatchers {
		quoted, _ := json.Marshal(pattern)
		if !strings.Contains(src, string(quoted)) {
			t.Errorf("pattern %s is not in the schema", pattern)
		}
	}
}

func FuzzFastMatchers(f *testing.F) {
	for _, s := range matcherCases {
		f.Add(s)
	}
	res := map[string]*regexp.Regexp{}
	for pattern := range fastMatchers {
		res[pattern] = regexp.MustCompile(pattern)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for pattern, match := range fastMatchers {
			if match(s) != res[pattern].MatchString(s) {
				t.Errorf("%s on %q: matcher %v, regexp %v", pattern, s, match(s), res[pattern].MatchString(s))
			}
		}
	})
}
