package nightly

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/ledger"
	"github.com/otec-tools/sence-engine/engine/sence/simulator"
)

// These tests count what SENCE stored from the simulator's own record, not
// from the ledger: a course is stored at most once a night whatever the
// timing of SENCE's history.

// killedRun leaves the ledger as a run killed right after posting the
// course: the send pending, posted now, and SENCE processing it (its
// answer goes nowhere). It returns the send's codigoEnvio.
func (f *fixture) killedRun(r *assemble.CourseResult) string {
	f.t.Helper()
	ctx := context.Background()
	run := &ledger.Run{StartedAt: f.clock(), Night: night1, Mapping: "mapeo.yaml", PID: 1}
	if err := f.ledger.StartRun(ctx, run); err != nil {
		f.t.Fatal(err)
	}
	c := *r.Payload
	c.CodigoEnvio = CodigoEnvio(c.CodigoOferta, c.CodigoGrupo, night1, 1)
	req, _ := json.Marshal(c)
	send := &ledger.Send{RunID: run.ID, Night: night1, CodigoOferta: c.CodigoOferta, CodigoGrupo: c.CodigoGrupo, Attempt: 1,
		CodigoEnvio: c.CodigoEnvio, PayloadHash: PayloadHash(c), Request: req, CreatedAt: f.clock()}
	if err := f.ledger.AddPending(ctx, send); err != nil {
		f.t.Fatal(err)
	}
	if err := f.ledger.Posting(ctx, send.ID, f.clock()); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.client.Send(ctx, c); err != nil {
		f.t.Fatal(err)
	}
	return c.CodigoEnvio
}

// TestRestartWhileSENCEProcesses: the run restarted right after a kill
// finds the killed run's send pending, and SENCE's history does not show
// it yet. It waits for the history instead of sending it again.
func TestRestartWhileSENCEProcesses(t *testing.T) {
	f := newFixtureWith(t, func(o *simulator.Options) { o.HistoryLag = 4 * time.Minute })
	ctx := context.Background()
	courses := []*assemble.CourseResult{course("C-1", alumno(ana, 50, 50, 50), alumno(bruno, 20, 20, 20))}
	code := f.killedRun(courses[0])
	f.advance(5 * time.Second) // an immediate restart
	rep := f.run(ctx, night1, courses, nil)
	if n := f.sim.Counts().Sends; n != 1 {
		t.Fatalf("SENCE got %d sends; want the killed run's only", n)
	}
	for _, s := range []int64{ana, bruno} {
		if n := f.sim.AcceptedSends(key(s)); n != 1 {
			t.Errorf("student %s stored %d times", key(s), n)
		}
	}
	c := rep.course("C-1")
	if len(rep.Resumed) != 1 || rep.Resumed[0].CodigoEnvio != code || rep.Resumed[0].IDProceso == "" || c.Status != CourseDone ||
		c.student(ana).Status != StudentAccepted || rep.Outcome != OutcomeOK {
		t.Fatalf("%s %+v %+v", rep.Outcome, rep.Resumed, c)
	}
	if waited := f.clock().Sub(time.Date(2026, 11, 20, 22, 30, 5, 0, chile.Location)); waited < 3*time.Minute || waited > 6*time.Minute {
		t.Errorf("resolved after %s; the history shows the send 4 min after it was posted", waited)
	}
}

// TestWindowClosesWhileUnconfirmed: SENCE does not show the killed run's
// send before the window closes: the course stays «sin confirmar» (exit
// 3), nothing is sent, not even changed data, and a later run records it.
func TestWindowClosesWhileUnconfirmed(t *testing.T) {
	f := newFixtureWith(t, func(o *simulator.Options) { o.HistoryLag = 30 * time.Minute })
	ctx := context.Background()
	f.now = time.Date(2026, 11, 20, 23, 55, 0, 0, chile.Location) // the settle time (10 min) ends after the window
	_, end := NewWindow(mappingWindow()).Bounds(f.now)
	courses := []*assemble.CourseResult{course("C-1", alumno(ana, 50, 50, 50))}
	code := f.killedRun(courses[0])
	f.advance(5 * time.Second)
	rep := f.run(ctx, night1, courses, func(c *Config) { c.Deadline = end })
	c := rep.course("C-1")
	if c.Status != CourseUnconfirmed || c.CodigoEnvio != code || c.student(ana).Status != StudentUnconfirmed ||
		!strings.Contains(c.Message, "--code "+code) || rep.Outcome != OutcomeFailed || rep.Unconfirmed != 1 {
		t.Fatalf("%s %+v %+v", rep.Outcome, c, rep.Resumed)
	}
	if !strings.Contains(rep.Resumed[0].Result, "sin confirmar: terminó la ventana") || f.clock().Before(end) || f.clock().After(end.Add(time.Second)) {
		t.Errorf("resumed %q at %s (window end %s)", rep.Resumed[0].Result, f.clock(), end)
	}
	st, _ := ReadStatus(ctx, f.ledger, 5)
	if len(st.Undone) != 1 || st.Undone[0].Status != CourseUnconfirmed || st.Undone[0].CodigoEnvio != code {
		t.Fatalf("status: %+v", st.Undone)
	}
	// Another run the same night, with new data and --resend-changed,
	// still inside the lag: SENCE may have tonight's send, so nothing goes.
	changed := []*assemble.CourseResult{course("C-1", alumno(ana, 60, 60, 60))}
	f.now = end.Add(-2 * time.Minute)
	rep = f.run(ctx, night1, changed, func(c *Config) { c.Deadline, c.ResendChanged = end, true })
	if rep.course("C-1").Status != CourseUnconfirmed || f.sim.Counts().Sends != 1 {
		t.Fatalf("changed data: %+v, %d sends", rep.course("C-1"), f.sim.Counts().Sends)
	}
	// The next night's run finds it in the history and records it.
	f.now = time.Date(2026, 11, 21, 22, 0, 0, 0, chile.Location)
	_, end = NewWindow(mappingWindow()).Bounds(f.now)
	rep = f.run(ctx, night2, courses, func(c *Config) { c.Deadline = end })
	sends, _ := f.ledger.SendsOf(ctx, night1, "C-1", "C-1")
	if len(sends) != 1 || !ledger.Answered(sends[0].Status) || !sends[0].FromHistory || f.sim.AcceptedSends(key(ana)) != 2 {
		t.Fatalf("night 1 send %+v; ana stored %d times (want once a night)", sends, f.sim.AcceptedSends(key(ana)))
	}
	if rep.course("C-1").Status != CourseAccepted {
		t.Fatalf("night 2: %+v", rep.course("C-1"))
	}
}

