package cli

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/infile"
	"github.com/otec-tools/sence-engine/engine/sence/simulator"
)

// cmdSimulator serves a local SENCE simulator until the command is
// stopped. Exit codes: 0 stopped normally, 2 bad usage, 3 could not
// start. The token comes from --token-file or SENCE_TOKEN and is never
// printed.
func cmdSimulator(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "simulator", "")
	addr := fs.String("addr", "127.0.0.1:8089", "dirección `host:puerto` donde escuchar")
	statePath := fs.String("state", "", "`archivo` JSON donde guardar lo recibido entre reinicios (sin él, solo en memoria)")
	rosterPath := fs.String("roster", "", "`archivo` YAML o JSON con los cursos, alumnos y módulos registrados (sin él, todo está registrado)")
	rutOtec := fs.String("rut-otec", "", "`RUT` del OTEC que se acepta (sin él, cualquier RUT válido con un token de forma válida)")
	tokenFile := fs.String("token-file", "", "`archivo` con el token que se acepta (o la variable de entorno SENCE_TOKEN)")
	rejectEqual := fs.Bool("reject-equal", false, "rechazar con 025 también un avance igual al anterior (por omisión se acepta)")
	processing := fs.Duration("processing", 0, "cuánto tarda en procesar cada envío antes de guardarlo y responder, como SENCE con cursos grandes; lo guarda aunque el cliente ya no espere (p. ej. 6s)")
	historyLag := fs.Duration("history-lag", 0, "cuánto tarda un envío guardado en aparecer en historialEnvios (p. ej. 5s)")
	if _, code, done := fs.parseN(args, 0, 0); done {
		return code
	}
	token, _ := e.LookupEnv("SENCE_TOKEN")
	token = strings.TrimSpace(token)
	if *tokenFile != "" {
		b, err := infile.Read(*tokenFile, infile.TokenLimit)
		if err != nil {
			return fs.fail(diag.FileError("leer el archivo del token", *tokenFile, err).Error())
		}
		token = strings.TrimSpace(string(b))
	}
	if *processing < 0 || *historyLag < 0 {
		return fs.fail("-processing y -history-lag no pueden ser negativos")
	}
	opts := simulator.Options{StatePath: *statePath, RejectEqualProgress: *rejectEqual, Processing: *processing, HistoryLag: *historyLag,
		Logger: slog.New(slog.NewTextHandler(e.Stderr, nil))}
	switch {
	case *rutOtec != "" && token != "":
		opts.Credentials = []simulator.Credential{{RutOtec: *rutOtec, Token: token}}
	case *rutOtec != "":
		return fs.fail("con -rut-otec falta el token: use -token-file o la variable SENCE_TOKEN")
	case *tokenFile != "":
		return fs.fail("con -token-file falta -rut-otec")
	}
	if *rosterPath != "" {
		r, err := simulator.LoadRoster(*rosterPath)
		if err != nil {
			fmt.Fprintf(e.Stderr, "simulador: %v\n", err)
			return ExitFailed
		}
		opts.Roster = r
	}
	srv, err := simulator.Start(context.WithoutCancel(ctx), *addr, opts) // stopped gracefully below
	if err != nil {
		fmt.Fprintf(e.Stderr, "simulador: %v\n", err)
		return ExitFailed
	}
	w := e.Stdout
	fmt.Fprintf(w, "simulador de SENCE escuchando en %s\n", srv.URL)
	fmt.Fprintf(w, "URL base para el motor: %s (también sirve %s)\n", srv.BaseURL(), srv.URL)
	if len(opts.Credentials) > 0 {
		fmt.Fprintf(w, "credenciales: RUT OTEC %s con el token configurado\n", *rutOtec)
	} else {
		fmt.Fprintln(w, "credenciales: acepta cualquier RUT OTEC válido con un token en mayúsculas de forma UUID")
	}
	if opts.Roster != nil {
		fmt.Fprintf(w, "nómina: %d cursos registrados\n", len(opts.Roster.Courses))
	} else {
		fmt.Fprintln(w, "nómina: ninguna, todo curso, alumno y módulo está registrado")
	}
	if *statePath != "" {
		fmt.Fprintf(w, "estado: %s\n", *statePath)
	}
	if *processing > 0 || *historyLag > 0 {
		fmt.Fprintf(w, "lentitud: cada envío tarda %s en procesarse y aparece en el historial %s después de guardarse\n", *processing, *historyLag)
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	fmt.Fprintln(w, "simulador detenido")
	return ExitOK
}
