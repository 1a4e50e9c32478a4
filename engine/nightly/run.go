// Package nightly is the nightly run: for every course built from the LMS it
// reconciles the payload with what SENCE already accepted, sends what
// changed through the ledger's outbox, and records SENCE's answer, with a
// bounded number of courses in flight. Before a course is sent, what an
// interrupted run left pending for it is resolved: each pending send is
// looked up in SENCE's history by its codigoEnvio until the history shows
// it or SENCE can no longer be processing it (sence.Decide), so that a
// crash or a slow SENCE at any point loses nothing and duplicates nothing.
package nightly

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/crashpoint"
	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/ledger"
	"github.com/otec-tools/sence-engine/engine/outfile"
	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// Sender is SENCE as a run uses it; *sence.Client is one. Both methods
// follow sence.Decide for a send whose outcome is unknown: an error that
// is sence.ErrUnknownOutcome leaves the send «sin confirmar»; any other
// error from SendWith means SENCE did not store it.
type Sender interface {
	SendWith(ctx context.Context, c payload.Course, o sence.SendOptions) (*sence.SendResult, error)
	Resolve(ctx context.Context, c payload.Course, posted time.Time, o sence.SendOptions) (*sence.SendResult, error)
}

// unreachable is a Sender that can tell SENCE stopped answering
// (*sence.Client with sence.Config.DownAfter): then no more courses start.
type unreachable interface {
	Unreachable() (sence.Down, bool)
}

// DefaultConcurrency is how many courses are in flight when run.concurrency
// is not set: SENCE is slow per course, and a small number spreads the
// load without hammering it.
const DefaultConcurrency = 4

// Config configures a run.
type Config struct {
	Ledger Store
	// Sender is nil for a dry run.
	Sender  Sender
	Mapping string
	// Night is the report date, YYYY-MM-DD: SENCE asks for one send a day,
	// so a course SENCE answered tonight is not sent again.
	Night string
	// ResendChanged sends again, as a new attempt, a course SENCE answered
	// tonight whose data changed since (an explicit operator's decision).
	ResendChanged bool
	Policy        string
	SkipUnchanged bool
	Concurrency   int
	DryRun        bool
	// Deadline, when set, is the end of SENCE's window: no course starts
	// sending at or after it, and a send whose outcome is unknown is
	// waited for in the history until then at most.
	Deadline time.Time
	Now      func() time.Time
	Log      *slog.Logger
	// Progress is told how far the run is, after every change.
	Progress func(Progress)
}

// Progress is how far a run is.
type Progress struct {
	Courses, CoursesDone   int
	Students, StudentsDone int
	// Current are the courses being sent.
	Current []string
}

// Session is a run in progress: Start it, then Execute or Abort it.
type Session struct {
	cfg    Config
	rec    ledger.Run
	report *Report

	whyNothing string

	mu         sync.Mutex
	prog       Progress
	fatal      string
	windowShut bool
	// notStarted counts the courses not started because SENCE stopped
	// answering.
	notStarted int
	// pending are the sends earlier runs left pending, by course key,
	// until the course's turn resolves them; retry are tonight's pending
	// sends SENCE confirmed not having; unresolved tonight's sends left
	// «sin confirmar». By course key, under mu.
	pending      map[string][]*ledger.Send
	pendingOrder []string
	retry        map[string]*ledger.Send
	unresolved   map[string]*ledger.Send
	// blocked are the courses a ledger failure keeps from being sent
	// tonight, with why; under mu.
	blocked map[string]string
}

func courseKey(oferta, grupo string) string { return oferta + "\x00" + grupo }

// Start records the beginning of a run; call it holding the ledger's lock.
// Runs an earlier process left "running" are closed as interrupted.
func Start(ctx context.Context, cfg Config) (*Session, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Policy == "" {
		cfg.Policy = KeepMax
	}
	now := cfg.Now()
	if n, err := cfg.Ledger.CloseAbandoned(ctx, now); err != nil {
		return nil, fmt.Errorf("registro %s: %w", cfg.Ledger.Path(), err)
	} else if n > 0 {
		cfg.Log.Warn("ejecuciones anteriores quedaron interrumpidas; esta ejecución termina lo que dejaron pendiente", "ejecuciones", n)
	}
	s := &Session{cfg: cfg, retry: map[string]*ledger.Send{}, unresolved: map[string]*ledger.Send{}}
	s.rec = ledger.Run{StartedAt: now, Night: cfg.Night, Mapping: cfg.Mapping, DryRun: cfg.DryRun, PID: os.Getpid()}
	if err := cfg.Ledger.StartRun(ctx, &s.rec); err != nil {
		return nil, err
	}
	s.report = &Report{RunID: s.rec.ID, Mapping: cfg.Mapping, Night: cfg.Night, Started: now, DryRun: cfg.DryRun, Policy: cfg.Policy,
		Courses: []*CourseReport{}}
	cfg.Log.Info("ejecución iniciada", "ejecucion", s.rec.ID, "fechaReporte", cfg.Night, "politica", cfg.Policy, "simulacion", cfg.DryRun)
	return s, nil
}

