package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/doctor"
	"github.com/otec-tools/sence-engine/engine/infile"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/sence/schema"
	"github.com/otec-tools/sence-engine/engine/source"
)

// loadPlan loads and compiles a mapping. The diagnostics include warnings
// even when the plan is usable.
func loadPlan(e *Env, path string) (*plan.Plan, diag.List) {
	m, ds := mapping.Load(path, mapping.Options{LookupEnv: e.LookupEnv})
	if m == nil {
		return nil, ds
	}
	pl, cds := plan.Compile(m)
	ds = append(ds, cds...)
	return pl, ds
}

func cmdValidate(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "validate", "MAPEO.yaml...")
	withDB := fs.Bool("db", false, "además, ejecuta cada consulta contra la base de datos (sin leer filas) para encontrar tablas o columnas que no existen")
	pos, code, done := fs.parseN(args, 1, -1)
	if done {
		return code
	}
	var all diag.List
	for _, path := range pos {
		if ctx.Err() != nil {
			return ExitFailed // interrupted: what was found is not the whole list
		}
		pl, ds := loadPlan(e, path)
		if pl != nil {
			ds = append(ds, senceWarnings(pl.Mapping)...)
			ds = append(ds, plan.CheckFiles(pl.Mapping)...)
		}
		if pl != nil && *withDB && !ds.HasErrors() {
			ds = append(ds, checkDB(ctx, pl)...)
		}
		all = append(all, ds...)
	}
	if ctx.Err() != nil {
		return ExitFailed
	}
	all.Print(e.Stdout)
	errs, warns := all.Count()
	if errs > 0 {
		fmt.Fprintf(e.Stderr, "%s, %s\n", diag.Plural(errs, "error", "errores"), diag.Plural(warns, "aviso", "avisos"))
		return ExitProblems
	}
	fmt.Fprintf(e.Stderr, "mapeo válido (%s)\n", diag.Plural(warns, "aviso", "avisos"))
	return ExitOK
}

// senceWarnings flags what a send will need but a review does not.
func senceWarnings(m *mapping.Mapping) diag.List {
	var ds diag.List
	s := m.Sence
	if s.RutOtec == "" {
		ds.Warnf(m.File, 0, 0, "sence.rutOtec no está definido: se necesita para exportar y enviar")
	}
	if s.Token == "" && s.TokenFile == "" && !s.Simulator && !m.Unresolved["sence.token"] {
		ds.Warnf(m.File, 0, 0, "sence.token (o sence.tokenFile) no está definido: se necesita para enviar; use token: ${SENCE_TOKEN}")
	}
	return ds
}

// checkDB runs each query against the live database without fetching
// rows (doctor.CheckDatabase); a failed connection is one error where the
// user's file sets the DSN.
func checkDB(ctx context.Context, pl *plan.Plan) diag.List {
	var ds diag.List
	m := pl.Mapping
	db, err := openSource(ctx, m)
	if err != nil {
		p := m.Source.DSNPos
		if p.File == "" || m.InPreset(p) {
			p = m.Source.Pos
		}
		ds.Errorf(orFile(p.File, m.File), p.Line, p.Col, "%v", err)
		return ds
	}
	defer db.Close()
	return doctor.CheckDatabase(ctx, db, pl)
}

// openSource connects to the mapping's database, read-only, with its
// query time limit: every command reads Moodle through here.
func openSource(ctx context.Context, m *mapping.Mapping) (*source.DB, error) {
	return source.OpenConfig(ctx, source.Config{Driver: m.Source.Driver, DSN: m.Source.DSN, Timeout: m.Source.Timeout})
}

func orFile(f, def string) string {
	if f == "" {
		return def
	}
	return f
}

// buildFlags are shared by export, send and run.
type buildFlags struct {
	date    *string
	courses multi
	strict  *bool
	// sessions keeps the dedication sessions between runs (engine run
	// passes its ledger); recompute ignores what it saved.
	sessions  assemble.SessionStore
	recompute bool
}

func addBuildFlags(fs *flag.FlagSet) *buildFlags {
	bf := &buildFlags{}
	bf.date = fs.String("date", "", "fecha de reporte `AAAA-MM-DD` (por omisión, hoy en America/Santiago)")
	fs.Var(&bf.courses, "course", "solo este curso (su `código`: codigoOferta, nombre corto o id); se puede repetir")
	bf.strict = fs.Bool("strict", false, "cualquier problema es fatal: no se exporta ni envía nada si algún alumno queda excluido")
	return bf
}

