package nightly

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/otec-tools/sence-engine/engine/ledger"
)

// Store is the ledger as a run uses it; *ledger.Ledger is the one the
// engine uses. The tests wrap it to fail at a chosen call and prove that
// the run fails closed: every read that decides whether a course is sent
// sends nothing of the course when it fails, and every failed write is
// reported and leaves what the next run needs to finish the work.
type Store interface {
	Path() string
	CloseAbandoned(ctx context.Context, now time.Time) (int64, error)
	StartRun(ctx context.Context, r *ledger.Run) error
	FinishRun(ctx context.Context, r *ledger.Run) error

	// Reads that decide whether a course is sent.
	PendingSends(ctx context.Context) ([]ledger.Send, error)
	SendsOf(ctx context.Context, night, oferta, grupo string) ([]ledger.Send, error)
	AcceptedOf(ctx context.Context, oferta, grupo string) (map[string]*ledger.Accepted, error)
	NextAttempt(ctx context.Context, night, oferta, grupo string) (int, error)

	// The outbox: a send is committed as pending before its request
	// leaves, and each outcome is recorded.
	AddPending(ctx context.Context, s *ledger.Send) error
	Adopt(ctx context.Context, id, runID int64) error
	Posting(ctx context.Context, id int64, at time.Time) error
	Note(ctx context.Context, id int64, msg string) error
	Unposted(ctx context.Context, id int64, msg string) error
	Fail(ctx context.Context, id int64, at time.Time, response []byte, msg string) error
	Complete(ctx context.Context, c ledger.Completion) error

	// What the report and engine status show.
	Items(ctx context.Context, sendID int64) ([]ledger.Item, error)
	AcceptedStudents(ctx context.Context, oferta string) ([]ledger.AcceptedStudent, error)
	SaveCourse(ctx context.Context, runID int64, now time.Time, c ledger.CourseRecord, students []ledger.StudentRecord) error
	SaveNotices(ctx context.Context, runID int64, notices []ledger.Notice) error
}

var _ Store = (*ledger.Ledger)(nil)

// ledgerFailed reports a ledger call that failed: the run says so (its
// outcome is «fallida», exit 3) and, with a course key, that course sends
// nothing tonight (fail closed: what the ledger could not confirm is
// never guessed); its pending sends stay pending, for the next run to look
// up in SENCE's history.
func (s *Session) ledgerFailed(key, what string, err error) {
	msg := fmt.Sprintf("el registro %s falló al %s: %v", s.cfg.Ledger.Path(), what, err)
	s.cfg.Log.Error("el registro falló", "operacion", what, "error", err.Error())
	s.mu.Lock()
	defer s.mu.Unlock()
	if key != "" {
		if s.blocked == nil {
			s.blocked = map[string]string{}
		}
		s.blocked[key] = "no se envió: " + msg + "; para no arriesgar un envío doble, el curso no se envía esta noche: la próxima ejecución consulta antes el historial de SENCE"
	}
	if !slices.Contains(s.report.Messages, msg) {
		s.report.Messages = append(s.report.Messages, msg)
	}
}

// blockedReason is why a course may not be sent tonight after a ledger
// failure, "" if it may.
func (s *Session) blockedReason(key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blocked[key]
}

// note records a message on a pending send; a failure blocks the course
// (key, "" for none).
func (s *Session) note(ctx context.Context, key string, p *ledger.Send, msg string) {
	if err := s.cfg.Ledger.Note(ctx, p.ID, msg); err != nil {
		s.ledgerFailed(key, "anotar el envío "+p.CodigoEnvio, err)
	}
}

// fail records a send SENCE did not store; if it cannot, the send stays
// pending and the next run looks it up in the history.
func (s *Session) fail(ctx context.Context, p *ledger.Send, at time.Time, body []byte, msg string) {
	if err := s.cfg.Ledger.Fail(ctx, p.ID, at, body, msg); err != nil {
		s.ledgerFailed("", "registrar que SENCE no recibió el envío "+p.CodigoEnvio, err)
	}
}
