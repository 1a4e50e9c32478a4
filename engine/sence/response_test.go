package sence_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

func readTestdata(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// student builds a sent student with one progress value per module.
func student(num int64, dv string, modules ...int) payload.Alumno {
	a := payload.Alumno{RutAlumno: num, DvAlumno: dv, Estado: 1, FechaInicio: "2024-03-01", FechaFin: "2024-06-30", FechaEjecucion: "2024-05-10"}
	for i, p := range modules {
		a.ListaModulos = append(a.ListaModulos, payload.Modulo{CodigoModulo: "MOD-" + string(rune('1'+i)), Estado: 1, PorcentajeAvance: p,
			FechaInicio: "2024-03-01", FechaFin: "2024-05-10", ListaActividades: []payload.Actividad{{CodigoActividad: "Foro"}}})
	}
	return a
}

func course(students ...payload.Alumno) *payload.Course {
	return &payload.Course{CodigoOferta: "CUR-1", CodigoGrupo: "CUR-1", ListaAlumnos: students}
}

type want struct {
	outcome sence.Outcome
	code    string // matched catalogue code
}

func TestParseSendResponseShapes(t *testing.T) {
	cases := []struct {
		file      string
		id        string
		stored    int
		codes     []string // SENCE's codes, in order
		auth      bool
		sent      *payload.Course
		outcomes  map[string]want // with sent (or from the echo when sent is nil)
		firstDate string          // first stored student's fechaInicio, normalised
	}{
		{file: "accepted_2021.json", id: "25", stored: 1, outcomes: map[string]want{"15943354-4": {sence.Accepted, ""}}, firstDate: "2021-04-01"},
		{file: "accepted_string_numbers.json", id: "25", stored: 1, firstDate: "2021-04-01",
			sent:     course(student(15943354, "4", 10), student(12345678, "5", 20)),
			outcomes: map[string]want{"15943354-4": {sence.Accepted, ""}, "12345678-5": {sence.Accepted, ""}}},
		{file: "rejected_012.json", id: "31", codes: []string{"012"},
			outcomes: map[string]want{"11111111-5": {sence.Rejected, "012"}}},
		{file: "rejected_012_string_rut.json", id: "31", codes: []string{"012"},
			sent:     course(student(11111111, "5", 50), student(12345678, "5", 20)),
			outcomes: map[string]want{"11111111-5": {sence.Rejected, "012"}, "12345678-5": {sence.Accepted, ""}}},
		{file: "partial.json", id: "40", stored: 1, codes: []string{"010"},
			sent:     course(student(12345678, "5", 50), student(17118181, "k", 10)),
			outcomes: map[string]want{"12345678-5": {sence.Accepted, ""}, "17118181-K": {sence.Rejected, "010"}}},
		{file: "partial.json", id: "40", stored: 1, codes: []string{"010"},
			outcomes: map[string]want{"12345678-5": {sence.Accepted, ""}, "17118181-K": {sence.Rejected, "010"}}},
		// The echo says 40 for the first student; the sent value decides.
		{file: "rejected_025.json", id: "41", codes: []string{"025", "025"},
			sent:     course(student(12345678, "5", 40), student(17118181, "K", 30)),
			outcomes: map[string]want{"12345678-5": {sence.Unchanged, "025"}, "17118181-K": {sence.Rejected, "025"}}},
		{file: "rejected_025.json", id: "41", codes: []string{"025", "025"},
			sent:     course(student(12345678, "5", 39), student(17118181, "K", 45)),
			outcomes: map[string]want{"12345678-5": {sence.Rejected, "025"}, "17118181-K": {sence.Unchanged, "025"}}},
		{file: "rejected_025.json", id: "41", codes: []string{"025", "025"},
			outcomes: map[string]want{"12345678-5": {sence.Unchanged, "025"}, "17118181-K": {sence.Rejected, "025"}}},
		{file: "auth_001_datosError.json", codes: []string{"001"}, auth: true,
			sent: course(student(12345678, "5", 40)), outcomes: map[string]want{"12345678-5": {sence.Rejected, "001"}}},
		{file: "auth_001_errores.json", codes: []string{"001"}, auth: true,
			sent: course(student(12345678, "5", 40)), outcomes: map[string]want{"12345678-5": {sence.Rejected, "001"}}},
		{file: "auth_token_invalido.json", codes: []string{""}, auth: true,
			sent: course(student(12345678, "5", 40)), outcomes: map[string]want{"12345678-5": {sence.Rejected, "001"}}},
		{file: "service_002.json", codes: []string{"002"},
			sent: course(student(12345678, "5", 40)), outcomes: map[string]want{"12345678-5": {sence.Rejected, "002"}}},
		{file: "course_003.json", id: "52", codes: []string{"003"},
			sent:     course(student(12345678, "5", 40), student(17118181, "K", 30)),
			outcomes: map[string]want{"12345678-5": {sence.Rejected, "003"}, "17118181-K": {sence.Rejected, "003"}}},
		{file: "course_032_per_student.json", id: "53", codes: []string{"032", "032"},
			sent:     course(student(12345678, "5", 40), student(17118181, "K", 30), student(9445435, "2", 0)),
			outcomes: map[string]want{"12345678-5": {sence.Rejected, "032"}, "17118181-K": {sence.Rejected, "032"}, "9445435-2": {sence.Rejected, "032"}}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			body := readTestdata(t, "send/"+c.file)
			r, err := sence.ParseSendResponse(body)
			if err != nil {
				t.Fatalf("ParseSendResponse: %v", err)
			}
			if !bytes.Equal(r.Raw, body) {
				t.Error("Raw is not the body as received")
			}
			if r.IDProceso != c.id {
				t.Errorf("IDProceso = %q, want %q", r.IDProceso, c.id)
			}
			if len(r.Stored) != c.stored {
				t.Errorf("Stored = %d students, want %d", len(r.Stored), c.stored)
			}
			var codes []string
			for _, e := range r.Errors {
				codes = append(codes, e.Code)
			}
			if !slices.Equal(codes, c.codes) {
				t.Errorf("error codes = %q, want %q", codes, c.codes)
			}
			if r.AuthFailed() != c.auth {
				t.Errorf("AuthFailed = %v, want %v", r.AuthFailed(), c.auth)
			}
			if c.firstDate != "" && r.Stored[0].FechaInicio != c.firstDate {
				t.Errorf("FechaInicio = %q, want %q", r.Stored[0].FechaInicio, c.firstDate)
			}
			got := r.Outcomes(c.sent)
			if len(got) != len(c.outcomes) {
				t.Errorf("Outcomes has %d students, want %d: %+v", len(got), len(c.outcomes), got)
			}
			for key, w := range c.outcomes {
				g, ok := got[key]
				if !ok {
					t.Errorf("no outcome for %s", key)
					continue
				}
				if g.Outcome != w.outcome || g.Info.Code != w.code || g.RUT != key {
					t.Errorf("%s = %v %s (%q); want %v %s", key, g.Outcome, g.Info.Code, g.Message, w.outcome, w.code)
				}
				if g.Outcome != sence.Accepted && g.Explain() == "" {
					t.Errorf("%s: no explanation for %v", key, g.Outcome)
				}
			}
		})
	}
}

