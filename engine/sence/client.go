// Package sence talks to SENCE's "API Gestor Intermedio": it sends a
// course's progress (enviarAvance), reads the history of sends
// (historialEnvios), parses every shape of SENCE's answers and explains
// SENCE's error codes in Spanish. The token is a secret: it appears in no
// error, log line or result this package produces.
package sence

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	_ "time/tzdata" // America/Santiago on machines without a zoneinfo database

	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/rut"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// Defaults, from SENCE's recommendations where SENCE gives one.
const (
	DefaultBaseURL = "https://auladigital.sence.cl/gestor/API/avance-sic"
	// DefaultTimeout is SENCE's recommended client timeout: the service is
	// slow on large courses.
	DefaultTimeout     = 600 * time.Second
	DefaultMaxAttempts = 4
	DefaultBackoffBase = 2 * time.Second
	DefaultBackoffMax  = time.Minute
	// MaxRetryAfter is the longest Retry-After the client waits for; a
	// longer one ends the retries.
	MaxRetryAfter = 10 * time.Minute
	// PingTimeout bounds Ping, which must answer quickly to be useful.
	PingTimeout = time.Minute

	maxBody   = 64 << 20
	dateFmt   = "2006-01-02"
	userAgent = "sence-engine"
)

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // time/tzdata is embedded: cannot happen
	}
	return loc
}

// Config configures a Client. RutOtec and Token are required.
type Config struct {
	// BaseURL defaults to DefaultBaseURL; a simulator's URL in tests.
	BaseURL string
	// RutOtec is the OTEC's RUT, in any usual writing ("76.543.210-3").
	RutOtec string
	// Token is the OTEC's token: an upper-case UUID.
	Token string
	// Timeout of each request; default DefaultTimeout.
	Timeout time.Duration
	// MaxAttempts bounds the requests of one call; default 4.
	MaxAttempts int
	// HTTPClient is optional; TLS verification cannot be turned off.
	HTTPClient *http.Client
	// BackoffBase and BackoffMax shape the exponential backoff (with
	// jitter) between attempts.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	Logger      *slog.Logger
	// Sleep waits between attempts; tests replace it so they don't wait.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock (Ping's "today", history look-ups); default time.Now.
	Now func() time.Time
	// Settle is how long after a POST SENCE may still be processing it and
	// recording it in historialEnvios: a send whose answer was lost is taken
	// as never received only when the history does not show it this long
	// after it was posted. Default: DefaultSettle or Timeout, the longer;
	// it cannot be shorter than Timeout.
	Settle time.Duration
	// DownAfter, when positive, is how many requests in a row may fail for
	// want of SENCE (network, DNS, TLS, a cut connection, 5xx) before the
	// client stops making requests: every later call fails at once with
	// ErrDown (see Unreachable). Zero never stops.
	DownAfter int
}

// Client calls SENCE. It is safe for concurrent use.
type Client struct {
	base        string
	host        string
	rutOtec     string
	token       string
	timeout     time.Duration
	settleTime  time.Duration
	maxAttempts int
	backoffBase time.Duration
	backoffMax  time.Duration
	hc          *http.Client
	traced      bool
	log         *slog.Logger
	sleep       func(context.Context, time.Duration) error
	now         func() time.Time
	red         redactor
	downAfter   int
	health      health
}

var tokenShape = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// CheckToken checks that a token has the shape SENCE accepts: a UUID in
// upper case. The message never repeats the token.
func CheckToken(token string) error {
	switch {
	case token == "":
		return errors.New("falta el token de SENCE: genérelo en el Administrador de Token SENCE (https://sistemas.sence.cl/rts) y configúrelo")
	case !tokenShape.MatchString(token):
		return errors.New("el token de SENCE no tiene la forma de un UUID (XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX, 36 caracteres): cópielo completo desde el Administrador de Token SENCE (https://sistemas.sence.cl/rts)")
	case token != strings.ToUpper(token):
		return errors.New("el token de SENCE tiene letras minúsculas y SENCE rechaza los tokens en minúsculas: escríbalo todo en mayúsculas")
	}
	return nil
}

