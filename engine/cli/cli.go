// Package cli implements the engine command. Run is the whole command as a
// function, so tests drive it in-process and check output and exit codes.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/nightly"
)

// Exit codes, documented in the README.
const (
	ExitOK       = 0 // everything done, nothing left out
	ExitProblems = 1 // done, but students were excluded or rejected, or the mapping has errors
	ExitUsage    = 2 // wrong command line
	ExitFailed   = 3 // could not do the job (database, network, files)
	// Codes of ping.
	ExitUnreachable = 4
	ExitAuth        = 5
)

// Env is what a command may read from its surroundings; tests replace it.
type Env struct {
	Stdout, Stderr io.Writer
	LookupEnv      func(string) (string, bool)
	Now            func() time.Time
	// Sleep waits d or until ctx ends: for the send window, between the
	// scheduler's runs and between the SENCE client's retries. Tests
	// replace it with a clock.
	Sleep func(ctx context.Context, d time.Duration) error
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *Env, args []string) int
}

func commands() []command {
	return []command{
		{"validate", "revisa uno o más mapeos y muestra cada error con archivo:línea:columna", cmdValidate},
		{"doctor", "revisa si su Moodle está listo para informar a SENCE, curso por curso (lo primero en una instalación nueva)", cmdDoctor},
		{"test", "ejecuta las pruebas de un mapeo (archivos *.test.yaml): filas de Moodle de entrada y los campos esperados", cmdTest},
		{"explain", "muestra por qué un alumno se informa como se informa: cada valor, la expresión que lo dio, lo que leyó y de qué fila y consulta", cmdExplain},
		{"params", "muestra cada parámetro del mapeo con su valor, su valor por omisión, dónde se definió y qué es", cmdParams},
		{"export", "construye y valida los envíos y los escribe como JSON para revisarlos", cmdExport},
		{"demo", "ejecuta todo de punta a punta con una base Moodle de demostración y un simulador de SENCE", cmdDemo},
		{"send", "envía a SENCE los cursos construidos ahora o exportados antes", cmdSend},
		{"ping", "prueba la conexión y las credenciales con SENCE", cmdPing},
		{"history", "muestra lo que SENCE registró (historialEnvios)", cmdHistory},
		{"sence-test", "envía la prueba de integración oficial de SENCE con sus credenciales", cmdSenceTest},
		{"run", "la ejecución nocturna: construye, concilia con lo aceptado, envía lo que cambió y lo registra (sin perder ni duplicar envíos)", cmdRun},
		{"schedule", "servicio que ejecuta engine run según run.schedule (cron, hora de Chile; por omisión 0 22 * * *)", cmdSchedule},
		{"report", "escribe el informe de una ejecución para el coordinador: una página HTML o una planilla CSV", cmdReport},
		{"status", "muestra las últimas ejecuciones, los cursos con envíos pendientes y los alumnos con problemas", cmdStatus},
		{"simulator", "levanta un simulador local del servicio de SENCE", cmdSimulator},
		{"version", "muestra la versión, el commit y la fecha de la compilación", cmdVersion},
	}
}

// commandNamed returns the command called name.
func commandNamed(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// Run executes the command line args (without the program name).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return RunEnv(ctx, args, &Env{Stdout: stdout, Stderr: stderr})
}

// RunEnv is Run with an explicit environment.
func RunEnv(ctx context.Context, args []string, e *Env) int {
	if e.LookupEnv == nil {
		e.LookupEnv = os.LookupEnv
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Sleep == nil {
		e.Sleep = nightly.Sleep
	}
	if len(args) == 0 {
		usage(e.Stderr)
		return ExitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			// engine help COMMAND is engine COMMAND -h.
			if c, ok := commandNamed(args[1]); ok {
				return c.run(ctx, e, []string{"-h"})
			}
			return unknownCommand(e, args[1])
		}
		usage(e.Stdout)
		return ExitOK
	}
	if c, ok := commandNamed(args[0]); ok {
		code := c.run(ctx, e, args[1:])
		if in, ok := interrupted(ctx); ok && !stopsOnSignal(c.name) && code != ExitOK && code != ExitUsage {
			fmt.Fprintf(e.Stderr, "engine: %s se interrumpió (%s): el trabajo quedó incompleto\n", c.name, signalName(in.Signal))
			return ExitFailed
		}
		return code
	}
	return unknownCommand(e, args[0])
}

func unknownCommand(e *Env, name string) int {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	msg := fmt.Sprintf("engine: comando desconocido «%s»", name)
	if s := diag.Suggest(name, names); s != "" {
		msg += fmt.Sprintf("; ¿quiso decir «%s»?", s)
	}
	fmt.Fprintln(e.Stderr, msg)
	fmt.Fprintln(e.Stderr, "Use «engine help» para ver los comandos.")
	return ExitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "engine: informa a SENCE el avance de los alumnos desde Moodle, según un mapeo YAML.")
	fmt.Fprintln(w, "\nUso: engine COMANDO [opciones] MAPEO.yaml")
	fmt.Fprintln(w, "\nComandos:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nUse «engine COMANDO -h» para ver las opciones de cada comando.")
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

// reportDate parses --date or takes today in Santiago.
func reportDate(e *Env, s string) (time.Time, error) {
	if s == "" {
		return chile.Today(e.Now()), nil
	}
	d, err := chile.ParseDate(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--date debe ser una fecha AAAA-MM-DD; se obtuvo «%s»", s)
	}
	return d, nil
}
