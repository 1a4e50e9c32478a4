// Package spill keeps what a command gathers course by course and needs
// again only at the end (a run's per-student report, an export's
// students) in a temporary file instead of memory: readable only by its
// owner, held by engine/outfile so that a forced stop removes it, and
// removed by the command on every exit path.
package spill

import (
	"bufio"
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
	enc     *json.Encoder
	cw      *countingWriter
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

// Put appends v as one JSON record. It is encoded straight into the
// file's buffer (encoding/json's pooled buffers), so that spilling a
// large course leaves no garbage the size of its record.
func (s *File) Put(v any) (Ref, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removed {
		return Ref{}, fmt.Errorf("el archivo temporal %s ya se borró", s.f.Name())
	}
	if s.enc == nil {
		s.cw = &countingWriter{w: s.w}
		s.enc = json.NewEncoder(s.cw)
		s.enc.SetEscapeHTML(false)
	}
	s.cw.n = 0
	err := s.enc.Encode(v)
	r := Ref{off: s.size, n: int(s.cw.n)}
	s.size += s.cw.n // what a failed write left stays counted
	if err != nil {
		return Ref{}, err
	}
	return r, nil
}

// countingWriter counts what goes through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
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
