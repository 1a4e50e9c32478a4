package cli

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/mappingtest"
	"github.com/otec-tools/sence-engine/engine/pipeline"
	"github.com/otec-tools/sence-engine/engine/voice"
)

func cmdTest(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "test", "[ARCHIVO.test.yaml|CARPETA]...")
	run := fs.String("run", "", "ejecuta solo las pruebas cuyo nombre calza con esta expresión regular")
	verbose := fs.Bool("verbose", false, "muestra además, de cada prueba, lo que se construyó: cursos, alumnos enviados y no enviados, módulos dejados fuera")
	preset := fs.Bool("preset", false, "ejecuta también las pruebas del preset moodle (incluidas en el motor)")
	mappingFlag := fs.String("mapping", "", "prueba este mapeo (un archivo, o el nombre de un preset) en vez del que nombra cada archivo de pruebas: así un sitio ejecuta las pruebas del preset contra su propio mapeo")
	pos, code, done := fs.parse(args)
	if done {
		return code
	}
	if len(pos) == 0 && !*preset {
		return fs.fail("indique archivos o carpetas de pruebas (*" + mappingtest.Suffix + "), o --preset")
	}
	var re *regexp.Regexp
	if *run != "" {
		var err error
		if re, err = regexp.Compile(*run); err != nil {
			return fs.fail(fmt.Sprintf("--run no es una expresión regular válida: %v", err))
		}
	}
	sources, err := pipeline.FindTests(pos, *preset)
	if err != nil {
		if pipeline.KindOf(err) == pipeline.Usage {
			return fs.fail(err.Error())
		}
		fmt.Fprintf(e.Stderr, "engine test: %v\n", err)
		return ExitFailed
	}
	o := pipeline.TestOptions{Mapping: *mappingFlag, Run: re, LookupEnv: e.LookupEnv}
	var passed, failed, broken, filtered, badFiles, warnings int
	// A mapping's warning is said once, however many files test it.
	warned := map[string]bool{}
	for _, src := range sources {
		if ctx.Err() != nil {
			fmt.Fprintln(e.Stderr, "engine test: interrumpido")
			return ExitFailed
		}
		r := pipeline.TestFile(ctx, src.Path, src.Data, o)
		if r.Diags.HasErrors() {
			badFiles++
			fmt.Fprintf(e.Stdout, "ERROR  %s: no se puede ejecutar\n", src.Path)
			for _, d := range r.Diags.Sorted() {
				fmt.Fprintf(e.Stdout, "  %s\n", d)
			}
			continue
		}
		filtered += r.Filtered
		var fresh []string
		for _, d := range r.Warnings.Sorted() {
			if s := d.String(); !warned[s] {
				warned[s] = true
				fresh = append(fresh, s)
			}
		}
		if len(fresh) > 0 {
			warnings += len(fresh)
			fmt.Fprintf(e.Stdout, "AVISO  %s: el mapeo probado tiene %s (como los muestra engine validate; no hacen fallar las pruebas)\n", src.Path, diag.Plural(len(fresh), "aviso", "avisos"))
			for _, s := range fresh {
				fmt.Fprintf(e.Stdout, "  %s\n", s)
			}
		}
		for _, t := range r.Tests {
			switch {
			case t.Err != nil:
				broken++
				fmt.Fprintf(e.Stdout, "ERROR  %s:%d: %s\n", src.Path, t.Pos.Line, t.Name)
				for _, l := range strings.Split(t.Err.Error(), "\n") {
					fmt.Fprintf(e.Stdout, "  %s\n", l)
				}
			case len(t.Failures) > 0:
				failed++
				fmt.Fprintf(e.Stdout, "FALLO  %s:%d: %s\n", src.Path, t.Pos.Line, t.Name)
				for _, f := range t.Failures {
					fmt.Fprintf(e.Stdout, "  %s\n", f)
				}
			default:
				passed++
				fmt.Fprintf(e.Stdout, "ok     %s:%d: %s", src.Path, t.Pos.Line, t.Name)
				if *verbose {
					fmt.Fprintf(e.Stdout, " (%d ms)", t.Elapsed.Milliseconds())
				}
				fmt.Fprintln(e.Stdout)
			}
			if *verbose && t.Err == nil {
				printBuilt(e, t.Built)
			}
		}
	}
	if ctx.Err() != nil {
		// Stopped between tests: what ran is not the whole answer.
		fmt.Fprintln(e.Stderr, "engine test: interrumpido")
		return ExitFailed
	}
	total := passed + failed + broken
	if total == 0 && badFiles == 0 {
		fmt.Fprintf(e.Stderr, "ninguna prueba se ejecutó: --run %q no calza con el nombre de ninguna (%s en total)\n", *run, diag.Plural(filtered, "prueba", "pruebas"))
		return ExitUsage
	}
	var line string
	if total > 0 {
		parts := []string{diag.Plural(passed, "pasa", "pasan")}
		if failed > 0 {
			parts = append(parts, diag.Plural(failed, "falla", "fallan"))
		}
		if broken > 0 {
			parts = append(parts, diag.Plural(broken, "no se pudo ejecutar", "no se pudieron ejecutar"))
		}
		line = fmt.Sprintf("%s en %s: %s", diag.Plural(total, "prueba", "pruebas"), diag.Plural(len(sources)-badFiles, "archivo", "archivos"), strings.Join(parts, ", "))
		if filtered > 0 {
			line += fmt.Sprintf("; %s por --run", diag.Plural(filtered, "omitida", "omitidas"))
		}
		line += "; "
	}
	line += diag.Plural(badFiles, "archivo con errores no se ejecutó", "archivos con errores no se ejecutaron")
	if badFiles == 0 {
		line = strings.TrimSuffix(line, "; 0 archivos con errores no se ejecutaron")
	}
	if warnings > 0 {
		line += "; " + diag.Plural(warnings, "aviso del mapeo", "avisos del mapeo")
	}
	fmt.Fprintln(e.Stderr, line)
	switch {
	case broken > 0 || badFiles > 0:
		return ExitFailed
	case failed > 0:
		return ExitProblems
	}
	return ExitOK
}

// printBuilt says what a test's build gave, course by course.
func printBuilt(e *Env, b mappingtest.Built) {
	if len(b.Courses) == 0 {
		fmt.Fprintln(e.Stdout, "       no se construyó ningún curso")
	}
	for _, r := range b.Courses {
		name := voice.Course(r.CodigoOferta, r.CodigoGrupo)
		if r.Err != nil {
			fmt.Fprintf(e.Stdout, "       curso %s: no se construyó: %v\n", name, r.Err)
			continue
		}
		out := len(r.Excluded)
		for _, n := range r.Notes {
			if n.Level == mapping.Student && !n.Warning {
				out++
			}
		}
		fmt.Fprintf(e.Stdout, "       curso %s: %s, %s\n", name,
			diag.Plural(len(r.Sent), "alumno enviado", "alumnos enviados"), diag.Plural(out, "no enviado", "no enviados"))
		for _, x := range r.Excluded {
			fmt.Fprintf(e.Stdout, "         excluido %s: %s\n", x.Who(), voice.Reasons(x.Reasons))
		}
		for _, n := range r.Notes {
			kind := "fuera"
			if n.Warning {
				kind = "aviso"
			}
			fmt.Fprintf(e.Stdout, "         %s %s: %s\n", kind, strings.TrimSpace(n.Who), n.Msg)
		}
	}
	for _, u := range b.Unselected {
		fmt.Fprintf(e.Stdout, "       curso no seleccionado %s: %s\n", u.Shortname, u.Reason)
	}
}