// ID is the run's number in the ledger.
func (s *Session) ID() int64 { return s.rec.ID }

// Abort ends a run that could not do its job (the build failed, SENCE is
// out of its window) and records why.
func (s *Session) Abort(ctx context.Context, why string) *Report {
	s.report.Messages = append(s.report.Messages, why)
	s.cfg.Log.Error("la ejecución no pudo hacer su trabajo", "motivo", why)
	return s.finish(ctx)
}

// Unselected records the Moodle courses the selection left out that look
// like SENCE courses: the report and engine status name them.
func (s *Session) Unselected(list []assemble.UnselectedCourse) {
	s.report.Unselected = list
}

// WhenNothing is why the build may have left nothing to send (what the
// selection is and what Moodle has), said by the report when Execute
// gets no course with a payload: a run that sends nothing because
// nothing was selected does not end «ok».
func (s *Session) WhenNothing(why string) {
	s.whyNothing = why
}

// finish records the end of the run and writes its report.
func (s *Session) finish(ctx context.Context) *Report {
	ctx = context.WithoutCancel(ctx) // a stopped run is still recorded
	r := s.report
	r.Finished = s.cfg.Now()
	slices.SortStableFunc(r.Resumed, func(a, b ResumedSend) int {
		return strings.Compare(a.CodigoEnvio, b.CodigoEnvio)
	})
	if d, down := s.senceDown(); down {
		// One line for the whole night, not one per attempt or course.
		msg := fmt.Sprintf("SENCE no responde desde las %s (hora de Chile): %d intentos seguidos fallaron (el último: %s), así que no se intentó más",
			d.Since.In(chile.Location).Format("15:04:05"), d.Attempts, d.Last)
		if s.notStarted > 0 {
			msg += fmt.Sprintf(" y %s", diag.Plural(s.notStarted, "curso no se empezó", "cursos no se empezaron"))
		}
		msg += ". Lo que no se envió queda para la próxima ejecución, que no duplica nada (lo que pudo llegar a SENCE lo busca antes en su historial)"
		r.Messages = append(r.Messages, msg)
		s.cfg.Log.Error("SENCE no responde: la ejecución no intenta más",
			"desde", d.Since.In(chile.Location).Format(time.RFC3339), "intentos", d.Attempts, "ultimo_error", d.Last, "cursos_no_empezados", s.notStarted)
	}
	r.total()
	s.writeReport(r)
	s.rec.FinishedAt, s.rec.Summary, s.rec.Report = r.Finished, r.Summary(), r.Path
	switch {
	case r.Interrupted:
		s.rec.Status = ledger.RunInterrupted
	case r.Outcome == OutcomeOK:
		s.rec.Status = ledger.RunOK
	case r.Outcome == OutcomeProblems:
		s.rec.Status = ledger.RunProblems
	default:
		s.rec.Status = ledger.RunFailed
	}
	if err := s.cfg.Ledger.FinishRun(ctx, &s.rec); err != nil {
		// The run stays «running» in the ledger; the next run closes it
		// as interrupted. The report says so and the run does not end ok.
		s.ledgerFailed("", "registrar el fin de la ejecución", err)
		r.total()
		s.writeReport(r)
	}
	s.cfg.Log.Info("ejecución terminada", "ejecucion", s.rec.ID, "resultado", r.Outcome, "resumen", r.Summary(), "informe", r.Path)
	return r
}

// options are the options of every send and resolution of the run: wait
// for the history until the window ends or the run is told to stop.
func (s *Session) options(ctx context.Context) sence.SendOptions {
	return sence.SendOptions{Until: s.cfg.Deadline, Stop: ctx}
}

