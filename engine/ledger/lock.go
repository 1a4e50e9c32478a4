package ledger

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrLocked: another run of the same mapping holds the lock.
var ErrLocked = errors.New("ya hay una ejecución en curso para este mapeo")

// Lock keeps one run at a time per ledger. It is an advisory lock the
// operating system releases when the process ends, however it ends, so a
// crashed run never leaves it stuck.
type Lock struct {
	f    *os.File
	path string
}

// LockPath is the lock file of a ledger.
func LockPath(ledgerPath string) string { return ledgerPath + ".lock" }

// AcquireLock takes the lock of a ledger without waiting. When another
// process holds it the error is ErrLocked and says which process.
func AcquireLock(ledgerPath string, now time.Time) (*Lock, error) {
	path := LockPath(ledgerPath)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("no se puede crear la carpeta del registro %s: %w", filepath.Dir(path), err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("no se puede abrir el archivo de bloqueo %s: %w", path, err)
	}
	if err := lockFile(f); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, errWouldBlock) {
			who := strings.TrimSpace(string(holder))
			if who == "" {
				who = "otro proceso"
			}
			return nil, fmt.Errorf("%w (%s; bloqueo %s): espere a que termine", ErrLocked, who, path)
		}
		return nil, fmt.Errorf("no se pudo tomar el bloqueo %s: %w", path, err)
	}
	// Who holds it, for the message another run shows.
	f.Truncate(0)
	fmt.Fprintf(f, "proceso %d, desde %s\n", os.Getpid(), now.Format(time.RFC3339))
	f.Sync()
	return &Lock{f: f, path: path}, nil
}

// Release frees the lock. The file stays, empty: removing it would race
// with a run that just opened it.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	l.f.Truncate(0)
	err := unlockFile(l.f)
	l.f.Close()
	l.f = nil
	return err
}
