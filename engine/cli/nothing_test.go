package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// siteOver writes a site file that extends the demo mapping with extra
// YAML.
func siteOver(t *testing.T, dd, extra string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(p, []byte("version: 1\nextends: "+filepath.Join(dd, "mapping.yaml")+"\n"+extra), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNothingSelectedIsNoSuccess: a courseCodePattern that matches no
// course makes export, send and run exit 1 with a message that names the
// pattern in force and some of Moodle's short names; a run says so in its
// report instead of «todo enviado y aceptado», and status flags the night.
func TestNothingSelectedIsNoSuccess(t *testing.T) {
	dd := demoDir(t)
	site := siteOver(t, dd, "params:\n  courseCodePattern: '^NADA-[0-9]+$'\n")
	want := []string{
		"no hay ningún curso para enviar: ningún curso de Moodle quedó seleccionado como curso SENCE: ninguno de los 8 cursos de Moodle tiene un nombre corto que calce con params.courseCodePattern («^NADA-[0-9]+$»)",
		"nombres cortos de Moodle: «CAP-26-01-13-0101-1», «AYSEN-26-03-11-0102», «BFCS-26-02-14-0103-3», «274714104», «INDUCCION-DOCENTES» y 3 más",
	}
	for _, args := range [][]string{{"export", site}, {"send", site}} {
		r := run(t, nil, append(args, "--date", "2026-11-20")...)
		if r.code != ExitProblems {
			t.Errorf("%s: exit %d, want %d\n%s%s", args[0], r.code, ExitProblems, r.stdout, r.stderr)
		}
		for _, w := range want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", args[0], w, r.stderr)
			}
		}
	}
	ctx := context.Background()
	r := runCmd(ctx, newClock(22, 30), "run", site, "--date", "2026-11-20")
	if r.code != ExitProblems || strings.Contains(r.stdout, "todo enviado y aceptado") {
		t.Fatalf("run: exit %d, want %d\n%s%s", r.code, ExitProblems, r.stdout, r.stderr)
	}
	for _, w := range append(want, "Resultado: no se envió nada porque no hay nada que enviar") {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("run: report lacks %q:\n%s", w, r.stdout)
		}
	}
	r = runCmd(ctx, newClock(22, 40), "status", site)
	if r.code != ExitProblems || !strings.Contains(r.stdout, "ningún curso para enviar") {
		t.Errorf("status after a night with nothing to send: exit %d\n%s", r.code, r.stdout)
	}
}

// TestCourseNamingNothing: --course that names no Moodle course, or a
// course the mapping does not report, is a usage error (exit 2) that says
// which, for export and run; nothing is written or sent.
func TestCourseNamingNothing(t *testing.T) {
	dd := demoDir(t)
	m := filepath.Join(dd, "mapping.yaml")
	out := filepath.Join(t.TempDir(), "out")
	for _, c := range []struct{ course, want string }{
		{"CAP-99-99-99-9999-9", "--course CAP-99-99-99-9999-9: ningún curso de Moodle tiene ese codigoOferta, nombre corto o id"},
		{"INDUCCION-DOCENTES", "--course INDUCCION-DOCENTES: el curso existe en Moodle, pero no es un curso SENCE del mapeo: no tiene un nombre corto que calce con params.courseCodePattern"},
	} {
		r := run(t, nil, "export", m, "--date", "2026-11-20", "--out", out, "--course", "AYSEN-26-03-11-0102", "--course", c.course)
		if r.code != ExitUsage || !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, "no se hizo nada") {
			t.Errorf("export --course %s: exit %d\n%s", c.course, r.code, r.stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("export --course %s wrote %s", c.course, out)
		}
		rr := runCmd(context.Background(), newClock(22, 30), "run", m, "--date", "2026-11-20", "--course", c.course)
		if rr.code != ExitUsage || !strings.Contains(rr.stderr, c.want) {
			t.Errorf("run --course %s: exit %d\n%s%s", c.course, rr.code, rr.stdout, rr.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dd, ".sence-simulator.json")); err == nil {
		t.Error("a run with a wrong --course sent something")
	}
}
