package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"

	"github.com/otec-tools/sence-engine/engine/ledger"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/nightly"
)

// cmdStatus reads the ledger; it takes no lock, so it works during a run.
// Exit codes: 0 nothing needs attention, 1 courses unfinished, students in
// trouble, no run yet or a mapping with errors, 3 the mapping or the ledger
// cannot be read.
func cmdStatus(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "status", "MAPEO.yaml")
	runs := fs.Int("runs", 10, "cuántas ejecuciones recientes mostrar")
	asJSON := fs.Bool("json", false, "muestra el estado en JSON")
	pos, code, done := fs.parseN(args, 1, 1)
	if done {
		return code
	}
	// Only the ledger is read: the mapping is loaded for run.ledger, and
	// the database's DSN and the SENCE token may be unset (a monitoring
	// check should not need the database password).
	m, ds := mapping.Load(pos[0], mapping.Options{LookupEnv: e.LookupEnv, Unneeded: []string{"source.dsn", "sence.token", "sence.tokenFile"}})
	if m == nil {
		ds.Print(e.Stderr)
		fmt.Fprintln(e.Stderr, "no se pudo leer el mapeo: corríjalo (engine validate) para saber dónde está su registro")
		return ExitFailed
	}
	// A mapping with errors still names its ledger: what the last runs
	// did is shown, and the errors are said, because the next run will
	// not send anything until they are fixed.
	broken := ds.HasErrors()
	if broken {
		ds.Print(e.Stderr)
		fmt.Fprintln(e.Stderr, "atención: el mapeo tiene errores y la próxima ejecución no enviará nada hasta corregirlos (engine validate); se muestra igual el registro")
	}
	path, err := filepath.Abs(ledger.DefaultPath(m.File, m.Run.Ledger))
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return ExitFailed
	}
	if _, err := os.Stat(path); errors.Is(err, iofs.ErrNotExist) {
		// Nothing has ever been sent with this mapping: a monitoring
		// check must not read that as healthy.
		fmt.Fprintf(e.Stdout, "Todavía no hay registro (%s): este mapeo aún no se ha ejecutado con engine run, así que nada se ha enviado a SENCE. Programe la ejecución nocturna (ver «Programarlo» en el README).\n", path)
		return ExitProblems
	}
	ledger, err := ledger.Open(ctx, path)
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return ExitFailed
	}
	defer ledger.Close()
	st, err := nightly.ReadStatus(ctx, ledger, *runs)
	if err != nil {
		fmt.Fprintf(e.Stderr, "no se pudo leer el registro %s: %v\n", path, err)
		return ExitFailed
	}
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		enc.Encode(st)
	} else {
		st.WriteText(e.Stdout)
	}
	if !st.Clean() || broken {
		return ExitProblems
	}
	return ExitOK
}
