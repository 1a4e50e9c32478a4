package nightly

import (
	"context"
	"fmt"
	"sync"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/ledger"
	"github.com/otec-tools/sence-engine/engine/rut"
)

// Execute reconciles, sends and records every course of a list, then
// records the end of the run and writes its report (Stream over a list).
func (s *Session) Execute(ctx context.Context, courses []*assemble.CourseResult) *Report {
	rep, _ := s.Stream(ctx, func(yield func(*assemble.CourseResult) error) error {
		for _, r := range courses {
			if err := yield(r); err != nil {
				return err
			}
		}
		return nil
	})
	return rep // a list never fails
}

// Stream runs build, which hands each course to yield as it is built;
// each course is reconciled, sent and recorded while the next ones are
// built, at most Config.Concurrency at once: yield waits while that many
// are in flight, so a run holds a few courses, not all of them. Once
// build returns and every course is done, the sends earlier runs left
// pending for courses not built tonight are resolved, the students who
// left are found, and the end of the run is recorded and its report
// written.
//
// A build that fails before yielding any course returns no report: the
// caller ends the run with Abort and its own reason (nothing was sent). One
// that fails later starts no more courses (those already yielded finish)
// and its error is returned with the report.
func (s *Session) Stream(ctx context.Context, build func(yield func(*assemble.CourseResult) error) error) (*Report, error) {
	if !s.cfg.DryRun {
		s.loadPending(ctx)
	}
	sem := make(chan struct{}, s.cfg.Concurrency)
	var wg sync.WaitGroup
	left := newLeavers()
	leftOut := map[*CourseReport][]ledger.Notice{}
	built, sendable := 0, false
	s.progress(nil)
	yield := func(r *assemble.CourseResult) error {
		cr := &CourseReport{CodigoOferta: r.CodigoOferta, CodigoGrupo: r.CodigoGrupo, Name: r.Label, Students: []*StudentReport{}}
		s.mu.Lock()
		s.report.Courses = append(s.report.Courses, cr)
		s.mu.Unlock()
		built++
		sendable = sendable || r.Payload != nil
		left.add(cr, r)
		leftOut[cr] = leftOutNotices(r)
		s.progress(func(p *Progress) {
			p.Courses++
			if r.Payload != nil {
				p.Students += len(r.Payload.ListaAlumnos)
			}
		})
		// Taken now, in the build's order, so that the leftovers are
		// exactly those of the courses not built.
		pending := s.takePending(courseKey(r.CodigoOferta, r.CodigoGrupo))
		sem <- struct{}{} // wait while the pool is full
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			s.course(ctx, r, cr, pending)
			if err := s.report.spillCourse(cr); err != nil {
				s.cfg.Log.Warn("no se pudo guardar en el archivo temporal los alumnos de un curso: quedan en memoria", "codigoOferta", cr.CodigoOferta, "error", err.Error())
			}
		}()
		return nil
	}
	err := build(yield)
	if err != nil && built == 0 {
		return nil, err
	}
	if err != nil {
		s.setFatal("no se pudieron construir todos los envíos desde Moodle (vea los errores más arriba): no se empezó ningún curso más; la próxima ejecución envía lo que faltó")
	}
	// The sends earlier runs left pending for courses not built tonight.
	for _, k := range s.leftoverPending() {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			s.resolvePending(ctx, k)
		}()
	}
	wg.Wait()
	if !sendable && err == nil {
		why := s.whyNothing
		if why == "" {
			why = "ningún curso quedó seleccionado o ninguno tiene alumnos para enviar"
		}
		s.report.NothingToSend = "no hay ningún curso para enviar: " + why
		s.cfg.Log.Warn("no hay ningún curso para enviar", "motivo", why)
	}
	if err == nil {
		s.leavers(ctx, left)
	}
	s.notices(ctx, leftOut)
	if ctx.Err() != nil {
		s.report.Interrupted = true
		s.report.Messages = append(s.report.Messages, "la ejecución se detuvo por una señal de término: terminó el envío en curso, lo registró y no envió más cursos; la próxima ejecución continúa")
	}
	return s.finish(ctx), err
}

