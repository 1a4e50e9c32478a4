package sence_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/otec-tools/sence-engine/engine/nettest"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/sence/simulator"
)

const (
	rutOtec = "76543210-3"
	// A recognisable token: any trace of it in an error or a log is a leak.
	token      = "5EC12E70-70CE-4E00-A000-00000000C0DE"
	otherToken = "0E3D8AF8-AAAA-4C15-0000-1E6E418A457E"
)

var creds = []simulator.Credential{{RutOtec: rutOtec, Token: token}}

func testRoster() *simulator.Roster {
	return &simulator.Roster{Courses: []simulator.RosterCourse{
		{CodigoOferta: "CUR-1", CodigoGrupo: "CUR-1", Students: []string{"12345678-5", "17118181-K", "9445435-2"}, Modules: []string{"MOD-1", "MOD-2"}},
		{CodigoOferta: "CUR-2", CodigoGrupo: "CUR-2", Students: []string{"10312870-6"}, Modules: []string{"MOD-9"}},
		{CodigoOferta: sence.IntegrationCourse, CodigoGrupo: sence.IntegrationCourse, Students: sence.IntegrationStudents, Modules: []string{sence.IntegrationModule}},
	}}
}

func startSim(t *testing.T, opts simulator.Options) *simulator.Server {
	t.Helper()
	if opts.Credentials == nil {
		opts.Credentials = creds
	}
	if opts.Roster == nil {
		opts.Roster = testRoster()
	}
	s, err := simulator.Start(context.Background(), "127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// harness is a client whose sleeps are recorded instead of waited (its
// clock moves by them) and whose logs go to a buffer.
type harness struct {
	*sence.Client
	mu     sync.Mutex
	sleeps []time.Duration
	now    time.Time
	logs   *bytes.Buffer
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

func (h *harness) slept() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Duration(nil), h.sleeps...)
}

func newHarness(t *testing.T, base string, mod ...func(*sence.Config)) *harness {
	t.Helper()
	h := &harness{logs: &bytes.Buffer{}, now: time.Date(2024, 5, 11, 2, 0, 0, 0, time.UTC)} // 22:00 on the 10th in Santiago
	cfg := sence.Config{
		BaseURL: base, RutOtec: rutOtec, Token: token, Timeout: 5 * time.Second,
		Logger: slog.New(slog.NewJSONHandler(lockedWriter{w: h.logs, mu: &h.mu}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Sleep: func(ctx context.Context, d time.Duration) error {
			h.mu.Lock()
			h.sleeps = append(h.sleeps, d)
			h.now = h.now.Add(d)
			h.mu.Unlock()
			return ctx.Err()
		},
		Now: h.clock,
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := sence.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.Client = c
	return h
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func alumno(num int64, dv string, progress ...int) payload.Alumno {
	a := payload.Alumno{RutAlumno: num, DvAlumno: dv, TiempoConectividad: 3600, Estado: 1, PorcentajeAvance: 50,
		FechaInicio: "2024-03-01", FechaFin: "2024-06-30", FechaEjecucion: "2024-05-10"}
	if len(progress) == 0 {
		progress = []int{50}
	}
	for i, p := range progress {
		a.ListaModulos = append(a.ListaModulos, payload.Modulo{CodigoModulo: fmt.Sprintf("MOD-%d", i+1), TiempoConectividad: 1800,
			Estado: 1, PorcentajeAvance: p, FechaInicio: "2024-03-01", FechaFin: "2024-05-10",
			ListaActividades: []payload.Actividad{{CodigoActividad: "Foro"}}})
	}
	return a
}

func testCourse(students ...payload.Alumno) payload.Course {
	if len(students) == 0 {
		students = []payload.Alumno{alumno(12345678, "5"), alumno(17118181, "K")}
	}
	return payload.Course{CodigoOferta: "CUR-1", CodigoGrupo: "CUR-1", ListaAlumnos: students}
}

func ptr[T any](v T) *T { return &v }

func TestNewValidatesConfig(t *testing.T) {
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	cases := []struct {
		name string
		cfg  sence.Config
		msg  string
	}{
		{"invalid RUT OTEC", sence.Config{RutOtec: "11222333-4", Token: token}, "RUT OTEC"},
		{"missing token", sence.Config{RutOtec: rutOtec}, "falta el token"},
		{"lower-case token", sence.Config{RutOtec: rutOtec, Token: strings.ToLower(token)}, "SENCE rechaza los tokens en minúsculas"},
		{"not a UUID", sence.Config{RutOtec: rutOtec, Token: "5EC12E70-70CE-4E00-A000"}, "UUID"},
		{"ftp base URL", sence.Config{RutOtec: rutOtec, Token: token, BaseURL: "ftp://x"}, "URL base"},
		{"base URL with a query", sence.Config{RutOtec: rutOtec, Token: token, BaseURL: "https://x/api?token=1"}, "URL base"},
		{"negative timeout", sence.Config{RutOtec: rutOtec, Token: token, Timeout: -1}, "negativos"},
		{"TLS verification off", sence.Config{RutOtec: rutOtec, Token: token, HTTPClient: insecure}, "verificación TLS"},
	}
	for _, c := range cases {
		_, err := sence.New(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v; want an error mentioning %q", c.name, err, c.msg)
			continue
		}
		if strings.Contains(strings.ToUpper(err.Error()), token) {
			t.Errorf("%s: the error shows the token", c.name)
		}
	}
	c, err := sence.New(sence.Config{RutOtec: "76.543.210-3", Token: token + "\n"})
	if err != nil || c.RutOtec() != "76543210-3" {
		t.Errorf("normalised config: %v, %v", c, err)
	}
}

func TestSendOverwritesCredentials(t *testing.T) {
	sim := startSim(t, simulator.Options{})
	h := newHarness(t, sim.URL)
	c := testCourse()
	c.RutOtec, c.Token, c.IDSistema = "1-9", "BAD", 7
	res, err := h.Send(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if a, r, u := res.Count(); a != 2 || r != 0 || u != 0 || res.IDProceso != "1" || res.Attempts != 1 {
		t.Errorf("result %+v", res)
	}
	if res.Course.Token != payload.RedactedToken || res.Course.RutOtec != rutOtec || res.Course.IDSistema != payload.IDSistema {
		t.Errorf("result course credentials: %q %q %d", res.Course.Token, res.Course.RutOtec, res.Course.IDSistema)
	}
	if !bytes.Contains(res.Response.Raw, []byte(`"id_proceso":1`)) {
		t.Errorf("raw body not kept: %s", res.Response.Raw)
	}
}

// Every error code the simulator produces, read back by the client.
func TestSendReportsEveryCode(t *testing.T) {
	bad := func(f func(a *payload.Alumno)) func(c *payload.Course) {
		return func(c *payload.Course) { f(&c.ListaAlumnos[0]) }
	}
	mod := func(f func(m *payload.Modulo)) func(c *payload.Course) {
		return func(c *payload.Course) { f(&c.ListaAlumnos[0].ListaModulos[0]) }
	}
	cases := []struct {
		code  string
		scope sence.Scope
		mod   func(c *payload.Course)
	}{
		{"003", sence.ScopeCourse, func(c *payload.Course) { c.CodigoOferta = "CUR-X" }},
		{"010", sence.ScopeStudent, mod(func(m *payload.Modulo) { m.CodigoModulo = "MOD-7" })},
		{"011", sence.ScopeStudent, bad(func(a *payload.Alumno) { a.RutAlumno, a.DvAlumno = 10312870, "6" })},
		{"012", sence.ScopeStudent, bad(func(a *payload.Alumno) { a.RutAlumno, a.DvAlumno = 15294646, "5" })},
		{"021", sence.ScopeStudent, bad(func(a *payload.Alumno) { a.TiempoConectividad = -1 })},
		{"022", sence.ScopeStudent, bad(func(a *payload.Alumno) { a.PorcentajeAvance = 101 })},
		{"023", sence.ScopeStudent, mod(func(m *payload.Modulo) { m.TiempoConectividad = -1 })},
		{"024", sence.ScopeStudent, mod(func(m *payload.Modulo) { m.PorcentajeAvance = -1 })},
		{"026", sence.ScopeStudent, mod(func(m *payload.Modulo) { m.FechaInicio = "01/03/2024" })},
		{"027", sence.ScopeStudent, mod(func(m *payload.Modulo) { m.FechaFin = "2024-02-30" })},
		{"028", sence.ScopeStudent, mod(func(m *payload.Modulo) { m.NotaModulo = ptr(-1.0) })},
		{"029", sence.ScopeStudent, mod(func(m *payload.Modulo) { m.CantActividadSincronica = ptr(-1) })},
		{"030", sence.ScopeStudent, mod(func(m *payload.Modulo) { m.CantActividadAsincronica = ptr(-2) })},
		{"031", sence.ScopeStudent, bad(func(a *payload.Alumno) { a.EvaluacionFinal = ptr(-5.0) })},
		{"032", sence.ScopeCourse, func(c *payload.Course) { c.CantActividadSincronica = ptr(-1) }},
		{"033", sence.ScopeCourse, func(c *payload.Course) { c.CantActividadAsincronica = ptr(-1) }},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			sim := startSim(t, simulator.Options{})
			h := newHarness(t, sim.URL)
			course := testCourse()
			c.mod(&course)
			res, err := h.Send(context.Background(), course)
			if err != nil {
				t.Fatal(err)
			}
			first := sence.StudentResult{}
			for k, s := range res.Students {
				if k != "17118181-K" {
					first = s
				}
			}
			if first.Outcome != sence.Rejected || first.Info.Code != c.code {
				t.Fatalf("first student = %+v; want rejected %s", first, c.code)
			}
			if !strings.Contains(first.Explain(), "["+c.code+"]") {
				t.Errorf("explanation %q", first.Explain())
			}
			other := res.Students["17118181-K"].Outcome
			switch c.scope {
			case sence.ScopeStudent:
				if other != sence.Accepted || len(res.CourseErrors) != 0 {
					t.Errorf("partial success lost: other student %v, course errors %v", other, res.CourseErrors)
				}
				if sim.AcceptedSends("17118181-K") != 1 {
					t.Error("the simulator did not store the good student")
				}
			case sence.ScopeCourse:
				if other != sence.Rejected || len(res.CourseErrors) != 1 || res.CourseErrors[0].Info.Code != c.code {
					t.Errorf("course error: other student %v, course errors %+v", other, res.CourseErrors)
				}
			}
			if sim.Counts().Sends != 1 {
				t.Errorf("a 200 with errors was sent %d times", sim.Counts().Sends)
			}
		})
	}
}

func TestSendProgressRegressionAndUnchanged(t *testing.T) {
	for _, rejectEqual := range []bool{false, true} {
		sim := startSim(t, simulator.Options{RejectEqualProgress: rejectEqual})
		h := newHarness(t, sim.URL)
		ctx := context.Background()
		send := func(students ...payload.Alumno) *sence.SendResult {
			t.Helper()
			res, err := h.Send(ctx, testCourse(students...))
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		send(alumno(12345678, "5", 40), alumno(17118181, "K", 40, 10))
		res := send(alumno(12345678, "5", 40), alumno(17118181, "K", 40, 10))
		single, multi := res.Students["12345678-5"], res.Students["17118181-K"]
		if !rejectEqual {
			if single.Outcome != sence.Accepted || multi.Outcome != sence.Accepted {
				t.Errorf("equal progress accepted by the simulator, but read as %v / %v", single.Outcome, multi.Outcome)
			}
		} else {
			if single.Outcome != sence.Unchanged || single.Previous == nil || *single.Previous != 40 || single.Info.Code != "025" || single.Uncertain {
				t.Errorf("one module, same value: %+v", single)
			}
			// SENCE reports the last module's 025 only: with several modules
			// "no change" cannot be certain.
			if multi.Outcome != sence.Unchanged || *multi.Previous != 10 || !multi.Uncertain || !strings.Contains(multi.Explain(), "otros módulos") {
				t.Errorf("two modules, same values: %+v", multi)
			}
		}
		res = send(alumno(12345678, "5", 30))
		if s := res.Students["12345678-5"]; s.Outcome != sence.Rejected || s.Info.Code != "025" || s.Previous == nil || *s.Previous != 40 {
			t.Errorf("regression: %+v", s)
		}
		if v, _ := sim.Progress("CUR-1", "CUR-1", "12345678-5", "MOD-1"); v != 40 {
			t.Errorf("the simulator stored %d after a regression", v)
		}
	}
}

func TestSendAuthFailure(t *testing.T) {
	sim := startSim(t, simulator.Options{Credentials: []simulator.Credential{{RutOtec: rutOtec, Token: otherToken}}})
	h := newHarness(t, sim.URL)
	res, err := h.Send(context.Background(), testCourse())
	if !errors.Is(err, sence.ErrAuth) {
		t.Fatalf("err = %v; want ErrAuth", err)
	}
	if res == nil || len(res.SendErrors) != 1 || res.SendErrors[0].Info.Code != "001" {
		t.Fatalf("result = %+v", res)
	}
	if _, r, _ := res.Count(); r != 2 {
		t.Errorf("%d students rejected, want 2", r)
	}
	if !strings.Contains(err.Error(), "mayúsculas") || sim.Counts().Sends != 1 || len(sim.Processes()) != 0 {
		t.Errorf("err %q, sends %d, stored %d", err, sim.Counts().Sends, len(sim.Processes()))
	}
}

// Bodies the simulator does not produce, served as recorded.
func TestSendRecordedBodies(t *testing.T) {
	cases := []struct {
		file     string
		class    error
		sendCode string
	}{
		{"service_002.json", nil, "002"},
		{"auth_token_invalido.json", sence.ErrAuth, "001"},
		{"auth_001_errores.json", sence.ErrAuth, "001"},
		{"malformed_html.txt", sence.ErrMalformed, ""},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			var n atomic.Int32
			body := readTestdata(t, "send/"+c.file)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				w.Write(body)
			}))
			defer srv.Close()
			h := newHarness(t, srv.URL)
			res, err := h.Send(context.Background(), testCourse())
			if c.class == nil && err != nil || c.class != nil && !errors.Is(err, c.class) {
				t.Fatalf("err = %v; want %v", err, c.class)
			}
			if n.Load() != 1 {
				t.Errorf("a 200 was sent %d times", n.Load())
			}
			if c.sendCode != "" && (res == nil || len(res.SendErrors) == 0 || res.SendErrors[0].Info.Code != c.sendCode) {
				t.Errorf("send errors: %+v", res)
			}
			if c.class == sence.ErrMalformed {
				var e *sence.Error
				if !errors.As(err, &e) || !bytes.Equal(e.Body, body) || e.StatusCode != 200 {
					t.Errorf("malformed error does not keep body and status: %+v", e)
				}
			}
		})
	}
}

