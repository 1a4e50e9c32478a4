// Package voice is how every output a person reads names things: a
// student (name, RUT, Moodle id), a SENCE field in plain Spanish instead
// of its JSON path, a SENCE code once, a student's reasons on one line and
// a time in Chile's local time with its zone. export, run, status, send and
// the JSON reports all name a student through Student, so that a
// coordinator finds the same words everywhere.
package voice

import (
	"fmt"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/rut"
)

// Course names a send by its SENCE codes: «CAP-21-01-13-0000-1», or
// «CAP-21-01-13-0000-1 grupo G2» when it is one section of the course.
func Course(codigoOferta, codigoGrupo string) string {
	if g := payload.Section(codigoOferta, codigoGrupo); g != "" {
		return codigoOferta + " grupo " + g
	}
	return codigoOferta
}

// Codes are a send's SENCE codes by their field names: «codigoOferta
// «X»», and « y codigoGrupo «G»» when it is one section of the course.
func Codes(codigoOferta, codigoGrupo string) string {
	s := fmt.Sprintf("codigoOferta «%s»", codigoOferta)
	if g := payload.Section(codigoOferta, codigoGrupo); g != "" {
		s += fmt.Sprintf(" y codigoGrupo «%s»", g)
	}
	return s
}

// Student names a student: «Ana Pérez (RUT 12.345.678-5, Moodle id 6)».
// rutText is the RUT as the engine sends it ("12345678-5"), or empty;
// when it is empty, raw is what Moodle holds instead (an invalid RUT,
// shown as «RUT inválido "…"»), and with neither the student has no RUT.
// A missing name or Moodle id is left out.
func Student(name, rutText, raw, moodleID string) string {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "alumno"
	}
	parts := []string{RUT(rutText, raw)}
	if moodleID != "" {
		parts = append(parts, "Moodle id "+moodleID)
	}
	return name + " (" + strings.Join(parts, ", ") + ")"
}

// RUT is «RUT 12.345.678-5», «RUT inválido "x"» or «sin RUT válido».
func RUT(rutText, raw string) string {
	if rutText != "" {
		if r, err := rut.Parse(rutText); err == nil {
			return "RUT " + r.Dotted()
		}
		raw = rutText
	}
	if raw = strings.TrimSpace(raw); raw != "" {
		return fmt.Sprintf("RUT inválido %q", raw)
	}
	return "sin RUT válido"
}

// Reasons joins a student's reasons into one line, each once.
func Reasons(rs []string) string {
	return strings.Join(Distinct(rs), "; ")
}

// Distinct are a student's reasons, each once, in their order, without
// blank ones.
func Distinct(rs []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range rs {
		if r = strings.TrimSpace(r); r != "" && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// Coded is a SENCE answer's explanation with its code in front once:
// «[012] …». An explanation that already starts with the code keeps it as
// it is.
func Coded(code, text string) string {
	if code == "" {
		return text
	}
	tag := "[" + code + "]"
	if strings.HasPrefix(text, tag) {
		return text
	}
	return strings.TrimSpace(tag + " " + text)
}

// Clock is a time as a person in Chile reads it, with the zone:
// «2026-11-20 22:05 (hora de Chile, UTC-3)».
func Clock(t time.Time) string {
	l := t.In(chile.Location)
	return l.Format("2006-01-02 15:04") + " (hora de Chile, " + offset(l) + ")"
}

// ClockShort is Clock without the date's zone note, for tables whose
// heading names the zone once: «2026-11-20 22:05 UTC-3».
func ClockShort(t time.Time) string {
	l := t.In(chile.Location)
	return l.Format("2006-01-02 15:04") + " " + offset(l)
}

func offset(t time.Time) string {
	_, off := t.Zone()
	s := fmt.Sprintf("UTC%+d", off/3600)
	if m := (off % 3600) / 60; m != 0 {
		s += fmt.Sprintf(":%02d", max(m, -m))
	}
	return s
}

// RFC3339 is a time for the JSON reports: Chile's local time with its
// offset (2026-11-20T22:05:00-03:00), never UTC.
func RFC3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(chile.Location).Format(time.RFC3339)
}

// Remaining is a time left as a person reads it: «~1 min», «~2 h 5 min»,
// «menos de 1 min».
func Remaining(d time.Duration) string {
	m := int((d + 30*time.Second) / time.Minute)
	switch {
	case d < 30*time.Second:
		return "menos de 1 min"
	case m < 60:
		return fmt.Sprintf("~%d min", m)
	case m%60 == 0:
		return fmt.Sprintf("~%d h", m/60)
	}
	return fmt.Sprintf("~%d h %d min", m/60, m%60)
}

// TimeOfDay is the hour of a time in Chile with the zone, for a time the
// same night: «22:05:13 (hora de Chile, UTC-3)».
func TimeOfDay(t time.Time) string {
	l := t.In(chile.Location)
	return l.Format("15:04:05") + " (hora de Chile, " + offset(l) + ")"
}
