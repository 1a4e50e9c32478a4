package nightly

import (
	"context"
	"encoding/json"
	"github.com/otec-tools/sence-engine/engine/nettest"

	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/ledger"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/rut"
	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/sence/simulator"
)

const (
	rutOtec = "76543210-3"
	token   = "5EEBF607-25A9-4DB2-A4DD-5D31BDAE3220"
)

// Students of the fixtures, by RUT number.
const (
	ana    int64 = 12345678
	bruno  int64 = 9876543
	carla  int64 = 17118181
	ghost  int64 = 20111222 // not in the simulator's roster: SENCE answers 012
	night1       = "2026-11-20"
	night2       = "2026-11-21"
)

func key(n int64) string { return rut.RUT{Number: n, DV: rut.CheckDigit(n)}.String() }

// alumno is a student with one progress per module M1, M2, ...
func alumno(n int64, pct int, modules ...int) payload.Alumno {
	a := payload.Alumno{RutAlumno: n, DvAlumno: rut.CheckDigit(n), TiempoConectividad: 3600, Estado: 1, PorcentajeAvance: pct,
		FechaInicio: "2026-10-01", FechaFin: "2026-12-31", FechaEjecucion: night1}
	for i, p := range modules {
		a.ListaModulos = append(a.ListaModulos, payload.Modulo{CodigoModulo: fmt.Sprintf("M%d", i+1), TiempoConectividad: 1800, Estado: 1,
			PorcentajeAvance: p, FechaInicio: "2026-10-01", FechaFin: "2026-11-20", ListaActividades: []payload.Actividad{{CodigoActividad: "A1"}}})
	}
	return a
}

func course(oferta string, students ...payload.Alumno) *assemble.CourseResult {
	return &assemble.CourseResult{CourseID: oferta, CodigoOferta: oferta, CodigoGrupo: oferta, Label: "Curso " + oferta,
		Payload: &payload.Course{RutOtec: rutOtec, IDSistema: payload.IDSistema, Token: payload.RedactedToken,
			CodigoOferta: oferta, CodigoGrupo: oferta, ListaAlumnos: students}}
}

