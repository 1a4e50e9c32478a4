// Package simulator is a local stand-in for SENCE's API Gestor Intermedio
// (there is no sandbox): enviarAvance and historialEnvios with the rules
// SENCE documents, a roster of registered courses, state that survives
// restarts, and deterministic fault injection for tests. Its messages come
// from the sence package's catalogue, so both sides share one text.
package simulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/otec-tools/sence-engine/engine/rut"
	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// BasePath is the path of SENCE's API; the simulator also serves it at
// the root so that "http://127.0.0.1:PORT" works as a base URL.
const BasePath = "/gestor/API/avance-sic"

// Credential is one OTEC the simulator accepts.
type Credential struct {
	RutOtec string
	Token   string
}

// Options configure a Simulator.
type Options struct {
	// Credentials accepted; empty accepts any valid RUT OTEC with a token
	// of SENCE's shape (an upper-case UUID).
	Credentials []Credential
	// Roster of registered courses, students and modules; nil registers
	// everything.
	Roster *Roster
	// StatePath is a JSON file keeping the state across restarts; empty
	// keeps it in memory.
	StatePath string
	// RejectEqualProgress also rejects an equal module progress with 025
	// (SENCE's documents disagree); by default an equal value is accepted.
	RejectEqualProgress bool
	// Processing is how long SENCE takes to process a send, as the real
	// service does with large courses: the request is read, then after
	// Processing the send is validated, stored and answered, whether or
	// not the client still waits for the answer (a client whose timeout
	// is shorter never sees the answer, and SENCE has the send anyway).
	Processing time.Duration
	// HistoryLag is how long after a send is stored it starts to appear
	// in historialEnvios, by the simulator's clock: a client that looks a
	// send up too early does not find it yet.
	HistoryLag time.Duration
	Faults     Faults
	// Clock is the simulator's time; default time.Now.
	Clock  func() time.Time
	Logger *slog.Logger
}

// Faults are injected failures, deterministic so tests repeat. Counters
// are consumed by the requests they affect.
type Faults struct {
	// Latency delays every answer.
	Latency time.Duration
	// Fail503Next answers the next N requests with 503 without processing.
	Fail503Next int
	// RetryAfter, when set, goes with those 503s as Retry-After seconds.
	RetryAfter time.Duration
	// DropAfterStore stores the next N sends and then closes the connection
	// without answering.
	DropAfterStore int
	// MalformedNext answers the next N requests with a cut-off 200 body
	// without processing them.
	MalformedNext int
	// MalformedAfterStore stores the next N sends and then answers them
	// with a cut-off 200 body.
	MalformedAfterStore int
}

// Counts are the requests the simulator received, faults included.
type Counts struct {
	Sends   int
	History int
}

// Simulator is the http.Handler of the simulated Gestor Intermedio.
type Simulator struct {
	mu       sync.Mutex
	opts     Options
	creds    []credential
	registry *registry
	state    *state
	faults   Faults
	counts   Counts
	log      *slog.Logger
	mux      *http.ServeMux
	// quit ends the processing delays of a simulator that is closing;
	// busy counts the sends being processed.
	quit     chan struct{}
	quitOnce sync.Once
	busy     sync.WaitGroup
}

type credential struct {
	rut   rut.RUT
	token string
}