// built is what buildAll read from Moodle: the courses built, and the
// courses the selection left out that the mapping reports.
type built struct {
	plan       *plan.Plan
	results    []*assemble.CourseResult
	unselected []assemble.UnselectedCourse
	stats      assemble.Stats
}

// buildAll compiles the mapping, reads the database and builds every
// course, validating each payload. The token is set in the payloads.
func buildAll(ctx context.Context, e *Env, path string, bf *buildFlags, token string) (*built, int) {
	pl, ds := loadPlan(e, path)
	if ds.HasErrors() || pl == nil {
		ds.Print(e.Stderr)
		fmt.Fprintln(e.Stderr, "el mapeo tiene errores: corríjalos (engine validate) antes de continuar")
		return &built{}, ExitProblems
	}
	m := pl.Mapping
	if m.Sence.RutOtec == "" {
		fmt.Fprintf(e.Stderr, "%s: falta sence.rutOtec (el RUT de la OTEC, como 76543210-3)\n", m.File)
		return &built{}, ExitProblems
	}
	date, err := reportDate(e, *bf.date)
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return &built{}, ExitUsage
	}
	db, err := openSource(ctx, m)
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return &built{}, ExitFailed
	}
	defer db.Close()
	v, err := schema.New()
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return &built{}, ExitFailed
	}
	out := &built{plan: pl}
	var results []*assemble.CourseResult
	stats, err := assemble.Build(ctx, db, pl, assemble.Options{
		ReportDate:        date,
		Courses:           bf.courses,
		Check:             checker(v, m.Sence.RutOtec, token),
		Sessions:          bf.sessions,
		RecomputeSessions: bf.recompute,
		Now:               e.Now,
		OnUnselected:      func(u assemble.UnselectedCourse) { out.unselected = append(out.unselected, u) },
	}, func(r *assemble.CourseResult) error {
		if r.Payload != nil {
			r.Payload.RutOtec, r.Payload.Token = m.Sence.RutOtec, token
		}
		results = append(results, r)
		return nil
	})
	out.results, out.stats = results, stats
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		var qe *source.QueryError
		if errors.As(err, &qe) && (qe.Kind == source.MissingTable || qe.Kind == source.Denied) {
			fmt.Fprintf(e.Stderr, "la causa suele estar en la configuración (source.prefix, los permisos del usuario de la base, un plugin que falta): «engine validate --db %s» la dice, con qué hacer\n", path)
		}
		return out, ExitFailed
	}
	if msg := unknownCourses(out, bf.courses); msg != "" {
		fmt.Fprintln(e.Stderr, msg)
		return out, ExitUsage
	}
	return out, ExitOK
}

// checker validates a payload with its authentication filled in.
func checker(v *schema.Validator, rutOtec, token string) func(*payload.Course) []assemble.Problem {
	return func(c *payload.Course) []assemble.Problem {
		c.RutOtec, c.Token = rutOtec, token
		ps, err := v.Check(c)
		if err != nil {
			return []assemble.Problem{{Student: -1, Msg: err.Error()}}
		}
		out := make([]assemble.Problem, len(ps))
		for i, p := range ps {
			out[i] = assemble.Problem{Student: p.Student, Path: p.Path, Msg: p.Msg}
		}
		return out
	}
}

func cmdExport(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "export", "MAPEO.yaml")
	bf := addBuildFlags(fs.FlagSet)
	out := fs.String("out", "", "`carpeta` donde escribir un JSON por curso y resumen.json (sin ella, solo el resumen en pantalla)")
	includeToken := fs.Bool("include-token", false, "escribe el token real en los JSON (por omisión se reemplaza por "+payload.RedactedToken+")")
	pos, code, done := fs.parseN(args, 1, 1)
	if done {
		return code
	}
	token := payload.RedactedToken
	if *includeToken {
		pl, _ := loadPlan(e, pos[0])
		t, err := readToken(pl)
		if err != nil {
			fmt.Fprintln(e.Stderr, err)
			return ExitUsage
		}
		token = t
	}
	b, code := buildAll(ctx, e, pos[0], bf, token)
	if code != ExitOK {
		return code
	}
	results := b.results
	sum := summarize(b, *bf.date, e)
	if *bf.strict && (sum.Excluded > 0 || sum.Failed > 0) {
		printSummary(e.Stdout, sum)
		fmt.Fprintln(e.Stderr, "--strict: hay problemas; no se escribió nada")
		return ExitProblems
	}
	if *out != "" {
		if err := writeExport(*out, results, sum); err != nil {
			fmt.Fprintln(e.Stderr, err)
			return ExitFailed
		}
	}
	printSummary(e.Stdout, sum)
	if *out != "" {
		fmt.Fprintf(e.Stdout, "\nArchivos escritos en %s (%d cursos, resumen.json)\n", *out, sum.Sendable)
	}
	if sum.Sendable == 0 {
		fmt.Fprintln(e.Stderr, nothingToSend(b, sum))
		return ExitProblems
	}
	if sum.Failed > 0 || sum.Excluded > 0 {
		return ExitProblems
	}
	return ExitOK
}

