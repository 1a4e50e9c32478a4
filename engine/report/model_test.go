package report

import (
	"slices"
	"testing"

	"github.com/otec-tools/sence-engine/engine/nightly"
	"github.com/otec-tools/sence-engine/engine/sence"
)

func TestReasonsOf(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"sin RUT: el campo está vacío; registre el RUT", []string{"sin RUT: el campo está vacío; registre el RUT"}},
		{"fechaFin: sin fecha de término; configure la fecha; fechaInicio: sin fecha de inicio; configure",
			[]string{"fechaFin: sin fecha de término; configure la fecha", "fechaInicio: sin fecha de inicio; configure"}},
	} {
		var got []string
		for _, p := range reasonsOf(tc.in) {
			got = append(got, p.Said)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("reasonsOf(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestProblemOf(t *testing.T) {
	info, _ := sence.Lookup("012")
	p := problemOf("012", sence.Explain("012", "El alumno 20111222-2 no se encuentra registrado"))
	if p.Said != "El alumno 20111222-2 no se encuentra registrado" || p.Meaning != info.Meaning || p.Action != info.Action {
		t.Errorf("problemOf 012: %+v", p)
	}
	// A code outside the catalogue keeps the whole text.
	if p := problemOf("999", "algo raro"); p.Said != "algo raro" || p.Meaning != "" {
		t.Errorf("problemOf 999: %+v", p)
	}
}

func TestSentence(t *testing.T) {
	st := func(status string, n int) []*Student {
		var out []*Student
		for range n {
			out = append(out, &Student{Outcome: status})
		}
		return out
	}
	for _, tc := range []struct {
		students []*Student
		outcome  string
		want     string
	}{
		{st(nightly.StudentAccepted, 1), nightly.OutcomeOK, "1 aceptado de 1 alumno en 1 curso; no hay nada que corregir."},
		{append(st(nightly.StudentAccepted, 3), st(nightly.StudentRejected, 1)...), nightly.OutcomeProblems,
			"3 aceptados y 1 rechazado de 4 alumnos en 1 curso; 1 alumno tiene algo que corregir en Moodle (vea «Qué hacer» en la tabla)."},
		{append(st(nightly.StudentNotSent, 2), st(nightly.StudentExcluded, 2)...), nightly.OutcomeFailed,
			"0 aceptados, 2 excluidos y 2 sin terminar de 4 alumnos en 1 curso; quedó trabajo sin terminar: la próxima ejecución lo completa sin duplicar envíos."},
	} {
		m := &Model{Outcome: tc.outcome, Courses: []*Course{{Code: "C", Students: tc.students}}}
		m.count()
		if got := m.sentence("aceptado", "aceptados"); got != tc.want {
			t.Errorf("sentence:\n got  %s\n want %s", got, tc.want)
		}
	}
}

func TestDuration(t *testing.T) {
	for s, want := range map[int64]string{0: "0 min", 59: "0 min", 600: "10 min", 3600: "1 h", 4340: "1 h 12 min"} {
		if got := Duration(s); got != want {
			t.Errorf("Duration(%d) = %q, want %q", s, got, want)
		}
	}
}
