// Package report turns a nightly run (its stored report and the ledger)
// or an export into what a training coordinator opens: one self-contained
// HTML page and the same per-student table as a spreadsheet (CSV).
package report

import (
	"fmt"
	"iter"
	"regexp"
	"strings"

	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/nightly"
	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/spill"
)

// NoData is written where the ledger or the run's report lacks a value.
const NoData = "sin dato"

// Model is everything the page and the spreadsheet show.
type Model struct {
	// Title heads the page; Subtitle says when and with what.
	Title, Subtitle string
	// Sentence is the night's result in one sentence.
	Sentence string
	// Outcome is ok, con-problemas or fallida (nightly.Outcome*); for an
	// export, con-problemas when a student is excluded or a course failed.
	Outcome string
	// Attention are the run's messages a coordinator must read first;
	// Missing says which data the page could not show and why.
	Attention, Missing []string
	Totals             Counts
	Courses            []*Course
	Unselected         []Unselected
	// Trend: the students carry their progress over the last nights.
	Trend bool
	// Export: the page is an export's (nothing was sent).
	Export bool

	// spill, when set, holds each course's students once the course is
	// handed over (hand): memory keeps the course's counts and outcomes,
	// and the page and the spreadsheet read the students back course by
	// course. err is the first failure to read them while rendering.
	spill *spill.File
	err   error
}

// Counts are the students of a course (or of the run) by outcome.
type Counts struct {
	Accepted, Rejected, Held, Excluded, Left, Unchanged, Other int
	// Regressions counts the students whose progress would have gone back.
	Regressions int
}

// Course is one course (a section, when sent in several) of the page.
type Course struct {
	Code, Group, Name string
	// Status is the course's state in Spanish words; Message and Notes
	// what the run said of it.
	Status, Message string
	Notes           []string
	Counts          Counts
	Students        []*Student

	// spilled: the students are in the model's spill at ref (Students is
	// nil), counted in Counts; outcomes are theirs.
	spilled  bool
	ref      spill.Ref
	outcomes []string
}

// Label names the course as the page and the spreadsheet do.
func (c *Course) Label() string {
	s := c.Code
	if c.Group != "" && c.Group != c.Code {
		s += " grupo " + c.Group
	}
	return s
}

// Student is one row of the table.
type Student struct {
	Name, RUT, MoodleID string
	// Outcome is the nightly status (aceptado, rechazado…); OutcomeText
	// says it in words.
	Outcome, OutcomeText string
	// Sent is what went to SENCE tonight (nil when nothing was sent);
	// Before is what SENCE had before tonight (nil when nothing).
	Sent, Before *Values
	// SentNote says why Sent is empty.
	SentNote    string
	Problems    []Problem
	Regressions []string
	// Trend is the progress SENCE accepted night after night, last
	// nights only, tonight's included.
	Trend []Point
}

// Values are a student's progress as SENCE keeps it.
type Values struct {
	Progress int   // porcentajeAvance
	Estado   int   // 1 cursando, 2 aprobado, 3 reprobado
	Seconds  int64 // tiempoConectividad
}

// Point is the progress of one night.
type Point struct {
	Night    string
	Progress int
}

// Problem is one thing to fix: what SENCE (or the engine) said, what it
// means and what to do in Moodle.
type Problem struct {
	Code, Said, Meaning, Action string
}

// Unselected is a Moodle course that looks like a SENCE course and is not
// reported.
type Unselected struct {
	Name, Reason string
}

// ToSend is the outcome of a student an export would send.
const ToSend = "para-enviar"

// outcomeText are the student statuses in a coordinator's words.
var outcomeText = map[string]string{
	ToSend:                     "para enviar",
	nightly.StudentAccepted:    "aceptado",
	nightly.StudentUnchanged:   "sin cambios (SENCE ya lo tenía)",
	nightly.StudentRejected:    "rechazado por SENCE",
	nightly.StudentHeld:        "retenido (su avance retrocedería)",
	nightly.StudentExcluded:    "excluido (no se envió)",
	nightly.StudentSkipped:     "sin cambios (no se reenvió)",
	nightly.StudentPending:     "pendiente (sin respuesta de SENCE)",
	nightly.StudentUnconfirmed: "sin confirmar",
	nightly.StudentNotSent:     "no enviado",
	nightly.StudentDryRun:      "se enviaría (simulación)",
	nightly.StudentLeft:        "retirado del curso",
}

