package nightly

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/otec-tools/sence-engine/engine/voice"
	"log/slog"
	"slices"
	"time"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/crashpoint"
	"github.com/otec-tools/sence-engine/engine/ledger"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// course takes one course through reconcile → deduplicate → outbox → send
// → record, and fills its report.
func (s *Session) course(ctx context.Context, r *assemble.CourseResult, cr *CourseReport, pending []*ledger.Send) {
	started := s.cfg.Now()
	log := s.cfg.Log.With("codigoOferta", r.CodigoOferta, "codigoGrupo", r.CodigoGrupo)
	for _, x := range r.Excluded {
		cr.Students = append(cr.Students, &StudentReport{RUT: x.RUT, InvalidRUT: x.RUTText, MoodleID: x.UserID, Name: x.Label, Status: StudentExcluded,
			Explanation: voice.Reasons(x.Reasons), Reasons: voice.Distinct(x.Reasons)})
	}
	for _, n := range r.Notes {
		note := joinNonEmpty(": ", n.Who, n.Msg)
		if n.Warning {
			note = "aviso: " + note
		}
		cr.Notes = append(cr.Notes, note)
	}
	key := courseKey(r.CodigoOferta, r.CodigoGrupo)
	for _, p := range pending {
		s.resolveOne(ctx, p)
	}
	sent := 0
	quiet := false // not started: the run's summary says why, once
	defer func() {
		if !s.cfg.DryRun {
			s.save(ctx, cr)
		}
		s.progress(func(p *Progress) { p.CoursesDone++; p.StudentsDone += sent })
		if quiet {
			return
		}
		log.Info("curso terminado", "estado", cr.Status, "id_proceso", cr.IDProceso, "codigoEnvio", cr.CodigoEnvio,
			"duracion", s.cfg.Now().Sub(started).Round(time.Millisecond).String())
	}()
	switch {
	case r.Err != nil:
		cr.Status, cr.Message = CourseError, r.Err.Error()
		return
	case r.Payload == nil:
		cr.Status, cr.Message = CourseEmpty, "ningún alumno para informar: el curso no se envía"
		cr.listed = true
		return
	}
	sent = len(r.Payload.ListaAlumnos)
	course, toSend, ok := s.reconcile(ctx, r, cr)
	if !ok {
		return
	}
	if len(course.ListaAlumnos) == 0 {
		cr.Status, cr.Message = CourseNothing, "todos los alumnos quedaron retenidos u omitidos: no hay nada que enviar"
		s.dropRetry(ctx, key, "SENCE no lo recibió y esta noche no hay nada que enviar del curso")
		return
	}
	hash := PayloadHash(course)
	send, why := s.mayStart(ctx, r, cr, &course, hash, toSend)
	if send == nil {
		quiet = why == notStarted
		return
	}
	s.post(ctx, r, cr, send, course, toSend, log)
}

// reconcile compares the course with what SENCE accepted (Reconcile) and
// lists its students in the report; toSend are those the payload still
// carries. ok is false when the ledger could not be read (nothing sent).
func (s *Session) reconcile(ctx context.Context, r *assemble.CourseResult, cr *CourseReport) (payload.Course, []*StudentReport, bool) {
	accepted, err := s.cfg.Ledger.AcceptedOf(ctx, r.CodigoOferta, r.CodigoGrupo)
	if err != nil {
		cr.Status, cr.Message = CourseNotSent, "no se pudo leer el registro: "+err.Error()
		return payload.Course{}, nil, false
	}
	course, decisions := Reconcile(*r.Payload, accepted, s.cfg.Policy, s.cfg.SkipUnchanged)
	cr.listed = true // the excluded ones, and below every student of the payload
	var toSend []*StudentReport
	for i, d := range decisions {
		st := &StudentReport{RUT: d.RUT}
		if i < len(r.Sent) {
			st.MoodleID, st.Name = r.Sent[i].UserID, r.Sent[i].Label
		}
		for _, g := range d.Regressions {
			st.Regressions = append(st.Regressions, g.String())
		}
		switch {
		case d.Held:
			st.Status, st.Explanation = StudentHeld, "su avance en Moodle es menor que el que SENCE ya aceptó; con la política hold no se envía hasta corregirlo en Moodle"
		case d.Skipped:
			st.Status, st.Explanation = StudentSkipped, "sin cambios desde el último envío aceptado (run.skipUnchanged)"
		default:
			toSend = append(toSend, st)
		}
		cr.Students = append(cr.Students, st)
	}
	// Reconcile keeps the students to send in order: their values as sent.
	if len(toSend) == len(course.ListaAlumnos) {
		for k, st := range toSend {
			st.Sent = assemble.ValuesOf(course.ListaAlumnos[k])
		}
	}
	return course, toSend, true
}

// notStarted is mayStart's reason when the run starts no more courses:
// the run's summary says why, once.
const notStarted = "no-empezado"

