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
	"context"
	"fmt"
	"github.com/otec-tools/sence-engine/engine/voice"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/ledger"
	"github.com/otec-tools/sence-engine/engine/outfile"
	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/spill"
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
	// Spill, when set, takes each course's students once the course is
	// done (a file beside the ledger, engine/spill): the report keeps
	// their counts and WriteJSON, WriteText and the run's page read them
	// back, so a run's memory does not grow with the site's students. The
	// caller removes it once done with the report.
	Spill *spill.File
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
		Courses: []*CourseReport{}, spill: cfg.Spill}
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
		msg := fmt.Sprintf("SENCE no responde desde las %s: %d intentos seguidos fallaron (el último: %s), así que no se intentó más",
			voice.TimeOfDay(d.Since), d.Attempts, d.Last)
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
		return fmt.Sprintf("no se envió: SENCE no responde desde las %s; la próxima ejecución lo envía",
			voice.TimeOfDay(d.Since))
	}
	if d := s.cfg.Deadline; !d.IsZero() && !s.cfg.Now().Before(d) {
		s.mu.Lock()
		first := !s.windowShut
		s.windowShut = true
		if first {
			s.report.Messages = append(s.report.Messages, fmt.Sprintf("terminó la ventana de envío de SENCE (%s): no se enviaron más cursos; la próxima ejecución dentro de la ventana los envía",
				voice.TimeOfDay(d)))
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
	if err := os.MkdirAll(dir, 0o700); err != nil {
		s.cfg.Log.Error("no se pudo crear la carpeta de informes", "carpeta", dir, "error", err.Error())
	} else if err := outfile.WriteAtomicFunc(path, r.WriteJSON); err != nil {
		s.cfg.Log.Error("no se pudo escribir el informe de la ejecución", "archivo", path, "error", err.Error())
	} else {
		r.Path = path
	}
}
