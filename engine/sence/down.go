package sence

import (
	"context"
	"fmt"
	"github.com/otec-tools/sence-engine/engine/voice"
	"net/http"
	"sync"
	"time"
)

// SENCE may be down for a whole night: unreachable, refusing connections,
// cutting them or answering 5xx. Retrying every course against it would
// keep a run busy for hours and write a warning per attempt; instead, a
// client with Config.DownAfter counts the requests that failed in a row
// for want of SENCE, and once there are that many it makes no further
// request: every call fails at once with ErrDown (and ErrUnreachable), so
// that a run stops starting courses and leaves them for the next run. A
// send whose outcome is unknown is never sent again because of this: its
// look-ups in the history fail too, and Decide leaves it «sin confirmar»
// until a later run looks it up.

// DefaultDownAfter is how many requests in a row may fail for want of
// SENCE before a command stops trying: twice the attempts of one call
// (DefaultMaxAttempts), so that it takes more than one course.
const DefaultDownAfter = 2 * DefaultMaxAttempts

// health counts the requests that failed in a row for want of SENCE.
type health struct {
	mu     sync.Mutex
	streak int       // requests failed in a row
	since  time.Time // when the first of them was made
	last   string    // what the last one said
	down   bool      // DownAfter reached: no more requests
}

// Down is what a client knows of SENCE being down: since when requests
// failed in a row, how many, what the last one said.
type Down struct {
	Since    time.Time
	Attempts int
	Last     string
}

// Unreachable says whether the client stopped making requests because
// SENCE did not answer Config.DownAfter requests in a row, and since when.
func (c *Client) Unreachable() (Down, bool) {
	c.health.mu.Lock()
	defer c.health.mu.Unlock()
	h := &c.health
	return Down{Since: h.since, Attempts: h.streak, Last: h.last}, h.down
}

// downError is the error of a call made once SENCE was taken as down:
// no request was made.
func (c *Client) downError(op string) *Error {
	d, down := c.Unreachable()
	if !down {
		return nil
	}
	return &Error{Kind: ErrUnreachable, also: []error{ErrDown}, Op: op,
		What: fmt.Sprintf("SENCE no responde desde las %s: %d intentos seguidos fallaron (el último: %s) y no se intentó de nuevo",
			voice.TimeOfDay(d.Since), d.Attempts, d.Last),
		Hint: fmt.Sprintf("nada de esta operación llegó a SENCE y la próxima ejecución lo intenta de nuevo; "+firewallHint+", y si SENCE está caído, espere a que vuelva", c.host)}
}

// observe counts an exchange toward SENCE being down: a failure for want
// of SENCE lengthens the streak, any answer of SENCE ends it. A call the
// caller stopped, an answer slower than the timeout (SENCE is slow, not
// down) and 429 (SENCE is busy) count neither way.
func (c *Client) observe(ctx context.Context, ex exchange, at time.Time, what string) {
	if c.downAfter <= 0 || ctx.Err() != nil {
		return
	}
	failed := false
	switch {
	case ex.err == nil && ex.status == http.StatusTooManyRequests:
		return
	case ex.err == nil:
		failed = ex.status >= 500
	case ex.tooLarge:
		failed = false // something answered
	case ex.expired && ex.wrote:
		return
	default:
		failed = true // DNS, refused, TLS, a connect timeout, a cut connection
	}
	h := &c.health
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down {
		return
	}
	if !failed {
		h.streak, h.since, h.last = 0, time.Time{}, ""
		return
	}
	if h.streak == 0 {
		h.since = at
	}
	h.streak++
	h.last = what
	if h.streak >= c.downAfter {
		h.down = true
		c.log.Debug("SENCE no responde: no se hacen más intentos", "desde", h.since.Format(time.RFC3339), "intentos", h.streak, "ultimo", what)
	}
}