// courseText are the course statuses in words.
var courseText = map[string]string{
	nightly.CourseAccepted:    "aceptado",
	nightly.CoursePartial:     "aceptado en parte",
	nightly.CourseRejected:    "rechazado",
	nightly.CoursePending:     "pendiente",
	nightly.CourseNotSent:     "no enviado",
	nightly.CourseFailed:      "fallido",
	nightly.CourseDone:        "ya enviado esta noche",
	nightly.CourseNothing:     "nada que enviar",
	nightly.CourseEmpty:       "sin alumnos",
	nightly.CourseError:       "con error",
	nightly.CourseDryRun:      "simulado",
	nightly.CourseUnconfirmed: "sin confirmar",
}

// OutcomeWords says a student status in words.
func OutcomeWords(status string) string {
	if t, ok := outcomeText[status]; ok {
		return t
	}
	return status
}

func courseWords(status string) string {
	if t, ok := courseText[status]; ok {
		return t
	}
	return status
}

// add counts one student.
func (c *Counts) add(s *Student) {
	switch s.Outcome {
	case nightly.StudentAccepted, nightly.StudentDryRun, ToSend:
		c.Accepted++
	case nightly.StudentRejected:
		c.Rejected++
	case nightly.StudentHeld:
		c.Held++
	case nightly.StudentExcluded:
		c.Excluded++
	case nightly.StudentLeft:
		c.Left++
	case nightly.StudentUnchanged, nightly.StudentSkipped:
		c.Unchanged++
	default:
		c.Other++
	}
	if len(s.Regressions) > 0 {
		c.Regressions++
	}
}

func (c *Counts) plus(o Counts) {
	c.Accepted += o.Accepted
	c.Rejected += o.Rejected
	c.Held += o.Held
	c.Excluded += o.Excluded
	c.Left += o.Left
	c.Unchanged += o.Unchanged
	c.Other += o.Other
	c.Regressions += o.Regressions
}

// Students is the number of students counted.
func (c Counts) Students() int {
	return c.Accepted + c.Rejected + c.Held + c.Excluded + c.Left + c.Unchanged + c.Other
}

// count fills every course's counts and the totals.
func (m *Model) count() {
	m.Totals = Counts{}
	for _, c := range m.Courses {
		if !c.spilled {
			c.Counts = Counts{}
			for _, s := range c.Students {
				c.Counts.add(s)
			}
		}
		m.Totals.plus(c.Counts)
	}
}

// add appends a course whose students are all there: with a spill, they
// go to it and the course keeps their counts and outcomes. A failure to
// write keeps them in memory.
func (m *Model) add(c *Course) {
	m.Courses = append(m.Courses, c)
	if m.spill == nil {
		return
	}
	ref, err := m.spill.Put(c.Students)
	if err != nil {
		return
	}
	c.Counts = Counts{}
	seen := map[string]bool{}
	for _, s := range c.Students {
		c.Counts.add(s)
		if !seen[s.Outcome] {
			seen[s.Outcome] = true
			c.outcomes = append(c.outcomes, s.Outcome)
		}
	}
	c.spilled, c.ref, c.Students = true, ref, nil
}

// CourseStudents are a course's students, read back from the spill when
// they were moved there.
func (m *Model) CourseStudents(c *Course) ([]*Student, error) {
	if !c.spilled {
		return c.Students, nil
	}
	var out []*Student
	err := m.spill.Get(c.ref, &out)
	return out, err
}

// Rows are the students of every course, course by course, read back
// from the spill one course at a time; a failure to read stops them and
// is kept for WriteHTML to return.
func (m *Model) Rows() iter.Seq2[*Course, *Student] {
	return func(yield func(*Course, *Student) bool) {
		for _, c := range m.Courses {
			students, err := m.CourseStudents(c)
			if err != nil {
				if m.err == nil {
					m.err = err
				}
				return
			}
			for _, s := range students {
				if !yield(c, s) {
					return
				}
			}
		}
	}
}

