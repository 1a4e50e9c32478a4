package nightly

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/outfile"
	"github.com/otec-tools/sence-engine/engine/spill"
	"github.com/otec-tools/sence-engine/engine/voice"
)

// Statuses of a course in a run, as the report and the ledger name them.
const (
	CourseAccepted = "aceptado"    // SENCE stored every student
	CoursePartial  = "parcial"     // SENCE stored some students and rejected others
	CourseRejected = "rechazado"   // SENCE processed it and stored no student
	CoursePending  = "pendiente"   // SENCE does not have it (unreachable, 503) or has it unrecorded: the next run finishes it
	CourseNotSent  = "no-enviado"  // the run stopped before sending it (window, signal, SENCE unavailable)
	CourseFailed   = "fallido"     // SENCE refused it without processing (credentials, HTTP error)
	CourseDone     = "ya-enviado"  // already answered tonight with the same data: not sent again
	CourseNothing  = "sin-envio"   // every student held or unchanged: nothing to send
	CourseEmpty    = "sin-alumnos" // the build left no student to report
	CourseError    = "error"       // the course could not be built
	CourseDryRun   = "simulado"    // --dry-run: would be sent
)

// CourseUnconfirmed and StudentUnconfirmed: SENCE may have tonight's send
// of the course and its history did not say so before the window closed or
// the run stopped: nothing of the course is sent until a look-up by its
// codigoEnvio decides (sence.Decide).
const (
	CourseUnconfirmed  = "sin-confirmar"
	StudentUnconfirmed = "sin-confirmar"
)

// Statuses of a student in a run.
const (
	StudentAccepted  = "aceptado"
	StudentUnchanged = "sin-cambios" // SENCE answered 025 with the value sent: it already had it
	StudentRejected  = "rechazado"
	StudentHeld      = "retenido"   // progress below what SENCE accepted, policy hold
	StudentExcluded  = "excluido"   // failed validation: not sent
	StudentSkipped   = "omitido"    // unchanged since accepted, run.skipUnchanged
	StudentPending   = "pendiente"  // sent, outcome unknown yet
	StudentNotSent   = "no-enviado" // the course was not sent
	StudentDryRun    = "se-enviaria"
	// StudentLeft: SENCE accepted the student before (in progress) and
	// tonight Moodle no longer has them among the course's students.
	StudentLeft = "retirado"
)

// Troubled are the student statuses engine status lists.
var Troubled = []string{StudentRejected, StudentHeld, StudentExcluded, StudentPending, StudentUnconfirmed, StudentNotSent}

// Outcome classes of a whole run, for the exit code.
const (
	OutcomeOK       = "ok"            // everything sent and accepted
	OutcomeProblems = "con-problemas" // done, but students rejected, excluded or held
	OutcomeFailed   = "fallida"       // work left undone: the next run finishes it
)

// Report is the machine-readable account of a run (reports/run-ID.json).
type Report struct {
	// Schema and Version name the format (schemas/ejecucion.schema.json);
	// WriteJSON fills them.
	Schema   string    `json:"$schema"`
	Version  int       `json:"version"`
	RunID    int64     `json:"ejecucion"`
	Mapping  string    `json:"mapeo"`
	Night    string    `json:"fechaReporte"`
	Started  time.Time `json:"inicio"`
	Finished time.Time `json:"fin"`
	DryRun   bool      `json:"simulacion"`
	Policy   string    `json:"politica"`
	// Outcome is ok, con-problemas or fallida; Interrupted marks a run
	// stopped by a signal.
	Outcome     string `json:"resultado"`
	Interrupted bool   `json:"interrumpida,omitempty"`
	// Messages explain why a run stopped early or failed.
	Messages []string `json:"mensajes,omitempty"`
	// NothingToSend says why the run had no course to send (none
	// selected, or none with a student to report): such a run did no
	// useful work, and its outcome is never ok.
	NothingToSend string `json:"nadaQueEnviar,omitempty"`
	// Resumed are the sends an earlier run left pending and this run
	// resolved first.
	Resumed []ResumedSend   `json:"pendientesAnteriores,omitempty"`
	Courses []*CourseReport `json:"cursos"`
	// Unconfirmed counts the courses «sin confirmar» (among Totals'
	// CoursesUndone).
	Unconfirmed int `json:"cursosSinConfirmar,omitempty"`
	// Unselected are the Moodle courses the selection left out that look
	// like SENCE courses: not sent, reported by name.
	Unselected []assemble.UnselectedCourse `json:"cursosNoSeleccionados,omitempty"`
	Totals     Totals                      `json:"totales"`
	// Path is where the report was written ("" if it could not be).
	Path string `json:"-"`
	// HTML is the page written beside it (engine/report), and HTMLErr why
	// it could not be.
	HTML    string `json:"-"`
	HTMLErr error  `json:"-"`

	// spill, when set (Config.Spill), holds the students of every course
	// done: memory keeps their counts and those WriteText lists.
	spill *spill.File
}

