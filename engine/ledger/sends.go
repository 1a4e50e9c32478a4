package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/otec-tools/sence-engine/engine/crashpoint"
)

// Send statuses. A send is pending from before its request leaves until
// SENCE's answer (or the history) says what happened to it.
const (
	SendPending  = "pending"
	SendAccepted = "accepted" // every student accepted or unchanged
	SendPartial  = "partial"  // some students rejected, the others stored
	SendRejected = "rejected" // SENCE processed it and stored no student
	// SendFailed: SENCE answered without processing it (credentials, HTTP
	// error) or the history confirmed it never arrived: safe to send again.
	SendFailed = "failed"
)

// Answered reports whether SENCE processed the send: it is done for the
// night if the payload does not change.
func Answered(status string) bool {
	return status == SendAccepted || status == SendPartial || status == SendRejected
}

// Send is one request to enviarAvance, the unit of the outbox.
type Send struct {
	ID           int64
	RunID        int64
	Night        string
	CodigoOferta string
	CodigoGrupo  string
	Attempt      int
	CodigoEnvio  string
	// PayloadHash identifies the payload: canonical JSON without the token
	// and the codigoEnvio.
	PayloadHash string
	// Request is the body as sent, the token replaced by <TOKEN>.
	Request   []byte
	Status    string
	CreatedAt time.Time
	// PostedAt is when the send's last POST may have left, zero when no
	// POST of it can have reached SENCE: a pending send with PostedAt is
	// «sin confirmar» until the history says what became of it.
	PostedAt    time.Time
	FinishedAt  time.Time
	Response    []byte
	IDProceso   string
	FromHistory bool
	Error       string
	Accepted    int
	Rejected    int
	Unchanged   int
}

const sendColumns = `id, run_id, night, codigo_oferta, codigo_grupo, attempt, codigo_envio, payload_hash, request, status,
	created_at, finished_at, response, id_proceso, from_history, error, accepted, rejected, unchanged, posted_at`

func scanSends(rows *sql.Rows) ([]Send, error) {
	defer rows.Close()
	var out []Send
	for rows.Next() {
		var s Send
		var created, finished, posted, request, response string
		if err := rows.Scan(&s.ID, &s.RunID, &s.Night, &s.CodigoOferta, &s.CodigoGrupo, &s.Attempt, &s.CodigoEnvio, &s.PayloadHash,
			&request, &s.Status, &created, &finished, &response, &s.IDProceso, &s.FromHistory, &s.Error,
			&s.Accepted, &s.Rejected, &s.Unchanged, &posted); err != nil {
			return nil, err
		}
		s.CreatedAt, s.FinishedAt, s.PostedAt = parseTS(created), parseTS(finished), parseTS(posted)
		s.Request, s.Response = []byte(request), []byte(response)
		out = append(out, s)
	}
	return out, rows.Err()
}

// NextAttempt is the attempt number of a new send of a course tonight.
func (l *Ledger) NextAttempt(ctx context.Context, night, oferta, grupo string) (int, error) {
	var n int
	err := l.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(attempt), 0) FROM sends WHERE night = ? AND codigo_oferta = ? AND codigo_grupo = ?`,
		night, oferta, grupo).Scan(&n)
	return n + 1, err
}

// AddPending commits a send as pending before its request leaves, and
// sets its ID.
func (l *Ledger) AddPending(ctx context.Context, s *Send) error {
	s.Status = SendPending
	res, err := l.db.ExecContext(ctx, `INSERT INTO sends (run_id, night, codigo_oferta, codigo_grupo, attempt, codigo_envio, payload_hash, request, status, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.RunID, s.Night, s.CodigoOferta, s.CodigoGrupo, s.Attempt, s.CodigoEnvio, s.PayloadHash, string(s.Request), s.Status, ts(s.CreatedAt))
	if err != nil {
		return fmt.Errorf("no se pudo registrar el envío %s antes de enviarlo: %w", s.CodigoEnvio, err)
	}
	s.ID, err = res.LastInsertId()
	return err
}