// sentence says the night's result in one sentence; one and many name
// the first count (the accepted students).
func (m *Model) sentence(one, many string) string {
	t := m.Totals
	var parts []string
	parts = append(parts, diag.Plural(t.Accepted, one, many))
	for _, p := range []struct {
		n         int
		one, many string
	}{
		{t.Unchanged, "sin cambios", "sin cambios"},
		{t.Rejected, "rechazado", "rechazados"},
		{t.Held, "retenido", "retenidos"},
		{t.Excluded, "excluido", "excluidos"},
		{t.Left, "retirado", "retirados"},
		{t.Other, "sin terminar", "sin terminar"},
	} {
		if p.n > 0 {
			parts = append(parts, diag.Plural(p.n, p.one, p.many))
		}
	}
	list := parts[0]
	if len(parts) > 1 {
		list = strings.Join(parts[:len(parts)-1], ", ") + " y " + parts[len(parts)-1]
	}
	if m.Export {
		list = strings.Join(parts, " y ")
		if len(parts) > 2 {
			list = strings.Join(parts[:len(parts)-1], ", ") + " y " + parts[len(parts)-1]
		}
	}
	s := fmt.Sprintf("%s de %s en %s", list, diag.Plural(t.Students(), "alumno", "alumnos"), diag.Plural(len(m.Courses), "curso", "cursos"))
	fix := t.Rejected + t.Held + t.Excluded
	switch {
	case m.Outcome == nightly.OutcomeFailed:
		s += "; quedó trabajo sin terminar: la próxima ejecución lo completa sin duplicar envíos."
	case fix > 0:
		s += fmt.Sprintf("; %s que corregir en Moodle (vea «Qué hacer» en la tabla).", diag.Plural(fix, "alumno tiene algo", "alumnos tienen algo"))
	default:
		s += "; no hay nada que corregir."
	}
	return s
}

// problemOf explains a student's code and message through SENCE's error
// catalogue: what SENCE said, what it means and what to do.
func problemOf(code, explanation string) Problem {
	p := Problem{Code: code, Said: explanation}
	info, ok := sence.Lookup(code)
	if code == "" || !ok {
		return p
	}
	said := strings.TrimSpace(strings.TrimPrefix(explanation, "["+info.Code+"]"))
	if i := strings.Index(said, ": "+info.Meaning); i >= 0 {
		said = said[:i]
	}
	p.Said, p.Meaning, p.Action = said, info.Meaning, info.Action
	return p
}

// reasonStart finds where the next reason of a joined list begins: "; "
// followed by a field name and a colon (fechaFin: …).
var reasonStart = regexp.MustCompile(`; [A-Za-z][A-Za-z0-9_.\[\]]*: `)

// reasonsOf splits the reasons the build joined with "; " (a reason may
// itself hold "; ": only a field name after it starts a new one).
func reasonsOf(explanation string) []Problem {
	var out []Problem
	for explanation != "" {
		loc := reasonStart.FindStringIndex(explanation)
		if loc == nil {
			out = append(out, Problem{Said: explanation})
			break
		}
		out = append(out, Problem{Said: explanation[:loc[0]]})
		explanation = explanation[loc[0]+2:]
	}
	return out
}

// Estado names SENCE's estado.
func Estado(e int) string {
	switch e {
	case 1:
		return "cursando"
	case 2:
		return "aprobado"
	case 3:
		return "reprobado"
	}
	return fmt.Sprintf("estado %d", e)
}

// Duration writes a tiempoConectividad (seconds) as hours and minutes.
func Duration(seconds int64) string {
	h, m := seconds/3600, seconds%3600/60
	switch {
	case h == 0:
		return fmt.Sprintf("%d min", m)
	case m == 0:
		return fmt.Sprintf("%d h", h)
	}
	return fmt.Sprintf("%d h %d min", h, m)
}
