package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHelpEveryCommand: -h prints the usage once, on stdout, in Spanish,
// and exits 0, for every command.
func TestHelpEveryCommand(t *testing.T) {
	for _, c := range commands() {
		for _, h := range []string{"-h", "--help"} {
			r := run(t, nil, c.name, h)
			if r.code != ExitOK {
				t.Errorf("%s %s: exit %d, want 0\n%s%s", c.name, h, r.code, r.stdout, r.stderr)
			}
			if n := strings.Count(r.stdout, "Uso: engine "+c.name); n != 1 {
				t.Errorf("%s %s: usage printed %d times:\n%s", c.name, h, n, r.stdout)
			}
			if r.stderr != "" {
				t.Errorf("%s %s: stderr %q", c.name, h, r.stderr)
			}
			for _, english := range []string{"Usage", "default", "flag provided", "value\n", " string\n"} {
				if strings.Contains(r.stdout, english) {
					t.Errorf("%s %s: English %q in the usage:\n%s", c.name, h, english, r.stdout)
				}
			}
		}
	}
	r := run(t, nil, "help", "export")
	if r.code != ExitOK || !strings.Contains(r.stdout, "Uso: engine export [opciones] MAPEO.yaml") ||
		!strings.Contains(r.stdout, "-date AAAA-MM-DD") || !strings.Contains(r.stdout, "(por omisión, hoy en America/Santiago)") {
		t.Errorf("help export: %+v", r)
	}
	r = run(t, nil, "help", "status")
	if !strings.Contains(r.stdout, "(por omisión 10)") {
		t.Errorf("status usage lacks its default:\n%s", r.stdout)
	}
}

// TestCommandLineMistakes: one line that says what is wrong, the nearest
// option or command for a typo, a hint to -h, exit 2, nothing in English.
func TestCommandLineMistakes(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"export", "-outt", "x", "m.yaml"}, "engine export: opción desconocida «-outt»; ¿quiso decir «-out»?"},
		{[]string{"run", "--dry-rn", "m.yaml"}, "engine run: opción desconocida «-dry-rn»; ¿quiso decir «-dry-run»?"},
		{[]string{"validate", "--zzzzzz", "m.yaml"}, "engine validate: opción desconocida «-zzzzzz»\n"},
		{[]string{"history", "m.yaml", "--since"}, "engine history: la opción «-since» necesita un valor: -since AAAA-MM-DD"},
		{[]string{"status", "--runs", "diez", "m.yaml"}, "engine status: valor inválido «diez» para «-runs»: se espera un número entero"},
		{[]string{"export", "--strict=quizás", "m.yaml"}, "engine export: valor inválido «quizás» para «-strict»: se espera true o false"},
		{[]string{"export"}, "engine export: falta MAPEO.yaml"},
		{[]string{"export", "a.yaml", "b.yaml"}, "engine export: sobran argumentos: b.yaml (se espera MAPEO.yaml)"},
		{[]string{"validate"}, "engine validate: falta MAPEO.yaml..."},
		{[]string{"demo", "extra"}, "engine demo: no se esperaban argumentos: extra"},
		{[]string{"exprot", "m.yaml"}, "engine: comando desconocido «exprot»; ¿quiso decir «export»?"},
		{[]string{"help", "exprot"}, "engine: comando desconocido «exprot»; ¿quiso decir «export»?"},
	}
	for _, c := range cases {
		r := run(t, nil, c.args...)
		if r.code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", c.args, r.code, ExitUsage)
		}
		if !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: stderr lacks %q:\n%s", c.args, c.want, r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("%v: stdout %q", c.args, r.stdout)
		}
		if n := strings.Count(r.stderr, "Uso: "); n > 1 {
			t.Errorf("%v: usage printed %d times", c.args, n)
		}
		for _, english := range []string{"flag provided", "needs an argument", "invalid value", "parse error"} {
			if strings.Contains(r.stderr, english) {
				t.Errorf("%v: English %q:\n%s", c.args, english, r.stderr)
			}
		}
	}
	if r := run(t, nil); r.code != ExitUsage || !strings.Contains(r.stderr, "Comandos:") {
		t.Errorf("no command: %+v", r)
	}
	if r := run(t, nil, "validate", "no-existe.yaml"); !strings.Contains(r.stdout, "no se puede leer el archivo de mapeo «no-existe.yaml»: no existe") {
		t.Errorf("missing mapping: %+v", r)
	}
	if r := run(t, nil, "help"); r.code != ExitOK || !strings.Contains(r.stdout, "Comandos:") {
		t.Errorf("help: %+v", r)
	}
}

// TestStatusWithoutSecrets: engine status reads only the ledger, so a
// monitoring check needs neither the database's DSN nor the SENCE token.
func TestStatusWithoutSecrets(t *testing.T) {
	dd := demoDir(t)
	site := filepath.Join(t.TempDir(), "sitio.yaml")
	text := "version: 1\nextends: " + filepath.Join(dd, "mapping.yaml") + "\n" +
		"source:\n  dsn: ${MOODLE_DSN}\n" +
		"sence:\n  token: ${SENCE_TOKEN}\n" +
		"run:\n  ledger: estado/ledger.db\n"
	if err := os.WriteFile(site, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"MOODLE_DSN": filepath.Join(dd, "moodle.db"), "SENCE_TOKEN": "5EEBF607-25A9-4DB2-A4DD-5D31BDAE3220"}
	if r := run(t, env, "run", site, "--date", "2026-11-20"); r.code != ExitProblems {
		t.Fatalf("run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := run(t, nil, "status", site)
	if r.code != ExitProblems || !strings.Contains(r.stdout, "noche 2026-11-20") {
		t.Fatalf("status without MOODLE_DSN and SENCE_TOKEN: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stderr, "MOODLE_DSN") || strings.Contains(r.stderr, "SENCE_TOKEN") {
		t.Errorf("status complains about settings it does not use:\n%s", r.stderr)
	}
	// Commands that do use them still refuse.
	if r := run(t, nil, "export", site); r.code == ExitOK || !strings.Contains(r.stdout+r.stderr, "MOODLE_DSN") {
		t.Errorf("export without MOODLE_DSN: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestStatusNeedsAttention: a mapping never run, or one whose errors will
// stop the next run, is not healthy; the ledger is still shown.
func TestStatusNeedsAttention(t *testing.T) {
	dd := demoDir(t)
	site := filepath.Join(t.TempDir(), "sitio.yaml")
	write := func(params string) {
		text := "version: 1\nextends: " + filepath.Join(dd, "mapping.yaml") + "\nrun:\n  ledger: estado/ledger.db\n" + params
		if err := os.WriteFile(site, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	if r := run(t, nil, "status", site); r.code != ExitProblems || !strings.Contains(r.stdout, "aún no se ha ejecutado con engine run, así que nada se ha enviado a SENCE") {
		t.Errorf("no ledger yet: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, nil, "run", site, "--date", "2026-11-20"); r.code != ExitProblems {
		t.Fatalf("run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	write("params:\n  passGrde: 4.0\n")
	r := run(t, nil, "status", site)
	if r.code != ExitProblems || !strings.Contains(r.stdout, "noche 2026-11-20") ||
		!strings.Contains(r.stderr, "passGrde") || !strings.Contains(r.stderr, "la próxima ejecución no enviará nada") {
		t.Errorf("mapping with errors: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