// Posting records, before a POST of a pending send leaves, when it left:
// the history is read for it until SENCE can no longer be processing it.
func (l *Ledger) Posting(ctx context.Context, id int64, at time.Time) error {
	res, err := l.db.ExecContext(ctx, `UPDATE sends SET posted_at = ? WHERE id = ? AND status = ?`, ts(at), id, SendPending)
	if err != nil {
		return fmt.Errorf("no se pudo registrar la hora del envío antes de enviarlo: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("no se pudo registrar la hora del envío antes de enviarlo: el envío %d ya no está pendiente", id)
	}
	return nil
}

// Unposted records that no POST of a pending send can have reached SENCE
// (every attempt failed before SENCE could store it, or the history
// confirmed it did not), so it may be sent again without waiting.
func (l *Ledger) Unposted(ctx context.Context, id int64, msg string) error {
	_, err := l.db.ExecContext(ctx, `UPDATE sends SET posted_at = '', error = ? WHERE id = ? AND status = ?`, msg, id, SendPending)
	return err
}

// Adopt hands a pending send over to a new run that is about to send it
// again with the same codigoEnvio.
func (l *Ledger) Adopt(ctx context.Context, id, runID int64) error {
	_, err := l.db.ExecContext(ctx, `UPDATE sends SET run_id = ?, error = '' WHERE id = ? AND status = ?`, runID, id, SendPending)
	return err
}

// PendingSends returns every send still pending, oldest first.
func (l *Ledger) PendingSends(ctx context.Context) ([]Send, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT `+sendColumns+` FROM sends WHERE status = ? ORDER BY id`, SendPending)
	if err != nil {
		return nil, err
	}
	return scanSends(rows)
}

// SendsOf returns the sends of a course on a night, oldest first.
func (l *Ledger) SendsOf(ctx context.Context, night, oferta, grupo string) ([]Send, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT `+sendColumns+` FROM sends WHERE night = ? AND codigo_oferta = ? AND codigo_grupo = ? ORDER BY id`,
		night, oferta, grupo)
	if err != nil {
		return nil, err
	}
	return scanSends(rows)
}

// Sends returns every send, oldest first (for audits and tests).
func (l *Ledger) Sends(ctx context.Context) ([]Send, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT `+sendColumns+` FROM sends ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return scanSends(rows)
}

// Note records an error on a send without changing its status: a pending
// send whose outcome is still unknown.
func (l *Ledger) Note(ctx context.Context, id int64, msg string) error {
	_, err := l.db.ExecContext(ctx, `UPDATE sends SET error = ? WHERE id = ?`, msg, id)
	return err
}

// Fail marks a send that SENCE surely did not store.
func (l *Ledger) Fail(ctx context.Context, id int64, at time.Time, response []byte, msg string) error {
	_, err := l.db.ExecContext(ctx, `UPDATE sends SET status = ?, finished_at = ?, response = ?, error = ? WHERE id = ?`,
		SendFailed, ts(at), string(response), msg, id)
	return err
}

// Item is the outcome of one student (Modulo "") or one of its modules in
// a send, with the values sent.
type Item struct {
	RUT                string
	Modulo             string
	PorcentajeAvance   int
	Estado             int
	TiempoConectividad int64
	Outcome            string
	Code               string
	Message            string
}

// Completion is SENCE's answer to a send, ready to be recorded.
type Completion struct {
	SendID      int64
	Status      string
	At          time.Time
	Response    []byte
	IDProceso   string
	FromHistory bool
	Note        string
	Accepted    int
	Rejected    int
	Unchanged   int
	Items       []Item
	// Values are what SENCE now has for the students it stored.
	Values []Value
}

// Complete records SENCE's answer to a send, its items and the values SENCE
// accepted, in one transaction.
func (l *Ledger) Complete(ctx context.Context, c Completion) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE sends SET status = ?, finished_at = ?, response = ?, id_proceso = ?, from_history = ?, error = ?,
		accepted = ?, rejected = ?, unchanged = ? WHERE id = ?`,
		c.Status, ts(c.At), string(c.Response), c.IDProceso, c.FromHistory, c.Note, c.Accepted, c.Rejected, c.Unchanged, c.SendID); err != nil {
		return fmt.Errorf("no se pudo registrar la respuesta de SENCE: %w", err)
	}
	for _, it := range c.Items {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO send_items (send_id, rut, modulo, porcentaje_avance, estado, tiempo_conectividad, outcome, code, message)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.SendID, it.RUT, it.Modulo, it.PorcentajeAvance, it.Estado, it.TiempoConectividad, it.Outcome, it.Code, it.Message); err != nil {
			return fmt.Errorf("no se pudo registrar el resultado del alumno %s: %w", it.RUT, err)
		}
	}
	if err := upsertValues(ctx, tx, c.Values); err != nil {
		return err
	}
	crashpoint.At(crashpoint.BeforeRecord)
	return tx.Commit()
}

// Items returns the recorded items of a send.
func (l *Ledger) Items(ctx context.Context, sendID int64) ([]Item, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT rut, modulo, porcentaje_avance, estado, tiempo_conectividad, outcome, code, message
		FROM send_items WHERE send_id = ? ORDER BY rut, modulo`, sendID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Item
	for rows.Next() {
		var it Item
		if err := rows.Scan(&it.RUT, &it.Modulo, &it.PorcentajeAvance, &it.Estado, &it.TiempoConectividad, &it.Outcome, &it.Code, &it.Message); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}