// New checks the configuration and builds a Client.
func New(cfg Config) (*Client, error) {
	r, err := rut.Parse(cfg.RutOtec)
	if err != nil {
		return nil, fmt.Errorf("RUT OTEC de la configuración de SENCE: %w", err)
	}
	token := strings.TrimSpace(cfg.Token)
	if err := CheckToken(token); err != nil {
		return nil, err
	}
	base := strings.TrimSpace(cfg.BaseURL)
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("URL base de SENCE «%s» inválida: debe ser http(s)://servidor/ruta, sin parámetros (por omisión %s)", base, DefaultBaseURL)
	}
	c := &Client{
		base: strings.TrimRight(base, "/"), host: u.Host, rutOtec: r.String(), token: token,
		timeout: cfg.Timeout, settleTime: cfg.Settle, maxAttempts: cfg.MaxAttempts, backoffBase: cfg.BackoffBase, backoffMax: cfg.BackoffMax,
		log: cfg.Logger, sleep: cfg.Sleep, now: cfg.Now, red: redactor{secret: token}, downAfter: cfg.DownAfter,
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxAttempts == 0 {
		c.maxAttempts = DefaultMaxAttempts
	}
	if c.backoffBase == 0 {
		c.backoffBase = DefaultBackoffBase
	}
	if c.backoffMax == 0 {
		c.backoffMax = DefaultBackoffMax
	}
	if c.timeout < 0 || c.settleTime < 0 || c.maxAttempts < 0 || c.backoffBase < 0 || c.backoffMax < 0 || c.downAfter < 0 {
		return nil, errors.New("configuración de SENCE: el timeout, el tiempo de asentamiento, los intentos y las esperas no pueden ser negativos")
	}
	if c.settleTime == 0 {
		c.settleTime = max(c.timeout, DefaultSettle)
	}
	if c.settleTime < c.timeout {
		return nil, fmt.Errorf("configuración de SENCE: el tiempo de asentamiento (%s) no puede ser menor que el timeout (%s): SENCE puede seguir procesando un envío al menos hasta que el cliente deja de esperarlo", c.settleTime, c.timeout)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.sleep == nil {
		c.sleep = sleepContext
	}
	if c.now == nil {
		c.now = time.Now
	}
	hc := http.Client{Transport: defaultTransport()}
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	}
	t, isTransport := hc.Transport.(*http.Transport)
	if hc.Transport == nil {
		t, isTransport = http.DefaultTransport.(*http.Transport)
	}
	if isTransport && t.TLSClientConfig != nil && t.TLSClientConfig.InsecureSkipVerify {
		return nil, errors.New("configuración de SENCE: el cliente HTTP desactiva la verificación TLS y eso no está permitido: el token viajaría sin garantía de llegar a SENCE")
	}
	// A redirect would turn the POST into a GET without body; report it.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.hc, c.traced = &hc, isTransport
	return c, nil
}

func defaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	return t
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RutOtec is the OTEC's RUT as the client sends it ("76543210-3").
func (c *Client) RutOtec() string { return c.rutOtec }

// Send posts one course to enviarAvance: SendWith without options.
func (c *Client) Send(ctx context.Context, course payload.Course) (*SendResult, error) {
	return c.SendWith(ctx, course, SendOptions{})
}