// resolvePending finishes what earlier runs left pending for a course:
// each pending send is looked up in SENCE's history by its codigoEnvio
// (sence.Decide). Found, its outcome is recorded without sending anything;
// not received, it is sent again tonight (the same codigoEnvio if the data
// did not change) or, from an earlier night, replaced by tonight's send;
// still unconfirmed when the window closes or the run stops, tonight's
// course is not sent («sin confirmar»).
func (s *Session) resolvePending(ctx context.Context, key string) {
	for _, p := range s.takePending(key) {
		s.resolveOne(ctx, p)
	}
}

// takePending hands the sends earlier runs left pending for a course to
// the one turn that resolves them: the course's, or the leftovers' when
// no course of that key is built tonight.
func (s *Session) takePending(key string) []*ledger.Send {
	s.mu.Lock()
	defer s.mu.Unlock()
	pend := s.pending[key]
	delete(s.pending, key)
	return pend
}

func (s *Session) resolveOne(ctx context.Context, p *ledger.Send) {
	log := s.cfg.Log.With("codigoOferta", p.CodigoOferta, "codigoGrupo", p.CodigoGrupo, "codigoEnvio", p.CodigoEnvio)
	rs := ResumedSend{CodigoOferta: p.CodigoOferta, CodigoGrupo: p.CodigoGrupo, CodigoEnvio: p.CodigoEnvio}
	defer func() {
		s.mu.Lock()
		s.report.Resumed = append(s.report.Resumed, rs)
		s.mu.Unlock()
	}()
	key := courseKey(p.CodigoOferta, p.CodigoGrupo)
	tonight := p.Night == s.cfg.Night
	var course payload.Course
	if err := json.Unmarshal(p.Request, &course); err != nil {
		// Without its request it cannot be looked up: never resend blindly.
		s.note(ctx, key, p, "el envío registrado está dañado: "+err.Error())
		rs.Result = fmt.Sprintf("sin confirmar: el envío registrado está dañado (%v); búsquelo en el historial de SENCE con el codigoEnvio %s", err, p.CodigoEnvio)
		if tonight {
			s.setUnresolved(key, p)
		}
		return
	}
	if f := s.fatalMsg(); f != "" {
		rs.Result = "sin confirmar: no se consultó el historial de SENCE (" + f + ")"
		if tonight {
			s.setUnresolved(key, p)
		}
		return
	}
	res, err := s.cfg.Sender.Resolve(context.WithoutCancel(ctx), course, p.PostedAt, s.options(ctx))
	switch {
	case err != nil:
		s.note(ctx, key, p, err.Error())
		if errors.Is(err, sence.ErrAuth) {
			s.setFatal("SENCE rechazó las credenciales al consultar el historial: " + err.Error())
		}
		if tonight {
			s.setUnresolved(key, p)
		}
		rs.Result = err.Error()
		if errors.Is(err, sence.ErrDown) {
			// SENCE does not answer: the run's summary says so once.
			log.Info("un envío pendiente quedó sin confirmar: SENCE no responde")
		} else {
			log.Warn("un envío pendiente quedó sin confirmar en el historial de SENCE", "error", err.Error())
		}
	case res != nil:
		if comp, err := s.record(ctx, p, course, res); err != nil {
			// SENCE has it: whatever the ledger says, nothing is sent.
			rs.Result = "SENCE lo tiene, pero no se pudo registrar: " + err.Error()
			if tonight {
				s.setUnresolved(key, p)
			}
		} else {
			rs.Result = fmt.Sprintf("SENCE ya lo tenía (proceso %s, %s): se registró su resultado sin reenviarlo", orDash(res.IDProceso), comp.Status)
			rs.IDProceso = res.IDProceso
		}
		log.Info("envío pendiente encontrado en el historial de SENCE: se registra sin reenviar", "id_proceso", res.IDProceso)
	case tonight:
		if err := s.cfg.Ledger.Unposted(ctx, p.ID, "SENCE no lo recibió (confirmado en el historial)"); err != nil {
			rs.Result = "SENCE no lo recibió (confirmado en el historial), pero no se pudo registrar: " + err.Error()
			s.ledgerFailed(key, "registrar que SENCE no recibió el envío "+p.CodigoEnvio, err)
			return
		}
		s.mu.Lock()
		s.retry[key] = p
		s.mu.Unlock()
		rs.Result = "SENCE no lo recibió (confirmado en el historial): el curso se envía esta noche"
		log.Info("un envío pendiente no llegó a SENCE: se envía de nuevo")
	default:
		if err := s.cfg.Ledger.Fail(ctx, p.ID, s.cfg.Now(), nil, "SENCE no lo recibió (confirmado en el historial); lo reemplaza el envío de la noche "+s.cfg.Night); err != nil {
			rs.Result = "SENCE no lo recibió (confirmado en el historial), pero no se pudo registrar: " + err.Error()
			s.ledgerFailed(key, "cerrar el envío "+p.CodigoEnvio+" de una noche anterior", err)
			return
		}
		rs.Result = "SENCE no lo recibió (confirmado en el historial): lo reemplaza el envío de esta noche"
	}
}

