package simulator_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/sence/simulator"
)

func TestLoadRoster(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	yamlRoster := write("roster.yaml", `courses:
  - codigoOferta: CAP-15-01-13-0446
    codigoGrupo: CAP-15-01-13-0446
    students: ["9.445.435-2", "10312870-6", "10176851-1"]
    modules: [C46982-O565656565-M1]
`)
	jsonRoster := write("roster.json", `{"courses":[{"codigoOferta":"CUR-1","codigoGrupo":"GRP-1","students":["17118181-k"],"modules":["MOD-1"]}]}`)
	for path, want := range map[string]simulator.RosterCourse{
		yamlRoster: {CodigoOferta: "CAP-15-01-13-0446", CodigoGrupo: "CAP-15-01-13-0446", Students: []string{"9.445.435-2", "10312870-6", "10176851-1"}, Modules: []string{"C46982-O565656565-M1"}},
		jsonRoster: {CodigoOferta: "CUR-1", CodigoGrupo: "GRP-1", Students: []string{"17118181-k"}, Modules: []string{"MOD-1"}},
	} {
		r, err := simulator.LoadRoster(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(r.Courses) != 1 || r.Courses[0].CodigoOferta != want.CodigoOferta || len(r.Courses[0].Students) != len(want.Students) ||
			r.Courses[0].Modules[0] != want.Modules[0] {
			t.Errorf("%s: %+v", path, r)
		}
	}
	for name, c := range map[string]struct{ file, body, msg string }{
		"unknown YAML key":   {"a.yaml", "courses:\n  - codigoOferta: A\n    codigoGrupo: A\n    alumnos: []\n", "alumnos"},
		"unknown JSON key":   {"b.json", `{"cursos":[]}`, "cursos"},
		"invalid RUT":        {"c.yaml", "courses:\n  - {codigoOferta: A, codigoGrupo: A, students: [11111111-5]}\n", "11111111-5"},
		"missing group":      {"d.yaml", "courses:\n  - {codigoOferta: A, students: []}\n", "codigoGrupo"},
		"duplicated course":  {"e.yaml", "courses:\n  - {codigoOferta: A, codigoGrupo: A}\n  - {codigoOferta: A, codigoGrupo: A}\n", "repetido"},
		"not a roster":       {"f.json", `[1,2]`, "nómina"},
		"file does not open": {"", "", "no se pudo leer"},
	} {
		path := filepath.Join(dir, "missing.yaml")
		if c.file != "" {
			path = write(c.file, c.body)
		}
		_, err := simulator.LoadRoster(path)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v; want an error mentioning %q", name, err, c.msg)
		}
	}
}

// syncBuffer is a writer safe to read while Run writes to it.
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

func TestRunServesUntilCancelled(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte(token+"\n"), 0o600)
	state := filepath.Join(dir, "state.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- simulator.Run(ctx, []string{"--addr", "127.0.0.1:0", "--rut-otec", rutOtec, "--token-file", tokenFile, "--state", state, "--reject-equal"}, &stdout, &stderr)
	}()
	var base string
	listening := regexp.MustCompile(`escuchando en (http://\S+)`)
	for deadline := time.Now().Add(5 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := listening.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		t.Fatalf("the simulator did not start: %s %s", stdout.String(), stderr.String())
	}
	c := validCourse(alumno(12345678, "5", 40))
	if a := post(t, base+simulator.BasePath, c); a.status != http.StatusOK || len(errorsOf(a)) != 0 {
		t.Fatalf("send: %d %s", a.status, a.raw)
	}
	// --reject-equal is on: the same value again is a 025.
	if a := post(t, base, c); len(errorsOf(a)) != 1 || errorsOf(a)[0]["codigo"] != "025" {
		t.Errorf("--reject-equal ignored: %s", a.raw)
	}
	if body := history(t, base, authQuery()); !bytes.Contains(body, []byte(`"id_proceso_externo":"2"`)) {
		t.Errorf("history: %s", body)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d: %s", code, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
	out := stdout.String() + stderr.String()
	if strings.Contains(out, token) {
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

func TestRunUsageErrors(t *testing.T) {
	dir := t.TempDir()
	lower := filepath.Join(dir, "lower")
	os.WriteFile(lower, []byte(strings.ToLower(token)), 0o600)
	badRoster := filepath.Join(dir, "roster.yaml")
	os.WriteFile(badRoster, []byte("cursos: []\n"), 0o600)
	cases := []struct {
		name string
		args []string
		env  string
		code int
		msg  string
	}{
		{"unknown flag", []string{"--port", "1"}, "", 2, "port"},
		{"extra argument", []string{"extra"}, "", 2, "argumentos de más"},
		{"RUT without token", []string{"--rut-otec", rutOtec}, "", 2, "falta el token"},
		{"token file without RUT", []string{"--token-file", lower}, "", 2, "--rut-otec"},
		{"missing token file", []string{"--rut-otec", rutOtec, "--token-file", filepath.Join(dir, "nope")}, "", 2, "token"},
		{"lower-case token", []string{"--rut-otec", rutOtec, "--token-file", lower, "--addr", "127.0.0.1:0"}, "", 1, "minúsculas"},
		{"lower-case token from env", []string{"--rut-otec", rutOtec, "--addr", "127.0.0.1:0"}, strings.ToLower(token), 1, "minúsculas"},
		{"bad roster", []string{"--roster", badRoster}, "", 1, "cursos"},
		{"address in use", []string{"--addr", "256.0.0.1:1"}, "", 1, "no pudo escuchar"},
		{"help", []string{"-h"}, "", 0, "uso: engine simulator"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("SENCE_TOKEN", c.env)
			var stdout, stderr syncBuffer
			code := simulator.Run(context.Background(), c.args, &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if code != c.code || !strings.Contains(out, c.msg) {
				t.Errorf("exit %d, output %q; want %d mentioning %q", code, out, c.code, c.msg)
			}
			if strings.Contains(strings.ToUpper(out), token) {
				t.Errorf("the token was printed: %s", out)
			}
		})
	}
}