// SendWith posts one course to enviarAvance. RutOtec, IDSistema and Token
// are filled from the configuration, whatever the caller set.
//
// A 200 answer is never resent: it is SENCE's answer, even when it lists
// errors (they are in the result; only an authentication failure is also
// returned as ErrAuth, with the result). Requests that surely did not
// reach SENCE (DNS, refused, TLS), 429 and 503 are retried with backoff.
// When SENCE may have the send but its answer is unknown (connection
// dropped, timeout, a 5xx other than 503, a 200 that cannot be read), the
// course's CodigoEnvio is looked up in historialEnvios by the rule of
// Decide: if SENCE has it the result comes from the history
// (FromHistory); if the history still does not show it once the settle
// time has passed since the POST, it is sent again with the same
// CodigoEnvio; if the window ends, the caller stops or the history cannot
// be read first, the error is ErrUnknownOutcome («sin confirmar») and the
// course must not be sent until a later look-up decides. Every other
// error means SENCE did not store the send. Without a CodigoEnvio a lost
// answer is ErrUnknownOutcome at once: a CodigoEnvio unique to each send
// makes the check automatic.
func (c *Client) SendWith(ctx context.Context, course payload.Course, o SendOptions) (*SendResult, error) {
	course.RutOtec, course.IDSistema, course.Token = c.rutOtec, payload.IDSistema, c.token
	body, err := json.Marshal(course)
	if err != nil {
		return nil, fmt.Errorf("no se pudo preparar el envío del curso %s: %w", course.CodigoOferta, err)
	}
	sent := course
	sent.Token = payload.RedactedToken
	log := c.log.With("op", opSend, "codigoOferta", course.CodigoOferta, "codigoGrupo", course.CodigoGrupo,
		"codigoEnvio", course.CodigoEnvio, "students", len(course.ListaAlumnos))
	wctx, cancel := o.waitContext(ctx)
	defer cancel()
	var last failure
	var posted time.Time // when the last POST that SENCE may have left
	unknown := false     // SENCE may have the last POST: resolve it before anything else
	posts := 0
	for attempt := 1; attempt <= c.maxAttempts; attempt++ {
		if unknown {
			res, err := c.settle(wctx, sent, posted, posts, o, log)
			if err != nil || res != nil {
				return res, err
			}
			unknown = false // confirmed not received: send again, same codigoEnvio
			last.err.Kind, last.err.also = confirmedNotStored(last.err)
			if wctx.Err() != nil || (!o.Until.IsZero() && !c.now().Before(o.Until)) {
				last.err.What = fmt.Sprintf("%s (%d intentos)", last.err.What, posts)
				last.err.Hint = "el historial de SENCE confirma que el envío no se guardó, pero ya no se puede reenviar (terminó la ventana de envío o se detuvo la operación): se envía en la próxima ejecución, sin riesgo de duplicarlo"
				return nil, last.err
			}
		} else if attempt > 1 {
			if err := c.wait(wctx, attempt-1, last.retryAfter); err != nil {
				return nil, c.interrupted(opSend, posts, err)
			}
		}
		if e := c.downError(opSend); e != nil {
			// Nothing of this call reached SENCE since the last answer
			// that proved it did not store it (or there was none).
			e.Attempts = posts
			return nil, e
		}
		at := c.now()
		if o.Posting != nil {
			if err := o.Posting(at); err != nil {
				return nil, fmt.Errorf("no se envió el curso %s: %w", course.CodigoOferta, err)
			}
		}
		posted = at
		posts++
		log.Debug("enviando avance a SENCE", "attempt", posts)
		ex := c.roundTrip(ctx, http.MethodPost, c.base+"/enviarAvance", body, c.timeout)
		if ex.err == nil && ex.status == http.StatusOK {
			c.observe(ctx, ex, at, "")
			res, err := c.answer(sent, ex, posts, log)
			if !errors.Is(err, ErrMalformed) {
				return res, err
			}
			// SENCE answered, so it probably processed the send: what it
			// stored is in the history.
			var e *Error
			errors.As(err, &e)
			last = failure{err: e, maybeStored: true}
		} else {
			last = c.classify(ctx, opSend, ex, c.timeout)
			last.err.Attempts = posts
			c.observe(ctx, ex, at, last.err.What)
			// One line per attempt would bury the log when SENCE is down:
			// the outcome of the call is what the caller reports.
			log.Debug("falló un intento de envío a SENCE", "attempt", posts, "error", last.err.Error())
		}
		switch {
		case last.maybeStored && course.CodigoEnvio != "":
			unknown = true
		case last.maybeStored:
			last.err.also = append(last.err.also, ErrUnknownOutcome)
			last.err.Hint = fmt.Sprintf("no se reenvió para no duplicarlo: revise en el historial de SENCE (historialEnvios) si el curso %s quedó guardado antes de reenviar; con un codigoEnvio único por envío esta verificación es automática", course.CodigoOferta)
			return nil, last.err
		case !last.retry:
			return nil, last.err
		}
	}
	if unknown {
		// The last attempt's answer was lost: resolve it, never resend.
		res, err := c.settle(wctx, sent, posted, posts, o, log)
		if err != nil || res != nil {
			return res, err
		}
		last.err.Kind, last.err.also = confirmedNotStored(last.err)
		last.err.Hint = "el historial de SENCE confirma que el envío no se guardó: puede reenviarlo más tarde sin riesgo de duplicarlo"
	}
	last.err.What = fmt.Sprintf("%s (%d intentos)", last.err.What, posts)
	return nil, last.err
}

// confirmedNotStored drops ErrUnknownOutcome from an error once the history
// shows the send was not stored: a dropped connection is then ErrUnreachable.
func confirmedNotStored(e *Error) (error, []error) {
	var also []error
	for _, k := range e.also {
		if k != ErrUnknownOutcome {
			also = append(also, k)
		}
	}
	if e.Kind == ErrUnknownOutcome {
		return ErrUnreachable, also
	}
	return e.Kind, also
}

