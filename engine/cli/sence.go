package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/voice"
	"io"
	"slices"
	"sort"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/nightly"
	"github.com/otec-tools/sence-engine/engine/pipeline"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// windowCheck refuses to send to the real SENCE outside its window.
func windowCheck(e *Env, conn *pipeline.Conn, m *mapping.Mapping, ignore bool) bool {
	if conn.Simulated || ignore || pipeline.InWindow(m, e.Now()) {
		return true
	}
	outsideWindow(e, m)
	return false
}

// outsideWindow says that nothing is sent outside SENCE's window.
func outsideWindow(e *Env, m *mapping.Mapping) {
	w := m.Sence.Window
	if w.Start == "" {
		w.Start, w.End = "22:00", "00:00"
	}
	fmt.Fprintf(e.Stderr, "fuera de la ventana de envío de SENCE (%s a %s, hora de Chile; ahora son las %s): no se envía nada.\nSENCE pide un envío diario dentro de esa ventana; para enviar igual use --ignore-window.\n",
		w.Start, w.End, voice.TimeOfDay(e.Now()))
}

// courseName is how a payload is named to a person: its codigoOferta, and
// its codigoGrupo when it differs (a course sent in several sections).
func courseName(oferta, grupo string) string {
	if grupo != "" && grupo != oferta {
		return oferta + " grupo " + grupo
	}
	return oferta
}

// sendReport is the outcome of sending a set of courses.
type sendReport struct {
	// names are the students of the courses built now, by RUT (none for
	// send --from: the export's files hold RUTs only).
	names    map[string]string
	Courses  int
	Accepted int
	Rejected int
	Same     int
	Failed   int
}

// sent prints the outcome of one course sent and counts it.
func (rep *sendReport) sent(w io.Writer, c payload.Course, res *sence.SendResult, err error) {
	rep.Courses++
	if err != nil {
		rep.Failed++
		if errors.Is(err, sence.ErrUnknownOutcome) {
			fmt.Fprintf(w, "\nCurso %s: SIN CONFIRMAR (codigoEnvio %s): %v\n", courseName(c.CodigoOferta, c.CodigoGrupo), orDash(c.CodigoEnvio), err)
			return
		}
		fmt.Fprintf(w, "\nCurso %s: NO ENVIADO: %v\n", courseName(c.CodigoOferta, c.CodigoGrupo), err)
		return
	}
	printSendResult(w, res, rep.names)
	a, r, u := res.Count()
	rep.Accepted += a
	rep.Rejected += r
	rep.Same += u
	if len(res.SendErrors)+len(res.CourseErrors) > 0 {
		rep.Failed++
	}
}

func printSendResult(w io.Writer, res *sence.SendResult, names map[string]string) {
	a, r, u := res.Count()
	fmt.Fprintf(w, "\nCurso %s: proceso SENCE %s, %s, %s, %s\n", courseName(res.Course.CodigoOferta, res.Course.CodigoGrupo), orDash(res.IDProceso),
		diag.Plural(a, "aceptado", "aceptados"), diag.Plural(r, "rechazado", "rechazados"), diag.Plural(u, "sin cambios", "sin cambios"))
	if res.Note != "" {
		fmt.Fprintf(w, "  nota: %s\n", res.Note)
	}
	for _, e := range append(slices.Clone(res.SendErrors), res.CourseErrors...) {
		fmt.Fprintf(w, "  ERROR %s\n", sence.Explain(e.Code, e.Message))
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
		who := names[k]
		if who == "" {
			who = voice.Student("", k, "", "")
		}
		fmt.Fprintf(w, "  %s %s: %s\n", s.Outcome, who, voice.Coded(s.Code, s.Explain()))
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
	pl, ds := pipeline.Load(pos[0], e.LookupEnv)
	if pl == nil || ds.HasErrors() {
		ds.Print(e.Stderr)
		return ExitProblems
	}
	var courses []payload.Course
	var rep sendReport
	excluded := 0
	if *from != "" {
		ex, err := pipeline.OpenExport(*from, bf.courses)
		if err != nil {
			fmt.Fprintln(e.Stderr, err)
			return ExitFailed
		}
		courses, rep.names = ex.Courses, ex.Names
	} else {
		var code int
		courses, rep.names, excluded, code = buildToSend(ctx, e, pl, bf)
		if code != ExitOK {
			return code
		}
	}
	conn, err := pipeline.Connect(ctx, pl, e.Now)
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return ExitFailed
	}
	defer conn.Close()
	if !windowCheck(e, conn, pl.Mapping, *ignoreWindow) {
		return ExitFailed
	}
	if conn.Simulated {
		fmt.Fprintln(e.Stdout, "\n(envío al simulador local de SENCE, no al servicio real)")
	}
	// A lost answer is waited for in the history while the window lasts.
	opts := sence.SendOptions{Stop: ctx} // a signal stops waiting for the history, not the POST
	if !conn.Simulated && !*ignoreWindow {
		_, opts.Until = nightly.NewWindow(pl.Mapping.Sence.Window).Bounds(e.Now())
	}
	left := pipeline.Send(ctx, conn, courses, opts, e.Now, func(c payload.Course, res *sence.SendResult, err error) {
		rep.sent(e.Stdout, c, res, err)
	})
	if left > 0 {
		// A signal: the course in flight was finished (its outcome is
		// known); the rest are not started.
		fmt.Fprintf(e.Stdout, "\nInterrumpido: %s; vuelva a ejecutar el envío para enviarlos\n", diag.Plural(left, "curso no se envió", "cursos no se enviaron"))
		rep.Failed += left
	}
	fmt.Fprintf(e.Stdout, "\n%s: %s, %s, %s, %s\n", diag.Plural(rep.Courses, "curso enviado", "cursos enviados"),
		diag.Plural(rep.Accepted, "alumno aceptado", "alumnos aceptados"), diag.Plural(rep.Rejected, "rechazado", "rechazados"),
		diag.Plural(rep.Same, "sin cambios", "sin cambios"), diag.Plural(rep.Failed, "curso con error", "cursos con error"))
	switch {
	case rep.Failed > 0:
		return ExitFailed
	case rep.Rejected > 0 || excluded > 0:
		return ExitProblems
	}
	return ExitOK
}

