package simulator

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/infile"
)

// Run is the "engine simulator" command: it serves the simulator until ctx
// ends. Exit codes: 0 stopped normally, 1 could not start, 2 bad usage.
// The token is read from --token-file or SENCE_TOKEN and never printed.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8089", "dirección `host:puerto` donde escuchar")
	statePath := fs.String("state", "", "`archivo` JSON donde guardar lo recibido entre reinicios (sin él, solo en memoria)")
	rosterPath := fs.String("roster", "", "`archivo` YAML o JSON con los cursos, alumnos y módulos registrados (sin él, todo está registrado)")
	rutOtec := fs.String("rut-otec", "", "`RUT` del OTEC que se acepta (sin él, cualquier RUT válido con un token de forma válida)")
	tokenFile := fs.String("token-file", "", "`archivo` con el token que se acepta (o la variable de entorno SENCE_TOKEN)")
	rejectEqual := fs.Bool("reject-equal", false, "rechazar con 025 también un avance igual al anterior (por omisión se acepta)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "uso: engine simulator [opciones]\n\nSimula la API Gestor Intermedio de SENCE (enviarAvance e historialEnvios) para probar sin tocar producción.\n\nopciones:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "simulador: argumentos de más: %s\n", strings.Join(fs.Args(), " "))
		fs.Usage()
		return 2
	}
	token := strings.TrimSpace(os.Getenv("SENCE_TOKEN"))
	if *tokenFile != "" {
		data, err := infile.Read(*tokenFile, infile.TokenLimit)
		if err != nil {
			fmt.Fprintf(stderr, "simulador: no se pudo leer el archivo del token: %v\n", err)
			return 2
		}
		token = strings.TrimSpace(string(data))
	}
	opts := Options{StatePath: *statePath, RejectEqualProgress: *rejectEqual,
		Logger: slog.New(slog.NewTextHandler(stderr, nil))}
	switch {
	case *rutOtec != "" && token != "":
		opts.Credentials = []Credential{{RutOtec: *rutOtec, Token: token}}
	case *rutOtec != "":
		fmt.Fprintln(stderr, "simulador: con --rut-otec falta el token: use --token-file o la variable SENCE_TOKEN")
		return 2
	case *tokenFile != "":
		fmt.Fprintln(stderr, "simulador: con --token-file falta --rut-otec")
		return 2
	}
	if *rosterPath != "" {
		r, err := LoadRoster(*rosterPath)
		if err != nil {
			fmt.Fprintf(stderr, "simulador: %v\n", err)
			return 1
		}
		opts.Roster = r
	}
	srv, err := Start(context.WithoutCancel(ctx), *addr, opts) // stopped gracefully below
	if err != nil {
		fmt.Fprintf(stderr, "simulador: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "simulador de SENCE escuchando en %s\n", srv.URL)
	fmt.Fprintf(stdout, "URL base para el motor: %s (también sirve %s)\n", srv.BaseURL(), srv.URL)
	if len(opts.Credentials) > 0 {
		fmt.Fprintf(stdout, "credenciales: RUT OTEC %s con el token configurado\n", *rutOtec)
	} else {
		fmt.Fprintln(stdout, "credenciales: acepta cualquier RUT OTEC válido con un token en mayúsculas de forma UUID")
	}
	if opts.Roster != nil {
		fmt.Fprintf(stdout, "nómina: %d cursos registrados\n", len(opts.Roster.Courses))
	} else {
		fmt.Fprintln(stdout, "nómina: ninguna, todo curso, alumno y módulo está registrado")
	}
	if *statePath != "" {
		fmt.Fprintf(stdout, "estado: %s\n", *statePath)
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	fmt.Fprintln(stdout, "simulador detenido")
	return 0
}
