// Package harness runs the benchmark of GitHub issue 6: it loads the
// synthetic site, runs the engine and the two baselines on it, each in its
// own process, checks that they produce the same payloads and reports their
// wall time, CPU time and peak memory.
package harness

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
)

const help = `uso: sencebench <orden> [opciones]

  load     crea las tablas Moodle y carga el sitio sintético a una escala
  run      construye los envíos con un solo ejecutor (engine, handwritten, perstudent)
  compare  ejecuta los tres en procesos separados, compara sus envíos y mide
  nightly  dos noches del engine con la dedicación desde el registro: la segunda lee
           solo los eventos nuevos (--new-events) y debe enviar lo mismo que recalculada

sencebench <orden> -h muestra las opciones de cada orden.
`

// Main is the command line; it returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, help)
		return 2
	}
	switch args[0] {
	case "load":
		return cmdLoad(ctx, args[1:], stdout, stderr)
	case "run":
		return cmdRun(ctx, args[1:], stdout, stderr)
	case "compare":
		return cmdCompare(ctx, args[1:], stdout, stderr)
	case "nightly":
		return cmdNightly(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprint(stderr, help)
	return 2
}

// runFlags are the options run and compare share.
func runFlags(fs *flag.FlagSet, cfg *RunConfig) {
	fs.StringVar(&cfg.Dialect, "db", "postgres", "base de datos: sqlite, postgres o mysql")
	fs.StringVar(&cfg.DSN, "dsn", "", "conexión (para sqlite, la ruta del archivo)")
	fs.StringVar(&cfg.Prefix, "prefix", "mdl_", "prefijo de las tablas")
	fs.StringVar(&cfg.Dedication, "dedication", "", "tiempoConectividad desde block_dedication (block, por omisión) o desde el registro (log)")
	fs.IntVar(&cfg.BatchSize, "batch", 0, "cursos por lote (0: el del preset, 50)")
	fs.BoolVar(&cfg.Reference, "reference", false, "valida con gojsonschema, el validador de referencia, en vez del nativo")
	fs.IntVar(&cfg.Workers, "workers", 0, "cursos que el engine construye a la vez (0: uno por CPU)")
	fs.StringVar(&cfg.Date, "date", "", "fecha de reporte AAAA-MM-DD (por omisión, la del demo); se lee a las 22:00")
	fs.StringVar(&cfg.Ledger, "ledger", "", "registro de ejecuciones del engine: guarda las sesiones de dedicación entre noches")
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg RunConfig
	runFlags(fs, &cfg)
	fs.StringVar(&cfg.Runner, "runner", "engine", "ejecutor: "+strings.Join(Runners, ", "))
	fs.StringVar(&cfg.Out, "out", "", "archivo de salida: una línea JSON por curso")
	cpuProfile := fs.String("cpuprofile", "", "escribe un perfil de CPU en este archivo")
	memProfile := fs.String("memprofile", "", "escribe un perfil de memoria (al final) en este archivo")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		defer func() {
			if f, err := os.Create(*memProfile); err == nil {
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	if cfg.DSN == "" || cfg.Out == "" {
		fmt.Fprintln(stderr, "faltan --dsn y --out")
		return 2
	}
	st, err := Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	b, _ := json.Marshal(st)
	fmt.Fprintln(stdout, string(b))
	return 0
}

func cmdCompare(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg CompareConfig
	runFlags(fs, &cfg.RunConfig)
	runners := fs.String("runners", strings.Join(Runners, ","), "ejecutores a comparar, el primero es la referencia")
	fs.StringVar(&cfg.Dir, "out", "bench-out", "carpeta para las salidas y report.json")
	fs.BoolVar(&cfg.Warmup, "warmup", false, "ejecuta una vez handwritten sin medir antes de medir")
	fs.IntVar(&cfg.Rounds, "rounds", 1, "veces que se ejecuta cada uno, por turnos; se informa la mediana")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if cfg.DSN == "" {
		fmt.Fprintln(stderr, "falta --dsn")
		return 2
	}
	cfg.Runners = strings.Split(*runners, ",")
	rep, err := Compare(ctx, cfg, logTo(stderr))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	rep.Print(stdout, cfg.Runners)
	if !rep.Identical {
		return 1
	}
	return 0
}

// logTo writes a comparison's progress lines to w.
func logTo(w io.Writer) func(string, ...any) {
	return func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
}

// self is the command children are started with: this program.
func self() ([]string, error) {
	exe, err := os.Executable()
	return []string{exe}, err
}