// fixture is a simulator over real HTTP, a client and a ledger file.
type fixture struct {
	t      *testing.T
	sim    *simulator.Server
	client *sence.Client
	ledger *ledger.Ledger
	mu     sync.Mutex
	now    time.Time
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// sleep is the client's wait: it moves the clock instead of waiting.
func (f *fixture) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.advance(d)
	return nil
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

var roster = &simulator.Roster{Courses: []simulator.RosterCourse{
	{CodigoOferta: "C-1", CodigoGrupo: "C-1", Students: []string{key(ana), key(bruno), key(carla)}, Modules: []string{"M1", "M2"}},
	{CodigoOferta: "C-2", CodigoGrupo: "C-2", Students: []string{key(ana), key(bruno), key(carla)}, Modules: []string{"M1", "M2"}},
	{CodigoOferta: "C-3", CodigoGrupo: "C-3", Students: []string{key(ana), key(bruno), key(carla)}, Modules: []string{"M1", "M2"}},
}}

func newFixture(t *testing.T) *fixture { return newFixtureWith(t, nil) }

// newFixtureWith adjusts the simulator's options (its clock is the
// fixture's).
func newFixtureWith(t *testing.T, change func(*simulator.Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, now: time.Date(2026, 11, 20, 22, 30, 0, 0, chile.Location)}
	opts := simulator.Options{Roster: roster,
		Credentials: []simulator.Credential{{RutOtec: rutOtec, Token: token}}, Clock: f.clock,
		StatePath: filepath.Join(t.TempDir(), "sim.json")}
	if change != nil {
		change(&opts)
	}
	sim, err := simulator.Start(context.Background(), "127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	f.sim = sim
	f.client = f.newClient(sim.BaseURL())
	f.ledger, err = ledger.Open(context.Background(), filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.ledger.Close() })
	return f
}

func (f *fixture) newClient(base string) *sence.Client {
	c, err := sence.New(sence.Config{BaseURL: base, RutOtec: rutOtec, Token: token, Timeout: 10 * time.Second, MaxAttempts: 3,
		Now: f.clock, Sleep: f.sleep})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// run runs the courses on a night; change adjusts the configuration.
func (f *fixture) run(ctx context.Context, night string, courses []*assemble.CourseResult, change func(*Config)) *Report {
	f.t.Helper()
	cfg := Config{Ledger: f.ledger, Sender: f.client, Mapping: "mapeo.yaml", Night: night, Now: f.clock, Concurrency: 2}
	if change != nil {
		change(&cfg)
	}
	s, err := Start(ctx, cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	return s.Execute(ctx, courses)
}

func (r *Report) course(oferta string) *CourseReport {
	for _, c := range r.Courses {
		if c.CodigoOferta == oferta {
			return c
		}
	}
	return nil
}

func (c *CourseReport) student(n int64) *StudentReport {
	for _, s := range c.Students {
		if s.RUT == key(n) {
			return s
		}
	}
	return nil
}

func TestRunSendsRecordsAndNeverTwiceANight(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	courses := []*assemble.CourseResult{course("C-1", alumno(ana, 50, 40, 60), alumno(bruno, 10, 10, 10)), course("C-2", alumno(carla, 20, 20, 20))}
	rep := f.run(ctx, night1, courses, nil)
	if rep.Outcome != OutcomeOK || rep.Totals.Accepted != 3 || rep.Totals.CoursesSent != 2 {
		t.Fatalf("first run: %s %+v", rep.Outcome, rep.Totals)
	}
	c1 := rep.course("C-1")
	if c1.Status != CourseAccepted || c1.CodigoEnvio != "C-1-20261120-i1" || c1.IDProceso == "" {
		t.Fatalf("C-1: %+v", c1)
	}
	// The report file is beside the ledger and says the same.
	var onDisk Report
	b, err := os.ReadFile(filepath.Join(filepath.Dir(f.ledger.Path()), "reports", fmt.Sprintf("run-%d.json", rep.RunID)))
	if err != nil || json.Unmarshal(b, &onDisk) != nil || onDisk.Totals != rep.Totals || rep.Path == "" {
		t.Fatalf("report file: %v %+v", err, onDisk.Totals)
	}
	// The ledger: request without token, SENCE's raw answer, accepted values.
	sends, _ := f.ledger.Sends(ctx)
	if len(sends) != 2 {
		t.Fatalf("sends: %d", len(sends))
	}
	for _, s := range sends {
		if s.Status != ledger.SendAccepted || s.IDProceso == "" || len(s.Response) == 0 || strings.Contains(string(s.Request), token) ||
			!strings.Contains(string(s.Request), payload.RedactedToken) || !strings.Contains(string(s.Request), s.CodigoEnvio) {
			t.Errorf("send %s: %s %s request %s response %s", s.CodigoEnvio, s.Status, s.IDProceso, s.Request, s.Response)
		}
	}
	acc, _ := f.ledger.AcceptedOf(ctx, "C-1", "C-1")
	if a := acc[key(ana)]; a == nil || a.Student.PorcentajeAvance != 50 || a.Modules["M2"].PorcentajeAvance != 60 || a.Student.Fingerprint == "" {
		t.Fatalf("accepted: %+v", a)
	}
	// The same night again: nothing is sent.
	before := f.sim.Counts().Sends
	rep = f.run(ctx, night1, courses, nil)
	if f.sim.Counts().Sends != before {
		t.Fatalf("a course was sent twice in one night")
	}
	if c := rep.course("C-1"); c.Status != CourseDone || c.student(ana).Status != StudentAccepted || rep.Outcome != OutcomeOK {
		t.Fatalf("second run: %+v", c)
	}
	// Changed data the same night waits for the next night: SENCE asks
	// for one send a day.
	courses[0].Payload.ListaAlumnos[0].ListaModulos[0].PorcentajeAvance = 45
	rep = f.run(ctx, night1, courses, nil)
	if c := rep.course("C-1"); c.Status != CourseDone || f.sim.Counts().Sends != before || !strings.Contains(c.Message, "un solo envío al día") {
		t.Fatalf("changed data sent twice in a night: %+v", c)
	}
	// Unless the operator asks for it: then a new attempt.
	rep = f.run(ctx, night1, courses, func(c *Config) { c.ResendChanged = true })
	if c := rep.course("C-1"); c.Status != CourseAccepted || c.CodigoEnvio != "C-1-20261120-i2" {
		t.Fatalf("changed data with ResendChanged: %+v", c)
	}
	if c := rep.course("C-2"); c.Status != CourseDone {
		t.Fatalf("unchanged course resent: %+v", c)
	}
}

// TestGuard025 is rule 1 of SENCE: a progress below what SENCE accepted is
// answered 025. Each policy handles it before sending.
func TestGuard025(t *testing.T) {
	for _, c := range []struct {
		policy      string
		outcome     string
		status      string
		sentM1      int // what SENCE has for ana's M1 afterwards
		anaAccepted int // processes that stored ana
	}{
		{KeepMax, OutcomeOK, StudentAccepted, 60, 2},
		{Hold, OutcomeProblems, StudentHeld, 60, 1},
		{Send, OutcomeProblems, StudentRejected, 60, 1},
	} {
		t.Run(c.policy, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			f.run(ctx, night1, []*assemble.CourseResult{course("C-1", alumno(ana, 60, 60, 60), alumno(bruno, 10, 10, 10))}, nil)
			// The next night Moodle says less for ana's M1 (an activity was reset).
			f.advance(24 * time.Hour)
			rep := f.run(ctx, night2, []*assemble.CourseResult{course("C-1", alumno(ana, 60, 30, 70), alumno(bruno, 20, 20, 20))},
				func(cfg *Config) { cfg.Policy = c.policy })
			if rep.Outcome != c.outcome {
				t.Fatalf("outcome %s, want %s: %+v", rep.Outcome, c.outcome, rep.course("C-1"))
			}
			st := rep.course("C-1").student(ana)
			if st.Status != c.status || len(st.Regressions) != 1 || !strings.Contains(st.Regressions[0], "módulo M1: Moodle informa 30 %, pero SENCE ya aceptó 60 %") {
				t.Fatalf("ana: %+v", st)
			}
			if c.policy == Send && (st.Code != "025" || !strings.Contains(st.Explanation, "025")) {
				t.Errorf("send policy: SENCE's 025 not reported: %+v", st)
			}
			if b := rep.course("C-1").student(bruno); b.Status != StudentAccepted {
				t.Errorf("bruno: %+v", b)
			}
			if got, _ := f.sim.Progress("C-1", "C-1", key(ana), "M1"); got != c.sentM1 {
				t.Errorf("SENCE has %d for M1, want %d", got, c.sentM1)
			}
			if c.policy == KeepMax {
				if got, _ := f.sim.Progress("C-1", "C-1", key(ana), "M2"); got != 70 {
					t.Errorf("keep-max must still send the other module's progress: %d", got)
				}
			}
			if n := f.sim.AcceptedSends(key(ana)); n != c.anaAccepted {
				t.Errorf("ana stored %d times, want %d", n, c.anaAccepted)
			}
		})
	}
}

func TestReconcile(t *testing.T) {
	c := course("C-1", alumno(ana, 40, 30, 70), alumno(bruno, 10, 10, 10)).Payload
	acc := map[string]*ledger.Accepted{
		key(ana): {Student: ledger.Value{PorcentajeAvance: 50, Source: ledger.FromSend},
			Modules: map[string]ledger.Value{"M1": {PorcentajeAvance: 60}, "M2": {PorcentajeAvance: 50}}},
		key(bruno): {Student: ledger.Value{PorcentajeAvance: 10, Source: ledger.FromSend, Fingerprint: Fingerprint(c.ListaAlumnos[1])},
			Modules: map[string]ledger.Value{"M1": {PorcentajeAvance: 10}}},
	}
	out, ds := Reconcile(*c, acc, KeepMax, false)
	if len(out.ListaAlumnos) != 2 || out.ListaAlumnos[0].PorcentajeAvance != 50 || out.ListaAlumnos[0].ListaModulos[0].PorcentajeAvance != 60 ||
		out.ListaAlumnos[0].ListaModulos[1].PorcentajeAvance != 70 || len(ds[0].Regressions) != 2 {
		t.Fatalf("keep-max: %+v %+v", out.ListaAlumnos[0], ds[0])
	}
	if c.ListaAlumnos[0].ListaModulos[0].PorcentajeAvance != 30 {
		t.Fatal("Reconcile changed its input")
	}
	out, ds = Reconcile(*c, acc, Hold, false)
	if len(out.ListaAlumnos) != 1 || !ds[0].Held || ds[1].Held {
		t.Fatalf("hold: %+v", ds)
	}
	out, ds = Reconcile(*c, acc, Send, false)
	if len(out.ListaAlumnos) != 2 || out.ListaAlumnos[0].ListaModulos[0].PorcentajeAvance != 30 || len(ds[0].Regressions) != 2 {
		t.Fatalf("send: %+v", ds)
	}
	// bruno is unchanged since accepted: skipped only when asked.
	out, ds = Reconcile(*c, acc, KeepMax, true)
	if len(out.ListaAlumnos) != 1 || !ds[1].Skipped || ds[0].Skipped {
		t.Fatalf("skipUnchanged: %+v", ds)
	}
	// The fingerprint ignores fechaEjecucion, which changes every night.
	b := c.ListaAlumnos[1]
	b.FechaEjecucion = night2
	if Fingerprint(b) != Fingerprint(c.ListaAlumnos[1]) {
		t.Fatal("fingerprint depends on fechaEjecucion")
	}
	// The payload hash ignores the token and the codigoEnvio.
	x, y := *c, *c
	x.Token, y.CodigoEnvio = token, "other"
	if PayloadHash(x) != PayloadHash(y) {
		t.Fatal("payload hash depends on the token or codigoEnvio")
	}
}

func TestSkipUnchanged(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	courses := func() []*assemble.CourseResult {
		return []*assemble.CourseResult{course("C-1", alumno(ana, 50, 50, 50), alumno(bruno, 10, 10, 10))}
	}
	f.run(ctx, night1, courses(), nil)
	sends := f.sim.Counts().Sends
	// Next night, nothing changed: sent again by default (SENCE asks for a
	// daily send)...
	f.advance(24 * time.Hour)
	rep := f.run(ctx, night2, courses(), nil)
	if f.sim.Counts().Sends != sends+1 || rep.course("C-1").Status != CourseAccepted {
		t.Fatalf("unchanged course not sent by default: %+v", rep.course("C-1"))
	}
	sends++
	// ...and skipped with run.skipUnchanged, except the student who changed.
	f.advance(24 * time.Hour)
	cs := courses()
	cs[0].Payload.ListaAlumnos[1].ListaModulos[0].PorcentajeAvance = 15
	rep = f.run(ctx, "2026-11-22", cs, func(c *Config) { c.SkipUnchanged = true })
	c := rep.course("C-1")
	if c.student(ana).Status != StudentSkipped || c.student(bruno).Status != StudentAccepted || f.sim.Counts().Sends != sends+1 {
		t.Fatalf("skipUnchanged: %+v %+v", c.student(ana), c.student(bruno))
	}
	if f.sim.AcceptedSends(key(ana)) != 2 || f.sim.AcceptedSends(key(bruno)) != 3 {
		t.Fatalf("ana stored %d times, bruno %d", f.sim.AcceptedSends(key(ana)), f.sim.AcceptedSends(key(bruno)))
	}
	// Everyone unchanged: the course is not sent at all.
	f.advance(24 * time.Hour)
	rep = f.run(ctx, "2026-11-23", cs, func(c *Config) { c.SkipUnchanged = true })
	if rep.course("C-1").Status != CourseNothing || f.sim.Counts().Sends != sends+1 || rep.Outcome != OutcomeOK {
		t.Fatalf("all unchanged: %+v", rep.course("C-1"))
	}
}

func TestRejectedStudents(t *testing.T) {
	f := newFixture(t)
	rep := f.run(context.Background(), night1, []*assemble.CourseResult{
		course("C-1", alumno(ana, 50, 50, 50), alumno(ghost, 10, 10, 10)),
		course("NO-EXISTE", alumno(ana, 50, 50, 50)),
		{CodigoOferta: "C-2", CodigoGrupo: "C-2", Payload: course("C-2", alumno(bruno, 5, 5, 5)).Payload,
			Excluded: []assemble.Exclusion{{UserID: "9", Label: "Juan Pérez", Reasons: []string{"sin RUT"}}}},
	}, nil)
	if rep.Outcome != OutcomeProblems {
		t.Fatalf("outcome %s", rep.Outcome)
	}
	c := rep.course("C-1")
	g := c.student(ghost)
	if c.Status != CoursePartial || g.Status != StudentRejected || g.Code != "012" || !strings.Contains(g.Explanation, "no está inscrito en SENCE") {
		t.Fatalf("C-1: %s %+v", c.Status, g)
	}
	if c := rep.course("NO-EXISTE"); c.Status != CourseRejected || c.student(ana).Code != "003" || !strings.Contains(c.Message, "003") {
		t.Fatalf("unknown course: %+v %+v", c, c.student(ana))
	}
	if x := rep.course("C-2").Students[0]; x.Status != StudentExcluded || x.MoodleID != "9" || x.Explanation != "sin RUT" {
		t.Fatalf("excluded: %+v", x)
	}
	if rep.Totals.Rejected != 2 || rep.Totals.Excluded != 1 || rep.Totals.Accepted != 2 {
		t.Fatalf("totals %+v", rep.Totals)
	}
	// The ledger knows who is in trouble.
	tr, _ := f.ledger.Troubled(context.Background(), Troubled...)
	if len(tr) != 3 {
		t.Fatalf("troubled: %+v", tr)
	}
	// The rejected student is not remembered as accepted.
	if acc, _ := f.ledger.AcceptedOf(context.Background(), "C-1", "C-1"); acc[key(ghost)] != nil || acc[key(ana)] == nil {
		t.Fatalf("accepted: %+v", acc)
	}
}

// TestSenceDown: retries exhausted leave the sends pending; the next run
// confirms in the history that SENCE never got them and sends them, with
// the same codigoEnvio.
func TestSenceDown(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	down := nettest.RefusedURL(t) // nothing listens: connection refused
	courses := []*assemble.CourseResult{course("C-1", alumno(ana, 50, 50, 50)), course("C-2", alumno(bruno, 10, 10, 10))}
	rep := f.run(ctx, night1, courses, func(c *Config) { c.Sender = f.newClient(down) })
	if rep.Outcome != OutcomeFailed || rep.Totals.CoursesUndone != 2 || rep.course("C-1").Status != CoursePending ||
		!strings.Contains(rep.course("C-1").Message, "historial de SENCE") {
		t.Fatalf("down: %s %+v", rep.Outcome, rep.course("C-1"))
	}
	pend, _ := f.ledger.PendingSends(ctx)
	if len(pend) != 2 || pend[0].Error == "" {
		t.Fatalf("pending: %+v", pend)
	}
	runs, _ := f.ledger.Runs(ctx, 1)
	if runs[0].Status != ledger.RunFailed {
		t.Fatalf("run status %s", runs[0].Status)
	}
	// SENCE is back.
	f.advance(10 * time.Minute)
	rep = f.run(ctx, night1, courses, nil)
	if rep.Outcome != OutcomeOK || len(rep.Resumed) != 2 || !strings.Contains(rep.Resumed[0].Result, "SENCE no lo recibió") {
		t.Fatalf("after: %s %+v %+v", rep.Outcome, rep.Resumed, rep.Totals)
	}
	for _, p := range pend {
		if n := f.sim.SendsWithCodigoEnvio(p.CodigoEnvio); n != 1 {
			t.Errorf("%s stored %d times", p.CodigoEnvio, n)
		}
	}
	if c := rep.course("C-1"); c.CodigoEnvio != "C-1-20261120-i1" || c.Status != CourseAccepted {
		t.Fatalf("resent with another codigoEnvio: %+v", c)
	}
	if pend, _ := f.ledger.PendingSends(ctx); len(pend) != 0 {
		t.Fatalf("still pending: %+v", pend)
	}
}

// lostAnswer sends for real and then loses the answer, as a connection cut
// after SENCE stored the course.
type lostAnswer struct{ *sence.Client }

func (l lostAnswer) SendWith(ctx context.Context, c payload.Course, o sence.SendOptions) (*sence.SendResult, error) {
	l.Client.SendWith(ctx, c, o)
	return nil, &sence.Error{Kind: sence.ErrUnknownOutcome, Op: "enviarAvance", What: "la conexión se cortó"}
}

// TestPendingResolvedFromHistory: a send SENCE stored whose answer was lost
// is found in the history by the next run and recorded, not sent again.
func TestPendingResolvedFromHistory(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	courses := []*assemble.CourseResult{course("C-1", alumno(ana, 50, 50, 50), alumno(ghost, 1, 1, 1))}
	rep := f.run(ctx, night1, courses, func(c *Config) { c.Sender = lostAnswer{f.client} })
	if c := rep.course("C-1"); c.Status != CourseUnconfirmed || c.student(ana).Status != StudentUnconfirmed ||
		f.sim.Counts().Sends != 1 || rep.Outcome != OutcomeFailed || rep.Unconfirmed != 1 {
		t.Fatalf("first: %s %+v", rep.Outcome, rep.course("C-1"))
	}
	var text strings.Builder
	rep.WriteText(&text)
	if !strings.Contains(text.String(), "sin-confirmar, codigoEnvio C-1-20261120-i1") || !strings.Contains(text.String(), "ATENCIÓN: 1 curso quedó sin confirmar") {
		t.Fatalf("report text:\n%s", text.String())
	}
	st, _ := ReadStatus(ctx, f.ledger, 5)
	if len(st.Undone) != 1 || st.Undone[0].Status != CourseUnconfirmed || st.Undone[0].CodigoEnvio != "C-1-20261120-i1" || st.Clean() {
		t.Fatalf("status: %+v", st.Undone)
	}
	rep = f.run(ctx, night1, courses, nil)
	if f.sim.Counts().Sends != 1 {
		t.Fatalf("sent again although SENCE had it (%d sends) %+v %+v", f.sim.Counts().Sends, rep.Resumed, rep.course("C-1"))
	}
	c := rep.course("C-1")
	if len(rep.Resumed) != 1 || rep.Resumed[0].IDProceso == "" || c.Status != CourseDone ||
		c.student(ana).Status != StudentAccepted || c.student(ghost).Status != StudentRejected {
		t.Fatalf("resumed: %+v %+v %+v %+v", rep.Resumed, c, c.student(ana), c.student(ghost))
	}
	sends, _ := f.ledger.Sends(ctx)
	if len(sends) != 1 || sends[0].Status != ledger.SendPartial || !sends[0].FromHistory || sends[0].IDProceso != rep.Resumed[0].IDProceso {
		t.Fatalf("ledger: %+v", sends)
	}
	if acc, _ := f.ledger.AcceptedOf(ctx, "C-1", "C-1"); acc[key(ana)] == nil || acc[key(ana)].Modules["M1"].PorcentajeAvance != 50 {
		t.Fatalf("accepted values not learnt from the history: %+v", acc)
	}
}

// TestWindowEnds: with a deadline at midnight, a run that reaches it stops
// sending new courses and says so; the rest go the next run.
func TestWindowEnds(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.now = time.Date(2026, 11, 20, 23, 58, 0, 0, chile.Location)
	_, end := NewWindow(mappingWindow()).Bounds(f.now)
	courses := []*assemble.CourseResult{course("C-1", alumno(ana, 50, 50, 50)), course("C-2", alumno(ana, 50, 50, 50)), course("C-3", alumno(ana, 50, 50, 50))}
	// Each course takes 90 s of the clock: C-1 starts 23:58, C-2 23:59:30,
	// C-3 would start after midnight.
	slow := slowSender{Sender: f.client, f: f, d: 90 * time.Second}
	rep := f.run(ctx, night1, courses, func(c *Config) { c.Deadline, c.Concurrency, c.Sender = end, 1, slow })
	if rep.course("C-1").Status != CourseAccepted || rep.course("C-2").Status != CourseAccepted || rep.course("C-3").Status != CourseNotSent {
		t.Fatalf("%s %s %s", rep.course("C-1").Status, rep.course("C-2").Status, rep.course("C-3").Status)
	}
	if rep.Outcome != OutcomeFailed || len(rep.Messages) != 1 || !strings.Contains(rep.Messages[0], "terminó la ventana de envío de SENCE (00:00") {
		t.Fatalf("%s %v", rep.Outcome, rep.Messages)
	}
	if s := rep.course("C-3").student(ana); s.Status != StudentNotSent {
		t.Fatalf("%+v", s)
	}
	// The next night's run sends it (and the others again, as SENCE asks).
	f.now = time.Date(2026, 11, 21, 22, 0, 0, 0, chile.Location)
	_, end = NewWindow(mappingWindow()).Bounds(f.now)
	rep = f.run(ctx, night2, courses, func(c *Config) { c.Deadline = end })
	if rep.Outcome != OutcomeOK {
		t.Fatalf("next night: %s %+v", rep.Outcome, rep.Totals)
	}
}

type slowSender struct {
	Sender
	f *fixture
	d time.Duration
}

func (s slowSender) SendWith(ctx context.Context, c payload.Course, o sence.SendOptions) (*sence.SendResult, error) {
	s.f.advance(s.d)
	return s.Sender.SendWith(ctx, c, o)
}

// TestInterrupted: a signal (the context) during a send lets that send
// finish and be recorded, and no other course starts.
func TestInterrupted(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	courses := []*assemble.CourseResult{course("C-1", alumno(ana, 50, 50, 50)), course("C-2", alumno(bruno, 10, 10, 10))}
	rep := f.run(ctx, night1, courses, func(c *Config) {
		c.Concurrency = 1
		c.Sender = cancelling{Sender: f.client, cancel: cancel}
	})
	if rep.course("C-1").Status != CourseAccepted || rep.course("C-2").Status != CourseNotSent || !rep.Interrupted || rep.Outcome != OutcomeFailed {
		t.Fatalf("%+v %+v %v", rep.course("C-1"), rep.course("C-2"), rep.Interrupted)
	}
	runs, _ := f.ledger.Runs(context.Background(), 1)
	if runs[0].Status != ledger.RunInterrupted {
		t.Fatalf("run %+v", runs[0])
	}
	rep = f.run(context.Background(), night1, courses, nil)
	if rep.course("C-1").Status != CourseDone || rep.course("C-2").Status != CourseAccepted {
		t.Fatalf("after: %+v %+v", rep.course("C-1"), rep.course("C-2"))
	}
}

type cancelling struct {
	Sender
	cancel func()
}

func (c cancelling) SendWith(ctx context.Context, p payload.Course, o sence.SendOptions) (*sence.SendResult, error) {
	c.cancel() // SIGTERM arrives while the request is in flight
	return c.Sender.SendWith(ctx, p, o)
}

func TestAuthFailureStopsTheRun(t *testing.T) {
	f := newFixture(t)
	bad, err := sence.New(sence.Config{BaseURL: f.sim.BaseURL(), RutOtec: rutOtec, Token: "00000000-0000-0000-0000-000000000000",
		Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	rep := f.run(context.Background(), night1, []*assemble.CourseResult{course("C-1", alumno(ana, 50, 50, 50)), course("C-2", alumno(ana, 5, 5, 5))},
		func(c *Config) { c.Sender, c.Concurrency = bad, 1 })
	if rep.Outcome != OutcomeFailed || rep.course("C-1").Status != CourseFailed || rep.course("C-2").Status != CourseNotSent ||
		len(rep.Messages) != 1 || !strings.Contains(rep.Messages[0], "credenciales") {
		t.Fatalf("%s %+v %+v %v", rep.Outcome, rep.course("C-1"), rep.course("C-2"), rep.Messages)
	}
	if f.sim.Counts().Sends != 1 {
		t.Fatalf("kept sending with rejected credentials: %d", f.sim.Counts().Sends)
	}
}

func TestDryRunSendsNothing(t *testing.T) {
	f := newFixture(t)
	rep := f.run(context.Background(), night1, []*assemble.CourseResult{course("C-1", alumno(ana, 50, 50, 50))}, func(c *Config) { c.DryRun, c.Sender = true, nil })
	if rep.course("C-1").Status != CourseDryRun || rep.course("C-1").student(ana).Status != StudentDryRun || rep.Outcome != OutcomeOK {
		t.Fatalf("%+v", rep.course("C-1"))
	}
	if c := f.sim.Counts(); c.Sends+c.History != 0 {
		t.Fatalf("dry run talked to SENCE: %+v", c)
	}
	if sends, _ := f.ledger.Sends(context.Background()); len(sends) != 0 {
		t.Fatalf("dry run wrote the outbox: %+v", sends)
	}
}

// TestSeedFromHistory: values another tool sent are learnt from the history
// and keep-max does not contradict them.
func TestSeedFromHistory(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other := course("C-1", alumno(ana, 80, 80, 90)).Payload
	other.CodigoEnvio = "OTRA-HERRAMIENTA-1"
	if _, err := f.client.Send(ctx, *other); err != nil {
		t.Fatal(err)
	}
	res, err := Seed(ctx, f.ledger, f.client, "2026-01-01")
	if err != nil || res.Processes != 1 || res.Students != 1 || res.Records != 2 {
		t.Fatalf("seed: %+v %v", res, err)
	}
	acc, _ := f.ledger.AcceptedOf(ctx, "C-1", "C-1")
	if a := acc[key(ana)]; a == nil || a.Student.PorcentajeAvance != 80 || a.Modules["M2"].PorcentajeAvance != 90 || a.Student.Source != ledger.FromHistory {
		t.Fatalf("seeded: %+v", acc[key(ana)])
	}
	f.advance(time.Hour)
	rep := f.run(ctx, night1, []*assemble.CourseResult{course("C-1", alumno(ana, 50, 50, 50))}, nil)
	st := rep.course("C-1").student(ana)
	if st.Status != StudentAccepted || len(st.Regressions) != 3 {
		t.Fatalf("%+v", st)
	}
	if got, _ := f.sim.Progress("C-1", "C-1", key(ana), "M2"); got != 90 {
		t.Fatalf("SENCE's value contradicted: %d", got)
	}
}

func TestWindowBounds(t *testing.T) {
	at := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, chile.Location) }
	for _, c := range []struct {
		w          Window
		t          time.Time
		start, end time.Time
		in         bool
	}{
		{NewWindow(mappingWindow()), at(20, 15, 0), at(20, 22, 0), at(21, 0, 0), false},
		{NewWindow(mappingWindow()), at(20, 22, 0), at(20, 22, 0), at(21, 0, 0), true},
		{NewWindow(mappingWindow()), at(20, 23, 59), at(20, 22, 0), at(21, 0, 0), true},
		{NewWindow(mappingWindow()), at(21, 0, 0), at(21, 22, 0), at(22, 0, 0), false},
		{Window{"23:00", "01:00"}, at(21, 0, 30), at(20, 23, 0), at(21, 1, 0), true},
		{Window{"23:00", "01:00"}, at(21, 1, 0), at(21, 23, 0), at(22, 1, 0), false},
		{Window{"20:00", "23:00"}, at(20, 23, 30), at(21, 20, 0), at(21, 23, 0), false},
	} {
		start, end := c.w.Bounds(c.t)
		if !start.Equal(c.start) || !end.Equal(c.end) || c.w.Contains(c.t) != c.in {
			t.Errorf("%v at %s: %s–%s %v", c.w, c.t, start, end, c.w.Contains(c.t))
		}
	}
}

func mappingWindow() mapping.Window { return mapping.Window{} }

// TestPendingSupersededByWhatSENCEHas: tonight's pending send SENCE never
// got is closed, not resent, when the data went back to what SENCE already
// has tonight.
func TestPendingSupersededByWhatSENCEHas(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := []*assemble.CourseResult{course("C-1", alumno(ana, 50, 50, 50))}
	b := []*assemble.CourseResult{course("C-1", alumno(ana, 55, 55, 55))}
	f.run(ctx, night1, a, nil)
	refused := nettest.RefusedURL(t)
	if rep := f.run(ctx, night1, b, func(c *Config) {
		c.Sender, c.ResendChanged = f.newClient(refused), true
	}); rep.course("C-1").Status != CoursePending {
		t.Fatalf("%+v", rep.course("C-1"))
	}
	rep := f.run(ctx, night1, a, nil)
	if rep.course("C-1").Status != CourseDone || f.sim.Counts().Sends != 1 || rep.Outcome != OutcomeOK {
		t.Fatalf("%s %d sends %s", rep.course("C-1").Status, f.sim.Counts().Sends, rep.Outcome)
	}
	sends, _ := f.ledger.Sends(ctx)
	if len(sends) != 2 || sends[1].Status != ledger.SendFailed || !strings.Contains(sends[1].Error, "ya los tiene") {
		t.Fatalf("%+v", sends[1])
	}
	st, _ := ReadStatus(ctx, f.ledger, 5)
	if !st.Clean() {
		t.Fatalf("status: %+v", st)
	}
}
