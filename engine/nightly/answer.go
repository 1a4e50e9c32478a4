package nightly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/otec-tools/sence-engine/engine/ledger"
	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// answer records what came of a send and fills the course's report.
func (s *Session) answer(ctx context.Context, send *ledger.Send, course payload.Course, res *sence.SendResult, err error, cr *CourseReport, students []*StudentReport) {
	ctx = context.WithoutCancel(ctx)
	byRUT := map[string]*StudentReport{}
	for _, st := range students {
		byRUT[st.RUT] = st
	}
	if err == nil && res != nil {
		comp, rerr := s.record(ctx, send, course, res)
		if rerr != nil {
			cr.Status = CoursePending
			cr.Message = "SENCE respondió, pero no se pudo registrar la respuesta: " + rerr.Error() + "; la próxima ejecución la consulta en el historial"
			for _, st := range students {
				st.Status = StudentPending
			}
			return
		}
		cr.IDProceso = res.IDProceso
		switch comp.Status {
		case ledger.SendAccepted:
			cr.Status = CourseAccepted
		case ledger.SendPartial:
			cr.Status = CoursePartial
		default:
			cr.Status = CourseRejected
		}
		var msgs []string
		for _, e := range append(slices.Clone(res.SendErrors), res.CourseErrors...) {
			msgs = append(msgs, fmt.Sprintf("[%s] %s", e.Code, e.Explain()))
		}
		cr.Message = joinNonEmpty("; ", append(msgs, res.Note)...)
		for k, sr := range res.Students {
			st := byRUT[k]
			if st == nil {
				continue
			}
			st.Status = studentStatus(sr.Outcome)
			if sr.Outcome != sence.Accepted {
				st.Code, st.Explanation = sr.Code, sr.Explain()
			}
		}
		return
	}
	now := s.cfg.Now()
	var se *sence.Error
	errors.As(err, &se)
	switch {
	case errors.Is(err, sence.ErrUnknownOutcome):
		// SENCE may have it and its history did not say so in time: the
		// send stays pending, and nothing of the course is sent again
		// until a look-up decides.
		s.note(ctx, "", send, err.Error())
		cr.Status, cr.Message = CourseUnconfirmed, err.Error()
		for _, st := range students {
			st.Status = StudentUnconfirmed
		}
		if errors.Is(err, sence.ErrAuth) {
			s.setFatal("SENCE rechazó las credenciales al consultar el historial: no se envían más cursos; revise el RUT OTEC y el token (engine ping)")
		}
	case errors.Is(err, sence.ErrAuth):
		s.fail(ctx, send, now, nil, err.Error())
		cr.Status, cr.Message = CourseFailed, err.Error()
		s.setFatal("SENCE rechazó las credenciales: no se envían más cursos; revise el RUT OTEC y el token (engine ping)")
		for _, st := range students {
			st.Status = StudentNotSent
		}
	case se != nil && se.Kind == sence.ErrHTTPStatus && se.StatusCode >= 400 && se.StatusCode < 500 && se.StatusCode != http.StatusTooManyRequests:
		// SENCE refused the request itself: nothing was stored.
		s.fail(ctx, send, now, se.Body, err.Error())
		cr.Status, cr.Message = CourseFailed, err.Error()
		for _, st := range students {
			st.Status = StudentNotSent
		}
	default:
		// Unreachable, 503s, a lost answer the history proved never
		// arrived: SENCE does not have it. The send stays pending and the
		// next run, after one look in the history, sends it again with
		// the same codigoEnvio.
		if uerr := s.cfg.Ledger.Unposted(ctx, send.ID, err.Error()); uerr != nil {
			// It stays pending as posted: the next run looks it up in
			// the history before anything else, as for a lost answer.
			s.ledgerFailed("", "registrar que SENCE no recibió el envío "+send.CodigoEnvio, uerr)
		}
		cr.Status = CoursePending
		cr.Message = fmt.Sprintf("%v; queda pendiente: SENCE no lo recibió; la próxima ejecución lo confirma en el historial de SENCE con el codigoEnvio %s y lo envía", err, send.CodigoEnvio)
		for _, st := range students {
			st.Status = StudentPending
		}
	}
}

