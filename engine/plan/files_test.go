package plan_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/plan"
)

// TestCheckFiles: validate checks the files a mapping names where the
// mapping names them, and never prints the token it reads.
func TestCheckFiles(t *testing.T) {
	const token = "5EEBF607-25A9-4DB2-A4DD-5D31BDAE3220"
	dir := t.TempDir()
	file := func(name, body string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(dir, name), mode)
	}
	file("good.token", token+"\n", 0o600)
	file("open.token", token, 0o644)
	file("lower.token", strings.ToLower(token), 0o600)
	file("short.token", "5EEBF607", 0o600)
	file("empty.token", "\n", 0o600)
	file("huge.token", strings.Repeat("A", 70000), 0o600)
	file("roster.yaml", "courses: []\n", 0o600)
	file("afile", "", 0o600)
	os.Mkdir(filepath.Join(dir, "adir"), 0o700)
	for _, c := range []struct {
		name, yaml string
		want       string // "" for none; "aviso: …" for a warning
	}{
		{"good token file", "sence:\n  tokenFile: good.token\n", ""},
		{"token file readable by others", "sence:\n  tokenFile: open.token\n", "x.yaml:3:14: aviso: sence.tokenFile: otros usuarios pueden leer"},
		{"lower-case token", "sence:\n  tokenFile: lower.token\n", "x.yaml:3:14: error: sence.tokenFile: «" + dir + "/lower.token»: el token de SENCE está en minúsculas"},
		{"not a token", "sence:\n  tokenFile: short.token\n", "x.yaml:3:14: error: sence.tokenFile: «" + dir + "/short.token»: el token de SENCE no tiene el formato"},
		{"empty token file", "sence:\n  tokenFile: empty.token\n", "está vacío: escriba en él el token de SENCE"},
		{"huge token file", "sence:\n  tokenFile: huge.token\n", "el archivo es demasiado grande: pesa 68,4 KiB y el máximo es 64,0 KiB"},
		{"missing token file", "sence:\n  tokenFile: none.token\n", "x.yaml:3:14: error: sence.tokenFile: no se puede leer «" + dir + "/none.token»: no existe"},
		{"token file is a folder", "sence:\n  tokenFile: adir\n", "no se puede leer «" + dir + "/adir»: no es un archivo común (es una carpeta): indique un archivo"},
		{"absolute token file", "sence:\n  tokenFile: " + dir + "/good.token\n", ""},
		{"roster", "sence:\n  simulator:\n    roster: roster.yaml\n", ""},
		{"missing roster", "sence:\n  simulator:\n    roster: nomina.yaml\n", "x.yaml:4:13: error: sence.simulator.roster: no se puede leer «" + dir + "/nomina.yaml»: no existe"},
		{"ledger in a new folder", "run:\n  ledger: state/deep/ledger.db\n", ""},
		{"ledger under a file", "run:\n  ledger: afile/ledger.db\n", "x.yaml:3:11: error: run.ledger: no se puede abrir «" + dir + "/afile/ledger.db»: una parte de la ruta no es una carpeta"},
		{"ledger is a folder", "run:\n  ledger: adir\n", "x.yaml:3:11: error: run.ledger: «" + dir + "/adir» no es un archivo común"},
		{"default ledger", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, ds := mapping.Load(writeSite(t, dir, "version: 1\n"+c.yaml), mapping.Options{LookupEnv: env(nil)})
			if ds.HasErrors() {
				t.Fatal(ds.Error())
			}
			got := plan.CheckFiles(m)
			for i := range got {
				got[i].File = filepath.Base(got[i].File)
			}
			text := got.Error()
			if strings.Contains(text, token) || strings.Contains(strings.ToLower(text), strings.ToLower(token)) {
				t.Fatalf("the token leaked: %s", text)
			}
			if c.want == "" {
				if len(got) > 0 {
					t.Errorf("unexpected: %s", text)
				}
				return
			}
			if len(got) != 1 || !strings.Contains(text, c.want) {
				t.Errorf("got:\n%s\nwant one diagnostic with %q", text, c.want)
			}
		})
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, ".engine-validate-*")); len(entries) > 0 {
		t.Errorf("probe files left behind: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(dir, "state")); err == nil {
		t.Error("validate created the ledger's folder")
	}
}

// TestCheckFilesUnwritableLedger: a folder the run cannot write is found
// before the night (as a user other than root: root writes anywhere).
func TestCheckFilesUnwritableLedger(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("needs file permissions that bind the user")
	}
	dir := t.TempDir()
	ro := filepath.Join(dir, "ro")
	os.Mkdir(ro, 0o500)
	t.Cleanup(func() { os.Chmod(ro, 0o700) })
	m, ds := mapping.Load(writeSite(t, dir, "version: 1\nrun:\n  ledger: ro/sub/ledger.db\n"), mapping.Options{LookupEnv: env(nil)})
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	got := plan.CheckFiles(m)
	if len(got) != 1 || got[0].Severity != diag.Error || !strings.Contains(got[0].Msg, "permiso denegado") {
		t.Errorf("got %s", got.Error())
	}
}

func writeSite(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "x.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestScheduleOutsideWindow: a schedule that starts runs when SENCE's
// window is closed is said where it is written.
func TestScheduleOutsideWindow(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"run:\n  schedule: \"0 22 * * *\"\n", ""},
		{"run:\n  schedule: \"30 23 * * 1-5\"\n", ""},
		{"run:\n  schedule: \"0 8 * * *\"\n", "x.yaml:3:13: aviso: run.schedule inicia ejecuciones a las 08:00, fuera de la ventana de envío de SENCE (22:00 a 00:00, hora de Chile)"},
		{"run:\n  schedule: \"0 21,22 * * *\"\n", "a las 21:00, fuera de la ventana"},
		{"sence:\n  window: {start: \"06:00\", end: \"09:00\"}\nrun:\n  schedule: \"0 8 * * *\"\n", ""},
		{"sence:\n  window: {start: \"23:00\", end: \"01:00\"}\nrun:\n  schedule: \"30 0 * * *\"\n", ""},
	} {
		m, ds := mapping.LoadBytes("x.yaml", []byte("version: 1\n"+c.yaml), mapping.Options{LookupEnv: env(nil)})
		if ds.HasErrors() {
			t.Fatal(ds.Error())
		}
		_, cds := plan.Compile(m)
		var got diag.List
		for _, d := range cds {
			if strings.Contains(d.Msg, "run.schedule") {
				got = append(got, d)
			}
		}
		if c.want == "" && len(got) > 0 || c.want != "" && (len(got) != 1 || !strings.Contains(got.Error(), c.want)) {
			t.Errorf("%q: got %s; want %q", c.yaml, got.Error(), c.want)
		}
	}
}
