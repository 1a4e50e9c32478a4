package sence_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/simulator"
)

// standIn is a SENCE that is down in one way, and counts what reached it.
type standIn struct {
	url      string
	requests atomic.Int64
}

// downStandIns are SENCEs that refuse connections, answer 503 to
// everything, or accept a connection, read the request and close it
// without an answer.
func downStandIns(t *testing.T) map[string]*standIn {
	t.Helper()
	out := map[string]*standIn{}

	refused := &standIn{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused.url = "http://" + ln.Addr().String() + simulator.BasePath
	ln.Close() // nothing listens: every connection is refused (and not counted)
	out["refused"] = refused

	busy := &standIn{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		busy.requests.Add(1)
		io.Copy(io.Discard, r.Body)
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	busy.url = srv.URL + simulator.BasePath
	out["503"] = busy

	closing := &standIn{}
	cl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		closing.requests.Add(1)
		io.Copy(io.Discard, r.Body)
		panic(http.ErrAbortHandler) // the connection is closed without an answer
	}))
	cl.Config.ErrorLog = log.New(io.Discard, "", 0)
	t.Cleanup(cl.Close)
	closing.url = cl.URL + simulator.BasePath
	out["closes"] = closing
	return out
}

// TestDownAfterStopsTrying: with DownAfter, a SENCE that refuses, answers
// 503 or cuts every connection gets at most DownAfter requests over
// several courses; then every call fails at once with ErrDown, saying
// since when, and a send whose answer was lost is left «sin confirmar»
// at once instead of being looked up until the window ends. Without
// DownAfter nothing changes.
func TestDownAfterStopsTrying(t *testing.T) {
	for name, s := range downStandIns(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, s.url, func(c *sence.Config) { c.DownAfter = sence.DefaultDownAfter })
			start := h.clock()
			until := start.Add(2 * time.Hour)
			var errs []error
			for i := range 5 {
				c := testCourse()
				c.CodigoEnvio = fmt.Sprintf("CUR-1-i%d", i)
				_, err := h.SendWith(context.Background(), c, sence.SendOptions{Until: until})
				errs = append(errs, err)
			}
			d, down := h.Unreachable()
			if !down || d.Attempts != sence.DefaultDownAfter || !d.Since.Equal(start) || d.Last == "" {
				t.Fatalf("Unreachable() = %+v, %v; want down since %s after %d attempts", d, down, start, sence.DefaultDownAfter)
			}
			if n := s.requests.Load(); n > sence.DefaultDownAfter {
				t.Errorf("%d requests reached SENCE, want at most %d", n, sence.DefaultDownAfter)
			}
			if h.clock().Sub(start) > 10*time.Minute {
				t.Errorf("the calls took %s of the clock: the history was waited for", h.clock().Sub(start))
			}
			last := errs[len(errs)-1]
			if !errors.Is(last, sence.ErrDown) || !errors.Is(last, sence.ErrUnreachable) || errors.Is(last, sence.ErrUnknownOutcome) ||
				!strings.Contains(last.Error(), "SENCE no responde desde las 22:00:00 (hora de Chile, UTC-4)") {
				t.Errorf("a call once SENCE is down: %v", last)
			}
			for i, err := range errs {
				if name == "closes" && !errors.Is(err, sence.ErrUnknownOutcome) && !errors.Is(err, sence.ErrDown) {
					t.Errorf("call %d: a cut answer must stay unknown or not be made: %v", i, err)
				}
			}
			if strings.Contains(h.logs.String(), `"level":"WARN"`) {
				t.Errorf("a warning per attempt:\n%s", h.logs.String())
			}
		})
	}
	// Without DownAfter, every call makes its attempts.
	busy := downStandIns(t)["503"]
	h := newHarness(t, busy.url)
	for range 3 {
		h.Send(context.Background(), testCourse())
	}
	if _, down := h.Unreachable(); down || busy.requests.Load() != 3*sence.DefaultMaxAttempts {
		t.Errorf("without DownAfter: down %v after %d requests", down, busy.requests.Load())
	}
}

// TestAnAnswerEndsTheStreak: failures that are not in a row never stop
// the client: any answer of SENCE (here a 200 after each 503) starts the
// count again.
func TestAnAnswerEndsTheStreak(t *testing.T) {
	sim := startSim(t, simulator.Options{})
	var n atomic.Int64
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%3 != 0 {
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
			return
		}
		sim.ServeHTTP(w, r)
	}))
	defer flaky.Close()
	h := newHarness(t, flaky.URL+simulator.BasePath, func(c *sence.Config) { c.DownAfter = 3 })
	for i := range 6 {
		if _, err := h.Send(context.Background(), testCourse()); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if _, down := h.Unreachable(); down {
		t.Error("taken as down with an answer every third request")
	}
}
