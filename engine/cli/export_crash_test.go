//go:build unix

package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/pipeline"
)

// TestExportCrash: the real binary killed with SIGKILL while export --out
// writes over an earlier export leaves the folder holding one whole export
// (the earlier or the new), never a mix, and leaves beside it only hidden
// temporaries that nobody else can read and that send --from refuses; the
// next export removes them. The kills land where it matters: as soon as
// the temporary folder appears, a little later while course files are
// written, and while the earlier export steps aside.
func TestExportCrash(t *testing.T) {
	bin := engineBinary(t)
	dd := demoDir(t)
	m := filepath.Join(dd, "mapping.yaml")
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	courses := []string{"AYSEN-26-03-11-0102", "CAP-26-01-13-0101-1"} // the first exports with exit 0: no student excluded
	export := func(course string) *exec.Cmd {
		return exec.Command(bin, "export", m, "--date", "2026-11-20", "--out", out, "--course", course)
	}
	if b, err := export(courses[0]).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	leftovers, caughtTemp := 0, 0
	for i := range 18 {
		cmd := export(courses[(i+1)%2])
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait for the phase to kill in, watching the folder's siblings.
		phase := i % 3
		wantPrefix := ".out.export-"
		if phase == 2 {
			wantPrefix = ".out.old-"
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		deadline := time.Now().Add(20 * time.Second)
	watch:
		for time.Now().Before(deadline) {
			ents, _ := os.ReadDir(parent)
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), wantPrefix) {
					break watch
				}
			}
			select {
			case <-exited:
				break watch
			default:
			}
		}
		if phase == 1 {
			time.Sleep(time.Duration(i) * 300 * time.Microsecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited

		// The folder holds one whole export of one course, or the
		// earlier one; never both courses, never a course without its
		// resumen.json.
		if _, err := os.Stat(out); err == nil {
			got, err := pipeline.ReadExport(out, nil)
			if err != nil {
				t.Fatalf("kill %d: send --from refuses the export folder: %v", i, err)
			}
			if len(got) != 1 {
				t.Fatalf("kill %d: the export folder holds %d courses", i, len(got))
			}
		}
		ents, _ := os.ReadDir(parent)
		for _, e := range ents {
			if e.Name() == "out" {
				continue
			}
			leftovers++
			if strings.HasPrefix(e.Name(), ".out.export-") {
				caughtTemp++
			}
			p := filepath.Join(parent, e.Name())
			if !pipeline.IsExportTemporary(p) {
				t.Fatalf("kill %d: unexpected %s beside the export", i, e.Name())
			}
			filepath.Walk(p, func(path string, info os.FileInfo, err error) error {
				if err == nil && info.Mode().Perm()&0o077 != 0 {
					t.Errorf("kill %d: %s has mode %v: others can read it", i, path, info.Mode().Perm())
				}
				return nil
			})
			if _, err := pipeline.ReadExport(p, nil); err == nil {
				t.Errorf("kill %d: send --from accepts the temporary %s", i, e.Name())
			}
		}
	}
	t.Logf("%d kills, %d temporaries left (%d while writing)", 18, leftovers, caughtTemp)
	if caughtTemp == 0 {
		t.Fatal("no kill landed while the export was written: the test tested nothing")
	}
	// send --from, the real command, refuses a temporary too.
	os.Mkdir(filepath.Join(parent, ".out.export-x"), 0o700)
	cmd := exec.Command(bin, "send", m, "--from", filepath.Join(parent, ".out.export-x"))
	if b, _ := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() != ExitFailed || !strings.Contains(string(b), "resto temporal") {
		t.Errorf("send --from a temporary: exit %d\n%s", cmd.ProcessState.ExitCode(), b)
	}
	// The next export cleans up.
	if b, err := export(courses[0]).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if got := dirNames(t, parent); !slices.Equal(got, []string{"out"}) {
		t.Errorf("after the next export: %v", got)
	}
}
