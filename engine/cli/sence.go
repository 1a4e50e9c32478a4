package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/nightly"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/sence/simulator"
)

// senceConn is a SENCE client for a mapping: the real service, or an
// in-process simulator when the mapping says `sence.simulator`.
type senceConn struct {
	client    *sence.Client
	sim       *simulator.Server
	simulated bool
}

func (c *senceConn) Close() {
	if c.sim != nil {
		c.sim.Close()
	}
}

// simulatorState is where an in-process simulator keeps what it accepted,
// so that successive runs of a mapping see SENCE's memory.
func simulatorState(m *mapping.Mapping) string {
	return filepath.Join(filepath.Dir(m.File), ".sence-simulator.json")
}

// connect builds the SENCE client of a mapping; opts adjust the client's
// configuration (run sets its logger and an interruptible retry sleep).
func connect(ctx context.Context, e *Env, pl *plan.Plan, opts ...func(*sence.Config)) (*senceConn, error) {
	m := pl.Mapping
	token, err := readToken(pl)
	if err != nil {
		return nil, err
	}
	// After a few requests in a row fail for want of SENCE, none more is
	// made: a run then stops starting courses, and send stops sending.
	cfg := sence.Config{BaseURL: m.Sence.BaseURL, RutOtec: m.Sence.RutOtec, Token: token, Timeout: m.Sence.Timeout, Settle: m.Sence.Settle, Now: e.Now,
		DownAfter: sence.DefaultDownAfter}
	conn := &senceConn{}
	if m.Sence.Simulator {
		opts := simulator.Options{
			Credentials: []simulator.Credential{{RutOtec: m.Sence.RutOtec, Token: token}},
			StatePath:   simulatorState(m),
		}
		if m.Sence.SimRoster != "" {
			r, err := simulator.LoadRoster(m.Sence.SimRoster)
			if err != nil {
				return nil, err
			}
			opts.Roster = r
		}
		srv, err := simulator.Start(ctx, "127.0.0.1:0", opts)
		if err != nil {
			return nil, err
		}
		conn.sim, conn.simulated = srv, true
		cfg.BaseURL = srv.BaseURL()
		cfg.Timeout = 30 * time.Second
		if cfg.Settle == 0 || cfg.Settle < cfg.Timeout {
			cfg.Settle = cfg.Timeout // the in-process simulator stores before it answers
		}
	}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := sence.New(cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.client = c
	return conn, nil
}

// inWindow reports whether t lies in the mapping's daily send window.
func inWindow(m *mapping.Mapping, t time.Time) bool {
	return nightly.NewWindow(m.Sence.Window).Contains(t)
}

// windowCheck refuses to send to the real SENCE outside its window.
func windowCheck(e *Env, conn *senceConn, m *mapping.Mapping, ignore bool) bool {
	if conn.simulated || ignore || inWindow(m, e.Now()) {
		return true
	}
	w := m.Sence.Window
	if w.Start == "" {
		w.Start, w.End = "22:00", "00:00"
	}
	fmt.Fprintf(e.Stderr, "fuera de la ventana de envío de SENCE (%s a %s, hora de Chile; ahora son las %s): no se envía nada.\nSENCE pide un envío diario dentro de esa ventana; para enviar igual use --ignore-window.\n",
		w.Start, w.End, e.Now().In(chile.Location).Format("15:04"))
	return false
}

// codigoEnvio names one send, so it can be found in SENCE's history.
// courseName is how a payload is named to a person: its codigoOferta, and
// its codigoGrupo when it differs (a course sent in several sections).
func courseName(oferta, grupo string) string {
	if grupo != "" && grupo != oferta {
		return oferta + " grupo " + grupo
	}
	return oferta
}

func codigoEnvio(c *payload.Course, now time.Time) string {
	s := fmt.Sprintf("%s-%s", c.CodigoOferta, now.In(chile.Location).Format("20060102-150405"))
	if c.CodigoGrupo != c.CodigoOferta {
		s = fmt.Sprintf("%s-%s-%s", c.CodigoOferta, c.CodigoGrupo, now.In(chile.Location).Format("20060102-150405"))
	}
	return s
}

// sendReport is the outcome of sending a set of courses.
type sendReport struct {
	Courses  int
	Accepted int
	Rejected int
	Same     int
	Failed   int
}

// sendOne sends one course and prints its outcome; o bounds the wait for
// the history when its answer is lost.
func sendOne(ctx context.Context, w io.Writer, client *sence.Client, c payload.Course, o sence.SendOptions, rep *sendReport) *sence.SendResult {
	rep.Courses++
	res, err := client.SendWith(ctx, c, o)
	if err != nil {
		rep.Failed++
		if errors.Is(err, sence.ErrUnknownOutcome) {
			fmt.Fprintf(w, "\nCurso %s: SIN CONFIRMAR (codigoEnvio %s): %v\n", courseName(c.CodigoOferta, c.CodigoGrupo), orDash(c.CodigoEnvio), err)
			return nil
		}
		fmt.Fprintf(w, "\nCurso %s: NO ENVIADO: %v\n", courseName(c.CodigoOferta, c.CodigoGrupo), err)
		return nil
	}
	printSendResult(w, res)
	a, r, u := res.Count()
	rep.Accepted += a
	rep.Rejected += r
	rep.Same += u
	if len(res.SendErrors)+len(res.CourseErrors) > 0 {
		rep.Failed++
	}
	return res
}

func printSendResult(w io.Writer, res *sence.SendResult) {
	a, r, u := res.Count()
	fmt.Fprintf(w, "\nCurso %s: proceso SENCE %s, %d aceptados, %d rechazados, %d sin cambios\n", courseName(res.Course.CodigoOferta, res.Course.CodigoGrupo), orDash(res.IDProceso), a, r, u)
	if res.Note != "" {
		fmt.Fprintf(w, "  nota: %s\n", res.Note)
	}
	for _, e := range append(slices.Clone(res.SendErrors), res.CourseErrors...) {
		fmt.Fprintf(w, "  ERROR [%s] %s: %s\n", e.Code, e.Message, sence.Explain(e.Code, e.Message))
	}
	ruts := make([]string, 0, len(res.Students))
	for k := range res.Students {
		ruts = append(ruts, k)
	}
	sort.Strings(ruts)
	for _, k := range ruts {
		s := res.Students[k]
		if s.Outcome == sence.Accepted {
			continue
		}
		code := ""
		if s.Code != "" {
			code = " [" + s.Code + "]"
		}
		fmt.Fprintf(w, "  %s %s%s: %s\n", s.Outcome, k, code, s.Explain())
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cmdSend(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "send", "MAPEO.yaml")
	bf := addBuildFlags(fs.FlagSet)
	from := fs.String("from", "", "envía los JSON exportados antes en esta `carpeta` (engine export --out) en vez de construirlos ahora")
	ignoreWindow := fs.Bool("ignore-window", false, "envía aunque sea fuera de la ventana de SENCE (22:00 a 00:00, hora de Chile)")
	pos, code, done := fs.parseN(args, 1, 1)
	if done {
		return code
	}
	pl, ds := loadPlan(e, pos[0])
	if pl == nil || ds.HasErrors() {
		ds.Print(e.Stderr)
		return ExitProblems
	}
	var courses []payload.Course
	excluded := 0
	if *from != "" {
		var err error
		courses, err = readExport(*from, bf.courses)
		if err != nil {
			fmt.Fprintln(e.Stderr, err)
			return ExitFailed
		}
	} else {
		b, code := buildAll(ctx, e, pos[0], bf, payload.RedactedToken)
		if code != ExitOK {
			return code
		}
		results := b.results
		sum := summarize(b, *bf.date, e)
		printSummary(e.Stdout, sum)
		if sum.Sendable == 0 {
			fmt.Fprintln(e.Stderr, nothingToSend(b, sum))
			return ExitProblems
		}
		excluded = sum.Excluded + sum.Failed
		if *bf.strict && excluded > 0 {
			fmt.Fprintln(e.Stderr, "--strict: hay problemas; no se envía nada")
			return ExitProblems
		}
		for _, r := range results {
			if r.Payload != nil {
				courses = append(courses, *r.Payload)
			}
		}
	}
	conn, err := connect(ctx, e, pl)
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return ExitFailed
	}
	defer conn.Close()
	if !windowCheck(e, conn, pl.Mapping, *ignoreWindow) {
		return ExitFailed
	}
	if conn.simulated {
		fmt.Fprintln(e.Stdout, "\n(envío al simulador local de SENCE, no al servicio real)")
	}
	// A lost answer is waited for in the history while the window lasts.
	opts := sence.SendOptions{Stop: ctx} // a signal stops waiting for the history, not the POST
	if !conn.simulated && !*ignoreWindow {
		_, opts.Until = nightly.NewWindow(pl.Mapping.Sence.Window).Bounds(e.Now())
	}
	var rep sendReport
	for i, c := range courses {
		if ctx.Err() != nil {
			// A signal: the course in flight was finished (its outcome is
			// known); the rest are not started.
			fmt.Fprintf(e.Stdout, "\nInterrumpido: %d cursos no se enviaron; vuelva a ejecutar el envío para enviarlos\n", len(courses)-i)
			rep.Failed += len(courses) - i
			break
		}
		if c.CodigoEnvio == "" {
			c.CodigoEnvio = codigoEnvio(&c, e.Now())
		}
		// The request in flight is finished even on a signal; the signal
		// only stops waiting for SENCE's history (opts.Stop).
		sendOne(context.WithoutCancel(ctx), e.Stdout, conn.client, c, opts, &rep)
	}
	fmt.Fprintf(e.Stdout, "\nEnviados %d cursos: %d alumnos aceptados, %d rechazados, %d sin cambios, %d cursos con error\n", rep.Courses, rep.Accepted, rep.Rejected, rep.Same, rep.Failed)
	switch {
	case rep.Failed > 0:
		return ExitFailed
	case rep.Rejected > 0 || excluded > 0:
		return ExitProblems
	}
	return ExitOK
}

// loadAndConnect loads a mapping and connects to its SENCE service; on
// failure it has printed why and returns the exit code.
func loadAndConnect(ctx context.Context, e *Env, path string) (*plan.Plan, *senceConn, int) {
	pl, ds := loadPlan(e, path)
	if pl == nil || ds.HasErrors() {
		ds.Print(e.Stderr)
		return nil, nil, ExitProblems
	}
	conn, err := connect(ctx, e, pl)
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return nil, nil, ExitUsage
	}
	return pl, conn, ExitOK
}