// answer turns a 200 into the result.
func (c *Client) answer(sent payload.Course, ex exchange, posts int, log *slog.Logger) (*SendResult, error) {
	body := c.red.bytes(ex.body)
	resp, err := ParseSendResponse(body)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.StatusCode, e.Attempts = ex.status, posts
		}
		log.Error("respuesta de SENCE ilegible", "attempt", posts, "error", err.Error())
		return nil, err
	}
	res := newSendResult(sent, resp)
	res.Attempts = posts
	if posts > 1 {
		res.Note = fmt.Sprintf("SENCE respondió en el intento %d", posts)
	}
	if resp.AuthFailed() {
		var msgs []string
		for _, e := range res.SendErrors {
			msgs = append(msgs, e.Message)
		}
		e := authError(opSend, strings.Join(msgs, "; "), body).(*Error)
		e.StatusCode, e.Attempts = ex.status, posts
		log.Error("SENCE rechazó las credenciales", "attempt", posts)
		return res, e
	}
	accepted, rejected, unchanged := res.Count()
	log.Info("SENCE procesó el envío", "id_proceso", res.IDProceso, "attempt", posts,
		"accepted", accepted, "rejected", rejected, "unchanged", unchanged)
	return res, nil
}

// History reads historialEnvios. It is idempotent, so every failure that
// may be temporary is retried.
func (c *Client) History(ctx context.Context, q HistoryQuery) ([]Process, error) {
	u, err := c.historyURL(q)
	if err != nil {
		return nil, err
	}
	ex, err := c.get(ctx, u, c.maxAttempts, c.timeout)
	if err != nil {
		return nil, err
	}
	procs, err := ParseHistory(c.red.bytes(ex.body))
	if err != nil {
		return nil, err
	}
	return procs, nil
}

// Ping is SENCE's connection test: one GET of today's history (America/
// Santiago). It succeeds only when SENCE is reachable and accepts the
// credentials; the error's class says which step failed.
func (c *Client) Ping(ctx context.Context) error {
	u, err := c.historyURL(HistoryQuery{Since: c.now().In(chile.Location).Format(dateFmt)})
	if err != nil {
		return err
	}
	ex, err := c.get(ctx, u, 1, min(c.timeout, PingTimeout))
	if err != nil {
		return err
	}
	_, err = ParseHistory(c.red.bytes(ex.body))
	return err
}

func (c *Client) historyURL(q HistoryQuery) (string, error) {
	v := url.Values{}
	v.Set("rutOtec", c.rutOtec)
	v.Set("idSistema", strconv.Itoa(payload.IDSistema))
	v.Set("token", c.token)
	if q.Since != "" {
		if !IsDate(q.Since) {
			return "", fmt.Errorf("fecha desde «%s» inválida: use el formato AAAA-MM-DD", q.Since)
		}
		v.Set("fechaDesde", q.Since)
	}
	if q.CodigoExterno != "" {
		v.Set("codigo_externo", q.CodigoExterno)
	}
	if q.IDProceso != "" {
		v.Set("id_proceso", q.IDProceso)
	}
	return c.base + "/historialEnvios?" + v.Encode(), nil
}

// get performs an idempotent GET with retries and returns a 200 exchange.
func (c *Client) get(ctx context.Context, u string, attempts int, timeout time.Duration) (exchange, error) {
	var last failure
	for attempt := 1; attempt <= attempts; attempt++ {
		if attempt > 1 {
			if err := c.wait(ctx, attempt-1, last.retryAfter); err != nil {
				return exchange{}, c.interrupted(opHistory, attempt-1, err)
			}
		}
		if e := c.downError(opHistory); e != nil {
			e.Attempts = attempt - 1
			return exchange{}, e
		}
		at := c.now()
		ex := c.roundTrip(ctx, http.MethodGet, u, nil, timeout)
		if ex.err == nil && ex.status == http.StatusOK {
			c.observe(ctx, ex, at, "")
			return ex, nil
		}
		last = c.classify(ctx, opHistory, ex, timeout)
		last.err.Attempts = attempt
		c.observe(ctx, ex, at, last.err.What)
		c.log.Debug("falló una consulta del historial de SENCE", "op", opHistory, "attempt", attempt, "error", last.err.Error())
		if !last.retry {
			return exchange{}, last.err
		}
	}
	if attempts > 1 {
		last.err.What = fmt.Sprintf("%s (%d intentos)", last.err.What, attempts)
	}
	return exchange{}, last.err
}