// buildToSend builds the courses engine send sends now and prints their
// summary; it returns the payloads and how many students and courses were
// left out.
func buildToSend(ctx context.Context, e *Env, pl *plan.Plan, bf *buildFlags) ([]payload.Course, map[string]string, int, int) {
	m := pl.Mapping
	if m.Sence.RutOtec == "" {
		fmt.Fprintf(e.Stderr, "%s: falta sence.rutOtec (el RUT de la OTEC, como 76543210-3)\n", m.File)
		return nil, nil, 0, ExitProblems
	}
	date, err := reportDate(e, *bf.date)
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return nil, nil, 0, ExitUsage
	}
	db, err := pipeline.Open(ctx, m)
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return nil, nil, 0, ExitFailed
	}
	defer db.Close()
	var courses []payload.Course
	names := map[string]string{}
	bar := newProgress(e, isTerminal(e.Stderr), nil)
	b, err := pipeline.Build(ctx, db, pl, pipeline.BuildOptions{ReportDate: date, Courses: bf.courses, Token: payload.RedactedToken, Now: e.Now, Progress: bar.build},
		func(r *assemble.CourseResult) error {
			if r.Payload != nil {
				courses = append(courses, *r.Payload)
			}
			for _, x := range r.Sent {
				names[x.RUT] = x.Who()
			}
			return nil
		})
	bar.clear()
	if err != nil {
		return nil, nil, 0, exitOfFailure(e, err)
	}
	sum := b.Summary
	printSummary(e.Stdout, sum)
	if sum.Sendable == 0 {
		fmt.Fprintln(e.Stderr, nothingToSend(b))
		return nil, nil, 0, ExitProblems
	}
	excluded := sum.Excluded + sum.Failed
	if *bf.strict && excluded > 0 {
		fmt.Fprintln(e.Stderr, "--strict: hay problemas; no se envía nada")
		return nil, nil, 0, ExitProblems
	}
	return courses, names, excluded, ExitOK
}

// loadAndConnect loads a mapping and connects to its SENCE service; on
// failure it has printed why and returns the exit code.
func loadAndConnect(ctx context.Context, e *Env, path string) (*plan.Plan, *pipeline.Conn, int) {
	pl, ds := pipeline.Load(path, e.LookupEnv)
	if pl == nil || ds.HasErrors() {
		ds.Print(e.Stderr)
		return nil, nil, ExitProblems
	}
	conn, err := pipeline.Connect(ctx, pl, e.Now)
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
	err := conn.Client.Ping(ctx)
	switch {
	case err == nil:
		where := "SENCE"
		if conn.Simulated {
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
	procs, err := conn.Client.History(ctx, sence.HistoryQuery{Since: *since, CodigoExterno: *codigo, IDProceso: *process})
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
	c := sence.IntegrationTestPayload("PRUEBA-INTEGRACION-" + sence.SendStamp(e.Now()))
	where := "SENCE (producción: SENCE no tiene ambiente de pruebas)"
	if conn.Simulated {
		where = "el simulador local de SENCE"
	}
	fmt.Fprintf(e.Stdout, "Enviando la prueba de integración oficial de SENCE a %s:\ncurso %s, módulo %s, alumnos de prueba %d, avance y tiempo en 0.\n",
		where, c.CodigoOferta, c.ListaAlumnos[0].ListaModulos[0].CodigoModulo, len(c.ListaAlumnos))
	var rep sendReport
	res, err := conn.Client.SendWith(context.WithoutCancel(ctx), c, sence.SendOptions{Stop: ctx}) // finished even on a signal
	rep.sent(e.Stdout, c, res, err)
	switch {
	case err != nil:
		return ExitFailed
	case rep.Rejected > 0 || rep.Failed > 0:
		fmt.Fprintln(e.Stdout, "\nLa prueba de integración NO pasó: corrija lo indicado y repítala.")
		return ExitProblems
	}
	fmt.Fprintln(e.Stdout, "\nLa prueba de integración pasó: SENCE aceptó el envío con sus credenciales.")
	return ExitOK
}
