package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/otec-tools/sence-engine/engine/rut"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

func ptr[T any](v T) *T { return &v }

// makeCourse builds a valid course of n students, each with mods modules
// of acts activities, as the engine would.
func makeCourse(n, mods, acts int) *payload.Course {
	c := &payload.Course{
		RutOtec: "76543210-3", IDSistema: payload.IDSistema, Token: "0E3D8AF8-AAAA-4C15-0000-1E6E418A457E",
		CodigoOferta: "CAP-26-01-13-0001-1", CodigoGrupo: "CAP-26-01-13-0001-1",
		CantActividadSincronica: ptr(mods), CantActividadAsincronica: ptr(mods * (acts - 1)),
	}
	for i := range n {
		num := int64(10_000_000 + i*7919)
		a := payload.Alumno{
			RutAlumno: num, DvAlumno: rut.CheckDigit(num), TiempoConectividad: 72000, Estado: payload.EstadoCursando,
			PorcentajeAvance: 80, FechaInicio: "2026-03-02", FechaFin: "2026-06-30", FechaEjecucion: "2026-04-15",
			EvaluacionFinal: ptr(68.5),
		}
		for j := range mods {
			m := payload.Modulo{
				CodigoModulo: fmt.Sprintf("CAP-M%d", j+1), TiempoConectividad: 14400, Estado: payload.EstadoCursando,
				PorcentajeAvance: 70, FechaInicio: "2026-03-02", FechaFin: "2026-04-10", NotaModulo: ptr(72.0),
				CantActividadSincronica: ptr(1), CantActividadAsincronica: ptr(acts - 1),
			}
			for k := range acts {
				m.ListaActividades = append(m.ListaActividades, payload.Actividad{CodigoActividad: fmt.Sprintf("Actividad Formativa %d - Módulo %d", k+1, j+1)})
			}
			a.ListaModulos = append(a.ListaModulos, m)
		}
		c.ListaAlumnos = append(c.ListaAlumnos, a)
	}
	return c
}

func TestCheckValidCourse(t *testing.T) {
	v := validator(t)
	c := makeCourse(3, 2, 3)
	probs, err := v.Check(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		t.Errorf("unexpected problem: %s", p)
	}
	// The older field set (SENCE's integration test) is valid as well.
	c.CantActividadSincronica, c.CantActividadAsincronica = nil, nil
	for i := range c.ListaAlumnos {
		c.ListaAlumnos[i].EvaluacionFinal = nil
		for j := range c.ListaAlumnos[i].ListaModulos {
			m := &c.ListaAlumnos[i].ListaModulos[j]
			m.NotaModulo, m.CantActividadSincronica, m.CantActividadAsincronica = nil, nil, nil
		}
	}
	if probs, _ := v.Check(c); len(probs) != 0 {
		t.Errorf("older field set rejected: %v", probs)
	}
	c.Token = payload.RedactedToken
	if probs, _ := v.Check(c); len(probs) != 0 {
		t.Errorf("export placeholder token rejected: %v", probs)
	}
}