// wait sleeps before retry n: Retry-After when SENCE gave one, otherwise
// exponential backoff with jitter (half fixed, half random) so that many
// OTECs retrying at 22:00 spread out.
func (c *Client) wait(ctx context.Context, n int, retryAfter time.Duration) error {
	d := retryAfter
	if d <= 0 {
		d = c.backoffMax
		if n < 31 {
			d = min(c.backoffBase<<(n-1), c.backoffMax)
		}
		if d > 0 {
			d = d/2 + rand.N(d/2+1)
		}
	}
	return c.sleep(ctx, d)
}

// interrupted is the error of a call whose context ended between attempts.
// Nothing of it can have been stored: waits only follow failures that
// stored nothing.
func (c *Client) interrupted(op string, attempts int, cause error) *Error {
	e := &Error{Kind: cause, Op: op, Attempts: attempts, Err: cause, stopped: true,
		What: "la operación se interrumpió antes de terminar"}
	if errors.Is(cause, context.DeadlineExceeded) {
		e.Kind = ErrTimeout
	}
	return e
}

// exchange is one HTTP request and what came back.
type exchange struct {
	status int
	header http.Header
	body   []byte
	// err is a transport or read failure (not redacted yet).
	err error
	// wrote: the whole request was written, so SENCE may have it.
	wrote bool
	// expired: the request's own timeout ended it (not the caller's ctx).
	expired bool
	// tooLarge: the answer's body is over maxBody.
	tooLarge bool
}

func (c *Client) roundTrip(ctx context.Context, method, u string, body []byte, timeout time.Duration) exchange {
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var wrote atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				wrote.Store(true)
			}
		},
	})
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	var ex exchange
	fail := func(err error) exchange {
		ex.err = err
		// Without a traceable transport, only errors that happen before
		// sending by their nature count as "not sent".
		ex.wrote = ex.wrote || wrote.Load() || (!c.traced && !beforeSending(err))
		ex.expired = errors.Is(actx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
		return ex
	}
	req, err := http.NewRequestWithContext(actx, method, u, rd)
	if err != nil {
		return fail(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.hc.Do(req)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	ex.status, ex.header, ex.wrote = resp.StatusCode, resp.Header, true
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	ex.body = b
	if err != nil {
		return fail(err)
	}
	if len(b) > maxBody {
		ex.body, ex.tooLarge = nil, true
		return fail(fmt.Errorf("la respuesta supera %d MB", maxBody>>20))
	}
	return ex
}

// beforeSending reports errors that by their nature happen before a byte
// of the request is sent: DNS, connecting, the TLS handshake.
func beforeSending(err error) bool {
	var dns *net.DNSError
	var op *net.OpError
	var alert tls.AlertError
	var header tls.RecordHeaderError
	return errors.As(err, &dns) || (errors.As(err, &op) && op.Op == "dial") ||
		errors.As(err, &alert) || errors.As(err, &header) || certificateError(err)
}

func certificateError(err error) bool {
	var verify *tls.CertificateVerificationError
	var authority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &verify) || errors.As(err, &authority) || errors.As(err, &hostname) || errors.As(err, &invalid)
}

// failure is a classified failed exchange.
type failure struct {
	err *Error
	// retry: sending again cannot duplicate anything.
	retry bool
	// maybeStored: SENCE may have processed the request; look in the
	// history before sending again.
	maybeStored bool
	retryAfter  time.Duration
}

const firewallHint = "revise la conexión a internet, el DNS y que el firewall o proxy permitan HTTPS saliente hacia %s"

// classify decides what a failed exchange means and whether to retry.
func (c *Client) classify(ctx context.Context, op string, ex exchange, timeout time.Duration) failure {
	send := op == opSend
	e := &Error{Op: op, StatusCode: ex.status, Err: c.red.error(ex.err)}
	f := failure{err: e}
	if ex.err == nil {
		return c.classifyStatus(op, ex, f)
	}
	if ex.tooLarge {
		// Not a cut connection: something answered, far more than SENCE
		// ever does.
		e.Kind, e.Err = ErrMalformed, nil
		e.What = fmt.Sprintf("la respuesta de SENCE (HTTP %d) supera los %d MB que el motor acepta: no es una respuesta normal de SENCE", ex.status, maxBody>>20)
		if send {
			f.maybeStored, e.also = true, []error{ErrUnknownOutcome}
			e.Hint = "revise que sence.baseUrl sea la dirección de SENCE y que ningún proxy responda en su lugar; no se sabe si SENCE guardó el envío: se consulta su historial antes de reenviar"
		} else {
			e.Hint = "revise que sence.baseUrl sea la dirección de SENCE y que ningún proxy responda en su lugar; si consulta un período largo del historial, acórtelo (--since)"
		}
		return f
	}
	switch {
	case ctx.Err() != nil:
		e.Kind, e.What = ctx.Err(), "la operación se canceló"
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			e.Kind, e.What = ErrTimeout, "se agotó el plazo de la operación"
		}
		if send && ex.wrote {
			e.also = []error{ErrUnknownOutcome}
			e.Hint = "no se sabe si SENCE guardó el envío: revise el historial de envíos antes de reenviar"
		}
	case ex.expired:
		e.Kind, e.What = ErrTimeout, fmt.Sprintf("SENCE no respondió en %s", timeout)
		e.Hint = "SENCE es lento con cursos grandes (recomienda esperar 600 s): aumente el tiempo de espera o reintente más tarde"
		switch {
		case !ex.wrote:
			f.retry = true
			e.What = fmt.Sprintf("no se logró conectar con SENCE en %s", timeout)
			e.Hint = fmt.Sprintf(firewallHint, c.host)
		case send:
			e.also, f.maybeStored = []error{ErrUnknownOutcome}, true
		default:
			f.retry = true
		}
	case certificateError(ex.err):
		e.Kind, e.What = ErrUnreachable, "el certificado TLS del servidor no es válido"
		e.Hint = "revise la fecha y hora del equipo, los certificados raíz instalados y si un proxy intercepta HTTPS"
	case !ex.wrote:
		e.Kind, f.retry = ErrUnreachable, true
		e.What, e.Hint = unreachableWhat(ex.err, c.host), fmt.Sprintf(firewallHint, c.host)
	case send:
		e.Kind, f.maybeStored = ErrUnknownOutcome, true
		e.What = "la conexión con SENCE se cortó después de enviar el curso y antes de recibir la respuesta"
	default:
		e.Kind, f.retry = ErrUnreachable, true
		e.What, e.Hint = "la conexión con SENCE se cortó antes de recibir la respuesta", fmt.Sprintf(firewallHint, c.host)
	}
	return f
}

