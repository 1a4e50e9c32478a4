package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

const simToken = "5EEBF607-25A9-4DB2-A4DD-5D31BDAE3220"

// syncBuffer is a writer safe to read while a command writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestSimulatorServesUntilStopped: engine simulator serves SENCE's two
// endpoints with its credentials and options until the command is stopped,
// then exits 0; the token is never printed.
func TestSimulatorServesUntilStopped(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte(simToken+"\n"), 0o600)
	state := filepath.Join(dir, "state.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	e := &Env{Stdout: &stdout, Stderr: &stderr, LookupEnv: func(string) (string, bool) { return "", false }, Now: time.Now}
	done := make(chan int)
	go func() {
		done <- RunEnv(ctx, []string{"simulator", "--addr", "127.0.0.1:0", "--rut-otec", "76543210-3", "--token-file", tokenFile, "--state", state, "--reject-equal"}, e)
	}()
	var base string
	listening := regexp.MustCompile(`URL base para el motor: (http://\S+)`)
	for deadline := time.Now().Add(5 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := listening.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		t.Fatalf("the simulator did not start: %s %s", stdout.String(), stderr.String())
	}
	client, err := sence.New(sence.Config{BaseURL: base, RutOtec: "76543210-3", Token: simToken})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	course := payload.Course{CodigoOferta: "CUR-1", CodigoGrupo: "GRP-1", ListaAlumnos: []payload.Alumno{{
		RutAlumno: 12345678, DvAlumno: "5", TiempoConectividad: 60, Estado: 1, PorcentajeAvance: 40,
		FechaInicio: "2026-03-01", FechaFin: "2026-12-31", FechaEjecucion: "2026-11-20",
		ListaModulos: []payload.Modulo{{CodigoModulo: "MOD-1", TiempoConectividad: 60, Estado: 1, PorcentajeAvance: 40,
			FechaInicio: "2026-03-01", FechaFin: "2026-03-02", ListaActividades: []payload.Actividad{{CodigoActividad: "Actividad 1"}}}},
	}}}
	res, err := client.Send(ctx, course)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if a, r, _ := res.Count(); a != 1 || r != 0 {
		t.Fatalf("first send: %d accepted, %d rejected", a, r)
	}
	// --reject-equal: the same progress again is a 025.
	res, err = client.Send(ctx, course)
	if err != nil {
		t.Fatalf("second send: %v", err)
	}
	if st := res.Students["12345678-5"]; st.Code != "025" {
		t.Errorf("--reject-equal ignored: %+v", st)
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit code %d: %s", code, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the simulator did not stop")
	}
	out := stdout.String() + stderr.String()
	if strings.Contains(out, simToken) {
		t.Errorf("the token was printed:\n%s", out)
	}
	for _, s := range []string{"76543210-3", "simulador detenido", state} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	if _, err := os.Stat(state); err != nil {
		t.Errorf("state not written: %v", err)
	}
}

func TestSimulatorUsageErrors(t *testing.T) {
	dir := t.TempDir()
	lower := filepath.Join(dir, "lower")
	os.WriteFile(lower, []byte(strings.ToLower(simToken)), 0o600)
	badRoster := filepath.Join(dir, "roster.yaml")
	os.WriteFile(badRoster, []byte("cursos: []\n"), 0o600)
	cases := []struct {
		name string
		args []string
		env  string
		code int
		msg  string
	}{
		{"unknown flag", []string{"--port", "1"}, "", ExitUsage, "opción desconocida «-port»"},
		{"extra argument", []string{"extra"}, "", ExitUsage, "no se esperaban argumentos: extra"},
		{"RUT without token", []string{"--rut-otec", "76543210-3"}, "", ExitUsage, "falta el token"},
		{"token file without RUT", []string{"--token-file", lower}, "", ExitUsage, "-rut-otec"},
		{"missing token file", []string{"--rut-otec", "76543210-3", "--token-file", filepath.Join(dir, "nope")}, "", ExitUsage, "no se puede leer el archivo del token «" + filepath.Join(dir, "nope") + "»: no existe"},
		{"lower-case token", []string{"--rut-otec", "76543210-3", "--token-file", lower, "--addr", "127.0.0.1:0"}, "", ExitFailed, "minúsculas"},
		{"lower-case token from env", []string{"--rut-otec", "76543210-3", "--addr", "127.0.0.1:0"}, strings.ToLower(simToken), ExitFailed, "minúsculas"},
		{"bad roster", []string{"--roster", badRoster}, "", ExitFailed, "cursos"},
		{"address not usable", []string{"--addr", "256.0.0.1:1"}, "", ExitFailed, "no pudo escuchar"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{}
			if c.env != "" {
				env["SENCE_TOKEN"] = c.env
			}
			r := run(t, env, append([]string{"simulator"}, c.args...)...)
			out := r.stdout + r.stderr
			if r.code != c.code || !strings.Contains(out, c.msg) {
				t.Errorf("exit %d, output %q; want %d mentioning %q", r.code, out, c.code, c.msg)
			}
			if strings.Contains(strings.ToUpper(out), simToken) {
				t.Errorf("the token was printed: %s", out)
			}
		})
	}
}