// ResumedSend is a pending send of an earlier run and what became of it.
type ResumedSend struct {
	CodigoOferta string `json:"codigoOferta"`
	CodigoGrupo  string `json:"codigoGrupo"`
	CodigoEnvio  string `json:"codigoEnvio"`
	Result       string `json:"resultado"`
	IDProceso    string `json:"idProceso,omitempty"`
}

// CourseReport is one course of a run.
type CourseReport struct {
	CodigoOferta string           `json:"codigoOferta"`
	CodigoGrupo  string           `json:"codigoGrupo"`
	Name         string           `json:"nombre,omitempty"`
	Status       string           `json:"estado"`
	CodigoEnvio  string           `json:"codigoEnvio,omitempty"`
	IDProceso    string           `json:"idProceso,omitempty"`
	Message      string           `json:"mensaje,omitempty"`
	Notes        []string         `json:"notas,omitempty"`
	Students     []*StudentReport `json:"alumnos"`
	// listed: Students holds every student of the course tonight (the
	// leavers are those SENCE accepted who are not among them).
	listed bool
	// spilled: the students the course had when it was done are in the
	// report's spill at ref (Students keeps only those added later, the
	// leavers); counted counts them and shown are those WriteText lists.
	spilled bool
	ref     spill.Ref
	counted Totals
	shown   []*StudentReport
}

// spillCourse moves a done course's students to the report's spill, if
// it has one; on a failure to write they stay in memory.
func (r *Report) spillCourse(c *CourseReport) error {
	if r.spill == nil || c.spilled {
		return nil
	}
	ref, err := r.spill.Put(c.Students)
	if err != nil {
		return err
	}
	var t Totals
	var shown []*StudentReport
	for _, s := range c.Students {
		t.addStudent(s)
		if shownInText(s) {
			shown = append(shown, s)
		}
	}
	c.spilled, c.ref, c.counted, c.shown, c.Students = true, ref, t, shown, nil
	return nil
}

// CourseStudents are every student of a course, read back from the
// report's spill when the course's students were moved there.
func (r *Report) CourseStudents(c *CourseReport) ([]*StudentReport, error) {
	if !c.spilled {
		return c.Students, nil
	}
	var out []*StudentReport
	if err := r.spill.Get(c.ref, &out); err != nil {
		return nil, err
	}
	if out == nil {
		out = []*StudentReport{}
	}
	return append(out, c.Students...), nil
}

// shownInText says whether WriteText lists a student.
func shownInText(s *StudentReport) bool {
	if len(s.Regressions) > 0 {
		return true
	}
	switch s.Status {
	case StudentAccepted, StudentSkipped, StudentDryRun, StudentNotSent:
		return false
	}
	return true
}

// StudentReport is one student of a course in a run.
type StudentReport struct {
	// Alumno names the student as every output does (Who); the JSON
	// report writes it, nothing reads it back.
	Alumno string `json:"alumno"`
	RUT    string `json:"rut,omitempty"`
	// InvalidRUT is what Moodle holds instead of a valid RUT (RUT empty).
	InvalidRUT  string `json:"rutInvalido,omitempty"`
	MoodleID    string `json:"idMoodle,omitempty"`
	Name        string `json:"nombre,omitempty"`
	Status      string `json:"estado"`
	Code        string `json:"codigo,omitempty"`
	Explanation string `json:"explicacion,omitempty"`
	// Reasons are an excluded student's reasons, one each (Explanation
	// joins them on one line).
	Reasons     []string `json:"motivos,omitempty"`
	Regressions []string `json:"regresiones,omitempty"`
	// Sent are the values sent to SENCE (or that would be, in a dry run).
	Sent *assemble.Values `json:"enviado,omitempty"`
}

