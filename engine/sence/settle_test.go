package sence_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/simulator"
)

// TestDecide is the rule for a send whose outcome is unknown, case by
// case: never "send again" on a failed read, never before the settle time.
func TestDecide(t *testing.T) {
	posted := time.Date(2026, 11, 20, 22, 10, 0, 0, chile.Location)
	settle := 10 * time.Minute
	before, after := posted.Add(3*time.Minute), posted.Add(10*time.Minute)
	until := time.Date(2026, 11, 21, 0, 0, 0, 0, chile.Location)
	down := &sence.Error{Kind: sence.ErrHTTPStatus, StatusCode: 502, What: "SENCE respondió HTTP 502"}
	auth := &sence.Error{Kind: sence.ErrAuth, What: "SENCE rechazó las credenciales"}
	for _, c := range []struct {
		name string
		look sence.Look
		want sence.Verdict
	}{
		{"found", sence.Look{Listed: true, Complete: true, At: before}, sence.Received},
		{"found after the settle time", sence.Look{Listed: true, Complete: true, At: after}, sence.Received},
		{"found once the window closed", sence.Look{Listed: true, Complete: true, At: until.Add(time.Minute), Until: until}, sence.Received},
		{"listed without records of the course, early", sence.Look{Listed: true, At: before}, sence.Wait},
		{"listed without records of the course, settled", sence.Look{Listed: true, At: after}, sence.Received},
		{"listed without records of the course, stopped", sence.Look{Listed: true, At: before, Stopped: true}, sence.Received},
		{"listed without records of the course, window closed", sence.Look{Listed: true, At: until, Until: until}, sence.Received},
		{"not found before the settle time", sence.Look{At: before}, sence.Wait},
		{"not found a second before the settle time", sence.Look{At: after.Add(-time.Second)}, sence.Wait},
		{"not found at the settle time", sence.Look{At: after}, sence.NotReceived},
		{"not found after the settle time, window open", sence.Look{At: after, Until: until}, sence.NotReceived},
		{"not found after the settle time, window closed", sence.Look{At: until, Until: until}, sence.NotReceived},
		{"not found, never posted", sence.Look{At: before, Posted: time.Time{}}, sence.NotReceived},
		{"history unavailable before the settle time", sence.Look{Err: down, At: before}, sence.Wait},
		{"history unavailable after the settle time, no window", sence.Look{Err: down, At: after}, sence.Unconfirmed},
		{"history unavailable after the settle time, window open", sence.Look{Err: down, At: after, Until: until}, sence.Wait},
		{"history unavailable, window closed", sence.Look{Err: down, At: until, Until: until}, sence.Unconfirmed},
		{"history unavailable, never posted", sence.Look{Err: down, At: before, Posted: time.Time{}}, sence.Unconfirmed},
		{"history rejects the credentials", sence.Look{Err: auth, At: before, Until: until}, sence.Unconfirmed},
		{"SENCE down, window open", sence.Look{Err: fmt.Errorf("historialEnvios: %w", sence.ErrDown), At: before, Until: until}, sence.Unconfirmed},
		{"history unavailable, stopped", sence.Look{Err: down, At: before, Until: until, Stopped: true}, sence.Unconfirmed},
		{"not found before the settle time, window closed", sence.Look{At: before, Until: before}, sence.Unconfirmed},
		{"not found before the settle time, stopped", sence.Look{At: before, Stopped: true}, sence.Unconfirmed},
		{"not found before the settle time, window open", sence.Look{At: before, Until: until}, sence.Wait},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := c.look
			if l.Posted.IsZero() && !strings.Contains(c.name, "never posted") {
				l.Posted = posted
			}
			l.Settle = settle
			if got := sence.Decide(l); got != c.want {
				t.Errorf("Decide(%+v) = %s; want %s", l, got, c.want)
			}
		})
	}
}

// slowSENCE is the simulator as a slow SENCE: it processes each send for
// longer than the client's timeout, stores it whether or not the client
// still waits, and shows it in historialEnvios only a while later.
func slowSENCE(t *testing.T) *simulator.Server {
	return startSim(t, simulator.Options{Processing: 700 * time.Millisecond, HistoryLag: 500 * time.Millisecond})
}

