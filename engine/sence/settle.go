package sence

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// SENCE is slow: a send may be processed, and recorded in historialEnvios,
// well after the client stopped waiting for its answer. A send whose
// outcome is unknown (timeout, lost answer, malformed answer, a process
// that died) is therefore looked up in the history until either the
// history shows it or it was posted so long ago (Settle) that SENCE can no
// longer be processing it; only then may it be sent again, with the same
// codigoEnvio. Decide is that rule; settle is the loop that applies it.

// DefaultSettle is the shortest time after which a send whose answer was
// lost and that historialEnvios does not show is taken as never received:
// SENCE's recommended timeout, the longest SENCE is expected to take.
const DefaultSettle = DefaultTimeout

// maxLooks bounds the look-ups of one send whose answer was lost, against
// a clock that does not move.
const maxLooks = 10000

// Verdict is what the history says of a send whose outcome is unknown.
type Verdict int

const (
	// Wait: SENCE may still be processing the send, or the history could
	// not be read: look again later, and do not send it.
	Wait Verdict = iota + 1
	// Received: the history lists a process with the send's codigoEnvio:
	// record its outcome and never send it again.
	Received
	// NotReceived: the history does not list it although it was posted
	// at least Settle ago: it may be sent again, with the same codigoEnvio.
	NotReceived
	// Unconfirmed: out of time before a verdict (the window closed, the
	// run was stopped, the history stayed unavailable): do not send; the
	// send stays «sin confirmar» until a later look-up decides.
	Unconfirmed
)

func (v Verdict) String() string {
	switch v {
	case Wait:
		return "esperar"
	case Received:
		return "recibido"
	case NotReceived:
		return "no recibido"
	case Unconfirmed:
		return "sin confirmar"
	}
	return "desconocido"
}

// Look is one look-up in historialEnvios of a send whose outcome is
// unknown, with what Decide needs to judge it.
type Look struct {
	// Listed: a process carries the send's codigoEnvio. Complete: that
	// process has records of the send's course (SENCE may list a process
	// before it has written its records).
	Listed, Complete bool
	// Err is why the history could not be read (nil when it was).
	Err error
	// Posted is when the send's last POST left; zero when no POST of it
	// can have reached SENCE.
	Posted time.Time
	// At is when the look-up started: the history shows what SENCE had
	// recorded by then.
	At     time.Time
	Settle time.Duration
	// Until is the end of SENCE's send window (zero: none): past it the
	// send could not be sent again anyway.
	Until time.Time
	// Stopped: the caller was told to stop.
	Stopped bool
}

// Settled reports whether the send was posted at least Settle before the
// look-up, so SENCE can no longer be processing it.
func (l Look) Settled() bool { return l.Posted.IsZero() || !l.At.Before(l.Posted.Add(l.Settle)) }

// closed reports whether the window had ended at the look-up.
func (l Look) closed() bool { return !l.Until.IsZero() && !l.At.Before(l.Until) }

// Decide is the rule for a send whose outcome is unknown. It never
// answers NotReceived on an error: a read that decides whether to send
// treats any failure as "do not send".
func Decide(l Look) Verdict {
	switch {
	case l.Listed && l.Err == nil:
		// Received whatever its records say; wait a little for records
		// SENCE has not written yet, to record the right outcome.
		if l.Complete || l.Settled() || l.Stopped || l.closed() {
			return Received
		}
		return Wait
	case l.Err != nil:
		switch {
		case l.Stopped || l.closed() || errors.Is(l.Err, ErrAuth) || errors.Is(l.Err, ErrDown):
			// ErrDown: SENCE stopped answering altogether; the send is
			// looked up by a later run before anything is sent.
			return Unconfirmed
		case l.Until.IsZero() && l.Settled():
			// No window to wait in: once SENCE is surely done, one failed
			// read (itself retried) ends the wait.
			return Unconfirmed
		}
		return Wait
	case l.Settled():
		return NotReceived
	case l.Stopped || l.closed():
		return Unconfirmed
	}
	return Wait
}

// SendOptions adjust one send (SendWith) or one resolution (Resolve).
type SendOptions struct {
	// Until is the end of SENCE's send window: waiting for the history to
	// show a send ends there, leaving it unconfirmed. Zero: no end besides
	// the settle time.
	Until time.Time
	// Stop, when it ends, ends every wait (between attempts, between
	// look-ups) and leaves an unresolved send unconfirmed. A POST in
	// flight is finished: it is bounded by ctx and the timeout only.
	Stop context.Context
	// Posting is called just before each POST of the course leaves, with
	// the time the client counts the settle time from; an outbox records
	// it so that a later run counts from the same moment. An error stops
	// the send before that POST leaves.
	Posting func(at time.Time) error
}

// waitContext is ctx that also ends when o.Stop ends: the context of every
// wait and look-up (never of a POST).
func (o SendOptions) waitContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if o.Stop == nil {
		return ctx, func() {}
	}
	wctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(o.Stop, cancel)
	return wctx, func() { stop(); cancel() }
}

