//go:build unix

package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBoundedInputFiles: the token file and the simulator's roster must be
// regular files of bounded size; /dev/zero, a FIFO and an oversized file
// are refused at once with what is wrong.
func TestBoundedInputFiles(t *testing.T) {
	dir := demoDir(t)
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(t.TempDir(), "big")
	os.WriteFile(big, bytes.Repeat([]byte("A"), 100<<10), 0o600)
	bigRoster := filepath.Join(t.TempDir(), "roster.yaml")
	os.WriteFile(bigRoster, bytes.Repeat([]byte("# roster\n"), 2<<20), 0o600)
	cases := []struct{ name, file, key, want string }{
		{"token /dev/zero", "/dev/zero", "tokenFile", "es un dispositivo"},
		{"token FIFO", fifo, "tokenFile", "es una tubería FIFO"},
		{"token too large", big, "tokenFile", "pesa 100,0 KiB y el máximo es 64,0 KiB"},
		{"roster /dev/zero", "/dev/zero", "roster", "es un dispositivo"},
		{"roster FIFO", fifo, "roster", "es una tubería FIFO"},
		{"roster too large", bigRoster, "roster", "pesa 18,0 MiB y el máximo es 16,0 MiB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			site := filepath.Join(t.TempDir(), "site.yaml")
			body := fmt.Sprintf("version: 1\nextends: %s\nsence:\n  token: \"\"\n  tokenFile: %s\n", filepath.Join(dir, "mapping.yaml"), c.file)
			if c.key == "roster" {
				body = fmt.Sprintf("version: 1\nextends: %s\nsence:\n  simulator:\n    roster: %s\n", filepath.Join(dir, "mapping.yaml"), c.file)
			}
			os.WriteFile(site, []byte(body), 0o600)
			start := time.Now()
			r := run(t, nil, "ping", site)
			if r.code == ExitOK || !strings.Contains(r.stderr, c.want) {
				t.Errorf("ping: exit %d, want %q:\n%s%s", r.code, c.want, r.stdout, r.stderr)
			}
			if c.key == "roster" {
				var out, errb bytes.Buffer
				code := Run(context.Background(), []string{"simulator", "--roster", c.file, "--addr", "127.0.0.1:0"}, &out, &errb)
				if code == ExitOK || !strings.Contains(errb.String(), c.want) {
					t.Errorf("simulator --roster: exit %d:\n%s", code, errb.String())
				}
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %s", took)
			}
		})
	}
}