// New builds a simulator, loading its state from opts.StatePath if the file
// exists.
func New(opts Options) (*Simulator, error) {
	s := &Simulator{opts: opts, faults: opts.Faults, log: opts.Logger, quit: make(chan struct{})}
	if opts.Processing < 0 || opts.HistoryLag < 0 {
		return nil, errors.New("el tiempo de procesamiento y el retraso del historial no pueden ser negativos")
	}
	if s.opts.Clock == nil {
		s.opts.Clock = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for i, c := range opts.Credentials {
		r, err := rut.Parse(c.RutOtec)
		if err != nil {
			return nil, fmt.Errorf("credencial %d: %w", i+1, err)
		}
		if err := sence.CheckToken(c.Token); err != nil {
			return nil, fmt.Errorf("credencial %d (RUT %s): %w", i+1, r, err)
		}
		s.creds = append(s.creds, credential{rut: r, token: c.Token})
	}
	reg, err := opts.Roster.index()
	if err != nil {
		return nil, fmt.Errorf("nómina: %w", err)
	}
	s.registry = reg
	if s.state, err = loadState(opts.StatePath); err != nil {
		return nil, err
	}
	s.mux = http.NewServeMux()
	for _, prefix := range []string{"", BasePath} {
		s.mux.HandleFunc("POST "+prefix+"/enviarAvance", s.handleSend)
		s.mux.HandleFunc("GET "+prefix+"/historialEnvios", s.handleHistory)
	}
	return s, nil
}

func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// SetFaults replaces the injected faults (counters included).
func (s *Simulator) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// Counts returns the requests received so far.
func (s *Simulator) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// Processes returns a copy of every stored process, oldest first.
func (s *Simulator) Processes() []sence.Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]sence.Process, len(s.state.Processes))
	for i, p := range s.state.Processes {
		p.Registros = slices.Clone(p.Registros)
		out[i] = p
	}
	return out
}

// shown reports whether a stored process appears in historialEnvios yet.
func (s *Simulator) shown(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.state.Shown[id]
	return !ok || !s.opts.Clock().Before(at)
}

// stopProcessing drops the sends still in their processing delay and
// waits for every send being handled.
func (s *Simulator) stopProcessing() {
	s.quitOnce.Do(func() { close(s.quit) })
	s.busy.Wait()
}

// SendsWithCodigoEnvio counts the stored processes with that codigoEnvio.
func (s *Simulator) SendsWithCodigoEnvio(codigoEnvio string) int {
	n := 0
	for _, p := range s.Processes() {
		if p.CodigoExterno == codigoEnvio {
			n++
		}
	}
	return n
}

// AcceptedSends counts the processes that stored the student ("12345678-5").
func (s *Simulator) AcceptedSends(student string) int {
	n := 0
	for _, p := range s.Processes() {
		if slices.ContainsFunc(p.Registros, func(r sence.Record) bool { return r.OK() && r.StudentRUT() == student }) {
			n++
		}
	}
	return n
}

// Progress is the module progress stored for a student ("12345678-5").
func (s *Simulator) Progress(codigoOferta, codigoGrupo, student, module string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.state.Progress[progressKey(codigoOferta, codigoGrupo, student, module)]
	return v, ok
}

// fault is what the injected faults decide for one request.
type fault int

const (
	faultNone fault = iota
	fault503
	faultMalformed
)

// begin counts a request, waits the latency and consumes a 503 or
// malformed fault if one is due. A request whose client gives up during
// the latency is still processed when its body arrived, as a slow server
// would: that is how a timeout leaves the outcome unknown.
func (s *Simulator) begin(r *http.Request, send bool) (fault, time.Duration) {
	s.mu.Lock()
	if send {
		s.counts.Sends++
	} else {
		s.counts.History++
	}
	latency := s.faults.Latency
	s.mu.Unlock()
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		case <-s.quit:
			t.Stop()
			panic(http.ErrAbortHandler) // closing: drop the request
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.faults.Fail503Next > 0:
		s.faults.Fail503Next--
		return fault503, s.faults.RetryAfter
	case s.faults.MalformedNext > 0:
		s.faults.MalformedNext--
		return faultMalformed, 0
	}
	return faultNone, 0
}

// answerFault writes the answer of an injected fault; it reports false
// when there is none.
func answerFault(w http.ResponseWriter, f fault, retryAfter time.Duration) bool {
	switch f {
	case fault503:
		if retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(retryAfter/time.Second)))
		}
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return true
	case faultMalformed:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id_proceso": 1, "envio": [{"rutAlumno": 94`)
		return true
	}
	return false
}

// maxRequestBody bounds a request body: a large course is a few MB.
const maxRequestBody = 32 << 20