// loadPending reads the sends earlier runs left pending; each course's
// turn resolves its own, and what is left after the build is resolved on
// its own. An unreadable ledger sends nothing (fail closed).
func (s *Session) loadPending(ctx context.Context) {
	pend, err := s.cfg.Ledger.PendingSends(ctx)
	if err != nil {
		s.setFatal("no se pudieron leer los envíos pendientes del registro: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = map[string][]*ledger.Send{}
	for i := range pend {
		k := courseKey(pend[i].CodigoOferta, pend[i].CodigoGrupo)
		if s.pending[k] == nil {
			s.pendingOrder = append(s.pendingOrder, k)
		}
		s.pending[k] = append(s.pending[k], &pend[i])
	}
}

// leftoverPending are the course keys whose pending sends no course built
// tonight took, in the ledger's order.
func (s *Session) leftoverPending() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, k := range s.pendingOrder {
		if s.pending[k] != nil {
			out = append(out, k)
		}
	}
	return out
}

// leavers collects, per course code, its course reports and the RUTs of
// the students its notes name, so that the students SENCE accepted in
// progress and Moodle no longer lists can be found once every course is
// done (a course code's sections may come from several Moodle courses,
// not always one after the other). The students sent, held, skipped or
// excluded are read from the reports themselves.
type leavers struct {
	order  []string
	byCode map[string]*codeSeen
}

type codeSeen struct {
	broken  bool
	reports []*CourseReport
	noted   []string // RUTs of the students the notes name
}

func newLeavers() *leavers { return &leavers{byCode: map[string]*codeSeen{}} }

func (l *leavers) add(cr *CourseReport, r *assemble.CourseResult) {
	c := l.byCode[r.CodigoOferta]
	if c == nil {
		c = &codeSeen{broken: r.CodigoOferta == ""}
		l.byCode[r.CodigoOferta] = c
		l.order = append(l.order, r.CodigoOferta)
	}
	c.reports = append(c.reports, cr)
	if r.Err != nil {
		c.broken = true
	}
	for _, n := range r.Notes {
		if n.RUT != "" {
			c.noted = append(c.noted, normRUT(n.RUT))
		}
	}
}

// present are the students a course code names tonight, by RUT as the
// ledger keys them; ok is false when a section's students could not be
// listed (the ledger failed before they were).
func (c *codeSeen) present(rep *Report) (map[string]bool, bool, error) {
	present := map[string]bool{}
	for _, r := range c.noted {
		present[r] = true
	}
	for _, cr := range c.reports {
		if !cr.listed {
			return nil, false, nil
		}
		students, err := rep.CourseStudents(cr)
		if err != nil {
			return nil, false, err
		}
		for _, st := range students {
			present[normRUT(st.RUT)] = true
		}
	}
	return present, true, nil
}

// leavers finds, per course code built tonight, the students SENCE
// accepted in progress (estado 1) who are not among tonight's students of
// any of its sections: not sent, excluded nor left out with a reason.
// Their enrolment was removed, their student role taken away or their
// user deleted: SENCE keeps what it accepted, so they are reported by
// name, under the course report of their section (or the first of the
// course). A course code with a course error is not checked: its students
// were not read.
func (s *Session) leavers(ctx context.Context, l *leavers) {
	for _, oferta := range l.order {
		c := l.byCode[oferta]
		if c.broken {
			continue
		}
		present, ok, err := c.present(s.report)
		if err != nil {
			s.cfg.Log.Error("no se pudo buscar alumnos retirados del curso "+oferta, "error", err.Error())
			s.report.Messages = append(s.report.Messages, fmt.Sprintf("no se pudo buscar alumnos retirados del curso %s: no se pudo leer el archivo temporal de la ejecución (%v); la próxima ejecución vuelve a buscarlos", oferta, err))
			continue
		}
		if !ok {
			continue
		}
		accepted, err := s.cfg.Ledger.AcceptedStudents(ctx, oferta)
		if err != nil {
			s.ledgerFailed("", "leer lo que SENCE aceptó antes del curso "+oferta+", para buscar alumnos retirados", err)
			continue
		}
		for _, a := range accepted {
			if present[a.RUT] || a.Estado != 1 {
				continue
			}
			at := c.reports[0]
			for _, cr := range c.reports {
				if cr.CodigoGrupo == a.CodigoGrupo {
					at = cr
				}
			}
			when := "antes"
			if !a.At.IsZero() {
				when = "el " + chile.Date(a.At)
			}
			sec := ""
			if a.CodigoGrupo != "" && a.CodigoGrupo != oferta {
				sec = " en la sección " + a.CodigoGrupo
			}
			at.Students = append(at.Students, &StudentReport{RUT: a.RUT, Name: a.Label, Status: StudentLeft,
				Explanation: fmt.Sprintf("SENCE aceptó su avance%s %s (%d %%, estado 1: cursando), pero esta noche no está entre los alumnos del curso en Moodle (matrícula eliminada, rol de alumno quitado o usuario borrado) y no se le envía nada: SENCE conserva ese avance. Si dejó el curso, infórmelo con su estado final: suspenda su matrícula en vez de eliminarla, y el mapeo (en el preset, params.leavers: send) le envía el estado 3; si es un error, vuelva a matricularlo",
					sec, when, a.PorcentajeAvance)})
		}
	}
}

// normRUT is a RUT as the ledger keys it ("12345678-K"), or the text as
// given when it is not a valid RUT.
func normRUT(s string) string {
	if r, err := rut.Parse(s); err == nil {
		return r.String()
	}
	return s
}

// leftOutNotices are what the build did not report of a course and why.
func leftOutNotices(r *assemble.CourseResult) []ledger.Notice {
	var ns []ledger.Notice
	for _, n := range r.Notes {
		ns = append(ns, ledger.Notice{Kind: ledger.NoticeLeftOut, CodigoOferta: r.CodigoOferta, CodigoGrupo: r.CodigoGrupo, Subject: n.Who, Message: n.Msg})
	}
	return ns
}

// notices records what tonight's build left out, so that engine status
// shows it until the next run: Moodle courses that look like SENCE courses
// but are not selected, then course by course what the build did not
// report and why (leftOut) and the students who left. A dry run records
// nothing.
func (s *Session) notices(ctx context.Context, leftOut map[*CourseReport][]ledger.Notice) {
	if s.cfg.DryRun {
		return
	}
	var ns []ledger.Notice
	for _, u := range s.report.Unselected {
		who := u.Shortname
		if u.Fullname != "" && u.Fullname != u.Shortname {
			who += " (" + u.Fullname + ")"
		}
		ns = append(ns, ledger.Notice{Kind: ledger.NoticeUnselected, Subject: who, Message: u.Reason})
	}
	for _, cr := range s.report.Courses {
		ns = append(ns, leftOut[cr]...)
		for _, st := range cr.Students {
			if st.Status != StudentLeft {
				continue
			}
			ns = append(ns, ledger.Notice{Kind: ledger.NoticeLeft, CodigoOferta: cr.CodigoOferta, CodigoGrupo: cr.CodigoGrupo, Subject: st.Who(), Message: st.Explanation})
		}
	}
	if err := s.cfg.Ledger.SaveNotices(ctx, s.rec.ID, ns); err != nil {
		s.ledgerFailed("", "registrar los avisos de la ejecución (engine status no los mostrará)", err)
	}
}