// readToken returns the SENCE token from the mapping or its file.
func readToken(pl *plan.Plan) (string, error) {
	if pl == nil {
		return "", fmt.Errorf("el mapeo tiene errores")
	}
	s := pl.Mapping.Sence
	if s.Token != "" {
		return s.Token, nil
	}
	if s.TokenFile != "" {
		b, err := infile.Read(s.TokenFile, infile.TokenLimit)
		if err != nil {
			return "", fmt.Errorf("no se puede leer sence.tokenFile «%s»: %v", s.TokenFile, err)
		}
		t := strings.TrimSpace(string(b))
		if strings.ToUpper(t) != t {
			return "", fmt.Errorf("el token de %s está en minúsculas y SENCE lo rechaza: escríbalo en MAYÚSCULAS", s.TokenFile)
		}
		return t, nil
	}
	return "", fmt.Errorf("falta el token de SENCE: defina sence.token (por ejemplo ${SENCE_TOKEN}) o sence.tokenFile")
}

// FileName is the export file of a course.
func FileName(c *payload.Course) string {
	name := c.CodigoOferta
	if c.CodigoGrupo != "" && c.CodigoGrupo != c.CodigoOferta {
		name += "_" + c.CodigoGrupo
	}
	return safeName(name) + ".json"
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r < 32 {
			return '_'
		}
		return r
	}, s)
}

// Summary is what a build left in and out, per course.
type Summary struct {
	ReportDate string          `json:"fechaReporte"`
	Courses    []CourseSummary `json:"cursos"`
	Included   int             `json:"alumnosIncluidos"`
	Excluded   int             `json:"alumnosExcluidos"`
	Failed     int             `json:"cursosConError"`
	Sendable   int             `json:"cursosParaEnviar"`
	// Unselected are the Moodle courses the selection left out that look
	// like SENCE courses (or that the include rule left out with a reason).
	Unselected []assemble.UnselectedCourse `json:"cursosNoSeleccionados"`
}

// nothingToSend says why a build gave no course to send and what to do.
func nothingToSend(b *built, s *Summary) string {
	return "no hay ningún curso para enviar: " + whyNothing(b, len(s.Unselected) > 0)
}

// whyNothing explains a build that gave no payload (assemble.WhyNothing).
func whyNothing(b *built, unselectedListed bool) string {
	return assemble.WhyNothing(b.plan, b.stats, len(b.results), unselectedListed)
}

// unknownCourses says which --course values name nothing the build read:
// no Moodle course has that id, short name or codigoOferta, or the course
// exists but the selection leaves it out and it does not look like a
// SENCE course. "" when every value names a course built or reported.
func unknownCourses(b *built, asked []string) string {
	var lines []string
	for _, c := range asked {
		if slices.ContainsFunc(b.results, func(r *assemble.CourseResult) bool {
			return r.CodigoOferta == c || r.CourseID == c
		}) || slices.ContainsFunc(b.unselected, func(u assemble.UnselectedCourse) bool {
			return u.Shortname == c || u.CourseID == c
		}) {
			continue
		}
		if slices.Contains(b.stats.Matched, c) {
			lines = append(lines, fmt.Sprintf("--course %s: el curso existe en Moodle, pero no es un curso SENCE del mapeo: no %s", c, assemble.SelectionRule(b.plan)))
			continue
		}
		lines = append(lines, fmt.Sprintf("--course %s: ningún curso de Moodle tiene ese codigoOferta, nombre corto o id", c))
	}
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\nno se hizo nada: corrija --course (engine export MAPEO.yaml muestra los cursos SENCE y los que parecen serlo)"
}

