// Package infile reads the small files a user points the engine at
// (mappings, the files they extend, token files, rosters, exported
// courses) with bounds: a regular file, no larger than a limit. A FIFO, a
// device such as /dev/zero or a directory is refused at once, without
// blocking or reading it, and a file over the limit before it is read.
package infile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/otec-tools/sence-engine/engine/diag"
)

// Limits of the files the engine reads.
const (
	// MappingLimit bounds a mapping together with the files it extends.
	// The Moodle preset is about 15 KiB; compiling costs more than linear
	// time in the number of names a mapping defines.
	MappingLimit = 1 << 20
	// TokenLimit bounds a token file (a token is 36 characters).
	TokenLimit = 64 << 10
	// RosterLimit bounds a simulator roster.
	RosterLimit = 16 << 20
	// CourseLimit bounds an exported course file read by send --from.
	CourseLimit = 256 << 20
)

// Errors, for errors.Is.
var (
	ErrNotRegular = errors.New("no es un archivo común")
	ErrTooLarge   = errors.New("el archivo es demasiado grande")
)

// Read returns the contents of the regular file at path if it holds at
// most limit bytes. Its errors are Spanish and name neither the path nor
// the operation (callers add what the file is).
func Read(path string, limit int64) ([]byte, error) {
	f, err := open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, explainOpen(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w (es %s): indique un archivo", ErrNotRegular, kind(st.Mode()))
	}
	if st.Size() > limit {
		return nil, tooLarge(st.Size(), limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit { // it grew while being read
		return nil, tooLarge(int64(len(data)), limit)
	}
	return data, nil
}

// explainOpen says why a file did not open in Spanish (diag.OSText),
// keeping the cause for errors.Is.
func explainOpen(err error) error {
	return &openError{err: err}
}

type openError struct{ err error }

func (e *openError) Error() string { return diag.OSText(e.err) }
func (e *openError) Unwrap() error { return e.err }

func tooLarge(size, limit int64) error {
	return fmt.Errorf("%w: pesa %s y el máximo es %s", ErrTooLarge, Size(size), Size(limit))
}

// Size writes a byte count for people (1 KiB = 1024 bytes).
func Size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%s MiB", decimal(float64(n)/(1<<20)))
	case n >= 1<<10:
		return fmt.Sprintf("%s KiB", decimal(float64(n)/(1<<10)))
	}
	return fmt.Sprintf("%d bytes", n)
}

// decimal formats with one decimal and a comma, as in Chile.
func decimal(x float64) string {
	s := fmt.Sprintf("%.1f", x)
	for i := range len(s) {
		if s[i] == '.' {
			return s[:i] + "," + s[i+1:]
		}
	}
	return s
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "una carpeta"
	case m&fs.ModeNamedPipe != 0:
		return "una tubería FIFO"
	case m&fs.ModeSocket != 0:
		return "un socket"
	case m&fs.ModeDevice != 0 || m&fs.ModeCharDevice != 0:
		return "un dispositivo"
	}
	return "un archivo especial"
}
