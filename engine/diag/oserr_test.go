package diag

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileErrorSpeaksSpanish(t *testing.T) {
	dir := t.TempDir()
	_, missing := os.ReadFile(filepath.Join(dir, "nope.yaml"))
	_, isDir := os.ReadFile(dir)
	notDir := os.WriteFile(filepath.Join(dir, "f"), nil, 0o600)
	if notDir != nil {
		t.Fatal(notDir)
	}
	_, notDir = os.ReadFile(filepath.Join(dir, "f", "x"))
	for _, c := range []struct {
		err  error
		want string
	}{
		{missing, "no se puede leer «m.yaml»: no existe"},
		{isDir, "no se puede leer «m.yaml»: es una carpeta, no un archivo"},
		{notDir, "no se puede leer «m.yaml»: una parte de la ruta no es una carpeta"},
	} {
		got := FileError("leer", "m.yaml", c.err).Error()
		if got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
		if strings.Contains(got, "no such") || strings.Contains(got, "directory") {
			t.Errorf("English left in %q", got)
		}
	}
	if !errors.Is(FileError("leer", "x", missing), fs.ErrNotExist) {
		t.Error("the cause is lost: errors.Is(…, fs.ErrNotExist) is false")
	}
}