func TestUnchangedCarriesPrevious(t *testing.T) {
	r, err := sence.ParseSendResponse(readTestdata(t, "send/rejected_025.json"))
	if err != nil {
		t.Fatal(err)
	}
	got := r.Outcomes(course(student(12345678, "5", 40), student(17118181, "K", 30)))
	u := got["12345678-5"]
	if u.Previous == nil || *u.Previous != 40 {
		t.Fatalf("Previous = %v, want 40", u.Previous)
	}
	if !bytes.Contains([]byte(u.Explain()), []byte("sin cambios")) {
		t.Errorf("Explain = %q", u.Explain())
	}
	rj := got["17118181-K"]
	if rj.Previous == nil || *rj.Previous != 45 {
		t.Errorf("rejected 025 Previous = %v, want 45", rj.Previous)
	}
	// With several modules, one equal to SENCE's value is enough.
	got = r.Outcomes(course(student(12345678, "5", 60, 40)))
	if got["12345678-5"].Outcome != sence.Unchanged {
		t.Errorf("two modules, one equal: %v", got["12345678-5"].Outcome)
	}
}

func TestParseSendResponseMalformed(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "send", "malformed_*"))
	if len(files) < 5 {
		t.Fatalf("only %d malformed samples", len(files))
	}
	for _, f := range files {
		body := readTestdata(t, filepath.Join("send", filepath.Base(f)))
		r, err := sence.ParseSendResponse(body)
		if r != nil || !errors.Is(err, sence.ErrMalformed) {
			t.Errorf("%s: got %v, %v; want ErrMalformed", f, r, err)
			continue
		}
		var e *sence.Error
		if !errors.As(err, &e) || !bytes.Equal(e.Body, body) {
			t.Errorf("%s: the error does not keep the raw body", f)
		}
		if errors.Is(err, sence.ErrAuth) || errors.Is(err, sence.ErrUnknownOutcome) {
			t.Errorf("%s: malformed error has another class too: %v", f, err)
		}
	}
}