func TestCheckCourse(t *testing.T) {
	v := validator(t)
	c := makeCourse(3, 2, 2)
	c.IDSistema = 0
	c.Token = "0e3d8af8-aaaa-4c15-0000-1e6e418a457e"
	c.RutOtec = "76543210-4"
	s0, s2 := &c.ListaAlumnos[0], &c.ListaAlumnos[2]
	s0.PorcentajeAvance = 101
	s0.DvAlumno = "k"
	s0.FechaEjecucion = "2026-02-01"
	s0.ListaModulos[1].FechaFin = "2026-02-30"
	s0.ListaModulos[0].NotaModulo = ptr(math.NaN())
	s2.ListaModulos = nil
	s2.EvaluacionFinal = ptr(math.Inf(1))
	want := []want{
		{-1, "idSistema", "idSistema debe ser 1350; se obtuvo 0"},
		{-1, "rutOtec", "rutOtec «76543210-4» no es un RUT válido: el dígito verificador no corresponde (para 76543210 debería ser 3)"},
		{-1, "token", "el token está en minúsculas"},
		{0, "listaAlumnos[0].dvAlumno", "el RUT 10000000-K no es válido: para 10000000 el dígito verificador es 8"},
		{0, "listaAlumnos[0].fechaEjecucion", "fechaEjecucion «2026-02-01» es anterior a fechaInicio «2026-03-02»: el alumno aún no empieza"},
		{0, "listaAlumnos[0].listaModulos[0].notaModulo", "notaModulo no es un número (NaN): revise el cálculo del mapeo"},
		{0, "listaAlumnos[0].listaModulos[1].fechaFin", "fechaFin «2026-02-30» no es una fecha válida (AAAA-MM-DD)"},
		{0, "listaAlumnos[0].porcentajeAvance", "porcentajeAvance debe ser un entero entre 0 y 100; se obtuvo 101"},
		{2, "listaAlumnos[2].evaluacionFinal", "evaluacionFinal no es un número (+Inf)"},
		{2, "listaAlumnos[2].listaModulos", "listaModulos no puede estar vacía: el alumno no tiene módulos con actividades obligatorias"},
	}
	probs, err := v.Check(c)
	if err != nil {
		t.Fatal(err)
	}
	checkWant(t, probs, want)
	if probs[3].RUT != "10000000-K" || probs[0].RUT != "" {
		t.Errorf("RUTs: %q %q", probs[3].RUT, probs[0].RUT)
	}
	for _, p := range probs {
		if p.Path == "token" && p.Value != nil {
			t.Error("the token leaked into a problem")
		}
		if strings.Contains(p.Msg, "0e3d8af8") {
			t.Error("the token leaked into a message")
		}
	}
	// The course was not modified to hide the NaN from encoding/json.
	if !math.IsNaN(*s0.ListaModulos[0].NotaModulo) {
		t.Error("Check modified the course")
	}
}

// TestRulesAlone covers the rules without the schema, on the typed course.
func TestRulesAlone(t *testing.T) {
	v := validator(t)
	c := makeCourse(2, 1, 1)
	c.RutOtec = "76.543.210-3"
	c.Token = ""
	a := &c.ListaAlumnos[1]
	a.RutAlumno, a.DvAlumno = 17118181, "k"
	a.FechaFin = "2026-02-01"
	a.ListaModulos[0].FechaInicio = "2026-4-1"
	want := []want{
		{-1, "rutOtec", "«76543210-3»"},
		{-1, "token", "falta el token de SENCE"},
		{1, "listaAlumnos[1].fechaFin", "fechaFin «2026-02-01» es anterior a fechaInicio «2026-03-02»"},
		{1, "listaAlumnos[1].listaModulos[0].fechaInicio", "fechaInicio «2026-4-1» no es una fecha válida (AAAA-MM-DD)"},
	}
	probs := v.Rules(c)
	checkWant(t, probs, want)
	if probs[2].RUT != "17118181-K" {
		t.Errorf("RUT %q, want 17118181-K", probs[2].RUT)
	}
}

func TestProblemString(t *testing.T) {
	p := Problem{Student: 3, RUT: "12345678-5", Path: "listaAlumnos[3].fechaFin", Msg: "fechaFin «2026-13-01» no es una fecha válida (AAAA-MM-DD)"}
	if got, want := p.String(), "listaAlumnos[3].fechaFin (alumno 12345678-5): fechaFin «2026-13-01» no es una fecha válida (AAAA-MM-DD)"; got != want {
		t.Errorf("got %q", got)
	}
}

func TestPathKeySortsIndexesNaturally(t *testing.T) {
	if !(pathKey("listaAlumnos[2].x") < pathKey("listaAlumnos[10].x")) {
		t.Error("listaAlumnos[10] sorts before listaAlumnos[2]")
	}
}