func (s *Simulator) handleSend(w http.ResponseWriter, r *http.Request) {
	s.busy.Add(1)
	defer s.busy.Done()
	f, retryAfter := s.begin(r, true)
	if answerFault(w, f, retryAfter) {
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		badRequest(w, "no se pudo leer el cuerpo de la petición: "+err.Error())
		return
	}
	body, err := decodeBody(data)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	if d := s.opts.Processing; d > 0 {
		// SENCE has the request: it processes it whether or not the
		// client is still there. A simulator that is closing drops it,
		// as a server that stops mid-way.
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-s.quit:
			t.Stop()
			panic(http.ErrAbortHandler)
		}
	}
	s.mu.Lock()
	out, stored, err := s.process(body)
	drop := stored && s.faults.DropAfterStore > 0
	if drop {
		s.faults.DropAfterStore--
	}
	malformed := stored && !drop && s.faults.MalformedAfterStore > 0
	if malformed {
		s.faults.MalformedAfterStore--
	}
	s.mu.Unlock()
	if err != nil {
		var bad badRequestError
		if errors.As(err, &bad) {
			badRequest(w, bad.Error())
			return
		}
		s.log.Error("el simulador no pudo guardar el envío", "error", err.Error())
		http.Error(w, "error interno del simulador: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if drop {
		// Stored, but the answer is lost: the server closes the connection.
		panic(http.ErrAbortHandler)
	}
	if malformed {
		answerFault(w, faultMalformed, 0)
		return
	}
	writeJSON(w, out)
}

// decodeBody reads the body leniently: any JSON object, numbers kept as
// written, so that a wrong type becomes a field error code, not a 400.
func decodeBody(data []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("falta el cuerpo JSON de la petición")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("el cuerpo no es JSON válido: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("el cuerpo tiene contenido después del objeto JSON")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("el cuerpo debe ser un objeto JSON con el curso")
	}
	return m, nil
}

type badRequestError string

func (e badRequestError) Error() string { return string(e) }

func badRequest(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"mensaje": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// tokenInvalid is SENCE's answer to a history call with bad credentials.
var tokenInvalid = map[string]any{"error": []map[string]string{{"mensaje": "Token invalido"}}}

func (s *Simulator) handleHistory(w http.ResponseWriter, r *http.Request) {
	f, retryAfter := s.begin(r, false)
	if answerFault(w, f, retryAfter) {
		return
	}
	q := r.URL.Query()
	otec, ok := s.authenticate(q.Get("rutOtec"), q.Get("idSistema") == strconv.Itoa(payload.IDSistema), q.Get("token"))
	if !ok {
		writeJSON(w, tokenInvalid)
		return
	}
	since := q.Get("fechaDesde")
	if since != "" && !sence.IsDate(since) {
		badRequest(w, "fechaDesde debe tener el formato AAAA-MM-DD")
		return
	}
	codigo, id := q.Get("codigo_externo"), q.Get("id_proceso")
	out := []sence.Process{}
	for _, p := range s.Processes() {
		switch {
		case !s.shown(p.IDProceso):
		case p.RutOtec != strconv.FormatInt(otec.Number, 10):
		case since != "" && sence.DatePart(p.Fecha) < since:
		case codigo != "" && p.CodigoExterno != codigo:
		case id != "" && p.IDProceso != id:
		default:
			out = append(out, p)
		}
	}
	writeJSON(w, out)
}

// authenticate checks idSistema, RUT OTEC and token as SENCE does: the
// token must match exactly, so a lower-case token is rejected.
func (s *Simulator) authenticate(rutOtec string, idSistemaOK bool, token string) (rut.RUT, bool) {
	r, err := rut.Parse(rutOtec)
	if !idSistemaOK || err != nil {
		return rut.RUT{}, false
	}
	if len(s.creds) == 0 {
		return r, sence.CheckToken(token) == nil
	}
	for _, c := range s.creds {
		if c.rut == r && c.token == token {
			return r, true
		}
	}
	return rut.RUT{}, false
}
