package cli

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/simulator"
)

// TestRunAgainstDeadSENCE: against a SENCE that refuses connections,
// answers 503 to everything or closes every connection without an
// answer, a run makes a bounded number of requests, stops starting
// courses, leaves them for the next run and exits 3, with one line that
// says since when SENCE does not answer: in the report, and in the log
// instead of a warning per attempt.
func TestRunAgainstDeadSENCE(t *testing.T) {
	var requests atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + simulator.BasePath
	ln.Close()
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		io.Copy(io.Discard, r.Body)
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
	}))
	defer busy.Close()
	closing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		io.Copy(io.Discard, r.Body)
		panic(http.ErrAbortHandler)
	}))
	closing.Config.ErrorLog = log.New(io.Discard, "", 0)
	defer closing.Close()

	for _, c := range []struct {
		name, url string
		// the status of the courses tried, and how many were tried: the
		// attempts of two courses, or of one whose POST may have reached
		// SENCE and whose look-ups in the history use up the rest
		undone string
		tried  int
	}{
		{"refused", refused, ": pendiente, codigoEnvio", 2},
		{"503", busy.URL + simulator.BasePath, ": pendiente, codigoEnvio", 2},
		// Its POST may have reached SENCE: never sent again blindly.
		{"closes", closing.URL + simulator.BasePath, ": sin-confirmar, codigoEnvio", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			requests.Store(0)
			mapping := realMapping(t, c.url)
			// One course at a time: the first ones use up the attempts.
			b, _ := os.ReadFile(mapping)
			os.WriteFile(mapping, append(b, "  concurrency: 1\n"...), 0o600)
			ctx := context.Background()
			r := runCmdEnv(ctx, newClock(22, 30), noWait, "run", mapping, "--date", "2026-11-20")
			if r.code != ExitFailed {
				t.Fatalf("exit %d, want %d\n%s", r.code, ExitFailed, r.stdout)
			}
			if n := requests.Load(); n > sence.DefaultDownAfter {
				t.Errorf("%d requests reached SENCE, want at most %d", n, sence.DefaultDownAfter)
			}
			notStarted := 5 - c.tried // of the demo's five sendable courses
			summary := "ATENCIÓN: SENCE no responde desde las 22:30:00 (hora de Chile, UTC-3): 8 intentos seguidos fallaron"
			if strings.Count(r.stdout, summary) != 1 || !strings.Contains(r.stdout, fmt.Sprintf("y %d cursos no se empezaron. Lo que no se envió queda para la próxima ejecución", notStarted)) {
				t.Errorf("report lacks the one summary line:\n%s", r.stdout)
			}
			if n := strings.Count(r.stdout, ": no-enviado\n"); n != notStarted {
				t.Errorf("%d courses not started, want %d", n, notStarted)
			}
			if n := strings.Count(r.stdout, c.undone); n != c.tried {
				t.Errorf("%d courses %q, want %d:\n%s", n, c.undone, c.tried, r.stdout)
			}
			if strings.Contains(r.stdout, "): aceptado") || !strings.Contains(r.stdout, "0 enviados") {
				t.Errorf("a course accepted by a dead SENCE:\n%s", r.stdout)
			}
			// The log: one error says SENCE does not answer, since when;
			// no warning per attempt, no line per course not started.
			if n := strings.Count(r.stderr, "level=ERROR"); n != 1 || !strings.Contains(r.stderr, `level=ERROR msg="SENCE no responde: la ejecución no intenta más" desde=2026-11-20T22:30:00-03:00 intentos=8`) {
				t.Errorf("%d error lines, want the one summary:\n%s", n, r.stderr)
			}
			if strings.Contains(r.stderr, "level=WARN") || strings.Contains(r.stderr, "falló un intento") || strings.Contains(r.stderr, "falló una consulta") {
				t.Errorf("a log line per attempt:\n%s", r.stderr)
			}
			if n := strings.Count(r.stderr, "curso terminado"); n != c.tried+1 {
				t.Errorf("%d «curso terminado» lines, want %d (those tried, and one with a course error)", n, c.tried+1)
			}
			// engine status lists the courses left for the next run.
			st := runCmd(ctx, newClock(22, 40), "status", mapping)
			if st.code != ExitProblems || strings.Count(st.stdout, ": no-enviado\n") != notStarted {
				t.Errorf("status: exit %d\n%s", st.code, st.stdout)
			}
		})
	}
}