func (s *Session) setUnresolved(key string, p *ledger.Send) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unresolved[key] = p
}

func (s *Session) unresolvedSend(key string) *ledger.Send {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unresolved[key]
}

// course takes one course through reconcile → deduplicate → outbox → send
// → record, and fills its report.
func (s *Session) course(ctx context.Context, r *assemble.CourseResult, cr *CourseReport, pending []*ledger.Send) {
	started := s.cfg.Now()
	log := s.cfg.Log.With("codigoOferta", r.CodigoOferta, "codigoGrupo", r.CodigoGrupo)
	for _, x := range r.Excluded {
		cr.Students = append(cr.Students, &StudentReport{RUT: x.RUT, MoodleID: x.UserID, Name: x.Label, Status: StudentExcluded,
			Explanation: strings.Join(x.Reasons, "; ")})
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
		return
	}
	sent = len(r.Payload.ListaAlumnos)
	accepted, err := s.cfg.Ledger.AcceptedOf(ctx, r.CodigoOferta, r.CodigoGrupo)
	if err != nil {
		cr.Status, cr.Message = CourseNotSent, "no se pudo leer el registro: "+err.Error()
		return
	}
	course, decisions := Reconcile(*r.Payload, accepted, s.cfg.Policy, s.cfg.SkipUnchanged)
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
	setAll := func(status, why string) {
		for _, st := range toSend {
			st.Status = status
			if why != "" {
				st.Explanation = why
			}
		}
	}
	if len(course.ListaAlumnos) == 0 {
		cr.Status, cr.Message = CourseNothing, "todos los alumnos quedaron retenidos u omitidos: no hay nada que enviar"
		s.dropRetry(ctx, key, "SENCE no lo recibió y esta noche no hay nada que enviar del curso")
		return
	}
	hash := PayloadHash(course)
	done, same, err := s.answeredTonight(ctx, r, hash)
	if err != nil {
		// Never fail open: without tonight's sends, nothing is sent.
		cr.Status, cr.Message = CourseNotSent, "no se pudo leer el registro para saber si el curso ya se envió esta noche: "+err.Error()
		setAll(StudentNotSent, "")
		return
	}
	if done != nil && (same || !s.cfg.ResendChanged) {
		cr.Status, cr.IDProceso, cr.CodigoEnvio = CourseDone, done.IDProceso, done.CodigoEnvio
		cr.Message = fmt.Sprintf("ya se envió esta noche con los mismos datos (proceso %s): no se envía de nuevo", orDash(done.IDProceso))
		if !same {
			cr.Message = fmt.Sprintf("ya se envió esta noche (proceso %s) y SENCE pide un solo envío al día: lo que cambió desde entonces se enviará en la próxima noche (o use --resend-changed)", orDash(done.IDProceso))
		}
		s.fromItems(ctx, done, toSend)
		s.dropRetry(ctx, key, fmt.Sprintf("SENCE no lo recibió; los datos de esta noche ya los tiene (codigoEnvio %s)", done.CodigoEnvio))
		return
	}
	if why := s.blockedReason(key); why != "" {
		cr.Status, cr.Message = CourseNotSent, why
		setAll(StudentNotSent, "")
		return
	}
	if p := s.unresolvedSend(key); p != nil {
		// At most one send a night: whatever changed since, nothing is
		// sent while SENCE may have tonight's send.
		cr.Status, cr.CodigoEnvio = CourseUnconfirmed, p.CodigoEnvio
		cr.Message = fmt.Sprintf("sin confirmar: SENCE puede tener el envío de esta noche (codigoEnvio %s) y su historial no lo confirmó a tiempo; no se envía para no duplicarlo: búsquelo en el historial de SENCE (engine history MAPEO.yaml --code %s); la próxima ejecución lo consulta antes de enviar nada",
			p.CodigoEnvio, p.CodigoEnvio)
		setAll(StudentUnconfirmed, "")
		return
	}
	if s.cfg.DryRun {
		cr.Status = CourseDryRun
		setAll(StudentDryRun, "")
		return
	}
	if why := s.stopReason(ctx); why != "" {
		cr.Status, cr.Message = CourseNotSent, why
		setAll(StudentNotSent, "")
		quiet = true
		return
	}
	send, err := s.outbox(ctx, &course, hash)
	if err != nil {
		cr.Status, cr.Message = CourseNotSent, err.Error()
		setAll(StudentNotSent, "")
		return
	}
	cr.CodigoEnvio = send.CodigoEnvio
	name := r.CodigoOferta
	if r.CodigoGrupo != "" && r.CodigoGrupo != r.CodigoOferta {
		name += " grupo " + r.CodigoGrupo // a course sent in several sections
	}
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
			Label: st.Name, Status: st.Status, Code: st.Code, Message: joinNonEmpty("; ", append([]string{st.Explanation}, st.Regressions...)...)})
	}
	err := s.cfg.Ledger.SaveCourse(ctx, s.rec.ID, s.cfg.Now(), ledger.CourseRecord{CodigoOferta: cr.CodigoOferta, CodigoGrupo: cr.CodigoGrupo,
		Label: cr.Name, Status: cr.Status, CodigoEnvio: cr.CodigoEnvio, Message: cr.Message}, students)
	if err != nil {
		s.ledgerFailed("", "registrar el estado del curso "+cr.CodigoOferta+" (engine status no lo mostrará)", err)
	}
}

