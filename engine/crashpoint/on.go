//go:build crashtest

package crashpoint

import (
	"context"
	"fmt"
	"io"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Enabled says whether this build has crash points (-tags crashtest).
const Enabled = true

// hook is the armed point.
type hook struct {
	point string
	n     int64
	seen  atomic.Int64
	w     io.Writer
}

var (
	mu    sync.Mutex
	armed *hook
	// kill ends the process; the package's own test replaces it.
	kill = killSelf
)

func current() *hook {
	mu.Lock()
	defer mu.Unlock()
	return armed
}

// Arm reads Env and arms its point for the rest of the process; unset or
// empty disarms. A value that names no point is an error.
func Arm(lookupEnv func(string) (string, bool), w io.Writer) error {
	v, _ := lookupEnv(Env)
	h, err := parse(v, w)
	if err != nil {
		return err
	}
	mu.Lock()
	armed = h
	mu.Unlock()
	return nil
}

func parse(v string, w io.Writer) (*hook, error) {
	if v == "" {
		return nil, nil
	}
	point, count, _ := strings.Cut(v, ":")
	n := int64(1)
	if count != "" {
		var err error
		if n, err = strconv.ParseInt(count, 10, 64); err != nil || n < 1 {
			return nil, fmt.Errorf("%s=%q: el número después de «:» debe ser 1 o más", Env, v)
		}
	}
	known := false
	for _, p := range points {
		known = known || p == point
	}
	if !known {
		return nil, fmt.Errorf("%s=%q: punto desconocido (use %s)", Env, v, strings.Join(points, ", "))
	}
	return &hook{point: point, n: n, w: w}, nil
}

// At kills the process if this is the armed point's N-th visit.
func At(point string) {
	h := current()
	if h == nil || point != h.point {
		return
	}
	if h.seen.Add(1) == h.n {
		fmt.Fprintf(h.w, "%s: el proceso se detiene en %s:%d\n", Env, h.point, h.n)
		kill()
		// Never returns when kill works; block so nothing else happens.
		select {}
	}
}

// Trace arms the after-request point on the requests made with ctx.
func Trace(ctx context.Context) context.Context {
	h := current()
	if h == nil || h.point != AfterRequest {
		return ctx
	}
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				At(AfterRequest)
			}
		},
	})
}
