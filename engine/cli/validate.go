package cli

import (
	"context"
	"fmt"

	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/pipeline"
)

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
		all = append(all, pipeline.Validate(ctx, path, e.LookupEnv, *withDB)...)
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