func TestMalformedMessageIsTruncated(t *testing.T) {
	body := bytes.Repeat([]byte("á"), 10000)
	_, err := sence.ParseSendResponse(body)
	if err == nil {
		t.Fatal("no error")
	}
	if n := len(err.Error()); n > 4096 {
		t.Errorf("message is %d bytes; want it truncated to a few KB", n)
	}
	var e *sence.Error
	if errors.As(err, &e) && len(e.Body) != len(body) {
		t.Errorf("Body kept %d bytes, want all %d", len(e.Body), len(body))
	}
}

func TestParseHistory(t *testing.T) {
	procs, err := sence.ParseHistory(readTestdata(t, "history/documented.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(procs) != 1 || len(procs[0].Registros) != 3 {
		t.Fatalf("got %d processes; want 1 with 3 records", len(procs))
	}
	p := procs[0]
	if p.IDProceso != "30" || p.ID() != 30 || p.CodigoExterno != "qa-f-2" || p.Horario != "" || p.RutOtec != "77124930" {
		t.Errorf("process = %+v", p)
	}
	if got := p.RutOtecKey(); got != "77124930-2" {
		t.Errorf("RutOtecKey = %q", got)
	}
	r := p.Registros[0]
	if r.StudentRUT() != "9562011-6" || r.OK() || r.PorcentajeAvance != "10.00000" {
		t.Errorf("record 44 = %+v", r)
	}
	code, msg := r.Problem()
	if code != "010" || msg != "modulo.porcentajeAvance debe ser mayor al anterior (20.00000)" {
		t.Errorf("Problem = %q, %q", code, msg)
	}
	if info, ok := sence.Match(code, msg); !ok || info.Code != "025" {
		t.Errorf("the [010] regression is classified as %s", info.Code)
	}
	if !p.Registros[1].OK() || p.Registros[1].StudentRUT() != "15294646-5" {
		t.Errorf("record 45 = %+v", p.Registros[1])
	}
	if v, ok := p.Registros[2].ModProgress(); !ok || v != 58 {
		t.Errorf("record 46 ModProgress = %v, %v", v, ok)
	}

	procs, err = sence.ParseHistory(readTestdata(t, "history/numbers.json"))
	if err != nil {
		t.Fatal(err)
	}
	r = procs[0].Registros[0]
	if procs[0].IDProceso != "31" || r.StudentRUT() != "17118181-K" || r.PorcentajeAvance != "12.5" ||
		!r.OK() || r.ObsRegistro != "" || r.ModObligatorio != "true" || r.IDRegistro != "47" {
		t.Errorf("numbers: %+v / %+v", procs[0], r)
	}

	procs, err = sence.ParseHistory(readTestdata(t, "history/empty.json"))
	if err != nil || len(procs) != 0 {
		t.Errorf("empty: %v, %v", procs, err)
	}
}

func TestParseHistoryErrors(t *testing.T) {
	cases := []struct {
		file  string
		class error
	}{
		{"auth_token_invalido.json", sence.ErrAuth},
		{"service_error.json", sence.ErrService},
		{"malformed_html.txt", sence.ErrMalformed},
		{"malformed_nested_object.json", sence.ErrMalformed},
		{"malformed_unknown_object.json", sence.ErrMalformed},
	}
	for _, c := range cases {
		body := readTestdata(t, "history/"+c.file)
		procs, err := sence.ParseHistory(body)
		if procs != nil || !errors.Is(err, c.class) {
			t.Errorf("%s: %v, %v; want %v", c.file, procs, err, c.class)
			continue
		}
		var e *sence.Error
		if !errors.As(err, &e) || !bytes.Equal(e.Body, body) {
			t.Errorf("%s: error does not keep the body", c.file)
		}
	}
}

func TestDatePart(t *testing.T) {
	cases := map[string]string{
		"2021-04-01 00:00:00": "2021-04-01",
		"2021-04-01T10:00:00": "2021-04-01",
		"2021-04-01":          "2021-04-01",
		" 2021-04-01 ":        "2021-04-01",
		"2021-04-0 00:00:00":  "2021-04-0 00:00:00", // SENCE's own typo stays visible
		"":                    "",
	}
	for in, want := range cases {
		if got := sence.DatePart(in); got != want {
			t.Errorf("DatePart(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseSendResponse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "send", "*"))
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Add([]byte(`{"error":"Token invalido"}`))
	f.Add([]byte(`{"error":{"mensaje":"x"}}`))
	f.Add([]byte(`{"datosError":[{"alumno":{"rutAlumno":"1.234.567-4","listaModulos":[{"porcentajeAvance":"4,5"}]},"codigo":7,"mensaje":null}]}`))
	sent := course(student(12345678, "5", 40), student(17118181, "K", 30))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := sence.ParseSendResponse(body)
		if err != nil {
			if r != nil {
				t.Fatal("both a response and an error")
			}
			if !errors.Is(err, sence.ErrMalformed) {
				t.Fatalf("error is not ErrMalformed: %v", err)
			}
			_ = err.Error()
			return
		}
		if !bytes.Equal(r.Raw, body) {
			t.Fatal("Raw differs from the body")
		}
		for _, outcomes := range []map[string]sence.StudentResult{r.Outcomes(nil), r.Outcomes(sent)} {
			for k, s := range outcomes {
				if k == "" || k != s.RUT || s.Outcome < sence.Accepted || s.Outcome > sence.Unchanged {
					t.Fatalf("bad outcome %q: %+v", k, s)
				}
				_ = s.Explain()
			}
		}
		if len(r.Outcomes(sent)) < len(sent.ListaAlumnos) {
			t.Fatal("a sent student has no outcome")
		}
	})
}

func FuzzParseHistory(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "history", "*"))
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Add([]byte(`{"id_proceso_externo":1,"listaregistros":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		procs, err := sence.ParseHistory(body)
		if err != nil {
			if procs != nil {
				t.Fatal("both processes and an error")
			}
			if !errors.Is(err, sence.ErrMalformed) && !errors.Is(err, sence.ErrAuth) && !errors.Is(err, sence.ErrService) {
				t.Fatalf("unexpected class: %v", err)
			}
			_ = err.Error()
			return
		}
		for _, p := range procs {
			_, _ = p.ID(), p.RutOtecKey()
			for _, r := range p.Registros {
				code, msg := r.Problem()
				_, _ = sence.Match(code, msg)
				_, _ = r.StudentRUT(), r.OK()
			}
		}
	})
}