// stopReason says why no more courses may start sending, "" if they may.
func (s *Session) stopReason(ctx context.Context) string {
	if f := s.fatalMsg(); f != "" {
		return "no se envió: " + f
	}
	if ctx.Err() != nil {
		return "no se envió: la ejecución se detuvo antes de llegar a este curso; la próxima ejecución lo envía"
	}
	if d, down := s.senceDown(); down {
		s.mu.Lock()
		s.notStarted++
		s.mu.Unlock()
		return fmt.Sprintf("no se envió: SENCE no responde desde las %s (hora de Chile); la próxima ejecución lo envía",
			d.Since.In(chile.Location).Format("15:04:05"))
	}
	if d := s.cfg.Deadline; !d.IsZero() && !s.cfg.Now().Before(d) {
		s.mu.Lock()
		first := !s.windowShut
		s.windowShut = true
		if first {
			s.report.Messages = append(s.report.Messages, fmt.Sprintf("terminó la ventana de envío de SENCE (%s, hora de Chile): no se enviaron más cursos; la próxima ejecución dentro de la ventana los envía",
				d.In(chile.Location).Format("15:04")))
		}
		s.mu.Unlock()
		if first {
			s.cfg.Log.Warn("terminó la ventana de envío de SENCE: no se envían más cursos", "fin", d.In(chile.Location).Format("15:04"))
		}
		return "no se envió: terminó la ventana de envío de SENCE; la próxima ejecución lo envía"
	}
	return ""
}

// senceDown says whether the Sender stopped making requests because SENCE
// did not answer several in a row.
func (s *Session) senceDown() (sence.Down, bool) {
	if u, ok := s.cfg.Sender.(unreachable); ok {
		return u.Unreachable()
	}
	return sence.Down{}, false
}

func (s *Session) setFatal(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fatal == "" {
		s.fatal = msg
		s.report.Messages = append(s.report.Messages, msg)
		s.cfg.Log.Error("la ejecución deja de enviar", "motivo", msg)
	}
}

func (s *Session) fatalMsg() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fatal
}

// progress applies change (if any) and tells cfg.Progress, one call at a
// time.
func (s *Session) progress(change func(*Progress)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if change != nil {
		change(&s.prog)
	}
	if s.cfg.Progress != nil {
		p := s.prog
		p.Current = slices.Clone(p.Current)
		s.cfg.Progress(p)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeReport writes the JSON report beside the ledger, in reports/.
func (s *Session) writeReport(r *Report) {
	dir := filepath.Join(filepath.Dir(s.cfg.Ledger.Path()), "reports")
	path := filepath.Join(dir, fmt.Sprintf("run-%d.json", s.rec.ID))
	data, _ := json.MarshalIndent(r, "", "  ")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		s.cfg.Log.Error("no se pudo crear la carpeta de informes", "carpeta", dir, "error", err.Error())
	} else if err := outfile.WriteAtomic(path, append(data, '\n')); err != nil {
		s.cfg.Log.Error("no se pudo escribir el informe de la ejecución", "archivo", path, "error", err.Error())
	} else {
		r.Path = path
	}
}