// TestSlowSENCEIsNotSentTwice: the answer comes after the client's timeout
// and the history shows the send only later. The course is accepted
// exactly once, counted in the stand-in's own record; the client waited
// for the history instead of posting again. Real time and real HTTP.
func TestSlowSENCEIsNotSentTwice(t *testing.T) {
	sim := slowSENCE(t)
	c, err := sence.New(sence.Config{BaseURL: sim.URL, RutOtec: rutOtec, Token: token, Timeout: 200 * time.Millisecond,
		Settle: 5 * time.Second, BackoffBase: 100 * time.Millisecond, BackoffMax: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	course := testCourse()
	course.CodigoEnvio = "lento-1"
	t0 := time.Now()
	res, err := c.Send(context.Background(), course)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); took < 1200*time.Millisecond || took > 4*time.Second {
		t.Errorf("resolved after %s; SENCE stores at 0.7 s and shows it at 1.2 s", took)
	}
	if !res.FromHistory || res.Attempts != 1 || !strings.Contains(res.Note, "historial") {
		t.Errorf("result: FromHistory %v attempts %d note %q", res.FromHistory, res.Attempts, res.Note)
	}
	if n := sim.Counts().Sends; n != 1 {
		t.Errorf("%d POSTs; want 1", n)
	}
	for _, s := range []string{"12345678-5", "17118181-K"} {
		if n := sim.AcceptedSends(s); n != 1 {
			t.Errorf("SENCE stored %s %d times", s, n)
		}
		if res.Students[s].Outcome != sence.Accepted {
			t.Errorf("%s: %+v", s, res.Students[s])
		}
	}
}

// TestWindowClosesBeforeTheHistoryShowsIt: the window ends while SENCE is
// still processing: the send is «sin confirmar», never posted again, and a
// later Resolve finds it.
func TestWindowClosesBeforeTheHistoryShowsIt(t *testing.T) {
	var h *harness
	sim := startSim(t, simulator.Options{HistoryLag: 20 * time.Minute, Faults: simulator.Faults{DropAfterStore: 1},
		Clock: func() time.Time { return h.clock() }})
	h = newHarness(t, sim.URL)
	course := testCourse()
	course.CodigoEnvio = "tarde-1"
	until := h.clock().Add(5 * time.Minute)
	var posted time.Time
	_, err := h.SendWith(context.Background(), course, sence.SendOptions{Until: until, Posting: func(at time.Time) error { posted = at; return nil }})
	if !errors.Is(err, sence.ErrUnknownOutcome) || !strings.Contains(err.Error(), "sin confirmar: terminó la ventana") ||
		!strings.Contains(err.Error(), "--code tarde-1") {
		t.Fatalf("err = %v", err)
	}
	if sim.Counts().Sends != 1 || h.clock().Before(until) || h.clock().After(until.Add(time.Second)) {
		t.Errorf("%d POSTs; stopped looking at %s, window end %s", sim.Counts().Sends, h.clock(), until)
	}
	// The next night's run, long after: the history has it.
	h.mu.Lock()
	h.now = h.now.Add(24 * time.Hour)
	h.mu.Unlock()
	res, err := h.Resolve(context.Background(), course, posted, sence.SendOptions{})
	if err != nil || res == nil || !res.FromHistory || sim.Counts().Sends != 1 {
		t.Fatalf("resolve: %+v %v", res, err)
	}
}

// TestStopLeavesItUnconfirmed: told to stop while waiting for the history,
// the client stops at once and does not post again.
func TestStopLeavesItUnconfirmed(t *testing.T) {
	var h *harness
	sim := startSim(t, simulator.Options{HistoryLag: time.Hour, Faults: simulator.Faults{DropAfterStore: 1},
		Clock: func() time.Time { return h.clock() }})
	stop, cancel := context.WithCancel(context.Background())
	h = newHarness(t, sim.URL, func(c *sence.Config) {
		c.Sleep = func(ctx context.Context, d time.Duration) error { cancel(); <-ctx.Done(); return ctx.Err() } // SIGTERM during the first wait
	})
	course := testCourse()
	course.CodigoEnvio = "detenido"
	_, err := h.SendWith(context.Background(), course, sence.SendOptions{Stop: stop})
	if !errors.Is(err, sence.ErrUnknownOutcome) || !strings.Contains(err.Error(), "se detuvo") || sim.Counts().Sends != 1 || sim.Counts().History != 1 {
		t.Fatalf("err %v, counts %+v", err, sim.Counts())
	}
}

// TestHistoryUnavailable: a lost answer whose history cannot be read is
// never posted again: without a window the client gives up once SENCE is
// surely done; with one it keeps trying until the window ends.
func TestHistoryUnavailable(t *testing.T) {
	base := failHistory(t)
	h := newHarness(t, base)
	course := testCourse()
	course.CodigoEnvio = "sin-historial"
	_, err := h.Send(context.Background(), course)
	if !errors.Is(err, sence.ErrUnknownOutcome) || !strings.Contains(err.Error(), "no se pudo consultar el historial") {
		t.Fatalf("err = %v", err)
	}
	if waited := total(h.slept()); waited < sence.DefaultSettle {
		t.Errorf("gave up after %s; the history may come back before SENCE is done (%s)", waited, sence.DefaultSettle)
	}
	h = newHarness(t, base)
	until := h.clock().Add(time.Hour)
	_, err = h.SendWith(context.Background(), course, sence.SendOptions{Until: until})
	if !errors.Is(err, sence.ErrUnknownOutcome) || h.clock().Before(until) {
		t.Fatalf("err %v at %s; want unconfirmed at the window's end %s", err, h.clock(), until)
	}
}

// TestMalformedAnswerIsResolvedInTheSameCall: a 200 that cannot be read is
// looked up in the history like a lost answer: found when SENCE stored it,
// sent again (same codigoEnvio) once settled when it did not.
func TestMalformedAnswerIsResolvedInTheSameCall(t *testing.T) {
	t.Run("stored", func(t *testing.T) {
		sim := startSim(t, simulator.Options{Faults: simulator.Faults{MalformedAfterStore: 1}})
		h := newHarness(t, sim.URL)
		course := testCourse()
		course.CodigoEnvio = "ilegible-1"
		res, err := h.Send(context.Background(), course)
		if err != nil || !res.FromHistory || sim.Counts().Sends != 1 || sim.SendsWithCodigoEnvio("ilegible-1") != 1 {
			t.Fatalf("%+v %v %+v", res, err, sim.Counts())
		}
	})
	t.Run("not stored", func(t *testing.T) {
		sim := startSim(t, simulator.Options{Faults: simulator.Faults{MalformedNext: 1}})
		h := newHarness(t, sim.URL)
		course := testCourse()
		course.CodigoEnvio = "ilegible-2"
		res, err := h.Send(context.Background(), course)
		if err != nil || res.FromHistory || res.Attempts != 2 || sim.SendsWithCodigoEnvio("ilegible-2") != 1 {
			t.Fatalf("%+v %v %+v", res, err, sim.Counts())
		}
		if waited := total(h.slept()); waited < sence.DefaultSettle {
			t.Errorf("sent again after %s; want the settle time", waited)
		}
	})
}

// TestListedWithoutRecordsCountsAsReceived: a history process carrying the
// send's codigoEnvio but no records of its course means SENCE received it:
// it is recorded, never posted again.
func TestListedWithoutRecordsCountsAsReceived(t *testing.T) {
	var posts, looks atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
			io.Copy(io.Discard, r.Body)
			panic(http.ErrAbortHandler) // the answer is lost
		}
		looks.Add(1)
		fmt.Fprintf(w, `[{"id_proceso_externo":"77","id_lms":"0","codigo_externo":%q,"fecha":"2024-05-10 22:00:05","estado":"1","rut_otec":"76543210","listaregistros":[]}]`,
			r.URL.Query().Get("codigo_externo"))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	defer srv.Close()
	h := newHarness(t, srv.URL)
	course := testCourse()
	course.CodigoEnvio = "solo-listado"
	res, err := h.Send(context.Background(), course)
	if err != nil {
		t.Fatal(err)
	}
	if posts.Load() != 1 || !res.FromHistory || res.IDProceso != "77" || !strings.Contains(res.Note, "no muestra registros del curso") {
		t.Fatalf("posts %d, %+v", posts.Load(), res)
	}
	if s := res.Students["12345678-5"]; s.Outcome != sence.Rejected || !strings.Contains(s.Explain(), "SENCE recibió el envío (proceso 77)") {
		t.Errorf("student: %+v %q", s, s.Explain())
	}
	// It waited for the records until SENCE was surely done, then took it.
	if looks.Load() < 2 || total(h.slept()) < sence.DefaultSettle {
		t.Errorf("%d look-ups over %s", looks.Load(), total(h.slept()))
	}
}