// Who names the student as every output does (voice.Student).
func (s *StudentReport) Who() string { return voice.Student(s.Name, s.RUT, s.InvalidRUT, s.MoodleID) }

// Key is the student's key in the ledger: the RUT, or moodle:ID.
func (s *StudentReport) Key() string {
	if s.RUT != "" {
		return s.RUT
	}
	return "moodle:" + s.MoodleID
}

// Totals count a run's courses and students.
type Totals struct {
	Courses         int `json:"cursos"`
	CoursesSent     int `json:"cursosEnviados"`
	CoursesDone     int `json:"cursosYaEnviados"`
	CoursesUndone   int `json:"cursosSinTerminar"`
	CoursesInError  int `json:"cursosConError"`
	Students        int `json:"alumnos"`
	Accepted        int `json:"aceptados"`
	Unchanged       int `json:"sinCambios"`
	Rejected        int `json:"rechazados"`
	Held            int `json:"retenidos"`
	Excluded        int `json:"excluidos"`
	Skipped         int `json:"omitidos"`
	Pending         int `json:"pendientes"`
	NotSent         int `json:"noEnviados"`
	WouldSend       int `json:"seEnviarian"`
	WithRegressions int `json:"conRegresiones"`
	Left            int `json:"retirados"`
	Unselected      int `json:"cursosNoSeleccionados"`
}

// total recomputes Totals and Outcome from the courses.
func (r *Report) total() {
	t := Totals{Courses: len(r.Courses), Unselected: len(r.Unselected)}
	for _, c := range r.Courses {
		switch c.Status {
		case CourseAccepted, CoursePartial, CourseRejected:
			t.CoursesSent++
		case CourseDone:
			t.CoursesDone++
		case CoursePending, CourseNotSent, CourseFailed, CourseUnconfirmed:
			t.CoursesUndone++
		case CourseError:
			t.CoursesInError++
		}
		if c.spilled {
			t.addCounts(c.counted)
		}
		for _, s := range c.Students {
			t.addStudent(s)
		}
	}
	r.Totals = t
	r.Unconfirmed = 0
	for _, c := range r.Courses {
		if c.Status == CourseUnconfirmed {
			r.Unconfirmed++
		}
	}
	switch {
	case t.CoursesUndone > 0 || r.Interrupted || len(r.Messages) > 0:
		r.Outcome = OutcomeFailed
	case t.Rejected+t.Held+t.Excluded+t.CoursesInError > 0 || r.NothingToSend != "":
		r.Outcome = OutcomeProblems
	default:
		r.Outcome = OutcomeOK
	}
}

// addStudent counts one student.
func (t *Totals) addStudent(s *StudentReport) {
	t.Students++
	if len(s.Regressions) > 0 {
		t.WithRegressions++
	}
	switch s.Status {
	case StudentAccepted:
		t.Accepted++
	case StudentUnchanged:
		t.Unchanged++
	case StudentRejected:
		t.Rejected++
	case StudentHeld:
		t.Held++
	case StudentExcluded:
		t.Excluded++
	case StudentSkipped:
		t.Skipped++
	case StudentPending, StudentUnconfirmed:
		t.Pending++
	case StudentNotSent:
		t.NotSent++
	case StudentDryRun:
		t.WouldSend++
	case StudentLeft:
		t.Left++
	}
}

// addCounts adds the student counts of o.
func (t *Totals) addCounts(o Totals) {
	t.Students += o.Students
	t.WithRegressions += o.WithRegressions
	t.Accepted += o.Accepted
	t.Unchanged += o.Unchanged
	t.Rejected += o.Rejected
	t.Held += o.Held
	t.Excluded += o.Excluded
	t.Skipped += o.Skipped
	t.Pending += o.Pending
	t.NotSent += o.NotSent
	t.WouldSend += o.WouldSend
	t.Left += o.Left
}

