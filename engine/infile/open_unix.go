//go:build unix

package infile

import (
	"os"
	"syscall"
)

// open opens without blocking: opening a FIFO for reading waits for a
// writer unless O_NONBLOCK is set. Regular files ignore the flag.
func open(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
