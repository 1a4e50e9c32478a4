package simulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/otec-tools/sence-engine/engine/sence"
)

// state is everything the simulated Gestor Intermedio remembers; it is
// the JSON of Options.StatePath.
type state struct {
	Version     int             `json:"version"`
	LastProcess int64           `json:"lastProcess"`
	LastRecord  int64           `json:"lastRecord"`
	Processes   []sence.Process `json:"processes"`
	// Progress is the stored module progress by progressKey.
	Progress map[string]int `json:"progress"`
	// Shown is when a process (by id) appears in historialEnvios, for
	// the processes stored with a history lag.
	Shown map[string]time.Time `json:"shown,omitempty"`
}

const stateVersion = 1

func progressKey(oferta, grupo, student, module string) string {
	return oferta + "|" + grupo + "|" + student + "|" + module
}

func loadState(path string) (*state, error) {
	st := &state{Version: stateVersion, Progress: map[string]int{}, Shown: map[string]time.Time{}}
	if path == "" {
		return st, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("no se pudo leer el estado del simulador: %w", err)
	}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("el estado del simulador %s está dañado: %w", path, err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("el estado del simulador %s tiene la versión %d y se esperaba %d", path, st.Version, stateVersion)
	}
	if st.Progress == nil {
		st.Progress = map[string]int{}
	}
	if st.Shown == nil {
		st.Shown = map[string]time.Time{}
	}
	return st, nil
}

// save writes the state atomically: a temporary file in the same folder,
// synced, then renamed over the old one, so a crash leaves either the old
// state or the new one.
func (st *state) save(path string) error {
	if path == "" {
		return nil
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("no se pudo guardar el estado del simulador: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("no se pudo guardar el estado del simulador: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("no se pudo guardar el estado del simulador: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("no se pudo guardar el estado del simulador: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("no se pudo guardar el estado del simulador: %w", err)
	}
	return nil
}