// settle looks a send whose outcome is unknown up in the history, with
// backoff, until Decide gives a verdict: the result when SENCE has it
// (FromHistory), (nil, nil) when it did not receive it, or an
// ErrUnknownOutcome error when it stays unconfirmed. ctx is the waiting
// context (it ends when the caller stops).
func (c *Client) settle(ctx context.Context, sent payload.Course, posted time.Time, posts int, o SendOptions, log *slog.Logger) (*SendResult, error) {
	since := posted
	if since.IsZero() {
		since = c.now()
	}
	for n := 1; ; n++ {
		look := Look{Posted: posted, At: c.now(), Settle: c.settleTime, Until: o.Until}
		if ctx.Err() != nil || n > maxLooks {
			look.Stopped = true
			return nil, c.unconfirmed(sent, look, posts)
		}
		lctx, cancel := ctx, context.CancelFunc(func() {})
		if !o.Until.IsZero() {
			// A history that hangs must not keep the run past the window.
			lctx, cancel = context.WithTimeout(ctx, max(o.Until.Sub(look.At), time.Second))
		}
		proc, complete, err := c.find(lctx, sent, since)
		cancel()
		look.Listed, look.Complete, look.Err = proc != nil, complete, err
		look.Stopped = ctx.Err() != nil || stoppedError(err)
		v := Decide(look)
		log.Info("consulta del historial de SENCE por un envío sin respuesta", "look", n, "verdict", v.String(),
			"posted", postedText(posted), "settled", look.Settled(), "error", errString(err))
		if v == Wait {
			if err := c.sleep(ctx, c.lookDelay(n, look)); err == nil {
				continue
			}
			look.Stopped = true
			v = Decide(look)
		}
		switch v {
		case Received:
			return c.fromHistory(sent, *proc, look, posts, log), nil
		case NotReceived:
			log.Info("el envío no está en el historial de SENCE pasado el tiempo de asentamiento: se puede reenviar",
				"settle", c.settleTime.String())
			return nil, nil
		}
		return nil, c.unconfirmed(sent, look, posts)
	}
}

// lookDelay is the wait before look-up n+1: exponential backoff with
// jitter, never past the moment the send settles or the window ends, so
// that the deciding look-up happens on time.
func (c *Client) lookDelay(n int, l Look) time.Duration {
	d := c.backoffMax
	if n < 31 {
		d = min(c.backoffBase<<(n-1), c.backoffMax)
	}
	if d > 0 {
		d = d/2 + rand.N(d/2+1)
	}
	now := c.now()
	if !l.Posted.IsZero() && now.Before(l.Posted.Add(l.Settle)) {
		d = min(d, l.Posted.Add(l.Settle).Sub(now))
	}
	if !l.Until.IsZero() && now.Before(l.Until) {
		d = min(d, l.Until.Sub(now))
	}
	return max(d, 0)
}

// find reads the history for a send: the process carrying its codigoEnvio
// (nil if none) and whether it has records of the course. Several
// processes with the codigoEnvio (an earlier tool reusing it) are resolved
// to the newest with records of the course, else the newest.
func (c *Client) find(ctx context.Context, sent payload.Course, since time.Time) (*Process, bool, error) {
	// A day of margin: SENCE's clock and the Santiago date may disagree
	// around midnight, the middle of the send window's end.
	from := since.In(chile.Location).AddDate(0, 0, -1).Format(dateFmt)
	procs, err := c.History(ctx, HistoryQuery{Since: from, CodigoExterno: sent.CodigoEnvio})
	if err != nil {
		return nil, false, err
	}
	var best *Process
	bestComplete := false
	for i := range procs {
		p := &procs[i]
		if strings.TrimSpace(p.CodigoExterno) != sent.CodigoEnvio {
			continue
		}
		complete := false
		for _, r := range p.Registros {
			if strings.TrimSpace(r.OfertaCod) == sent.CodigoOferta {
				complete = true
				break
			}
		}
		if best == nil || (complete && !bestComplete) || (complete == bestComplete && p.ID() > best.ID()) {
			best, bestComplete = p, complete
		}
	}
	return best, bestComplete, nil
}

// fromHistory is the result of a send found in the history.
func (c *Client) fromHistory(sent payload.Course, proc Process, l Look, posts int, log *slog.Logger) *SendResult {
	res := resultFromHistory(sent, proc)
	res.Attempts = posts
	res.Note = fmt.Sprintf("no llegó la respuesta de SENCE; el envío se encontró en el historial (proceso %s, codigoEnvio %s) y no se volvió a enviar",
		orDash(proc.IDProceso), sent.CodigoEnvio)
	if !l.Complete {
		res.Note += "; el historial de SENCE no muestra registros del curso en ese proceso: revíselo en SENCE"
	}
	accepted, rejected, unchanged := res.Count()
	log.Info("envío encontrado en el historial de SENCE", "id_proceso", res.IDProceso, "attempt", posts,
		"accepted", accepted, "rejected", rejected, "unchanged", unchanged, "records", l.Complete)
	return res
}

// unconfirmed is the error of a send left without a verdict: it is
// ErrUnknownOutcome (never to be sent again blindly) and, when the history
// rejected the credentials, ErrAuth too.
func (c *Client) unconfirmed(sent payload.Course, l Look, posts int) *Error {
	e := &Error{Kind: ErrUnknownOutcome, Op: opSend, Attempts: posts, Err: l.Err}
	if errors.Is(l.Err, ErrAuth) {
		e.also = []error{ErrAuth}
	}
	wait := c.settleTime.String()
	switch {
	case l.Stopped:
		e.What, e.Err = "sin confirmar: la operación se detuvo antes de confirmar en el historial de SENCE si recibió el envío", nil
	case l.closed() && l.Err == nil:
		e.What = fmt.Sprintf("sin confirmar: terminó la ventana de envío antes de que el historial de SENCE mostrara el envío (SENCE puede tardar hasta %s en procesarlo)", wait)
	default:
		e.What = "sin confirmar: no se pudo consultar el historial de SENCE para saber si recibió el envío"
	}
	e.Hint = fmt.Sprintf("no se reenvió para no duplicarlo: búsquelo en el historial de SENCE con el codigoEnvio %s (engine history MAPEO.yaml --code %s); la próxima ejecución lo consulta antes de enviar nada",
		sent.CodigoEnvio, sent.CodigoEnvio)
	return e
}

// stoppedError reports an error of a wait cut by the caller.
func stoppedError(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.stopped
}

func postedText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