// oversize answers every request with a 200 body over the client's 64 MB
// cap, written in chunks.
func oversize(t *testing.T) string {
	t.Helper()
	chunk := []byte(strings.Repeat("[", 1<<20))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		for range 65 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestOversizeBodyHasItsOwnMessage: a body over the cap is not a cut
// connection (no firewall advice): it says what happened in Spanish.
func TestOversizeBodyHasItsOwnMessage(t *testing.T) {
	h := newHarness(t, oversize(t), func(c *sence.Config) { c.MaxAttempts = 1 })
	_, err := h.History(context.Background(), sence.HistoryQuery{Since: "2024-01-01"})
	if !errors.Is(err, sence.ErrMalformed) || !strings.Contains(err.Error(), "supera los 64 MB que el motor acepta") ||
		strings.Contains(err.Error(), "firewall") || strings.Contains(err.Error(), "se cortó") {
		t.Errorf("history: %v", err)
	}
	// A send answered so: SENCE may have it, so the history decides; here
	// the history is oversize too, so it stays unconfirmed (the window
	// ends at once, so that it is read only once).
	course := testCourse()
	course.CodigoEnvio = "enorme"
	_, err = h.SendWith(context.Background(), course, sence.SendOptions{Until: h.clock()})
	if !errors.Is(err, sence.ErrUnknownOutcome) {
		t.Errorf("send: %v", err)
	}
	var e *sence.Error
	if errors.As(err, &e); e == nil || !strings.Contains(fmt.Sprint(e.Err), "supera los 64 MB") {
		t.Errorf("send: the cause is not said: %v", err)
	}
}
