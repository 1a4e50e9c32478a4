// Package spill keeps what a command gathers course by course and needs
// again only at the end (a run's per-student report, an export's
// students) in a temporary file instead of memory: readable only by its
// owner, held by engine/outfile so that a forced stop removes it, and
// removed by the command on every exit path.
package spill

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/otec-tools/sence-engine/engine/outfile"
)

// File is a spill: records appended as JSON, each read back by its Ref,
// in any order and as often as needed. It is safe for concurrent use.
type File struct {
	mu      sync.Mutex
	f       *os.File
	w       *bufio.Writer
	size    int64
	release func()
	removed bool
}

// Ref is where a record is in its File.
type Ref struct {
	off int64
	n   int
}

// New creates a spill in dir named prefix followed by a random part
// (mode 0600).
func New(dir, prefix string) (*File, error) {
	f, err := os.CreateTemp(dir, prefix+"*") // mode 0600
	if err != nil {
		return nil, err
	}
	return &File{f: f, w: bufio.NewWriterSize(f, 1<<16), release: outfile.Hold(f.Name())}, nil
}

// Name is the spill's path.
func (s *File) Name() string { return s.f.Name() }

// Put appends v as one JSON record.
func (s *File) Put(v any) (Ref, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return Ref{}, err
	}
	b := buf.Bytes() // one line, newline included
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removed {
		return Ref{}, fmt.Errorf("el archivo temporal %s ya se borró", s.f.Name())
	}
	r := Ref{off: s.size, n: len(b)}
	if _, err := s.w.Write(b); err != nil {
		return Ref{}, err
	}
	s.size += int64(len(b))
	return r, nil
}

// Get reads the record at r into v.
func (s *File) Get(r Ref, v any) error {
	b := make([]byte, r.n)
	s.mu.Lock()
	err := s.w.Flush()
	if err == nil {
		_, err = s.f.ReadAt(b, r.off)
		if err == io.EOF && r.n == 0 {
			err = nil
		}
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("no se puede leer el archivo temporal %s: %v", s.f.Name(), err)
	}
	return json.Unmarshal(b, v)
}

// Remove closes and removes the spill; it may be called more than once.
func (s *File) Remove() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removed {
		return
	}
	s.removed = true
	s.f.Close()
	os.Remove(s.f.Name())
	s.release()
}

// RemoveLeftovers removes the spills named prefix that a crashed command
// left in dir.
func RemoveLeftovers(dir, prefix string) {
	old, _ := filepath.Glob(filepath.Join(outfile.GlobEscape(dir), outfile.GlobEscape(prefix)+"*"))
	for _, p := range old {
		os.Remove(p)
	}
}
