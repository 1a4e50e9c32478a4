//go:build unix

package cli

import (
	"bytes"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// engineProc is the engine binary started in the background.
type engineProc struct {
	cmd         *exec.Cmd
	out, errb   bytes.Buffer
	done        chan struct{}
	code        int
	signaled    bool
	stoppedWhen time.Time
}

func startEngine(t *testing.T, args ...string) *engineProc {
	t.Helper()
	p := &engineProc{cmd: exec.Command(engineBinary(t), args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.errb
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		p.stoppedWhen = time.Now()
		ws, _ := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
		p.code, p.signaled = p.cmd.ProcessState.ExitCode(), ws.Signaled()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// stopWith sends sig and waits up to limit for the engine to exit.
func (p *engineProc) stopWith(t *testing.T, sig syscall.Signal, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return p.stoppedWhen.Sub(start)
	case <-time.After(limit):
		t.Fatalf("%v: still running after %s\n%s%s", sig, limit, p.out.String(), p.errb.String())
	}
	return 0
}

func (p *engineProc) running(d time.Duration) bool {
	select {
	case <-p.done:
		return false
	case <-time.After(d):
		return true
	}
}

// TestSignalsStopEveryCommand: SIGTERM and Ctrl-C (SIGINT) stop the real
// binary promptly with exit code 3 (the work is incomplete) whatever it is
// doing: compiling a large mapping (validate used to ignore SIGTERM),
// waiting on a slow query, waiting on SENCE. The simulator exits 0: a
// signal is how it is stopped. A send in flight is finished first; a
// second signal stops even that.
func TestSignalsStopEveryCommand(t *testing.T) {
	dd := demoDir(t)
	work := t.TempDir()
	mapping := filepath.Join(dd, "mapping.yaml")

	// A mapping under the size limit that takes seconds to compile: tens
	// of thousands of course vars (params would be errors: the preset
	// declares its parameters).
	var big strings.Builder
	fmt.Fprintf(&big, "version: 1\nextends: %s\ncourses:\n  vars:\n", mapping)
	for i := 0; big.Len() < 900<<10; i++ {
		fmt.Fprintf(&big, "    v%d: %d\n", i, i)
	}
	bigMapping := filepath.Join(work, "big.yaml")
	os.WriteFile(bigMapping, []byte(big.String()), 0o600)

	// A query that never ends, under the default time limit.
	slow := filepath.Join(work, "slow.yaml")
	os.WriteFile(slow, []byte(fmt.Sprintf("version: 1\nextends: %s\nqueries:\n  courses:\n    sql: |\n      %s\n", mapping,
		fmt.Sprintf(coursesSQL, ",\n             (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT MAX(i) FROM n) AS slow", ""))), 0o600)

	// A SENCE that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	silent := filepath.Join(work, "silent.yaml")
	os.WriteFile(silent, []byte(fmt.Sprintf("version: 1\nextends: %s\nsence:\n  simulator: null\n  baseUrl: http://%s\n", mapping, ln.Addr())), 0o600)

	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		for _, c := range []struct {
			name string
			args []string
			want string
		}{
			{"validate compiling", []string{"validate", bigMapping}, ""},
			{"export on a slow query", []string{"export", slow, "--date", "2026-11-20", "--out", filepath.Join(work, "out")}, "export se interrumpió"},
			{"ping waiting on SENCE", []string{"ping", silent}, "ping se interrumpió"},
		} {
			t.Run(fmt.Sprintf("%s/%v", c.name, sig), func(t *testing.T) {
				p := startEngine(t, c.args...)
				if !p.running(700 * time.Millisecond) {
					t.Fatalf("ended before the signal: exit %d\n%s%s", p.code, p.out.String(), p.errb.String())
				}
				took := p.stopWith(t, sig, 5*time.Second)
				if p.code != ExitFailed || p.signaled {
					t.Errorf("exit %d (signaled %v), want %d\n%s", p.code, p.signaled, ExitFailed, p.errb.String())
				}
				if took > 3*time.Second {
					t.Errorf("stopped after %s", took)
				}
				if !strings.Contains(p.errb.String(), c.want) || !strings.Contains(p.errb.String(), signalName(sig)) || strings.Contains(p.errb.String(), "goroutine") {
					t.Errorf("stderr lacks %q:\n%s", c.want, p.errb.String())
				}
			})
		}
	}
	if ents, _ := os.ReadDir(work); slices.ContainsFunc(ents, func(e fs.DirEntry) bool { return strings.HasPrefix(e.Name(), ".out.") || e.Name() == "out" }) {
		t.Errorf("an interrupted export left files: %v", ents)
	}

	t.Run("simulator", func(t *testing.T) {
		p := startEngine(t, "simulator", "--addr", "127.0.0.1:0")
		if !p.running(500 * time.Millisecond) {
			t.Fatalf("ended: %s", p.errb.String())
		}
		p.stopWith(t, syscall.SIGTERM, 8*time.Second)
		if p.code != ExitOK {
			t.Errorf("exit %d\n%s", p.code, p.errb.String())
		}
	})

	t.Run("send in flight, then a second signal", func(t *testing.T) {
		p := startEngine(t, "send", silent, "--date", "2026-11-20", "--ignore-window")
		if !p.running(1500 * time.Millisecond) {
			t.Fatalf("ended: %s%s", p.out.String(), p.errb.String())
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		if !p.running(1500 * time.Millisecond) {
			t.Fatalf("the first signal did not let the send in flight finish: exit %d\n%s", p.code, p.errb.String())
		}
		p.stopWith(t, syscall.SIGTERM, 3*time.Second)
		if p.code != ExitFailed || !strings.Contains(p.errb.String(), "SIGTERM otra vez") {
			t.Errorf("exit %d\n%s", p.code, p.errb.String())
		}
	})
}
