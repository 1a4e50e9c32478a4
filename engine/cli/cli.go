// Package cli implements the engine command. Run is the whole command as a
// function, so tests drive it in-process and check output and exit codes.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/build"
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

// Version is set at build time with -ldflags "-X ...cli.Version=v1.2.3".
var Version = "dev"

// Env is what a command may read from its surroundings; tests replace it.
type Env struct {
	Stdout, Stderr io.Writer
	LookupEnv      func(string) (string, bool)
	Now            func() time.Time
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *Env, args []string) int
}

func commands() []command {
	return []command{
		{"validate", "revisa uno o más mapeos y muestra cada error con archivo:línea:columna", cmdValidate},
		{"export", "construye y valida los envíos y los escribe como JSON para revisarlos", cmdExport},
		{"demo", "ejecuta todo de punta a punta con una base Moodle de demostración y un simulador de SENCE", cmdDemo},
		{"send", "envía a SENCE los cursos construidos ahora o exportados antes", cmdSend},
		{"ping", "prueba la conexión y las credenciales con SENCE", cmdPing},
		{"history", "muestra lo que SENCE registró (historialEnvios)", cmdHistory},
		{"sence-test", "envía la prueba de integración oficial de SENCE con sus credenciales", cmdSenceTest},
		{"simulator", "levanta un simulador local del servicio de SENCE", cmdSimulator},
		{"version", "muestra la versión", cmdVersion},
	}
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
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(e.Stdout)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	for _, c := range append(extraCommands(), commands()...) {
		if c.name == args[0] {
			code := c.run(ctx, e, args[1:])
			if in, ok := interrupted(ctx); ok && !stopsOnSignal(c.name) && code != ExitOK && code != ExitUsage {
				fmt.Fprintf(e.Stderr, "engine: %s se interrumpió (%s): el trabajo quedó incompleto\n", c.name, signalName(in.Signal))
				return ExitFailed
			}
			return code
		}
	}
	fmt.Fprintf(e.Stderr, "engine: comando desconocido «%s»\n\n", args[0])
	usage(e.Stderr)
	return ExitUsage
}

// extraCommands are registered by other files of the package (run,
// schedule, status).
var extraCommandList []command

func extraCommands() []command { return extraCommandList }

func usage(w io.Writer) {
	fmt.Fprintln(w, "engine: informa a SENCE el avance de los alumnos desde Moodle, según un mapeo YAML.")
	fmt.Fprintln(w, "\nUso: engine COMANDO [opciones] MAPEO.yaml")
	fmt.Fprintln(w, "\nComandos:")
	for _, c := range append(commands(), extraCommands()...) {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nUse «engine COMANDO -h» para ver las opciones de cada comando.")
}

func cmdVersion(_ context.Context, e *Env, _ []string) int {
	fmt.Fprintf(e.Stdout, "engine %s\n", Version)
	return ExitOK
}

// flags makes a FlagSet whose errors and help go to stderr, in Spanish.
func flags(e *Env, name, argsUsage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.Stderr, "Uso: engine %s [opciones] %s\n\nOpciones:\n", name, argsUsage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags anywhere among the arguments (flags after the mapping
// file are common) and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, bool) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, false
			}
			return nil, false
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, true
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

// reportDate parses --date or takes today in Santiago.
func reportDate(e *Env, s string) (time.Time, error) {
	if s == "" {
		now := e.Now().In(build.Santiago)
		return time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, build.Santiago), nil
	}
	d, err := time.ParseInLocation("2006-01-02", s, build.Santiago)
	if err != nil {
		return time.Time{}, fmt.Errorf("--date debe ser una fecha AAAA-MM-DD; se obtuvo «%s»", s)
	}
	return d, nil
}