// Summary is the report in one line.
func (r *Report) Summary() string {
	t := r.Totals
	p := diag.Plural
	var s string
	if r.DryRun {
		s = fmt.Sprintf("simulación: %s, %s, %s, %s, %s", p(t.Courses, "curso", "cursos"),
			p(t.WouldSend, "alumno se enviaría", "alumnos se enviarían"), p(t.Held, "retenido", "retenidos"),
			p(t.Skipped, "omitido", "omitidos"), p(t.Excluded, "excluido", "excluidos"))
	} else {
		s = fmt.Sprintf("%s: %s, %s, %s; alumnos: %s, %s, %s, %s, %s, %s", p(t.Courses, "curso", "cursos"),
			p(t.CoursesSent, "enviado", "enviados"), p(t.CoursesDone, "ya enviado esta noche", "ya enviados esta noche"),
			p(t.CoursesUndone, "sin terminar", "sin terminar"), p(t.Accepted, "aceptado", "aceptados"),
			p(t.Unchanged, "sin cambios", "sin cambios"), p(t.Rejected, "rechazado", "rechazados"),
			p(t.Held, "retenido", "retenidos"), p(t.Excluded, "excluido", "excluidos"), p(t.Skipped, "omitido", "omitidos"))
	}
	if t.Left > 0 {
		s += ", " + p(t.Left, "retirado", "retirados")
	}
	if t.Unselected > 0 {
		s += "; " + p(t.Unselected, "curso de Moodle que parece SENCE no se informa", "cursos de Moodle que parecen SENCE no se informan")
	}
	if r.NothingToSend != "" {
		s += "; ningún curso para enviar"
	}
	return s
}

// WriteText writes the report for a person: every course, and every
// student that needs attention.
func (r *Report) WriteText(w io.Writer) {
	title := "Ejecución"
	if r.DryRun {
		title = "Simulación (--dry-run: no se envió nada)"
	}
	fmt.Fprintf(w, "%s %d, fecha de reporte %s (America/Santiago), política %s\n", title, r.RunID, r.Night, r.Policy)
	for _, p := range r.Resumed {
		fmt.Fprintf(w, "\nEnvío pendiente de una ejecución anterior %s (curso %s): %s\n", p.CodigoEnvio, p.CodigoOferta, p.Result)
	}
	for _, c := range r.Courses {
		fmt.Fprintf(w, "\nCurso %s", voice.Course(c.CodigoOferta, c.CodigoGrupo))
		if c.Name != "" {
			fmt.Fprintf(w, " (%s)", c.Name)
		}
		fmt.Fprintf(w, ": %s", c.Status)
		if c.IDProceso != "" {
			fmt.Fprintf(w, ", proceso SENCE %s", c.IDProceso)
		}
		if c.CodigoEnvio != "" {
			fmt.Fprintf(w, ", codigoEnvio %s", c.CodigoEnvio)
		}
		fmt.Fprintln(w)
		if c.Message != "" {
			fmt.Fprintf(w, "  %s\n", c.Message)
		}
		for _, n := range c.Notes {
			fmt.Fprintf(w, "  nota: %s\n", n)
		}
		students := c.Students
		if c.spilled {
			students = append(c.shown[:len(c.shown):len(c.shown)], c.Students...)
		}
		for _, s := range students {
			who := s.Who()
			if len(s.Regressions) > 0 {
				fmt.Fprintf(w, "  regresión %s: %s\n", who, voice.Reasons(s.Regressions))
			}
			switch s.Status {
			case StudentAccepted, StudentSkipped, StudentDryRun, StudentNotSent:
				continue
			}
			line := fmt.Sprintf("  %s %s", s.Status, who)
			if why := voice.Coded(s.Code, s.Explanation); why != "" {
				line += ": " + why
			}
			fmt.Fprintln(w, line)
		}
	}
	if len(r.Unselected) > 0 {
		fmt.Fprintln(w, "\nCursos de Moodle que no se informan a SENCE:")
		for _, u := range r.Unselected {
			fmt.Fprintf(w, "  «%s»", u.Shortname)
			if u.Fullname != "" && u.Fullname != u.Shortname {
				fmt.Fprintf(w, " (%s)", u.Fullname)
			}
			fmt.Fprintf(w, ", id %s: %s\n", u.CourseID, u.Reason)
		}
	}
	fmt.Fprintf(w, "\nTotal: %s\n", r.Summary())
	for _, m := range r.Messages {
		fmt.Fprintf(w, "ATENCIÓN: %s\n", m)
	}
	if r.NothingToSend != "" {
		fmt.Fprintf(w, "ATENCIÓN: %s\n", r.NothingToSend)
	}
	if r.Unconfirmed > 0 {
		fmt.Fprintf(w, "ATENCIÓN: %s sin confirmar: SENCE puede tener su envío de esta noche y su historial no lo mostró a tiempo; no se reenvió para no duplicarlo. Búsquelo en el historial de SENCE por su codigoEnvio (engine history MAPEO.yaml --code CODIGO); la próxima ejecución lo consulta antes de enviar nada.\n",
			diag.Plural(r.Unconfirmed, "curso quedó", "cursos quedaron"))
	}
	switch r.Outcome {
	case OutcomeFailed:
		fmt.Fprintln(w, "Resultado: quedó trabajo sin terminar; la próxima ejecución lo completa sin duplicar envíos.")
	case OutcomeProblems:
		if r.NothingToSend != "" && r.Totals.Rejected+r.Totals.Held+r.Totals.Excluded+r.Totals.CoursesInError == 0 {
			fmt.Fprintln(w, "Resultado: no se envió nada porque no hay nada que enviar: revise la selección de cursos.")
			break
		}
		fmt.Fprintln(w, "Resultado: terminó, pero hay alumnos rechazados, excluidos o retenidos: revíselos (engine status).")
	default:
		fmt.Fprintln(w, "Resultado: todo enviado y aceptado.")
	}
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// ReportVersion is the version of run-N.json's format, and ReportSchemaID
// its JSON Schema (schemas/ejecucion.schema.json).
const (
	ReportVersion  = 1
	ReportSchemaID = "https://github.com/otec-tools/sence-engine/schemas/ejecucion.schema.json"
)

// prepare fills what the JSON report says beside the run's data: its
// format, the times in Chile's time with their offset (-03:00 or -04:00)
// and each student's name as every output gives it.
func (r *Report) prepare() {
	r.Schema, r.Version = ReportSchemaID, ReportVersion
	r.Started, r.Finished = inChile(r.Started), inChile(r.Finished)
	for _, c := range r.Courses {
		for _, s := range c.Students {
			s.Alumno = s.Who()
		}
	}
}

func inChile(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(chile.Location)
}

// WriteJSON writes the report as json.MarshalIndent(r, "", "  ") writes
// it once prepared (its format, times in Chile, names), with a final newline, one course at a time: the whole report of a
// large site is never in memory as JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	r.prepare()
	head := *r
	head.Courses = []*CourseReport{}
	b, err := json.MarshalIndent(&head, "", "  ")
	if err != nil {
		return err
	}
	return outfile.WriteJSONList(w, b, "cursos", len(r.Courses), func(k int) (any, error) {
		c := r.Courses[k]
		if !c.spilled {
			return c, nil
		}
		students, err := r.CourseStudents(c)
		if err != nil {
			return nil, err
		}
		for _, s := range students {
			s.Alumno = s.Who()
		}
		cc := *c
		cc.Students = students
		return &cc, nil
	})
}

