package report

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/ledger"
	"github.com/otec-tools/sence-engine/engine/nightly"
	"github.com/otec-tools/sence-engine/engine/rut"
	"github.com/otec-tools/sence-engine/engine/spill"
)

// TrendNights is how many nights of progress a student's trend shows.
const TrendNights = 10

// ErrNoReport: the run has no stored report to show.
var ErrNoReport = errors.New("la ejecución no tiene informe")

// LoadRun reads a run's stored report (reports/run-N.json, as the ledger
// names it) and builds its model; id 0 is the last run that wrote one.
// The report is read course by course; with a spill, the students of each
// course go to it (the caller removes it once the model is written).
func LoadRun(ctx context.Context, led *ledger.Ledger, id int64, sp *spill.File) (*Model, *nightly.Report, error) {
	rec, err := pickRun(ctx, led, id)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(rec.Report)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: no se puede leer el informe de la ejecución %d (%v); los informes se guardan en la carpeta reports/ junto al registro: si se borró, no se puede rehacer", ErrNoReport, rec.ID, err)
	}
	defer f.Close()
	rep, err := nightly.ReadReport(bufio.NewReaderSize(f, 1<<16), sp)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: el informe %s de la ejecución %d está dañado: %v", ErrNoReport, rec.Report, rec.ID, err)
	}
	rep.Path = rec.Report
	m, err := FromRunSpilled(ctx, led, rep, sp)
	return m, rep, err
}

// pickRun finds run id, or the last one with a report.
func pickRun(ctx context.Context, led *ledger.Ledger, id int64) (ledger.Run, error) {
	if id > 0 {
		rec, err := led.RunByID(ctx, id)
		if err != nil {
			return rec, err
		}
		if rec.Report == "" {
			return rec, fmt.Errorf("%w: la ejecución %d (estado %s) no escribió su informe: %s", ErrNoReport, id, rec.Status, orNoData(rec.Summary))
		}
		return rec, nil
	}
	runs, err := led.Runs(ctx, 50)
	if err != nil {
		return ledger.Run{}, err
	}
	for _, r := range runs {
		if r.Report != "" {
			return r, nil
		}
	}
	return ledger.Run{}, fmt.Errorf("%w: el registro no tiene ninguna ejecución terminada con informe (engine run la escribe)", ErrNoReport)
}

func orNoData(s string) string {
	if s == "" {
		return NoData
	}
	return s
}

// FromRun builds the model of a run from its report and the ledger: the
// values sent and SENCE's answer per student, what SENCE had before and
// the progress of the last nights.
func FromRun(ctx context.Context, led *ledger.Ledger, rep *nightly.Report) (*Model, error) {
	return FromRunSpilled(ctx, led, rep, nil)
}

// FromRunSpilled is FromRun with each course's students moved to sp once
// the course is built (sp nil keeps them in memory); the caller removes sp
// once the page is written.
func FromRunSpilled(ctx context.Context, led *ledger.Ledger, rep *nightly.Report, sp *spill.File) (*Model, error) {
	m := &Model{Outcome: rep.Outcome, Trend: true, spill: sp}
	kind := "Ejecución"
	if rep.DryRun {
		kind = "Simulación"
	}
	m.Title = fmt.Sprintf("%s %d: fecha de reporte %s", kind, rep.RunID, rep.Night)
	m.Subtitle = fmt.Sprintf("Mapeo %s, política %s; terminó el %s", filepath.Base(rep.Mapping), rep.Policy, ChileTime(rep.Finished))
	m.Attention = append(m.Attention, rep.Messages...)
	if rep.NothingToSend != "" {
		m.Attention = append(m.Attention, rep.NothingToSend)
	}
	if rep.Unconfirmed > 0 {
		m.Attention = append(m.Attention, fmt.Sprintf("%s sin confirmar: SENCE puede tener su envío de esta noche; no se reenvió para no duplicarlo (la próxima ejecución lo consulta)",
			diag.Plural(rep.Unconfirmed, "curso quedó", "cursos quedaron")))
	}
	for _, p := range rep.Resumed {
		m.Attention = append(m.Attention, fmt.Sprintf("Envío pendiente de una ejecución anterior %s (curso %s): %s", p.CodigoEnvio, p.CodigoOferta, p.Result))
	}
	var noName, noValues int
	for _, c := range rep.Courses {
		course, err := courseOf(ctx, led, rep, c)
		if err != nil {
			return nil, err
		}
		for _, s := range course.Students {
			if s.Name == NoData {
				noName++
			}
			if s.Sent == nil && s.SentNote == NoData {
				noValues++
			}
		}
		m.add(course)
	}
	for _, u := range rep.Unselected {
		m.Unselected = append(m.Unselected, unselectedOf(u))
	}
	if noName > 0 {
		m.Missing = append(m.Missing, fmt.Sprintf("%s sin nombre en el informe de la ejecución: la tabla dice «%s»; el nombre está en Moodle (lo guardan los informes de las versiones que lo registran)",
			diag.Plural(noName, "alumno aparece", "alumnos aparecen"), NoData))
	}
	if noValues > 0 {
		m.Missing = append(m.Missing, fmt.Sprintf("de %s el registro no guarda los valores enviados esta noche: la tabla dice «%s»",
			diag.Plural(noValues, "alumno", "alumnos"), NoData))
	}
	m.count()
	if rep.DryRun {
		m.Sentence = m.sentence("se enviaría (simulación)", "se enviarían (simulación)")
	} else {
		m.Sentence = m.sentence("aceptado", "aceptados")
	}
	return m, nil
}

