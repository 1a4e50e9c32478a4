//go:build unix

package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/crashpoint"
	"github.com/otec-tools/sence-engine/engine/ledger"
	"github.com/otec-tools/sence-engine/engine/sence"
)

// The crash tests run the real engine binary against the simulator in a
// separate process, kill the engine with SIGKILL at a chosen point of a
// send (the test-only hook SENCE_ENGINE_TEST_CRASH_AT), run it again, and
// check with the simulator's own record that every student was stored
// exactly once that night and that the ledger agrees with the simulator.

const crashToken = "5EEBF607-25A9-4DB2-A4DD-5D31BDAE3220" // the demo mapping's token

// demoCourses is how many payloads the demo sends: its course without a
// module code is an error, its look-alike course is not selected.
const demoCourses = 5

// binary is cmd/engine built once for the package's tests with some
// build tags.
type binary struct {
	tags []string
	once sync.Once
	path string
	err  error
}

var (
	// crashBinary has the crash points (-tags crashtest): the crash tests
	// and every test that runs the real binary use it.
	crashBinary = &binary{tags: []string{"-tags", "crashtest"}}
	// shippedBinary is built as a release is, without the crash points.
	shippedBinary = &binary{}
)

func (b *binary) build(t *testing.T) string {
	t.Helper()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "engine-bin-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, "engine")
		args := append(append([]string{"build"}, b.tags...), "-o", b.path, "github.com/otec-tools/sence-engine/cmd/engine")
		out, err := exec.Command("go", args...).CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// engineBinary is cmd/engine with the crash points.
func engineBinary(t *testing.T) string { return crashBinary.build(t) }

// crashSetup is one night: a simulator process, the demo database and a
// mapping pointing at the simulator.
type crashSetup struct {
	bin, mapping, simState, ledger string
}

func newCrashSetup(t *testing.T) *crashSetup { return newSetup(t, nil, "", 1) }

// newSetup starts the simulator with extra flags and writes a mapping with
// extra lines in its sence block and the given concurrency.
func newSetup(t *testing.T, simFlags []string, senceExtra string, concurrency int) *crashSetup {
	t.Helper()
	bin := engineBinary(t)
	dd := demoDir(t)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte(crashToken+"\n"), 0o600)
	s := &crashSetup{bin: bin, simState: filepath.Join(dir, "simulator.json"), ledger: filepath.Join(dir, "state", "ledger.db")}
	sim := exec.Command(bin, append([]string{"simulator", "--addr", "127.0.0.1:0", "--state", s.simState,
		"--roster", filepath.Join(dd, "roster.yaml"), "--rut-otec", "76543210-3", "--token-file", tokenFile}, simFlags...)...)
	out, err := sim.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	sim.Stderr = nil // its log is noise here; the state file is what the test reads
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sim.Process.Signal(syscall.SIGTERM)
		sim.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	url := regexp.MustCompile(`http://127\.0\.0\.1:\d+`).FindString(line)
	if err != nil || url == "" {
		t.Fatalf("simulator did not start: %q %v", line, err)
	}
	go func() { bufio.NewReader(out).WriteTo(&bytes.Buffer{}) }()
	// With one course in flight, a crash leaves at most one request whose
	// fate the test must wait for.
	s.mapping = filepath.Join(dir, "otec.yaml")
	os.WriteFile(s.mapping, []byte("version: 1\nextends: "+filepath.Join(dd, "mapping.yaml")+
		"\nsence:\n  simulator: null\n  baseUrl: "+url+"\n"+senceExtra+"run:\n  ledger: state/ledger.db\n  concurrency: "+fmt.Sprint(concurrency)+"\n"), 0o600)
	return s
}