func TestSendRetries503ThenSucceeds(t *testing.T) {
	sim := startSim(t, simulator.Options{Faults: simulator.Faults{Fail503Next: 2, RetryAfter: 7 * time.Second}})
	h := newHarness(t, sim.URL)
	res, err := h.Send(context.Background(), testCourse())
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 3 || sim.Counts().Sends != 3 || len(sim.Processes()) != 1 {
		t.Errorf("attempts %d, requests %d, stored %d", res.Attempts, sim.Counts().Sends, len(sim.Processes()))
	}
	if got := h.slept(); len(got) != 2 || got[0] != 7*time.Second || got[1] != 7*time.Second {
		t.Errorf("slept %v; want Retry-After 7s twice", got)
	}
	if sim.Counts().History != 0 {
		t.Error("a 503 triggered a history look-up")
	}
}

func TestSendBackoffAndGivingUp(t *testing.T) {
	sim := startSim(t, simulator.Options{Faults: simulator.Faults{Fail503Next: 100}})
	h := newHarness(t, sim.URL, func(c *sence.Config) { c.BackoffBase, c.BackoffMax = time.Second, 3*time.Second })
	_, err := h.Send(context.Background(), testCourse())
	var e *sence.Error
	if !errors.As(err, &e) || !errors.Is(err, sence.ErrHTTPStatus) || e.StatusCode != 503 || e.Attempts != 4 {
		t.Fatalf("err = %#v", err)
	}
	if sim.Counts().Sends != 4 || !strings.Contains(err.Error(), "4 intentos") {
		t.Errorf("requests %d, err %q", sim.Counts().Sends, err)
	}
	// Exponential with jitter: each wait in [d/2, d] for d = 1s, 2s, 3s (max).
	bounds := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}
	got := h.slept()
	if len(got) != 3 {
		t.Fatalf("slept %v", got)
	}
	for i, d := range got {
		if d < bounds[i]/2 || d > bounds[i] {
			t.Errorf("wait %d = %s, want within [%s, %s]", i, d, bounds[i]/2, bounds[i])
		}
	}
}