// record writes SENCE's answer to a send into the ledger.
func (s *Session) record(ctx context.Context, send *ledger.Send, course payload.Course, res *sence.SendResult) (ledger.Completion, error) {
	ctx = context.WithoutCancel(ctx)
	now := s.cfg.Now()
	accepted, rejected, unchanged := res.Count()
	comp := ledger.Completion{SendID: send.ID, At: now, IDProceso: res.IDProceso, FromHistory: res.FromHistory, Note: res.Note,
		Accepted: accepted, Rejected: rejected, Unchanged: unchanged}
	switch {
	case rejected == 0 && len(res.SendErrors)+len(res.CourseErrors) == 0:
		comp.Status = ledger.SendAccepted
	case accepted+unchanged == 0:
		comp.Status = ledger.SendRejected
	default:
		comp.Status = ledger.SendPartial
	}
	switch {
	case res.Response != nil:
		comp.Response = res.Response.Raw
	case res.History != nil:
		comp.Response, _ = json.Marshal(res.History)
	}
	for _, a := range course.ListaAlumnos {
		key := StudentKey(a)
		sr, ok := res.Students[key]
		if !ok {
			continue
		}
		outcome, msg := studentStatus(sr.Outcome), ""
		if sr.Outcome != sence.Accepted {
			msg = sr.Explain()
		}
		comp.Items = append(comp.Items, ledger.Item{RUT: key, PorcentajeAvance: a.PorcentajeAvance, Estado: a.Estado,
			TiempoConectividad: a.TiempoConectividad, Outcome: outcome, Code: sr.Code, Message: msg})
		for _, m := range a.ListaModulos {
			comp.Items = append(comp.Items, ledger.Item{RUT: key, Modulo: m.CodigoModulo, PorcentajeAvance: m.PorcentajeAvance,
				Estado: m.Estado, TiempoConectividad: m.TiempoConectividad, Outcome: outcome, Code: sr.Code})
		}
		// What SENCE now has: a stored student, or an unchanged one whose
		// every module is known to be unchanged.
		if sr.Outcome == sence.Accepted || (sr.Outcome == sence.Unchanged && !sr.Uncertain) {
			v := ledger.Value{CodigoOferta: course.CodigoOferta, CodigoGrupo: course.CodigoGrupo, RUT: key,
				PorcentajeAvance: a.PorcentajeAvance, Estado: a.Estado, TiempoConectividad: a.TiempoConectividad,
				Fingerprint: Fingerprint(a), At: now, SendID: send.ID, Source: ledger.FromSend}
			comp.Values = append(comp.Values, v)
			for _, m := range a.ListaModulos {
				mv := v
				mv.Modulo, mv.PorcentajeAvance, mv.Estado, mv.TiempoConectividad, mv.Fingerprint = m.CodigoModulo, m.PorcentajeAvance, m.Estado, m.TiempoConectividad, ""
				comp.Values = append(comp.Values, mv)
			}
		}
	}
	if err := s.cfg.Ledger.Complete(ctx, comp); err != nil {
		s.ledgerFailed("", "registrar la respuesta de SENCE al envío "+send.CodigoEnvio+" (la próxima ejecución la busca en el historial)", err)
		return comp, err
	}
	return comp, nil
}

func studentStatus(o sence.Outcome) string {
	switch o {
	case sence.Accepted:
		return StudentAccepted
	case sence.Unchanged:
		return StudentUnchanged
	}
	return StudentRejected
}

// save records what the run did with a course and its students.
func (s *Session) save(ctx context.Context, cr *CourseReport) {
	ctx = context.WithoutCancel(ctx)
	var students []ledger.StudentRecord
	for _, st := range cr.Students {
		students = append(students, ledger.StudentRecord{CodigoOferta: cr.CodigoOferta, CodigoGrupo: cr.CodigoGrupo, Alumno: st.Key(),
			MoodleID: st.MoodleID, RUTText: st.InvalidRUT, Label: st.Name, Status: st.Status, Code: st.Code, Message: joinNonEmpty("; ", append([]string{st.Explanation}, st.Regressions...)...)})
	}
	err := s.cfg.Ledger.SaveCourse(ctx, s.rec.ID, s.cfg.Now(), ledger.CourseRecord{CodigoOferta: cr.CodigoOferta, CodigoGrupo: cr.CodigoGrupo,
		Label: cr.Name, Status: cr.Status, CodigoEnvio: cr.CodigoEnvio, Message: cr.Message}, students)
	if err != nil {
		s.ledgerFailed("", "registrar el estado del curso "+cr.CodigoOferta+" (engine status no lo mostrará)", err)
	}
}