func cmdPing(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "ping", "MAPEO.yaml")
	pos, code, done := fs.parseN(args, 1, 1)
	if done {
		return code
	}
	pl, conn, code := loadAndConnect(ctx, e, pos[0])
	if conn == nil {
		return code
	}
	defer conn.Close()
	err := conn.client.Ping(ctx)
	switch {
	case err == nil:
		where := "SENCE"
		if conn.simulated {
			where = "el simulador local de SENCE"
		}
		fmt.Fprintf(e.Stdout, "ok: %s responde y acepta el RUT OTEC %s y el token\n", where, pl.Mapping.Sence.RutOtec)
		return ExitOK
	case errors.Is(err, sence.ErrAuth):
		fmt.Fprintf(e.Stdout, "credenciales rechazadas: %v\n", err)
		return ExitAuth
	default:
		fmt.Fprintf(e.Stdout, "SENCE no disponible: %v\n", err)
		return ExitUnreachable
	}
}

func cmdHistory(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "history", "MAPEO.yaml")
	since := fs.String("since", "", "desde esta fecha `AAAA-MM-DD` (fechaDesde)")
	codigo := fs.String("code", "", "solo el envío con este `código` (codigoEnvio; codigo_externo en SENCE)")
	process := fs.String("process", "", "solo el proceso SENCE con este `número` (id_proceso)")
	asJSON := fs.Bool("json", false, "muestra el registro completo en JSON")
	pos, code, done := fs.parseN(args, 1, 1)
	if done {
		return code
	}
	if *since != "" {
		if !chile.IsDate(*since) {
			fmt.Fprintf(e.Stderr, "--since debe ser una fecha AAAA-MM-DD; se obtuvo «%s»\n", *since)
			return ExitUsage
		}
	}
	_, conn, code := loadAndConnect(ctx, e, pos[0])
	if conn == nil {
		return code
	}
	defer conn.Close()
	procs, err := conn.client.History(ctx, sence.HistoryQuery{Since: *since, CodigoExterno: *codigo, IDProceso: *process})
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		if errors.Is(err, sence.ErrAuth) {
			return ExitAuth
		}
		return ExitUnreachable
	}
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		if procs == nil {
			procs = []sence.Process{}
		}
		enc.Encode(procs)
		return ExitOK
	}
	if len(procs) == 0 {
		fmt.Fprintln(e.Stdout, "SENCE no tiene envíos registrados con esos filtros")
		return ExitOK
	}
	fmt.Fprintf(e.Stdout, "%-10s %-20s %-36s %-12s %8s %8s\n", "PROCESO", "FECHA", "CODIGO ENVIO", "ESTADO", "REG. OK", "ERRORES")
	for _, p := range procs {
		okN, bad := 0, 0
		for _, r := range p.Registros {
			if r.OK() {
				okN++
			} else {
				bad++
			}
		}
		fmt.Fprintf(e.Stdout, "%-10s %-20s %-36s %-12s %8d %8d\n", p.IDProceso, p.Fecha, p.CodigoExterno, p.Estado, okN, bad)
		for _, r := range p.Registros {
			if r.OK() {
				continue
			}
			c, msg := r.Problem()
			fmt.Fprintf(e.Stdout, "    %s módulo %s: [%s] %s\n", r.StudentRUT(), r.ModCod, c, sence.Explain(c, msg))
		}
	}
	return ExitOK
}