// TestLostAnswerResolvedInTheRun: SENCE stores the send, the answer is
// lost and the history shows it three minutes later: the same run waits
// and records it; nothing is sent twice.
func TestLostAnswerResolvedInTheRun(t *testing.T) {
	f := newFixtureWith(t, func(o *simulator.Options) {
		o.HistoryLag = 3 * time.Minute
		o.Faults = simulator.Faults{DropAfterStore: 1}
	})
	courses := []*assemble.CourseResult{course("C-1", alumno(ana, 50, 50, 50))}
	rep := f.run(context.Background(), night1, courses, nil)
	if c := rep.course("C-1"); c.Status != CourseAccepted || f.sim.Counts().Sends != 1 || f.sim.AcceptedSends(key(ana)) != 1 ||
		!strings.Contains(c.Message, "se encontró en el historial") {
		t.Fatalf("%+v, %d sends", c, f.sim.Counts().Sends)
	}
}

// TestMalformedAnswerResolvedInTheRun: a 200 that cannot be read does not
// lose the night: the same run resolves it in the history, and sends it
// again with the same codigoEnvio once SENCE is surely done if it did not
// store it.
func TestMalformedAnswerResolvedInTheRun(t *testing.T) {
	for _, c := range []struct {
		name   string
		faults simulator.Faults
		sends  int
	}{
		{"stored", simulator.Faults{MalformedAfterStore: 1}, 1},
		{"not stored", simulator.Faults{MalformedNext: 1}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixtureWith(t, func(o *simulator.Options) { o.Faults = c.faults })
			_, end := NewWindow(mappingWindow()).Bounds(f.now)
			rep := f.run(context.Background(), night1, []*assemble.CourseResult{course("C-1", alumno(ana, 50, 50, 50))},
				func(cfg *Config) { cfg.Deadline = end })
			cr := rep.course("C-1")
			if cr.Status != CourseAccepted || cr.CodigoEnvio != "C-1-20261120-i1" || rep.Outcome != OutcomeOK ||
				f.sim.Counts().Sends != c.sends || f.sim.AcceptedSends(key(ana)) != 1 {
				t.Fatalf("%s %+v, %d sends, ana stored %d times", rep.Outcome, cr, f.sim.Counts().Sends, f.sim.AcceptedSends(key(ana)))
			}
		})
	}
}

// TestHistoryDownAtRestart: the history cannot be read for the killed
// run's send: the course is not sent, whatever the time, until the window
// closes; then it is «sin confirmar».
func TestHistoryDownAtRestart(t *testing.T) {
	f := newFixture(t)
	courses := []*assemble.CourseResult{course("C-1", alumno(ana, 50, 50, 50))}
	f.killedRun(courses[0])
	f.advance(20 * time.Minute) // long after SENCE is surely done
	noHistory := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			http.Error(w, "Bad Gateway", http.StatusBadGateway)
			return
		}
		f.sim.ServeHTTP(w, r)
	}))
	defer noHistory.Close()
	_, end := NewWindow(mappingWindow()).Bounds(f.now)
	rep := f.run(context.Background(), night1, courses, func(c *Config) {
		c.Deadline, c.Sender = end, f.newClient(noHistory.URL+simulator.BasePath)
	})
	if c := rep.course("C-1"); c.Status != CourseUnconfirmed || f.sim.Counts().Sends != 1 || rep.Outcome != OutcomeFailed {
		t.Fatalf("%+v, %d sends", c, f.sim.Counts().Sends)
	}
	if !strings.Contains(rep.Resumed[0].Result, "no se pudo consultar el historial") || f.clock().Before(end) {
		t.Errorf("%q at %s", rep.Resumed[0].Result, f.clock())
	}
}
