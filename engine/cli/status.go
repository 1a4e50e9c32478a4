package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"

	nightly "github.com/otec-tools/sence-engine/engine/run"
	"github.com/otec-tools/sence-engine/engine/state"
)

func init() {
	extraCommandList = append(extraCommandList,
		command{"status", "muestra las últimas ejecuciones, los cursos con envíos pendientes y los alumnos con problemas", cmdStatus})
}

// cmdStatus reads the ledger; it takes no lock, so it works during a run.
// Exit codes: 0 nothing needs attention, 1 courses unfinished or students
// in trouble, 3 the ledger cannot be read.
func cmdStatus(ctx context.Context, e *Env, args []string) int {
	fs := flags(e, "status", "MAPEO.yaml")
	runs := fs.Int("runs", 10, "cuántas ejecuciones recientes mostrar")
	asJSON := fs.Bool("json", false, "muestra el estado en JSON")
	pos, ok := parse(fs, args)
	if !ok {
		return ExitUsage
	}
	if len(pos) != 1 {
		fs.Usage()
		return ExitUsage
	}
	plan, ds := loadPlan(e, pos[0])
	if plan == nil || ds.HasErrors() {
		ds.Print(e.Stderr)
		return ExitFailed
	}
	path, err := filepath.Abs(state.DefaultPath(plan.Mapping.File, plan.Mapping.Run.Ledger))
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return ExitFailed
	}
	if _, err := os.Stat(path); errors.Is(err, iofs.ErrNotExist) {
		fmt.Fprintf(e.Stdout, "Todavía no hay registro (%s): este mapeo aún no se ha ejecutado con engine run.\n", path)
		return ExitOK
	}
	ledger, err := state.Open(ctx, path)
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
	if !st.Clean() {
		return ExitProblems
	}
	return ExitOK
}
