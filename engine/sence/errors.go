package sence

import (
	"errors"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// The SENCE calls, as Error.Op names them.
const (
	opSend    = "enviarAvance"
	opHistory = "historialEnvios"
)

// Error classes, checked with errors.Is. Every failed call to SENCE
// returns an *Error whose Kind is one of them, or the context's error when
// the caller cancelled (a timeout after the request was written is both
// ErrTimeout and ErrUnknownOutcome). Configuration mistakes are plain
// errors.
var (
	// ErrUnreachable: SENCE could not be reached (DNS, connection refused,
	// TLS); the request did not reach SENCE.
	ErrUnreachable = errors.New("no se pudo conectar con SENCE")
	// ErrTimeout: SENCE did not answer within the configured time.
	ErrTimeout = errors.New("SENCE no respondió a tiempo")
	// ErrHTTPStatus: SENCE answered with an HTTP status other than 200.
	ErrHTTPStatus = errors.New("SENCE respondió con un estado HTTP inesperado")
	// ErrAuth: SENCE answered but rejected idSistema, RUT OTEC or token.
	ErrAuth = errors.New("SENCE rechazó las credenciales")
	// ErrService: SENCE answered 200 with an error that is not about the
	// credentials (code 002 or an error object of unknown meaning).
	ErrService = errors.New("SENCE informó un error del servicio")
	// ErrMalformed: the body of a 200 answer cannot be understood, or an
	// answer's body is over the client's 64 MB cap.
	ErrMalformed = errors.New("SENCE respondió algo que no se puede interpretar")
	// ErrUnknownOutcome: the request was written but no usable answer
	// arrived and the history did not settle the question (see Decide), so
	// it is not known whether SENCE stored it: the send is «sin confirmar»
	// and must not be sent again until a look-up decides.
	ErrUnknownOutcome = errors.New("no se sabe si SENCE recibió el envío")
	// ErrDown: the client had seen Config.DownAfter requests in a row fail
	// for want of SENCE (network, DNS, TLS, a cut connection, 5xx) and
	// made no request: nothing of the call reached SENCE. It comes with
	// ErrUnreachable.
	ErrDown = errors.New("SENCE no responde")
)

// Error is a failed call to SENCE. Its text is in Spanish and says what
// failed and what to do next; it never contains the token.
type Error struct {
	Kind error
	// Op is the SENCE call: "enviarAvance" or "historialEnvios".
	Op string
	// StatusCode is the HTTP status, 0 when no answer arrived.
	StatusCode int
	// Body is the answer's body (token removed), for ErrMalformed,
	// ErrHTTPStatus and ErrAuth.
	Body []byte
	// Attempts is how many requests were made.
	Attempts int
	What     string
	Hint     string
	Err      error // the cause, token removed

	also []error // further classes, e.g. ErrUnknownOutcome on a timeout
	// stopped: a wait was cut because the caller stopped.
	stopped bool
}

// maxBodyInMessage bounds how much of a body an error message shows.
const maxBodyInMessage = 2048

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op + ": ")
	}
	b.WriteString(e.What)
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if len(e.Body) > 0 {
		b.WriteString("; respuesta: «" + truncate(string(e.Body), maxBodyInMessage) + "»")
	}
	if e.Hint != "" {
		b.WriteString("; " + e.Hint)
	}
	return b.String()
}

// Is matches the error's classes.
func (e *Error) Is(target error) bool {
	if target == e.Kind {
		return true
	}
	for _, k := range e.also {
		if target == k {
			return true
		}
	}
	return false
}

func (e *Error) Unwrap() error { return e.Err }

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(truncado)"
}

// redactor removes one secret from everything that leaves the client.
type redactor struct{ secret string }

func (r redactor) string(s string) string {
	if r.secret == "" {
		return s
	}
	return strings.ReplaceAll(s, r.secret, payload.RedactedToken)
}

func (r redactor) bytes(b []byte) []byte {
	if r.secret == "" || !strings.Contains(string(b), r.secret) {
		return b
	}
	return []byte(r.string(string(b)))
}

// error rebuilds err without the secret. A *url.Error keeps its type with
// the token in its URL replaced (its Op and cause stay usable); any other
// error that shows the secret is flattened to its redacted text. The error
// is classified before it is redacted, so no class is lost.
func (r redactor) error(err error) error {
	if err == nil || r.secret == "" {
		return err
	}
	if ue, ok := err.(*url.Error); ok {
		return &url.Error{Op: ue.Op, URL: r.string(ue.URL), Err: r.error(ue.Err)}
	}
	if !r.shows(err) {
		return err
	}
	return redacted(r.string(err.Error()))
}

// shows reports whether err or any error it wraps prints the secret.
func (r redactor) shows(err error) bool {
	if err == nil {
		return false
	}
	if strings.Contains(err.Error(), r.secret) {
		return true
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return r.shows(u.Unwrap())
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if r.shows(e) {
				return true
			}
		}
	}
	return false
}

type redacted string

func (r redacted) Error() string { return string(r) }