// run runs the engine binary; crashAt arms the hook ("" for none).
func (s *crashSetup) run(t *testing.T, crashAt string) (code int, killed bool, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(s.bin, "run", s.mapping, "--date", "2026-11-20", "--ignore-window", "--log-format", "json")
	cmd.Env = append(os.Environ(), "SENCE_TOKEN="+crashToken)
	if crashAt != "" {
		cmd.Env = append(cmd.Env, crashpoint.Env+"="+crashAt)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if err != nil && !ws.Signaled() && cmd.ProcessState.ExitCode() < 0 {
		t.Fatalf("engine run: %v\n%s", err, errb.String())
	}
	return cmd.ProcessState.ExitCode(), ws.Signaled() && ws.Signal() == syscall.SIGKILL, out.String(), errb.String()
}

// crash runs the engine until the hook kills it, then waits until the
// simulator has processed the request the dead process had written.
func (s *crashSetup) crash(t *testing.T, crashAt string) {
	t.Helper()
	_, killed, stdout, stderr := s.run(t, crashAt)
	point, _, _ := strings.Cut(crashAt, ":")
	if !killed || !strings.Contains(stderr, "el proceso se detiene en "+crashAt) {
		t.Fatalf("%s: the engine was not killed at its crash point\n%s\n%s", crashAt, stdout, stderr)
	}
	if point != crashpoint.AfterRequest {
		return
	}
	ctx := context.Background()
	l, err := ledger.Open(ctx, s.ledger)
	if err != nil {
		t.Fatal(err)
	}
	pend, _ := l.PendingSends(ctx)
	l.Close()
	if len(pend) == 0 {
		t.Fatalf("%s: nothing pending after the crash", crashAt)
	}
	last := pend[len(pend)-1].CodigoEnvio
	deadline := time.Now().Add(20 * time.Second)
	for !slicesContainsCode(simProcesses(t, s.simState), last) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: the simulator never stored %s", crashAt, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func slicesContainsCode(procs []sence.Process, code string) bool {
	for _, p := range procs {
		if p.CodigoExterno == code {
			return true
		}
	}
	return false
}

// finish runs to the end and checks everything.
func (s *crashSetup) finish(t *testing.T) {
	t.Helper()
	code, killed, stdout, stderr := s.run(t, "")
	if killed || code != ExitProblems { // the demo has rejected and excluded students
		t.Fatalf("final run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	s.check(t)
	// One more run the same night sends nothing.
	before := len(simProcesses(t, s.simState))
	if code, _, stdout, _ := s.run(t, ""); code != ExitProblems || strings.Count(stdout, ": ya-enviado") != 5 {
		t.Fatalf("rerun: exit %d\n%s", code, stdout)
	}
	if after := len(simProcesses(t, s.simState)); after != before {
		t.Fatalf("a rerun sent %d more courses", after-before)
	}
}

// check proves, from the simulator's state file, that each student of each
// course was stored exactly once, that no codigoEnvio was processed twice,
// and that the ledger has every send, with the same process, and the same
// values the simulator holds.
func (s *crashSetup) check(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	b, err := os.ReadFile(s.simState)
	if err != nil {
		t.Fatal(err)
	}
	var sim struct {
		Processes []sence.Process `json:"processes"`
		Progress  map[string]int  `json:"progress"`
	}
	if err := jsonUnmarshal(b, &sim); err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(ctx, s.ledger)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sends, _ := l.Sends(ctx)

	byCode := map[string]sence.Process{}
	stored := map[string]int{} // oferta|rut -> processes that stored the student
	for _, p := range sim.Processes {
		if _, dup := byCode[p.CodigoExterno]; dup {
			t.Errorf("codigoEnvio %s processed twice by SENCE", p.CodigoExterno)
		}
		byCode[p.CodigoExterno] = p
		seen := map[string]bool{}
		for _, r := range p.Registros {
			if k := r.OfertaCod + "|" + r.StudentRUT(); r.OK() && !seen[k] {
				seen[k] = true
				stored[k]++
			}
		}
	}
	for k, n := range stored {
		if n != 1 {
			t.Errorf("student %s stored %d times in one night", k, n)
		}
	}
	if len(stored) != 89 {
		t.Errorf("%d students stored, want the demo's 89", len(stored))
	}
	answered := map[string]bool{}
	for _, snd := range sends {
		p, ok := byCode[snd.CodigoEnvio]
		switch {
		case snd.Status == ledger.SendPending:
			t.Errorf("%s still pending", snd.CodigoEnvio)
		case ledger.Answered(snd.Status) && (!ok || p.IDProceso != snd.IDProceso):
			t.Errorf("ledger says %s is process %s, the simulator has %+v", snd.CodigoEnvio, snd.IDProceso, p.IDProceso)
		case snd.Status == ledger.SendFailed && ok:
			t.Errorf("ledger says %s failed, but SENCE processed it", snd.CodigoEnvio)
		}
		if ledger.Answered(snd.Status) {
			answered[snd.CodigoOferta] = true
		}
		if strings.Contains(string(snd.Request), crashToken) {
			t.Errorf("the token is stored in the ledger (%s)", snd.CodigoEnvio)
		}
	}
	if len(answered) != 5 || len(byCode) != len(answered) {
		t.Errorf("courses answered: ledger %d, simulator %d processes; want 5 and 5", len(answered), len(byCode))
	}
	// What the ledger believes SENCE has is what SENCE has.
	for key, v := range sim.Progress {
		parts := strings.Split(key, "|") // oferta|grupo|student|module
		acc, _ := l.AcceptedOf(ctx, parts[0], parts[1])
		a := acc[parts[2]]
		if a == nil || a.Modules[parts[3]].PorcentajeAvance != v {
			t.Errorf("%s: simulator %d, ledger %+v", key, v, a)
		}
	}
}

// TestCrashHookNotShipped: the engine built as a release is (go build,
// no tag) ignores the crash variable: the run armed to die before its
// first send sends every course once, as a run without it does.
func TestCrashHookNotShipped(t *testing.T) {
	s := newCrashSetup(t)
	s.bin = shippedBinary.build(t)
	code, killed, stdout, stderr := s.run(t, crashpoint.BeforeSend+":1")
	if killed || code != ExitProblems || strings.Contains(stderr, "el proceso se detiene") {
		t.Fatalf("the shipped binary obeyed %s: exit %d, killed %v\n%s\n%s", crashpoint.Env, code, killed, stdout, stderr)
	}
	s.check(t)
}

func TestCrashAndResume(t *testing.T) {
	for _, at := range []string{
		crashpoint.BeforeSend + ":1",
		crashpoint.AfterRequest + ":2",
		crashpoint.AfterResponse + ":3",
		crashpoint.BeforeRecord + ":4",
	} {
		t.Run(at, func(t *testing.T) {
			s := newCrashSetup(t)
			s.crash(t, at)
			s.finish(t)
		})
	}
	// Crash after crash the same night, each resuming the one before: the
	// before-record crash of the fourth run hits while it records a send
	// it found in the history.
	t.Run("chain", func(t *testing.T) {
		s := newCrashSetup(t)
		for _, at := range []string{"before-send:2", "after-request:1", "after-response:1", "before-record:1"} {
			s.crash(t, at)
		}
		s.finish(t)
	})
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// A slow SENCE, as the simulator process plays it: every send takes 2 s to
// process (longer than the engine's 1 s timeout) and shows in the history
// 2 s after it is stored. The engine waits up to its settle time (8 s)
// for the history instead of sending again.
var (
	slowFlags = []string{"--processing", "2s", "--history-lag", "2s"}
	slowSence = "  timeout: 1s\n  settle: 8s\n"
)

// TestSlowSENCE: every course's answer comes after the engine's timeout;
// each is accepted exactly once that night, counted from the simulator's
// own record, and a rerun sends nothing.
func TestSlowSENCE(t *testing.T) {
	s := newSetup(t, slowFlags, slowSence, 4)
	s.finish(t)
}

// TestSlowSENCEKilledAndRestarted: the engine is killed (SIGKILL) after a
// send timed out and before the history resolved it, and restarted at
// once while SENCE still processes the killed run's sends: the restart
// waits for the history and sends nothing twice.
func TestSlowSENCEKilledAndRestarted(t *testing.T) {
	s := newSetup(t, slowFlags, slowSence, 4)
	cmd := exec.Command(s.bin, "run", s.mapping, "--date", "2026-11-20", "--ignore-window", "--log-format", "json")
	cmd.Env = append(os.Environ(), "SENCE_TOKEN="+crashToken)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timedOut := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		// The first look-up in the history of a send that timed out
		// (each failed attempt is logged only at debug level).
		if strings.Contains(sc.Text(), "consulta del historial de SENCE por un envío sin respuesta") {
			timedOut = true
			cmd.Process.Signal(syscall.SIGKILL)
			break
		}
	}
	go io.Copy(io.Discard, stderr)
	cmd.Wait()
	if !timedOut {
		t.Fatal("the engine never timed out on the slow simulator")
	}
	if _, err := os.Stat(s.simState); err == nil && len(simProcesses(t, s.simState)) == demoCourses {
		t.Fatalf("the simulator had every course already when the engine was killed: the restart proves nothing")
	}
	ctx := context.Background()
	l, err := ledger.Open(ctx, s.ledger)
	if err != nil {
		t.Fatal(err)
	}
	pend, _ := l.PendingSends(ctx)
	l.Close()
	if len(pend) == 0 || pend[0].PostedAt.IsZero() {
		t.Fatalf("nothing posted and pending after the kill: %+v", pend)
	}
	// The restart finds the killed run's sends before SENCE shows them.
	code, _, stdout, stderrText := s.run(t, "")
	if code != ExitProblems || !strings.Contains(stdout, "SENCE ya lo tenía") {
		t.Fatalf("restart: exit %d\n%s\n%s", code, stdout, stderrText)
	}
	s.check(t)
	if code, _, stdout, _ := s.run(t, ""); code != ExitProblems || strings.Count(stdout, ": ya-enviado") != demoCourses {
		t.Fatalf("rerun: exit %d\n%s", code, stdout)
	}
	if n := len(simProcesses(t, s.simState)); n != demoCourses {
		t.Fatalf("the simulator processed %d sends; want one per course", n)
	}
}
