package report

import (
	"path/filepath"
	"strings"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/nightly"
	"github.com/otec-tools/sence-engine/engine/rut"
	"github.com/otec-tools/sence-engine/engine/spill"
)

// Export gathers an export's students as its courses are built, for the
// spreadsheet written beside it: what would be sent, and who is left out
// and why. Nothing was sent, and the ledger is not read.
type Export struct {
	m Model
}

// NewExport starts the page and spreadsheet of an export of a mapping
// for a report date (YYYY-MM-DD).
func NewExport(mapping, reportDate string) *Export {
	return &Export{m: Model{Export: true, Outcome: nightly.OutcomeOK,
		Title:    "Exportación: fecha de reporte " + reportDate,
		Subtitle: "Mapeo " + filepath.Base(mapping) + "; no se envió nada a SENCE: esto es lo que se enviaría"}}
}

// Unselected takes the Moodle courses that look like SENCE courses and
// are not reported.
func (e *Export) Unselected(us []assemble.UnselectedCourse) {
	for _, u := range us {
		e.m.Unselected = append(e.m.Unselected, unselectedOf(u))
	}
}

// Add takes one built course.
func (e *Export) Add(r *assemble.CourseResult) {
	c := &Course{Code: r.CodigoOferta, Group: r.CodigoGrupo, Name: r.Label, Status: "para enviar"}
	switch {
	case r.Err != nil:
		c.Status, c.Message = "con error", r.Err.Error()
	case r.Payload == nil:
		c.Status = "sin alumnos"
	}
	for _, x := range r.Excluded {
		s := &Student{Name: orNoData(x.Label), RUT: NoData, MoodleID: orNoData(x.UserID), Outcome: nightly.StudentExcluded,
			OutcomeText: OutcomeWords(nightly.StudentExcluded), SentNote: notSentNote(nightly.StudentExcluded)}
		if x.RUT != "" {
			s.RUT = rut.Dotted(x.RUT)
		}
		for _, why := range x.Reasons {
			s.Problems = append(s.Problems, Problem{Said: why})
		}
		c.Students = append(c.Students, s)
	}
	if r.Payload != nil {
		for i, a := range r.Payload.ListaAlumnos {
			s := &Student{Name: NoData, RUT: rut.Dotted(nightly.StudentKey(a)), MoodleID: NoData, Outcome: ToSend,
				OutcomeText: OutcomeWords(ToSend), Sent: &Values{Progress: a.PorcentajeAvance, Estado: a.Estado, Seconds: a.TiempoConectividad}}
			if i < len(r.Sent) {
				s.Name, s.MoodleID = orNoData(r.Sent[i].Label), orNoData(r.Sent[i].UserID)
			}
			c.Students = append(c.Students, s)
		}
	}
	for _, n := range r.Notes {
		c.Notes = append(c.Notes, strings.TrimPrefix(n.Who+": "+n.Msg, ": "))
	}
	e.m.add(c)
}

// Spill moves each course's students to sp as the course is added (the
// caller removes sp once the page and the spreadsheet are written).
func (e *Export) Spill(sp *spill.File) { e.m.spill = sp }

// Model is the export's model, counted.
func (e *Export) Model() *Model {
	m := &e.m
	m.count()
	if m.Totals.Excluded > 0 {
		m.Outcome = nightly.OutcomeProblems
	}
	for _, c := range m.Courses {
		if c.Message != "" {
			m.Outcome = nightly.OutcomeProblems
		}
	}
	m.Sentence = m.sentence("alumno para enviar", "alumnos para enviar")
	return m
}