// mayStart decides whether the course is sent tonight and, if it is,
// commits the send to the outbox; otherwise it fills the report and says
// why not (notStarted when the run starts no more courses).
func (s *Session) mayStart(ctx context.Context, r *assemble.CourseResult, cr *CourseReport, course *payload.Course, hash string, toSend []*StudentReport) (*ledger.Send, string) {
	key := courseKey(r.CodigoOferta, r.CodigoGrupo)
	setAll := func(status string) {
		for _, st := range toSend {
			st.Status = status
		}
	}
	done, same, err := s.answeredTonight(ctx, r, hash)
	if err != nil {
		// Never fail open: without tonight's sends, nothing is sent.
		cr.Status, cr.Message = CourseNotSent, "no se pudo leer el registro para saber si el curso ya se envió esta noche: "+err.Error()
		setAll(StudentNotSent)
		return nil, cr.Status
	}
	if done != nil && (same || !s.cfg.ResendChanged) {
		cr.Status, cr.IDProceso, cr.CodigoEnvio = CourseDone, done.IDProceso, done.CodigoEnvio
		cr.Message = fmt.Sprintf("ya se envió esta noche con los mismos datos (proceso %s): no se envía de nuevo", orDash(done.IDProceso))
		if !same {
			cr.Message = fmt.Sprintf("ya se envió esta noche (proceso %s) y SENCE pide un solo envío al día: lo que cambió desde entonces se enviará en la próxima noche (o use --resend-changed)", orDash(done.IDProceso))
		}
		s.fromItems(ctx, done, toSend)
		s.dropRetry(ctx, key, fmt.Sprintf("SENCE no lo recibió; los datos de esta noche ya los tiene (codigoEnvio %s)", done.CodigoEnvio))
		return nil, cr.Status
	}
	if why := s.blockedReason(key); why != "" {
		cr.Status, cr.Message = CourseNotSent, why
		setAll(StudentNotSent)
		return nil, cr.Status
	}
	if p := s.unresolvedSend(key); p != nil {
		// At most one send a night: whatever changed since, nothing is
		// sent while SENCE may have tonight's send.
		cr.Status, cr.CodigoEnvio = CourseUnconfirmed, p.CodigoEnvio
		cr.Message = fmt.Sprintf("sin confirmar: SENCE puede tener el envío de esta noche (codigoEnvio %s) y su historial no lo confirmó a tiempo; no se envía para no duplicarlo: búsquelo en el historial de SENCE (engine history MAPEO.yaml --code %s); la próxima ejecución lo consulta antes de enviar nada",
			p.CodigoEnvio, p.CodigoEnvio)
		setAll(StudentUnconfirmed)
		return nil, cr.Status
	}
	if s.cfg.DryRun {
		cr.Status = CourseDryRun
		setAll(StudentDryRun)
		return nil, cr.Status
	}
	if why := s.stopReason(ctx); why != "" {
		cr.Status, cr.Message = CourseNotSent, why
		setAll(StudentNotSent)
		return nil, notStarted
	}
	send, err := s.outbox(ctx, course, hash)
	if err != nil {
		cr.Status, cr.Message = CourseNotSent, err.Error()
		setAll(StudentNotSent)
		return nil, cr.Status
	}
	return send, ""
}

// post sends a course committed to the outbox and records SENCE's answer.
func (s *Session) post(ctx context.Context, r *assemble.CourseResult, cr *CourseReport, send *ledger.Send, course payload.Course, toSend []*StudentReport, log *slog.Logger) {
	key := courseKey(r.CodigoOferta, r.CodigoGrupo)
	cr.CodigoEnvio = send.CodigoEnvio
	name := voice.Course(r.CodigoOferta, r.CodigoGrupo)
	s.progress(func(p *Progress) { p.Current = append(p.Current, name) })
	defer s.progress(func(p *Progress) {
		if i := slices.Index(p.Current, name); i >= 0 {
			p.Current = slices.Delete(p.Current, i, i+1)
		}
	})
	crashpoint.At(crashpoint.BeforeSend)
	log.Info("enviando curso a SENCE", "codigoEnvio", send.CodigoEnvio, "alumnos", len(course.ListaAlumnos))
	// The request in flight is finished even when the run is told to
	// stop: cutting it would leave its outcome unknown. Before each POST
	// the ledger records when it left, for the settle time.
	opts := s.options(ctx)
	opts.Posting = func(at time.Time) error {
		if err := s.cfg.Ledger.Posting(context.WithoutCancel(ctx), send.ID, at); err != nil {
			// The POST does not leave; the send stays pending.
			s.ledgerFailed(key, "registrar la hora del envío "+send.CodigoEnvio, err)
			return err
		}
		return nil
	}
	res, err := s.cfg.Sender.SendWith(crashpoint.Trace(context.WithoutCancel(ctx)), course, opts)
	crashpoint.At(crashpoint.AfterResponse)
	s.answer(ctx, send, course, res, err, cr, toSend)
}

