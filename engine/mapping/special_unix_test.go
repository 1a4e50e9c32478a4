//go:build unix

package mapping_test

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/mapping"
)

// TestExtendsSpecialFiles: extends naming /dev/zero (endless) or a FIFO
// (blocks until someone writes) is refused at once.
func TestExtendsSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]string{"/dev/zero": "es un dispositivo", fifo: "es una tubería FIFO"} {
		site := write(t, dir, "site.yaml", "version: 1\nextends: "+target+"\n")
		done := make(chan string, 1)
		go func() {
			_, ds := mapping.Load(site, mapping.Options{LookupEnv: noEnv})
			done <- ds.Error()
		}()
		select {
		case msg := <-done:
			if !strings.Contains(msg, site+":2:10: error: no se puede leer el archivo de mapeo") || !strings.Contains(msg, want) {
				t.Errorf("extends %s: %s", target, msg)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("extends %s: Load blocked", target)
		}
		// The mapping itself, too.
		if _, ds := mapping.Load(target, mapping.Options{LookupEnv: noEnv}); !strings.Contains(ds.Error(), want) {
			t.Errorf("mapping %s: %s", target, ds.Error())
		}
	}
}