// TestConcurrentUse runs one Validator from many goroutines (go test -race).
func TestConcurrentUse(t *testing.T) {
	v := validator(t)
	good := makeCourse(2, 2, 2)
	bad := makeCourse(2, 2, 2)
	bad.ListaAlumnos[1].PorcentajeAvance = 120
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 20 {
				c, n := good, 0
				if i%2 == 1 {
					c, n = bad, 1
				}
				probs, err := v.Check(c)
				if err != nil || len(probs) != n {
					t.Errorf("got %v, %v", probs, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzValidateJSON(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `null`, `{"listaAlumnos":[{"listaModulos":[{"listaActividades":[{}]}]}]}`,
		`{"ListaAlumnos":[{"dvaAlumno":5,"ListaModulos":[{"ListaActividades":[1]}]}]}`,
		`{"a":1,"a":2}`, `{"codigoOferta": "x",}`, `{"rutOtec":"1-9","token":"<TOKEN>"}`,
		`{"listaAlumnos":[{"rutAlumno":1e400,"dvAlumno":"k","fechaInicio":"2026-02-30"}]}`,
	} {
		f.Add([]byte(s))
	}
	v, err := New()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		probs, err := v.CheckJSON(doc)
		if err != nil && probs != nil {
			t.Fatal("problems and an error at once")
		}
		for _, p := range probs {
			if p.Msg == "" {
				t.Fatalf("problem without message at %q", p.Path)
			}
		}
	})
}

// BenchmarkValidateCourse measures Check on a course of 50 students × 5
// modules × 10 activities and reports the cost per student, the figure that
// decides whether validation matters next to a nightly send.
func BenchmarkValidateCourse(b *testing.B) {
	v := validator(b)
	c := makeCourse(50, 5, 10)
	run := func(b *testing.B, f func()) {
		b.ReportAllocs()
		for b.Loop() {
			f()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(c.ListaAlumnos)), "ns/student")
	}
	b.Run("check", func(b *testing.B) {
		run(b, func() {
			if probs, err := v.Check(c); err != nil || len(probs) != 0 {
				b.Fatal(probs, err)
			}
		})
	})
	b.Run("rules", func(b *testing.B) {
		run(b, func() { v.Rules(c) })
	})
	// The reference: gojsonschema over the encoded document, plus the rules.
	b.Run("reference", func(b *testing.B) {
		run(b, func() {
			if probs, err := v.CheckReference(c); err != nil || len(probs) != 0 {
				b.Fatal(probs, err)
			}
		})
	})
}

// TestTreeOfMatchesJSON keeps treeOf in step with the payload's JSON tags:
// Check must see exactly what SENCE would receive.
func TestTreeOfMatchesJSON(t *testing.T) {
	full := makeCourse(2, 2, 2)
	full.CodigoEnvio = "envio-1"
	full.ListaAlumnos[0].EvaluacionFinal = ptr(1e-7)
	full.ListaAlumnos[1].ListaModulos[0].NotaModulo = ptr(99.99)
	bare := makeCourse(1, 1, 1)
	bare.CantActividadSincronica = nil
	bare.ListaAlumnos[0].EvaluacionFinal = nil
	bare.ListaAlumnos[0].ListaModulos[0].ListaActividades = nil
	empty := &payload.Course{}
	for i, c := range []*payload.Course{full, bare, empty} {
		doc, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatal(err)
		}
		if got := any(treeOf(c)); !reflect.DeepEqual(numbersAsFloats(got), numbersAsFloats(want)) {
			t.Errorf("course %d:\n got  %v\n want %v", i, got, want)
		}
	}
}

// numbersAsFloats compares numbers by value: the two sides may spell them
// differently (1e-07 and 0.0000001).
func numbersAsFloats(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = numbersAsFloats(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = numbersAsFloats(e)
		}
		return out
	case json.Number:
		f, _ := x.Float64()
		return f
	}
	return v
}

func TestParseDate(t *testing.T) {
	for s, ok := range map[string]bool{
		"2026-04-05": true, "2024-02-29": true, "2026-02-29": false, "2026-13-01": false,
		"2026-4-05": false, "26-04-05": false, "2026/04/05": false, "2026-04-05 00:00:00": false,
		"": false, "2026-04-0x": false, "+026-04-05": false, "2026-04-00": false, "２026-04-05": false,
	} {
		if _, got := parseDate(s); got != ok {
			t.Errorf("parseDate(%q) = %v, want %v", s, got, ok)
		}
	}
}