// courseOf builds one course: its send's items and its history.
func courseOf(ctx context.Context, led *ledger.Ledger, rep *nightly.Report, c *nightly.CourseReport) (*Course, error) {
	course := &Course{Code: c.CodigoOferta, Group: c.CodigoGrupo, Name: c.Name, Status: courseWords(c.Status), Message: c.Message, Notes: c.Notes}
	items := map[string]ledger.Item{}
	var sendID int64
	if c.CodigoEnvio != "" {
		send, err := led.SendByCode(ctx, c.CodigoEnvio)
		if err != nil {
			return nil, fmt.Errorf("no se puede leer del registro el envío %s: %w", c.CodigoEnvio, err)
		}
		if send != nil {
			sendID = send.ID
			its, err := led.Items(ctx, send.ID)
			if err != nil {
				return nil, fmt.Errorf("no se puede leer del registro el resultado del envío %s: %w", c.CodigoEnvio, err)
			}
			for _, it := range its {
				if it.Modulo == "" {
					items[it.RUT] = it
				}
			}
		}
	}
	hist, err := led.History(ctx, c.CodigoOferta, c.CodigoGrupo)
	if err != nil {
		return nil, fmt.Errorf("no se puede leer del registro la historia del curso %s: %w", c.CodigoOferta, err)
	}
	accepted, err := led.AcceptedOf(ctx, c.CodigoOferta, c.CodigoGrupo)
	if err != nil {
		return nil, fmt.Errorf("no se puede leer del registro lo aceptado del curso %s: %w", c.CodigoOferta, err)
	}
	byRUT := map[string][]ledger.Point{}
	for _, p := range hist {
		if p.Outcome == nightly.StudentAccepted || p.Outcome == nightly.StudentUnchanged {
			byRUT[p.RUT] = append(byRUT[p.RUT], p)
		}
	}
	students, err := rep.CourseStudents(c)
	if err != nil {
		return nil, fmt.Errorf("no se pueden leer los alumnos del curso %s: %w", c.CodigoOferta, err)
	}
	for _, s := range students {
		st := studentOf(s)
		if it, ok := items[s.RUT]; ok && s.RUT != "" && sentStatus(s.Status) {
			st.Sent = &Values{Progress: it.PorcentajeAvance, Estado: it.Estado, Seconds: it.TiempoConectividad}
		} else {
			st.SentNote = notSentNote(s.Status)
		}
		if s.RUT != "" {
			st.Before = before(byRUT[s.RUT], accepted[s.RUT], sendID, rep)
			st.Trend = trend(byRUT[s.RUT], accepted[s.RUT], rep.Night)
		}
		course.Students = append(course.Students, st)
	}
	return course, nil
}

