package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/otec-tools/sence-engine/engine/voice"
	"io"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/pipeline"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// buildFlags are shared by export, send and run.
type buildFlags struct {
	date    *string
	courses multi
	strict  *bool
}

func addBuildFlags(fs *flag.FlagSet) *buildFlags {
	bf := &buildFlags{}
	bf.date = fs.String("date", "", "fecha de reporte `AAAA-MM-DD` (por omisión, hoy en America/Santiago)")
	fs.Var(&bf.courses, "course", "solo este curso (su `código`: codigoOferta, nombre corto o id); se puede repetir")
	bf.strict = fs.Bool("strict", false, "cualquier problema es fatal: no se exporta ni envía nada si algún alumno queda excluido")
	return bf
}

// loadPlan loads a mapping for a command that builds or sends: on errors
// it prints them and what to do, and returns nil.
func loadPlan(e *Env, path string) *plan.Plan {
	pl, ds := pipeline.Load(path, e.LookupEnv)
	if pl == nil || ds.HasErrors() {
		ds.Print(e.Stderr)
		fmt.Fprintln(e.Stderr, "el mapeo tiene errores: corríjalos (engine validate) antes de continuar")
		return nil
	}
	return pl
}

// exitOfFailure prints a pipeline step's error and returns its exit code.
func exitOfFailure(e *Env, err error) int {
	fmt.Fprintln(e.Stderr, err)
	switch pipeline.KindOf(err) {
	case pipeline.Problems:
		return ExitProblems
	case pipeline.Usage:
		return ExitUsage
	}
	return ExitFailed
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
	pl := loadPlan(e, pos[0])
	if pl == nil {
		return ExitProblems
	}
	token := payload.RedactedToken
	if *includeToken {
		t, err := pipeline.ReadToken(pl)
		if err != nil {
			fmt.Fprintln(e.Stderr, err)
			return ExitUsage
		}
		token = t
	}
	date, err := reportDate(e, *bf.date)
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return ExitUsage
	}
	bar := newProgress(e, isTerminal(e.Stderr), nil)
	b, err := pipeline.Export(ctx, pl, pipeline.ExportOptions{Dir: *out, Strict: *bf.strict,
		Build: pipeline.BuildOptions{ReportDate: date, Courses: bf.courses, Token: token, Now: e.Now, Progress: bar.build}})
	bar.clear()
	if errors.Is(err, pipeline.ErrStrict) {
		printSummary(e.Stdout, b.Summary)
		fmt.Fprintln(e.Stderr, "--strict: hay problemas; no se escribió nada")
		return ExitProblems
	}
	if err != nil {
		return exitOfFailure(e, err)
	}
	sum := b.Summary
	printSummary(e.Stdout, sum)
	if *out != "" {
		fmt.Fprintf(e.Stdout, "\nArchivos escritos en %s (%s, resumen.json, la planilla de alumnos %s y la página %s)\n", *out, diag.Plural(sum.Sendable, "curso", "cursos"), pipeline.StudentsFile, pipeline.PageFile)
	}
	if sum.Sendable == 0 {
		fmt.Fprintln(e.Stderr, nothingToSend(b))
		return ExitProblems
	}
	if !sum.Clean() {
		return ExitProblems
	}
	return ExitOK
}

// nothingToSend says why a build gave no course to send and what to do.
func nothingToSend(b *pipeline.Built) string {
	return "no hay ningún curso para enviar: " + b.WhyNothing()
}

func printSummary(w io.Writer, s *pipeline.Summary) {
	fmt.Fprintf(w, "Fecha de reporte: %s (America/Santiago)\n", s.ReportDate)
	for _, c := range s.Courses {
		printCourseSummary(w, c)
	}
	printUnselected(w, s.Unselected)
	fmt.Fprintf(w, "\nTotal: %s, %s, %s", diag.Plural(s.Sendable, "curso para enviar", "cursos para enviar"),
		diag.Plural(s.Included, "alumno incluido", "alumnos incluidos"), diag.Plural(s.Excluded, "excluido", "excluidos"))
	if s.Failed > 0 {
		fmt.Fprintf(w, ", %s", diag.Plural(s.Failed, "curso con error", "cursos con error"))
	}
	if n := len(s.Unselected); n > 0 {
		fmt.Fprintf(w, ", %s", diag.Plural(n, "curso de Moodle que parece SENCE no se informa", "cursos de Moodle que parecen SENCE no se informan"))
	}
	fmt.Fprintln(w)
}

func printCourseSummary(w io.Writer, c pipeline.CourseSummary) {
	fmt.Fprintf(w, "\nCurso %s", voice.Course(c.CodigoOferta, c.CodigoGrupo))
	if c.Nombre != "" {
		fmt.Fprintf(w, " (%s)", c.Nombre)
	}
	fmt.Fprintf(w, ": %s, %s\n", diag.Plural(c.Incluidos, "alumno incluido", "alumnos incluidos"), diag.Plural(len(c.Excluidos), "excluido", "excluidos"))
	if c.Error != "" {
		fmt.Fprintf(w, "  ERROR: %s\n", c.Error)
	}
	for _, x := range c.Excluidos {
		fmt.Fprintf(w, "  excluido %s: %s\n", x.Who(), voice.Reasons(x.Motivos))
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