// CourseSummary is one course of a Summary.
type CourseSummary struct {
	CodigoOferta string               `json:"codigoOferta"`
	CodigoGrupo  string               `json:"codigoGrupo"`
	Nombre       string               `json:"nombre"`
	Archivo      string               `json:"archivo,omitempty"`
	Incluidos    int                  `json:"alumnosIncluidos"`
	Excluidos    []assemble.Exclusion `json:"alumnosExcluidos"`
	Notas        []assemble.Note      `json:"notas,omitempty"`
	Error        string               `json:"error,omitempty"`
}

func summarize(b *built, date string, e *Env) *Summary {
	if date == "" {
		d, _ := reportDate(e, "")
		date = d.Format("2006-01-02")
	}
	s := &Summary{ReportDate: date, Unselected: b.unselected}
	if s.Unselected == nil {
		s.Unselected = []assemble.UnselectedCourse{}
	}
	for _, r := range b.results {
		cs := CourseSummary{CodigoOferta: r.CodigoOferta, CodigoGrupo: r.CodigoGrupo, Nombre: r.Label, Excluidos: r.Excluded, Notas: r.Notes}
		if cs.Excluidos == nil {
			cs.Excluidos = []assemble.Exclusion{}
		}
		if r.Err != nil {
			cs.Error = r.Err.Error()
			s.Failed++
		}
		if r.Payload != nil {
			cs.Incluidos = len(r.Payload.ListaAlumnos)
			cs.Archivo = FileName(r.Payload)
			s.Sendable++
		} else if r.Err == nil {
			cs.Error = "ningún alumno para informar: el curso no se envía"
		}
		s.Included += cs.Incluidos
		s.Excluded += len(r.Excluded)
		s.Courses = append(s.Courses, cs)
	}
	return s
}

func printSummary(w io.Writer, s *Summary) {
	fmt.Fprintf(w, "Fecha de reporte: %s (America/Santiago)\n", s.ReportDate)
	for _, c := range s.Courses {
		fmt.Fprintf(w, "\nCurso %s", c.CodigoOferta)
		if c.CodigoGrupo != "" && c.CodigoGrupo != c.CodigoOferta {
			fmt.Fprintf(w, " grupo %s", c.CodigoGrupo)
		}
		if c.Nombre != "" {
			fmt.Fprintf(w, " (%s)", c.Nombre)
		}
		fmt.Fprintf(w, ": %d alumnos incluidos, %d excluidos\n", c.Incluidos, len(c.Excluidos))
		if c.Error != "" {
			fmt.Fprintf(w, "  ERROR: %s\n", c.Error)
		}
		for _, x := range c.Excluidos {
			who := x.RUT
			if who == "" {
				who = "usuario Moodle id " + x.UserID
			}
			who = strings.TrimSpace(who + " " + paren(x.Label))
			for _, r := range x.Reasons {
				fmt.Fprintf(w, "  excluido %s: %s\n", who, r)
			}
		}
		for _, n := range c.Notas {
			if n.Warning {
				fmt.Fprintf(w, "  aviso %s: %s\n", n.Who, n.Msg)
				continue
			}
			if n.Who == "" {
				fmt.Fprintf(w, "  no se informa: %s\n", n.Msg)
				continue
			}
			fmt.Fprintf(w, "  no se informa %s: %s\n", n.Who, n.Msg)
		}
	}
	printUnselected(w, s.Unselected)
	fmt.Fprintf(w, "\nTotal: %d cursos para enviar, %d alumnos incluidos, %d excluidos", s.Sendable, s.Included, s.Excluded)
	if s.Failed > 0 {
		fmt.Fprintf(w, ", %d cursos con error", s.Failed)
	}
	if n := len(s.Unselected); n > 0 {
		fmt.Fprintf(w, ", %s", diag.Plural(n, "curso de Moodle que parece SENCE no se informa", "cursos de Moodle que parecen SENCE no se informan"))
	}
	fmt.Fprintln(w)
}

// printUnselected lists the Moodle courses the selection left out that
// the mapping reports, by name.
func printUnselected(w io.Writer, list []assemble.UnselectedCourse) {
	if len(list) == 0 {
		return
	}
	fmt.Fprintln(w, "\nCursos de Moodle que no se informan a SENCE:")
	for _, u := range list {
		fmt.Fprintf(w, "  «%s»", u.Shortname)
		if u.Fullname != "" && u.Fullname != u.Shortname {
			fmt.Fprintf(w, " (%s)", u.Fullname)
		}
		fmt.Fprintf(w, ", id %s: %s\n", u.CourseID, u.Reason)
	}
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}