func cmdSenceTest(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "sence-test", "MAPEO.yaml")
	pos, code, done := fs.parseN(args, 1, 1)
	if done {
		return code
	}
	_, conn, code := loadAndConnect(ctx, e, pos[0])
	if conn == nil {
		return code
	}
	defer conn.Close()
	c := sence.IntegrationTestPayload("PRUEBA-INTEGRACION-" + e.Now().In(chile.Location).Format("20060102-150405"))
	where := "SENCE (producción: SENCE no tiene ambiente de pruebas)"
	if conn.simulated {
		where = "el simulador local de SENCE"
	}
	fmt.Fprintf(e.Stdout, "Enviando la prueba de integración oficial de SENCE a %s:\ncurso %s, módulo %s, alumnos de prueba %d, avance y tiempo en 0.\n",
		where, c.CodigoOferta, c.ListaAlumnos[0].ListaModulos[0].CodigoModulo, len(c.ListaAlumnos))
	var rep sendReport
	res := sendOne(context.WithoutCancel(ctx), e.Stdout, conn.client, c, sence.SendOptions{Stop: ctx}, &rep) // finished even on a signal
	switch {
	case res == nil:
		return ExitFailed
	case rep.Rejected > 0 || rep.Failed > 0:
		fmt.Fprintln(e.Stdout, "\nLa prueba de integración NO pasó: corrija lo indicado y repítala.")
		return ExitProblems
	}
	fmt.Fprintln(e.Stdout, "\nLa prueba de integración pasó: SENCE aceptó el envío con sus credenciales.")
	return ExitOK
}
