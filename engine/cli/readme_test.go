package cli

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/eval"
	"github.com/otec-tools/sence-engine/engine/fn"
)

// TestREADMEIsTrue keeps the README in step with the code: every command,
// every expression function, the two set-up commands and the test command
// that CI runs.
func TestREADMEIsTrue(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, c := range commands() {
		if !strings.Contains(readme, "`"+c.name) {
			t.Errorf("README does not document the command %q", c.name)
		}
	}
	for _, d := range fn.Docs() {
		if !strings.Contains(readme, d.Example) && !strings.Contains(readme, strings.ReplaceAll(d.Example, "|", `\|`)) {
			t.Errorf("README lacks the function %s (its example %s)", d.Name, d.Example)
		}
	}
	for _, d := range eval.ExtraDocs {
		if !strings.Contains(readme, "`"+d.Signature+"`") {
			t.Errorf("README lacks the function %s", d.Name)
		}
	}
	// The once-a-night guarantee: its setting with its default, the
	// simulator's slowness flags and the status it leaves.
	for _, s := range []string{"`settle` (cuánto puede tardar SENCE", "por omisión 600 s, o `timeout` si es mayor", "`--processing 6s`", "`--history-lag 5s`",
		"**«sin confirmar»**", "Lo que se garantiza cuando SENCE es lento"} {
		if !strings.Contains(readme, s) {
			t.Errorf("README lacks %q", s)
		}
	}
	// One table holds every command's exit codes.
	table := readme[strings.Index(readme, "### Códigos de salida\n"):]
	table = table[strings.Index(table, "| Comando |"):]
	table = table[:strings.Index(table, "\n\n")]
	for _, c := range commands() {
		if !strings.Contains(table, "\n| `"+c.name+"` |") {
			t.Errorf("the README's exit code table has no row for %q", c.name)
		}
	}
	for _, cmd := range []string{"go run ./cmd/engine demo", "go test ./..."} {
		if !strings.Contains(readme, cmd) {
			t.Errorf("README lacks the set-up command %q", cmd)
		}
	}
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`go test [^\n]*\./\.\.\.`).Match(ci) {
		t.Error(".ci/run does not run the README's test command (go test ./...)")
	}
	if _, err := exec.LookPath("bash"); err == nil {
		if out, err := exec.Command("bash", "-n", "../../.ci/run").CombinedOutput(); err != nil {
			t.Errorf(".ci/run has a syntax error: %s", out)
		}
	}
}