func TestSendRetryAfterTooLong(t *testing.T) {
	sim := startSim(t, simulator.Options{Faults: simulator.Faults{Fail503Next: 1, RetryAfter: time.Hour}})
	h := newHarness(t, sim.URL)
	_, err := h.Send(context.Background(), testCourse())
	if !errors.Is(err, sence.ErrHTTPStatus) || sim.Counts().Sends != 1 || len(h.slept()) != 0 {
		t.Errorf("err %v, requests %d, slept %v", err, sim.Counts().Sends, h.slept())
	}
}

func TestDroppedAnswerIsFoundInHistory(t *testing.T) {
	sim := startSim(t, simulator.Options{Faults: simulator.Faults{DropAfterStore: 1}})
	h := newHarness(t, sim.URL)
	c := testCourse(alumno(12345678, "5", 40), alumno(15294646, "5", 40))
	c.CodigoEnvio = "envio-0001"
	res, err := h.Send(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if !res.FromHistory || res.History == nil || res.IDProceso != "1" || !strings.Contains(res.Note, "historial") {
		t.Errorf("result %+v", res)
	}
	if sim.Counts().Sends != 1 || sim.SendsWithCodigoEnvio("envio-0001") != 1 {
		t.Errorf("sent %d times, stored %d times", sim.Counts().Sends, sim.SendsWithCodigoEnvio("envio-0001"))
	}
	if s := res.Students["12345678-5"]; s.Outcome != sence.Accepted {
		t.Errorf("12345678-5 = %+v", s)
	}
	if s := res.Students["15294646-5"]; s.Outcome != sence.Rejected || s.Info.Code != "012" {
		t.Errorf("15294646-5 = %+v", s)
	}
}

// The history records an equal-value 025 as "[010] … (40.00000)": it must
// still read as unchanged.
func TestDroppedUnchangedAnswerReadsUnchangedFromHistory(t *testing.T) {
	sim := startSim(t, simulator.Options{RejectEqualProgress: true})
	h := newHarness(t, sim.URL)
	c := testCourse(alumno(12345678, "5", 40))
	c.CodigoEnvio = "dia-1"
	if _, err := h.Send(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	sim.SetFaults(simulator.Faults{DropAfterStore: 1})
	c.CodigoEnvio = "dia-2"
	res, err := h.Send(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	s := res.Students["12345678-5"]
	if !res.FromHistory || s.Outcome != sence.Unchanged || s.Info.Code != "025" || s.Code != "010" {
		t.Errorf("from history: %+v / %+v", res, s)
	}
}

func TestDroppedAnswerWithoutCodigoEnvio(t *testing.T) {
	sim := startSim(t, simulator.Options{Faults: simulator.Faults{DropAfterStore: 1}})
	h := newHarness(t, sim.URL)
	res, err := h.Send(context.Background(), testCourse())
	if res != nil || !errors.Is(err, sence.ErrUnknownOutcome) {
		t.Fatalf("%v, %v; want ErrUnknownOutcome", res, err)
	}
	if sim.Counts().Sends != 1 || sim.Counts().History != 0 {
		t.Errorf("counts %+v: a lost answer without codigoEnvio must not be resent", sim.Counts())
	}
	if !strings.Contains(err.Error(), "codigoEnvio") {
		t.Errorf("the error does not say how to avoid it: %v", err)
	}
}

// dropFirstPost closes the connection of the first POST without passing it
// on: the send was not stored, so the client may send it again.
func dropFirstPost(next http.Handler) (http.Handler, *atomic.Int32) {
	var posts atomic.Int32
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && posts.Add(1) == 1 {
			io.Copy(io.Discard, r.Body)
			panic(http.ErrAbortHandler)
		}
		next.ServeHTTP(w, r)
	}), &posts
}

func TestLostAnswerNotInHistoryIsSentAgain(t *testing.T) {
	sim, err := simulator.New(simulator.Options{Credentials: creds, Roster: testRoster()})
	if err != nil {
		t.Fatal(err)
	}
	handler, posts := dropFirstPost(sim)
	srv := httptest.NewServer(handler)
	defer srv.Close()
	h := newHarness(t, srv.URL)
	c := testCourse()
	c.CodigoEnvio = "envio-2"
	res, err := h.Send(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.FromHistory || res.Attempts != 2 || posts.Load() != 2 || sim.Counts().History < 2 || sim.SendsWithCodigoEnvio("envio-2") != 1 {
		t.Errorf("FromHistory %v attempts %d posts %d history %d stored %d", res.FromHistory, res.Attempts, posts.Load(),
			sim.Counts().History, sim.SendsWithCodigoEnvio("envio-2"))
	}
	// Not sent again before SENCE could have finished with the first POST:
	// the default settle time (600 s, longer than the 5 s timeout) passed
	// on the client's clock between the two.
	if waited := total(h.slept()); waited < sence.DefaultSettle || waited > sence.DefaultSettle+time.Minute {
		t.Errorf("resent after %s of look-ups; want the settle time, %s", waited, sence.DefaultSettle)
	}
}

func total(ds []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t
}

func TestSendTimeout(t *testing.T) {
	sim := startSim(t, simulator.Options{Faults: simulator.Faults{Latency: 500 * time.Millisecond}})
	h := newHarness(t, sim.URL, func(c *sence.Config) { c.Timeout = 50 * time.Millisecond })
	t0 := time.Now()
	_, err := h.Send(context.Background(), testCourse())
	if !errors.Is(err, sence.ErrTimeout) || !errors.Is(err, sence.ErrUnknownOutcome) {
		t.Fatalf("err = %v; want ErrTimeout and ErrUnknownOutcome", err)
	}
	if d := time.Since(t0); d > 400*time.Millisecond {
		t.Errorf("took %s with a 50ms timeout", d)
	}
	if !strings.Contains(err.Error(), "50ms") || sim.Counts().Sends != 1 {
		t.Errorf("err %q, requests %d", err, sim.Counts().Sends)
	}
	// History is idempotent: timeouts are retried, then reported as such.
	_, err = h.History(context.Background(), sence.HistoryQuery{})
	var e *sence.Error
	if !errors.As(err, &e) || !errors.Is(err, sence.ErrTimeout) || errors.Is(err, sence.ErrUnknownOutcome) || e.Attempts != 4 {
		t.Errorf("history: %v", err)
	}
}

func TestCallerCancellation(t *testing.T) {
	sim := startSim(t, simulator.Options{Faults: simulator.Faults{Latency: 2 * time.Second}})
	h := newHarness(t, sim.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	c := testCourse()
	c.CodigoEnvio = "cancelado"
	_, err := h.Send(ctx, c)
	if !errors.Is(err, sence.ErrTimeout) || !errors.Is(err, sence.ErrUnknownOutcome) {
		t.Errorf("err = %v", err)
	}
	if sim.Counts().History != 0 {
		t.Error("looked up the history with a dead context")
	}
}

func TestTLSVerificationIsOn(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failures are the point
	srv.StartTLS()
	defer srv.Close()
	h := newHarness(t, srv.URL)
	err := h.Ping(context.Background())
	if !errors.Is(err, sence.ErrUnreachable) || !strings.Contains(err.Error(), "certificado") {
		t.Errorf("err = %v", err)
	}
	_, err = h.Send(context.Background(), testCourse())
	if !errors.Is(err, sence.ErrUnreachable) || n.Load() != 0 || len(h.slept()) != 0 {
		t.Errorf("err %v, requests %d, retries %v: an untrusted certificate must fail at once", err, n.Load(), h.slept())
	}
}

func TestHistory(t *testing.T) {
	sim := startSim(t, simulator.Options{})
	h := newHarness(t, sim.URL)
	ctx := context.Background()
	for _, code := range []string{"a", "b"} {
		c := testCourse()
		c.CodigoEnvio = code
		if _, err := h.Send(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		q    sence.HistoryQuery
		want []string
	}{
		{sence.HistoryQuery{}, []string{"1", "2"}},
		{sence.HistoryQuery{CodigoExterno: "b"}, []string{"2"}},
		{sence.HistoryQuery{IDProceso: "1"}, []string{"1"}},
		{sence.HistoryQuery{Since: "2100-01-01"}, nil},
	}
	for _, c := range cases {
		procs, err := h.History(ctx, c.q)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range procs {
			got = append(got, p.IDProceso)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%+v: %v, want %v", c.q, got, c.want)
		}
	}
	if _, err := h.History(ctx, sence.HistoryQuery{Since: "10-05-2024"}); err == nil || !strings.Contains(err.Error(), "AAAA-MM-DD") {
		t.Errorf("bad date: %v", err)
	}
}

func TestPing(t *testing.T) {
	var query atomic.Value
	sim := startSim(t, simulator.Options{})
	spy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query.Store(r.URL.Query().Get("fechaDesde"))
		sim.ServeHTTP(w, r)
	}))
	defer spy.Close()
	if err := newHarness(t, spy.URL).Ping(context.Background()); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if got := query.Load(); got != "2024-05-10" {
		t.Errorf("fechaDesde = %v; want today in Santiago, 2024-05-10", got)
	}

	refused := nettest.RefusedURL(t)
	status := func(code int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	wrongToken := startSim(t, simulator.Options{Credentials: []simulator.Credential{{RutOtec: rutOtec, Token: otherToken}}})
	malformed := startSim(t, simulator.Options{Faults: simulator.Faults{MalformedNext: 1}})
	slow := startSim(t, simulator.Options{Faults: simulator.Faults{Latency: time.Second}})
	cases := []struct {
		name   string
		base   string
		class  error
		status int
		hint   string
	}{
		{"refused", refused, sence.ErrUnreachable, 0, "firewall"},
		{"wrong token", wrongToken.URL, sence.ErrAuth, 0, "mayúsculas"},
		{"malformed", malformed.URL, sence.ErrMalformed, 0, ""},
		{"500", status(500), sence.ErrHTTPStatus, 500, ""},
		{"404", status(404), sence.ErrHTTPStatus, 404, "URL base"},
		{"timeout", slow.URL, sence.ErrTimeout, 0, ""},
	}
	for _, c := range cases {
		h := newHarness(t, c.base, func(cfg *sence.Config) { cfg.Timeout = 100 * time.Millisecond })
		err := h.Ping(context.Background())
		var e *sence.Error
		if !errors.As(err, &e) || !errors.Is(err, c.class) || e.StatusCode != c.status || !strings.Contains(err.Error(), c.hint) {
			t.Errorf("%s: %v; want %v status %d", c.name, err, c.class, c.status)
		}
		if len(h.slept()) != 0 {
			t.Errorf("%s: Ping retried", c.name)
		}
	}
}

func TestIntegrationTestPayload(t *testing.T) {
	c := sence.IntegrationTestPayload("prueba-integracion-1")
	if c.CodigoOferta != "CAP-15-01-13-0446" || c.CodigoGrupo != c.CodigoOferta || c.CodigoEnvio != "prueba-integracion-1" || len(c.ListaAlumnos) != 3 {
		t.Fatalf("course = %+v", c)
	}
	for i, a := range c.ListaAlumnos {
		if fmt.Sprintf("%d-%s", a.RutAlumno, a.DvAlumno) != sence.IntegrationStudents[i] {
			t.Errorf("student %d = %d-%s", i, a.RutAlumno, a.DvAlumno)
		}
		m := a.ListaModulos
		if a.PorcentajeAvance != 0 || a.TiempoConectividad != 0 || a.Estado != 1 || a.FechaFin != "2021-12-31" ||
			a.FechaEjecucion < a.FechaInicio || a.FechaEjecucion > a.FechaFin || len(m) != 1 ||
			m[0].CodigoModulo != "C46982-O565656565-M1" || m[0].PorcentajeAvance != 0 || m[0].TiempoConectividad != 0 ||
			len(m[0].ListaActividades) != 1 || m[0].ListaActividades[0].CodigoActividad == "" {
			t.Errorf("student %d = %+v", i, a)
		}
	}
	b, _ := json.Marshal(c)
	for _, newest := range []string{"evaluacionFinal", "notaModulo", "cantActividad"} {
		if bytes.Contains(b, []byte(newest)) {
			t.Errorf("the integration test carries %s", newest)
		}
	}
	// It is accepted by a simulator that knows the course, and again the
	// next day (progress 0 does not regress).
	sim := startSim(t, simulator.Options{RejectEqualProgress: true})
	h := newHarness(t, sim.URL)
	for range 2 {
		res, err := h.Send(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.RUTs(sence.Rejected)) != 0 {
			t.Errorf("rejected: %v", res.Students)
		}
	}
}

// A 502 from a gateway after SENCE stored the send: the history shows it,
// so it is not sent twice.
func TestGatewayErrorAfterStoreIsFoundInHistory(t *testing.T) {
	sim, err := simulator.New(simulator.Options{Credentials: creds, Roster: testRoster()})
	if err != nil {
		t.Fatal(err)
	}
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && posts.Add(1) == 1 {
			sim.ServeHTTP(httptest.NewRecorder(), r) // stored, answer lost
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		sim.ServeHTTP(w, r)
	}))
	defer srv.Close()
	h := newHarness(t, srv.URL)
	c := testCourse()
	c.CodigoEnvio = "via-gateway"
	res, err := h.Send(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if !res.FromHistory || posts.Load() != 1 || sim.SendsWithCodigoEnvio("via-gateway") != 1 {
		t.Errorf("FromHistory %v, posts %d, stored %d", res.FromHistory, posts.Load(), sim.SendsWithCodigoEnvio("via-gateway"))
	}
	// Without a codigoEnvio a 5xx is simply retried.
	res, err = h.Send(context.Background(), testCourse())
	if err != nil || res.FromHistory || res.Attempts != 1 {
		t.Errorf("%+v, %v", res, err)
	}
}

// When every answer is lost and the history never has the send, the client
// gives up after MaxAttempts and says the send was not stored.
func TestLostAnswersNeverStoredGiveUp(t *testing.T) {
	sim, err := simulator.New(simulator.Options{Credentials: creds, Roster: testRoster()})
	if err != nil {
		t.Fatal(err)
	}
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
			io.Copy(io.Discard, r.Body)
			panic(http.ErrAbortHandler)
		}
		sim.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	defer srv.Close()
	h := newHarness(t, srv.URL)
	c := testCourse()
	c.CodigoEnvio = "nunca"
	_, err = h.Send(context.Background(), c)
	if !errors.Is(err, sence.ErrUnreachable) || errors.Is(err, sence.ErrUnknownOutcome) {
		t.Fatalf("err = %v; want ErrUnreachable, no longer unknown", err)
	}
	if posts.Load() != 4 || sim.Counts().History < 8 || !strings.Contains(err.Error(), "no se guardó") {
		t.Errorf("posts %d, history look-ups %d, err %q", posts.Load(), sim.Counts().History, err)
	}
	if waited := total(h.slept()); waited < 4*sence.DefaultSettle {
		t.Errorf("4 posts after %s of look-ups; each lost answer must settle (%s) first", waited, sence.DefaultSettle)
	}
}