// studentOf is a student's identity, outcome and problems from the report.
func studentOf(s *nightly.StudentReport) *Student {
	st := &Student{Name: orNoData(s.Name), RUT: NoData, MoodleID: orNoData(s.MoodleID), Outcome: s.Status,
		OutcomeText: OutcomeWords(s.Status), Regressions: s.Regressions}
	if s.RUT != "" {
		st.RUT = rut.Dotted(s.RUT)
	}
	switch {
	case s.Explanation == "":
	case s.Status == nightly.StudentRejected || s.Code != "":
		st.Problems = append(st.Problems, problemOf(s.Code, s.Explanation))
	case s.Status == nightly.StudentExcluded && len(s.Reasons) > 0:
		for _, r := range s.Reasons {
			st.Problems = append(st.Problems, Problem{Said: r})
		}
	case s.Status == nightly.StudentExcluded:
		// A run written before motivos: its reasons joined on one line.
		st.Problems = reasonsOf(s.Explanation)
	default:
		st.Problems = append(st.Problems, Problem{Said: s.Explanation})
	}
	return st
}

// sentStatus: SENCE answered for the student with the values sent.
func sentStatus(status string) bool {
	switch status {
	case nightly.StudentAccepted, nightly.StudentRejected, nightly.StudentUnchanged:
		return true
	}
	return false
}

// notSentNote says why a student has no values sent tonight.
func notSentNote(status string) string {
	switch status {
	case nightly.StudentExcluded:
		return "no se envió: tiene datos que corregir"
	case nightly.StudentHeld:
		return "no se envió: retenido"
	case nightly.StudentSkipped:
		return "no se reenvió: SENCE ya lo tiene"
	case nightly.StudentDryRun:
		return "simulación: no se envió"
	case nightly.StudentLeft:
		return "no está en el curso en Moodle esta noche"
	case nightly.StudentNotSent, nightly.StudentPending, nightly.StudentUnconfirmed:
		return "no se envió esta noche"
	}
	return NoData
}

// before is what SENCE had for the student before tonight's send: the
// last value it accepted in an earlier send, or one read from its
// history when seeding.
func before(points []ledger.Point, acc *ledger.Accepted, sendID int64, rep *nightly.Report) *Values {
	var last *ledger.Point
	for i := range points {
		p := &points[i]
		earlier := p.RunID < rep.RunID
		if sendID != 0 {
			earlier = p.SendID < sendID
		}
		if earlier {
			last = p
		}
	}
	if last != nil {
		return &Values{Progress: last.PorcentajeAvance, Estado: last.Estado, Seconds: last.TiempoConectividad}
	}
	if acc != nil && acc.Student.Source == ledger.FromHistory && acc.Student.At.Before(rep.Started) {
		v := acc.Student
		return &Values{Progress: v.PorcentajeAvance, Estado: v.Estado, Seconds: v.TiempoConectividad}
	}
	return nil
}

// trend is the progress SENCE accepted per night up to night, the last
// TrendNights of them.
func trend(points []ledger.Point, acc *ledger.Accepted, night string) []Point {
	byNight := map[string]int{}
	if acc != nil && acc.Student.Source == ledger.FromHistory && !acc.Student.At.IsZero() {
		byNight[chile.Date(acc.Student.At)] = acc.Student.PorcentajeAvance
	}
	for _, p := range points {
		if p.Night <= night {
			byNight[p.Night] = p.PorcentajeAvance // later sends of a night win
		}
	}
	var out []Point
	for n, v := range byNight {
		if n <= night {
			out = append(out, Point{Night: n, Progress: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Night < out[j].Night })
	if len(out) > TrendNights {
		out = out[len(out)-TrendNights:]
	}
	return out
}

// ChileTime writes a time in Chile's local time with its zone.
func ChileTime(t time.Time) string {
	if t.IsZero() {
		return NoData
	}
	l := t.In(chile.Location)
	return l.Format("2006-01-02 15:04") + " (hora de Chile, UTC" + strings.TrimPrefix(l.Format("-07:00"), "") + ")"
}

func unselectedOf(u assemble.UnselectedCourse) Unselected {
	name := "«" + u.Shortname + "»"
	if u.Fullname != "" && u.Fullname != u.Shortname {
		name += " (" + u.Fullname + ")"
	}
	return Unselected{Name: name + ", id " + u.CourseID, Reason: u.Reason}
}
