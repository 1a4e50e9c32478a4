package cli

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSendDemoGolden pins what engine send prints for the demo: the
// build's summary, then SENCE's answer per course, each rejected student
// named as everywhere else.
func TestSendDemoGolden(t *testing.T) {
	dd := demoDir(t)
	r := run(t, nil, "send", filepath.Join(dd, "mapping.yaml"), "--date", "2026-11-20")
	if r.code != ExitProblems { // excluded and rejected students
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	golden(t, "send-demo.golden", r.stdout)
}

// TestSendFromExportNamesStudents: send --from names a rejected student
// from the export's resumen.json, as send without --from does.
func TestSendFromExportNamesStudents(t *testing.T) {
	dd := demoDir(t)
	mapping := filepath.Join(dd, "mapping.yaml")
	out := filepath.Join(dd, "out")
	if r := run(t, nil, "export", mapping, "--date", "2026-11-20", "--out", out); r.code != ExitProblems {
		t.Fatalf("export: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := run(t, nil, "send", mapping, "--from", out)
	if r.code != ExitProblems || !strings.Contains(r.stdout, "\n  rechazado Benjamín Araya Quiroz (RUT 20.111.222-2, Moodle id 16): [012] El alumno 20111222-2 no se encuentra registrado") {
		t.Fatalf("send --from: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestRunStatusDemoGolden pins what engine run and then engine status
// print for the demo's night (one course at a time, so that SENCE's
// process numbers are always the same).
func TestRunStatusDemoGolden(t *testing.T) {
	dd := demoDir(t)
	ctx := context.Background()
	clock := newClock(22, 30)
	mapping := site(t, dd, "site.yaml", "run:\n  concurrency: 1\n")
	r := runCmd(ctx, clock, "run", mapping, "--date", "2026-11-20")
	if r.code != ExitProblems {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	golden(t, "run-demo.golden", withoutPaths(r.stdout))
	r = runCmd(ctx, clock, "status", mapping)
	if r.code != ExitProblems {
		t.Fatalf("status: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	golden(t, "status-demo.golden", withoutPaths(r.stdout))
}

// leftovers are the ways outputs named students, fields and counts
// before one voice: none may come back.
var leftovers = []*regexp.Regexp{
	regexp.MustCompile(`moodle:[0-9]`),
	regexp.MustCompile(`usuario Moodle id`),
	regexp.MustCompile(`\[[0-9]{3}\]: \[[0-9]{3}\]`),                                                         // a code twice
	regexp.MustCompile(`(^|[ (])(listaAlumnos|listaModulos)\[`),                                              // a JSON path
	regexp.MustCompile(`(^|\s)(fechaFin|fechaInicio|porcentajeAvance|tiempoConectividad|estado|rutAlumno):`), // a field's name as a prefix
	regexp.MustCompile(`(^|[^0-9.])1 (cursos|alumnos|excluidos|rechazados|aceptados|retirados|retenidos|omitidos|enviados|procesos|registros)\b`),
	regexp.MustCompile(`\b[0-9]{7,8}-[0-9Kk] \(`), // «12345678-5 (Nombre)», the RUT before the name
}

// student is how every output names a student (voice.Student).
var student = regexp.MustCompile(`\((RUT [0-9]{1,3}(\.[0-9]{3})*-[0-9K]|RUT inválido "[^"]*"|sin RUT válido)(, Moodle id [0-9]+)?\)`)

// TestOneVoice reads every golden output of export, run, status, send,
// doctor, explain and the report pages for the demo: no student is named another way, no code
// repeats, no JSON path or field prefix leaks, and «1» never takes a
// plural.
func TestOneVoice(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.golden"))
	checked := 0
	for _, f := range files {
		name := filepath.Base(f)
		if !strings.HasPrefix(name, "export-") && !strings.HasPrefix(name, "run-") && !strings.HasPrefix(name, "status-") &&
			!strings.HasPrefix(name, "send-") && !strings.HasPrefix(name, "doctor-") && !strings.HasPrefix(name, "report-") &&
			(!strings.HasPrefix(name, "explain-") || strings.HasSuffix(name, ".json.golden")) {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for i, line := range strings.Split(string(b), "\n") {
			for _, re := range leftovers {
				if re.MatchString(line) {
					t.Errorf("%s:%d matches %s:\n%s", name, i+1, re, line)
				}
			}
			// A line about a student names them the one way.
			for _, w := range []string{"  excluido ", "  rechazado ", "  retirado ", "  retenido ", "  regresión "} {
				if strings.Contains(line, w) && !student.MatchString(line) {
					t.Errorf("%s:%d names a student another way:\n%s", name, i+1, line)
				}
			}
		}
	}
	if checked < 6 {
		t.Fatalf("only %d golden outputs checked", checked)
	}
}