// answeredTonight is the last send of the course SENCE answered tonight,
// and whether it carried this very payload.
func (s *Session) answeredTonight(ctx context.Context, r *assemble.CourseResult, hash string) (*ledger.Send, bool, error) {
	sends, err := s.cfg.Ledger.SendsOf(ctx, s.cfg.Night, r.CodigoOferta, r.CodigoGrupo)
	if err != nil {
		return nil, false, err
	}
	var last *ledger.Send
	for i := len(sends) - 1; i >= 0; i-- {
		if !ledger.Answered(sends[i].Status) {
			continue
		}
		if sends[i].PayloadHash == hash {
			return &sends[i], true, nil
		}
		if last == nil {
			last = &sends[i]
		}
	}
	return last, false, nil
}

// fromItems fills students from the outcomes a send recorded.
func (s *Session) fromItems(ctx context.Context, send *ledger.Send, students []*StudentReport) {
	items, err := s.cfg.Ledger.Items(ctx, send.ID)
	if err != nil {
		// Nothing is sent either way; the report cannot say each
		// student's outcome.
		s.ledgerFailed("", "leer el resultado de cada alumno del envío "+send.CodigoEnvio, err)
		for _, st := range students {
			st.Status, st.Explanation = StudentAccepted, "no se pudo leer del registro su resultado en el envío "+send.CodigoEnvio+": "+err.Error()
		}
		return
	}
	byRUT := map[string]ledger.Item{}
	for _, it := range items {
		if it.Modulo == "" {
			byRUT[it.RUT] = it
		}
	}
	for _, st := range students {
		it, ok := byRUT[st.RUT]
		if !ok {
			st.Status = StudentAccepted
			continue
		}
		st.Status, st.Code, st.Explanation = it.Outcome, it.Code, it.Message
	}
}

// dropRetry closes a pending send of tonight that SENCE never received
// when the course needs no send anymore.
func (s *Session) dropRetry(ctx context.Context, key, why string) {
	s.mu.Lock()
	p := s.retry[key]
	delete(s.retry, key)
	s.mu.Unlock()
	if p == nil {
		return
	}
	if err := s.cfg.Ledger.Fail(ctx, p.ID, s.cfg.Now(), nil, why); err != nil {
		// It stays pending: the next run looks it up again.
		s.ledgerFailed("", "cerrar el envío pendiente "+p.CodigoEnvio, err)
	}
}

// outbox commits the send as pending before its request leaves: a pending
// send of tonight that SENCE never received and carries the same data is
// reused with its codigoEnvio; otherwise a new attempt is numbered.
func (s *Session) outbox(ctx context.Context, course *payload.Course, hash string) (*ledger.Send, error) {
	key := courseKey(course.CodigoOferta, course.CodigoGrupo)
	s.mu.Lock()
	p := s.retry[key]
	delete(s.retry, key)
	s.mu.Unlock()
	course.Token = payload.RedactedToken // never stored, whatever the caller set
	if p != nil {
		if p.PayloadHash == hash {
			if err := s.cfg.Ledger.Adopt(ctx, p.ID, s.rec.ID); err != nil {
				s.ledgerFailed("", "registrar el reenvío "+p.CodigoEnvio, err)
				return nil, fmt.Errorf("no se pudo registrar el reenvío: %w", err)
			}
			course.CodigoEnvio = p.CodigoEnvio
			return p, nil
		}
		if err := s.cfg.Ledger.Fail(ctx, p.ID, s.cfg.Now(), nil, "SENCE no lo recibió; lo reemplaza un envío con datos más nuevos"); err != nil {
			s.ledgerFailed("", "cerrar el envío pendiente "+p.CodigoEnvio, err)
			return nil, fmt.Errorf("no se pudo registrar que el envío %s se reemplaza: %w", p.CodigoEnvio, err)
		}
	}
	attempt, err := s.cfg.Ledger.NextAttempt(ctx, s.cfg.Night, course.CodigoOferta, course.CodigoGrupo)
	if err != nil {
		s.ledgerFailed("", "numerar el envío del curso "+course.CodigoOferta, err)
		return nil, fmt.Errorf("no se pudo leer el registro: %w", err)
	}
	course.CodigoEnvio = CodigoEnvio(course.CodigoOferta, course.CodigoGrupo, s.cfg.Night, attempt)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep <TOKEN> and names readable
	if err := enc.Encode(course); err != nil {
		return nil, err
	}
	req := bytes.TrimSpace(buf.Bytes())
	send := &ledger.Send{RunID: s.rec.ID, Night: s.cfg.Night, CodigoOferta: course.CodigoOferta, CodigoGrupo: course.CodigoGrupo,
		Attempt: attempt, CodigoEnvio: course.CodigoEnvio, PayloadHash: hash, Request: req, CreatedAt: s.cfg.Now()}
	if err := s.cfg.Ledger.AddPending(ctx, send); err != nil {
		s.ledgerFailed("", "guardar el envío "+send.CodigoEnvio+" antes de enviarlo", err)
		return nil, fmt.Errorf("no se pudo guardar el envío en el registro antes de enviarlo: %w", err)
	}
	return send, nil
}
