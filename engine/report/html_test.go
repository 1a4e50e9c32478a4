package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/nightly"
)

// TestPageRegressionsAndHeld: a student whose progress would go back is
// listed apart, with the policy's outcome, and the held one's row says
// nothing was sent.
func TestPageRegressionsAndHeld(t *testing.T) {
	held := &Student{Name: "Ana Soto", RUT: "12.345.678-5", MoodleID: "6", Outcome: nightly.StudentHeld,
		OutcomeText: OutcomeWords(nightly.StudentHeld), SentNote: notSentNote(nightly.StudentHeld),
		Before:      &Values{Progress: 60, Estado: 1, Seconds: 7200},
		Regressions: []string{"avance del alumno: Moodle informa 40 %, pero SENCE ya aceptó 60 %"},
		Trend:       []Point{{"2026-11-19", 50}, {"2026-11-20", 60}}}
	m := &Model{Title: "Ejecución 3", Outcome: nightly.OutcomeProblems, Trend: true,
		Courses: []*Course{{Code: "C1", Name: "Curso", Status: "nada que enviar", Students: []*Student{held}}}}
	m.count()
	m.Sentence = m.sentence("aceptado", "aceptados")
	var buf bytes.Buffer
	if err := m.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		"0 aceptados y 1 retenido de 1 alumno en 1 curso; 1 alumno tiene algo que corregir en Moodle",
		"<h2>Alumnos cuyo avance retrocedería</h2>",
		"<li><b>Ana Soto</b> (12.345.678-5), curso C1: avance del alumno: Moodle informa 40 %, pero SENCE ya aceptó 60 %. Resultado: retenido (su avance retrocedería).</li>",
		`<span class="muted">no se envió: retenido</span>`,
		"60 %, cursando, 2 h",
		`<svg class="spark"`, "2026-11-19: 50 %, 2026-11-20: 60 %",
		`<td class="n" data-label="Retenidos">1</td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}
