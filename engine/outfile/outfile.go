// Package outfile writes the files the engine leaves for people and other
// commands (exports, run reports, the demo's files): readable only by
// their owner, never half written, and removed if the engine is stopped
// while they are temporaries. engine/infile is its counterpart for the
// files the engine reads.
package outfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// WriteAtomic writes a file readable only by its owner, through a
// temporary file and a rename, so a crash never leaves half a file. The
// temporaries an earlier crash left for the same file are removed first.
func WriteAtomic(path string, data []byte) error {
	return WriteAtomicFunc(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteAtomicFunc is WriteAtomic of what write writes, buffered: a large
// file is written piece by piece, never whole in memory.
func WriteAtomicFunc(path string, write func(io.Writer) error) error {
	prefix := "." + filepath.Base(path) + ".tmp-"
	if old, _ := filepath.Glob(filepath.Join(filepath.Dir(path), GlobEscape(prefix)+"*")); len(old) > 0 {
		for _, o := range old {
			os.Remove(o)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), prefix+"*") // mode 0600
	if err != nil {
		return fmt.Errorf("no se puede escribir %s: %v", path, err)
	}
	defer Hold(tmp.Name())()
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<16)
	if err := write(bw); err != nil {
		tmp.Close()
		return fmt.Errorf("no se puede escribir %s: %v", path, err)
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("no se puede escribir %s: %v", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("no se puede escribir %s: %v", path, err)
	}
	return nil
}

// WriteNew writes a new file readable only by its owner and flushes it.
func WriteNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteNewFunc is WriteNew of what write writes, buffered: a large file
// is written piece by piece, never whole in memory. On error the file is
// left for the caller's temporary folder to go with.
func WriteNewFunc(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := write(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// SyncDir makes the names in dir durable (best effort: not every system
// can sync a directory).
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// GlobEscape quotes s for filepath.Glob.
func GlobEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`).Replace(s)
}

// held are files and directories a command is writing, removed if the
// engine has to stop before the command cleans up itself.
var held = struct {
	sync.Mutex
	paths map[string]bool
}{paths: map[string]bool{}}

// Hold registers path for removal on a forced stop (RemoveHeld); the
// returned function unregisters it (once the command has renamed or
// removed it).
func Hold(path string) func() {
	held.Lock()
	held.paths[path] = true
	held.Unlock()
	return func() {
		held.Lock()
		delete(held.paths, path)
		held.Unlock()
	}
}

// RemoveHeld removes every file and directory still held: the engine is
// stopping without waiting for the command that writes them.
func RemoveHeld() {
	held.Lock()
	defer held.Unlock()
	for p := range held.paths {
		os.RemoveAll(p)
	}
}