func unreachableWhat(err error, host string) string {
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns):
		return fmt.Sprintf("no se pudo resolver el nombre %s (DNS)", dns.Name)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("%s rechazó la conexión", host)
	case errors.As(err, new(tls.AlertError)), errors.As(err, new(tls.RecordHeaderError)):
		return fmt.Sprintf("falló la negociación TLS con %s", host)
	}
	return fmt.Sprintf("no se pudo conectar con %s", host)
}

func (c *Client) classifyStatus(op string, ex exchange, f failure) failure {
	e := f.err
	e.Kind, e.Body = ErrHTTPStatus, c.red.bytes(ex.body)
	e.What = fmt.Sprintf("SENCE respondió HTTP %d", ex.status)
	switch s := ex.status; {
	case s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable:
		f.retry = true
		e.Hint = "SENCE está saturado o en mantención: se reintenta; si persiste, envíe más tarde"
		if d, ok := retryAfter(ex.header, c.now()); ok {
			if d > MaxRetryAfter {
				f.retry = false
				e.Hint = fmt.Sprintf("SENCE pidió esperar %s antes de reintentar: envíe más tarde", d.Round(time.Second))
			}
			f.retryAfter = d
		}
	case s >= 500:
		f.retry = true
		f.maybeStored = op == opSend
		e.Hint = "SENCE tuvo un problema interno: se reintenta; si persiste, envíe más tarde o escriba a adminlearning@sence.cl"
	case s >= 300 && s < 400:
		e.Hint = fmt.Sprintf("SENCE redirigió la petición a otra dirección (%s): revise la URL base configurada", c.red.string(ex.header.Get("Location")))
	case s == http.StatusNotFound:
		e.Hint = fmt.Sprintf("la dirección no existe: revise la URL base configurada (por omisión %s)", DefaultBaseURL)
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		e.Hint = "el acceso fue denegado antes de llegar al servicio: revise si un proxy o firewall bloquea la petición"
	case s == http.StatusBadRequest:
		e.Hint = "SENCE no aceptó la estructura de la petición: revise el JSON generado"
	default:
		e.Hint = "respuesta no documentada por SENCE: reintente más tarde"
	}
	return f
}

// retryAfter reads Retry-After in seconds or as an HTTP date.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