// ReadReport reads a run's JSON report (reports/run-N.json) course by
// course: with a spill, each course's students go to it as the course is
// read, so that a large site's report is never whole in memory.
func ReadReport(r io.Reader, sp *spill.File) (*Report, error) {
	dec := json.NewDecoder(r)
	if t, err := dec.Token(); err != nil {
		return nil, err
	} else if t != json.Delim('{') {
		return nil, fmt.Errorf("se esperaba un objeto JSON")
	}
	rep := &Report{spill: sp}
	head := map[string]json.RawMessage{}
	var courses []*CourseReport
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		if key != "cursos" {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, err
			}
			head[key] = raw
			continue
		}
		t, err = dec.Token()
		if err != nil {
			return nil, err
		}
		if t == nil { // "cursos": null
			continue
		}
		if t != json.Delim('[') {
			return nil, fmt.Errorf("«cursos» no es una lista")
		}
		courses = []*CourseReport{}
		for dec.More() {
			c := &CourseReport{}
			if err := dec.Decode(c); err != nil {
				return nil, err
			}
			if err := rep.spillCourse(c); err != nil {
				return nil, err
			}
			courses = append(courses, c)
		}
		if _, err := dec.Token(); err != nil { // ]
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil { // }
		return nil, err
	}
	b, err := json.Marshal(head)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, rep); err != nil {
		return nil, err
	}
	rep.Courses = courses
	return rep, nil
}
