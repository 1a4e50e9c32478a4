package voice

import (
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

func TestStudent(t *testing.T) {
	for _, tc := range []struct{ name, rut, raw, id, want string }{
		{"Ana Pérez", "12345678-5", "", "6", "Ana Pérez (RUT 12.345.678-5, Moodle id 6)"},
		{"Ana Pérez", "12345678-5", "", "", "Ana Pérez (RUT 12.345.678-5)"},
		{"Rosa Pinto", "1234567-4", "", "7", "Rosa Pinto (RUT 1.234.567-4, Moodle id 7)"},
		{"Gonzalo Lagos", "14001222-K", "", "8", "Gonzalo Lagos (RUT 14.001.222-K, Moodle id 8)"},
		{"Luis Silva", "", "11111111-2", "10", `Luis Silva (RUT inválido "11111111-2", Moodle id 10)`},
		{"Luis Silva", "11111111-2", "", "10", `Luis Silva (RUT inválido "11111111-2", Moodle id 10)`},
		{"Juan Pérez", "", "", "9", "Juan Pérez (sin RUT válido, Moodle id 9)"},
		{"", "12345678-5", "", "", "alumno (RUT 12.345.678-5)"},
	} {
		if got := Student(tc.name, tc.rut, tc.raw, tc.id); got != tc.want {
			t.Errorf("Student(%q, %q, %q, %q) = %q, want %q", tc.name, tc.rut, tc.raw, tc.id, got, tc.want)
		}
	}
}

func TestPath(t *testing.T) {
	mod := func(s, m int) string {
		if s == 3 && m == 0 {
			return "C51737-O14-M1"
		}
		return ""
	}
	for _, tc := range []struct{ path, want string }{
		{"", "el envío"},
		{"fechaFin", "la fecha de término"},
		{"codigoOferta", "el código del curso"},
		{"listaAlumnos[3]", "el alumno"},
		{"listaAlumnos[3].fechaFin", "la fecha de término del alumno"},
		{"listaAlumnos[3].listaModulos[0].fechaFin", "la fecha de término del módulo C51737-O14-M1"},
		{"listaAlumnos[1].listaModulos[2].porcentajeAvance", "el porcentaje de avance del módulo 3 de la lista"},
		{"listaAlumnos[3].listaModulos[0]", "el módulo C51737-O14-M1"},
		{"listaAlumnos[3].listaModulos[0].listaActividades[1]", "la actividad 2 del módulo C51737-O14-M1"},
		{"miVariable", "«miVariable»"},
	} {
		if got := Path(tc.path, mod); got != tc.want {
			t.Errorf("Path(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

// TestEveryFieldHasWords: a SENCE field added to payload.Keys gets its
// plain Spanish name here.
func TestEveryFieldHasWords(t *testing.T) {
	for _, level := range payload.Keys {
		for _, k := range level {
			if !HasField(k.Name) {
				t.Errorf("%s has no words in fieldWords", k.Name)
			}
		}
	}
}

func TestCoded(t *testing.T) {
	for _, tc := range []struct{ code, text, want string }{
		{"012", "[012] El alumno no existe", "[012] El alumno no existe"},
		{"012", "el alumno no existe", "[012] el alumno no existe"},
		{"", "sin cambios", "sin cambios"},
	} {
		if got := Coded(tc.code, tc.text); got != tc.want {
			t.Errorf("Coded(%q, %q) = %q, want %q", tc.code, tc.text, got, tc.want)
		}
	}
}

func TestReasons(t *testing.T) {
	if got := Reasons([]string{"a", " b ", "a", ""}); got != "a; b" {
		t.Errorf("Reasons = %q", got)
	}
}

func TestClock(t *testing.T) {
	for _, tc := range []struct {
		t          time.Time
		want, json string
	}{
		// November: daylight saving time, UTC-3.
		{time.Date(2026, 11, 21, 1, 5, 0, 0, time.UTC), "2026-11-20 22:05 (hora de Chile, UTC-3)", "2026-11-20T22:05:00-03:00"},
		// June: standard time, UTC-4.
		{time.Date(2026, 6, 10, 2, 0, 0, 0, time.UTC), "2026-06-09 22:00 (hora de Chile, UTC-4)", "2026-06-09T22:00:00-04:00"},
	} {
		if got := Clock(tc.t); got != tc.want {
			t.Errorf("Clock(%v) = %q, want %q", tc.t, got, tc.want)
		}
		if got := RFC3339(tc.t); got != tc.json {
			t.Errorf("RFC3339(%v) = %q, want %q", tc.t, got, tc.json)
		}
	}
}

func TestRemaining(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{10 * time.Second, "menos de 1 min"},
		{70 * time.Second, "~1 min"},
		{100 * time.Second, "~2 min"},
		{59 * time.Minute, "~59 min"},
		{2 * time.Hour, "~2 h"},
		{125 * time.Minute, "~2 h 5 min"},
	} {
		if got := Remaining(tc.d); got != tc.want {
			t.Errorf("Remaining(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// TestCourse: a send is named by its course code, and its section only
// when the section is not the course itself.
func TestCourse(t *testing.T) {
	for _, tc := range []struct{ oferta, grupo, course, codes string }{
		{"CAP-1", "", "CAP-1", "codigoOferta «CAP-1»"},
		{"CAP-1", "CAP-1", "CAP-1", "codigoOferta «CAP-1»"},
		{"CAP-1", "G2", "CAP-1 grupo G2", "codigoOferta «CAP-1» y codigoGrupo «G2»"},
	} {
		if got := Course(tc.oferta, tc.grupo); got != tc.course {
			t.Errorf("Course(%q, %q) = %q, want %q", tc.oferta, tc.grupo, got, tc.course)
		}
		if got := Codes(tc.oferta, tc.grupo); got != tc.codes {
			t.Errorf("Codes(%q, %q) = %q, want %q", tc.oferta, tc.grupo, got, tc.codes)
		}
	}
}
