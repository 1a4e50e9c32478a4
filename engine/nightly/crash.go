package nightly

import (
	"context"
	"fmt"
	"io"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync/atomic"
)

// CrashEnv names the test-only hook that kills the process at a chosen
// point of a send, so that tests prove a run resumes what a crash left:
// "POINT:N" dies the N-th time POINT is reached. Never set it in
// production.
const CrashEnv = "SENCE_ENGINE_TEST_CRASH_AT"

// Crash points, in the order a send reaches them.
const (
	CrashBeforeSend    = "before-send"    // the send is committed as pending; no request yet
	CrashAfterRequest  = "after-request"  // the request was written; no answer read
	CrashAfterResponse = "after-response" // SENCE's answer arrived; nothing recorded
	CrashBeforeRecord  = "before-record"  // recording the answer, transaction not committed
)

var crashPoints = []string{CrashBeforeSend, CrashAfterRequest, CrashAfterResponse, CrashBeforeRecord}

// Crash is the armed hook; a nil *Crash does nothing.
type Crash struct {
	point string
	n     int64
	seen  atomic.Int64
	w     io.Writer
	kill  func()
}

// ParseCrash reads the value of CrashEnv; "" is no hook.
func ParseCrash(v string, w io.Writer) (*Crash, error) {
	if v == "" {
		return nil, nil
	}
	point, count, _ := strings.Cut(v, ":")
	n := int64(1)
	if count != "" {
		var err error
		if n, err = strconv.ParseInt(count, 10, 64); err != nil || n < 1 {
			return nil, fmt.Errorf("%s=%q: el número después de «:» debe ser 1 o más", CrashEnv, v)
		}
	}
	known := false
	for _, p := range crashPoints {
		known = known || p == point
	}
	if !known {
		return nil, fmt.Errorf("%s=%q: punto desconocido (use %s)", CrashEnv, v, strings.Join(crashPoints, ", "))
	}
	return &Crash{point: point, n: n, w: w, kill: killSelf}, nil
}

// At kills the process if this is the armed point's N-th visit.
func (c *Crash) At(point string) {
	if c == nil || point != c.point {
		return
	}
	if c.seen.Add(1) == c.n {
		fmt.Fprintf(c.w, "%s: el proceso se detiene en %s:%d\n", CrashEnv, c.point, c.n)
		c.kill()
		// Never returns when kill works; block so nothing else happens.
		select {}
	}
}

// Trace arms the after-request point on the requests made with ctx.
func (c *Crash) Trace(ctx context.Context) context.Context {
	if c == nil || c.point != CrashAfterRequest {
		return ctx
	}
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				c.At(CrashAfterRequest)
			}
		},
	})
}
