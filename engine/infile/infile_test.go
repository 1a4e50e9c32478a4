package infile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.yaml")
	os.WriteFile(small, []byte("version: 1\n"), 0o600)
	if b, err := Read(small, 100); err != nil || string(b) != "version: 1\n" {
		t.Errorf("small file: %q %v", b, err)
	}
	big := filepath.Join(dir, "big.yaml")
	os.WriteFile(big, make([]byte, 3<<20), 0o600)
	if _, err := Read(big, 1<<20); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "pesa 3,0 MiB y el máximo es 1,0 MiB") {
		t.Errorf("big file: %v", err)
	}
	if _, err := Read(dir, 1<<20); !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "una carpeta") {
		t.Errorf("directory: %v", err)
	}
	if _, err := Read(filepath.Join(dir, "nope"), 10); !errors.Is(err, fs.ErrNotExist) || err.Error() != "no existe" {
		t.Errorf("missing: %v", err)
	}
}
