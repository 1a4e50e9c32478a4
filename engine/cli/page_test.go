package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/nightly"
	"github.com/otec-tools/sence-engine/engine/report"
	"github.com/otec-tools/sence-engine/engine/rut"
)

// demoNights runs the demo two nights (the second sends progress SENCE
// already had a value for) and returns the demo folder and the mapping.
func demoNights(t *testing.T) (dir, mapping string) {
	t.Helper()
	dir = demoDir(t)
	ctx := context.Background()
	// One course at a time: SENCE's process numbers are always the same.
	mapping = site(t, dir, "one.yaml", "run:\n  concurrency: 1\n")
	for i, night := range []string{"2026-11-20", "2026-11-21"} {
		clock := &testClock{t: time.Date(2026, 11, 20+i, 22, 30, 0, 0, chile.Location)}
		r := runCmd(ctx, clock, "run", mapping, "--date", night)
		if r.code != ExitProblems {
			t.Fatalf("night %s: exit %d\n%s\n%s", night, r.code, r.stdout, r.stderr)
		}
		page := filepath.Join(dir, "reports", "run-"+strconv.Itoa(i+1)+".html")
		if !strings.Contains(r.stdout, "Informe: "+page+" (la página para el coordinador: ábrala en un navegador)\n") {
			t.Fatalf("night %s: the run does not say where its page is:\n%s", night, r.stdout)
		}
	}
	return dir, mapping
}

var (
	dropBlock = regexp.MustCompile(`(?s)<(script|style|title)[^>]*>.*?</(script|style|title)>`)
	lineBreak = regexp.MustCompile(`(?i)<(br|/p|/?div|/li|/tr|/h1|/h2|/summary|/td|/th|/section|/footer|/header|/label|/span|option)[^>]*>`)
	anyTag    = regexp.MustCompile(`<[^>]*>`)
)

// pageText is what a person reads on the page, a line per block.
func pageText(page string) string {
	s := dropBlock.ReplaceAllString(page, "")
	s = lineBreak.ReplaceAllString(s, "\n$0")
	s = anyTag.ReplaceAllString(s, "")
	var out []string
	for _, l := range strings.Split(html.UnescapeString(s), "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n") + "\n"
}

// TestRunPageGolden pins the text of the demo's second night's page, and
// checks that engine report writes the very same page again from the
// ledger, and refuses a run that does not exist.
func TestRunPageGolden(t *testing.T) {
	dir, mapping := demoNights(t)
	pagePath := filepath.Join(dir, "reports", "run-2.html")
	page, err := os.ReadFile(pagePath)
	if err != nil {
		t.Fatal(err)
	}
	// The finishing time is the run's clock, in Chile's time and zone.
	golden(t, "report-demo.golden", pageText(string(page)))
	// Nothing to load: no link, image, script or style from elsewhere.
	if m := regexp.MustCompile(`(?i)\s(src|href|action)\s*=|@import|url\(`).Find(page); m != nil {
		t.Errorf("the page loads or links something: %s", m)
	}

	out := filepath.Join(t.TempDir(), "again.html")
	clock := newClock(23, 0)
	r := runCmd(context.Background(), clock, "report", mapping, "--run", "2", "--out", out)
	if r.code != ExitOK || r.stdout != "Informe de la ejecución 2 (fecha de reporte 2026-11-21): "+out+"\n" {
		t.Fatalf("report --run 2: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	again, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, page) {
		t.Error("engine report --run 2 does not write the page the run wrote")
	}
	// Without --run: the last run, beside its JSON report.
	r = runCmd(context.Background(), clock, "report", mapping)
	if r.code != ExitOK || !strings.HasSuffix(r.stdout, pagePath+"\n") {
		t.Errorf("report: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--run", "9"}, ExitFailed, "ejecución desconocida: el registro no tiene la ejecución 9 (engine status lista las últimas)"},
		{[]string{"--format", "pdf"}, ExitUsage, "--format debe ser html o csv; se obtuvo «pdf»"},
		{[]string{"--run", "-1"}, ExitUsage, "--run debe ser el número de una ejecución"},
	} {
		r := runCmd(context.Background(), clock, append([]string{"report", mapping}, tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("report %v: exit %d, want %d with %q\n%s", tc.args, r.code, tc.code, tc.msg, r.stderr)
		}
	}
	// A report of an earlier version without the students' names: the
	// page says «sin dato» in the table and why at the top.
	jsonPath := filepath.Join(dir, "reports", "run-1.json")
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	b = regexp.MustCompile(`\n\s*"nombre": "[^"]*",`).ReplaceAll(b, nil)
	if err := os.WriteFile(jsonPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCmd(context.Background(), clock, "report", mapping, "--run", "1", "--out", "-")
	text := pageText(r.stdout)
	if r.code != ExitOK || !strings.Contains(text, "Datos que este informe no tiene\n94 alumnos aparecen sin nombre en el informe de la ejecución: la tabla dice «sin dato»") ||
		!strings.Contains(text, "\nsin dato\n") {
		t.Errorf("a report without names: exit %d\n%s%s", r.code, text[:min(len(text), 600)], r.stderr)
	}

	// A mapping never run has no ledger: said, exit 3, and no ledger
	// created by asking.
	fresh := demoDir(t)
	r = runCmd(context.Background(), clock, "report", filepath.Join(fresh, "mapping.yaml"))
	if r.code != ExitFailed || !strings.Contains(r.stderr, "todavía no hay registro") {
		t.Errorf("report without a ledger: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(fresh, "ledger.db")); err == nil {
		t.Error("engine report created a ledger")
	}
}

// TestRunSpreadsheet: the CSV opens as a table in Excel in Spanish (BOM,
// «;»), one row per student of the run, with the values the page shows.
func TestRunSpreadsheet(t *testing.T) {
	dir, mapping := demoNights(t)
	r := runCmd(context.Background(), newClock(23, 0), "report", mapping, "--format", "csv", "--out", "-")
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	const bom = "\ufeff"
	if !strings.HasPrefix(r.stdout, bom) {
		t.Fatalf("no UTF-8 BOM: %q", r.stdout[:min(20, len(r.stdout))])
	}
	cr := csv.NewReader(strings.NewReader(strings.TrimPrefix(r.stdout, bom)))
	cr.Comma = ';'
	rows, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rep := readReport(t, filepath.Join(dir, "reports", "run-2.json"))
	if len(rows)-1 != rep.Totals.Students {
		t.Fatalf("%d rows, want one per student (%d)", len(rows)-1, rep.Totals.Students)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, h := range []string{"Curso", "Alumno", "RUT", "Id Moodle", "Resultado", "Avance enviado (%)", "Avance que SENCE tenía (%)", "Qué hacer"} {
		if _, ok := col[h]; !ok {
			t.Fatalf("no column %q in %v", h, rows[0])
		}
	}
	byMoodle := map[string][]string{}
	for _, row := range rows[1:] {
		if len(row) != len(rows[0]) {
			t.Fatalf("row of %d columns, header of %d: %v", len(row), len(rows[0]), row)
		}
		byMoodle[row[col["Curso"]]+"/"+row[col["Id Moodle"]]] = row
	}
	var rejected, accepted int
	for _, c := range rep.Courses {
		for _, s := range c.Students {
			row := byMoodle[c.CodigoOferta+"/"+s.MoodleID]
			if row == nil {
				t.Errorf("no row for %s (Moodle id %s) in %s", s.Name, s.MoodleID, c.CodigoOferta)
				continue
			}
			if row[col["Alumno"]] != s.Name || row[col["Resultado"]] != report.OutcomeWords(s.Status) {
				t.Errorf("row %v for %+v", row, s)
			}
			if s.RUT != "" && row[col["RUT"]] != rut.Dotted(s.RUT) {
				t.Errorf("RUT %q, want %q", row[col["RUT"]], rut.Dotted(s.RUT))
			}
			switch s.Status {
			case nightly.StudentRejected:
				rejected++
				if row[col["Qué hacer"]] == "" || row[col["Avance enviado (%)"]] == "" {
					t.Errorf("rejected student without what to do or the values sent: %v", row)
				}
			case nightly.StudentAccepted:
				accepted++
				// The second night: SENCE had the first night's value.
				if _, err := strconv.Atoi(row[col["Avance que SENCE tenía (%)"]]); err != nil {
					t.Errorf("accepted student on the second night without what SENCE had: %v", row)
				}
			}
		}
	}
	if rejected == 0 || accepted == 0 {
		t.Errorf("the demo night has %d rejected and %d accepted students", rejected, accepted)
	}
}

// TestExportSpreadsheet: engine export writes alumnos.csv beside the
// course files, one row per student included or excluded, and the page
// reporte.html (its text pinned); send --from still takes the folder as
// one export.
func TestExportSpreadsheet(t *testing.T) {
	dir := demoDir(t)
	out := filepath.Join(dir, "envios")
	r := run(t, nil, "export", filepath.Join(dir, "mapping.yaml"), "--date", "2026-11-20", "--out", out)
	if r.code != ExitProblems || !strings.Contains(r.stdout, "resumen.json, la planilla de alumnos alumnos.csv y la página reporte.html") {
		t.Fatalf("export: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "alumnos.csv"))
	if err != nil {
		t.Fatal(err)
	}
	const bom = "\ufeff"
	if !bytes.HasPrefix(b, []byte(bom)) {
		t.Fatal("alumnos.csv has no UTF-8 BOM")
	}
	cr := csv.NewReader(bytes.NewReader(b[len(bom):]))
	cr.Comma = ';'
	rows, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Included int `json:"alumnosIncluidos"`
		Excluded int `json:"alumnosExcluidos"`
	}
	sb, err := os.ReadFile(filepath.Join(out, "resumen.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(sb, &sum); err != nil {
		t.Fatal(err)
	}
	if len(rows)-1 != sum.Included+sum.Excluded || sum.Excluded == 0 {
		t.Fatalf("%d rows, want one per student (%d included, %d excluded)", len(rows)-1, sum.Included, sum.Excluded)
	}
	var excluded, toSend int
	for _, row := range rows[1:] {
		switch row[5] {
		case "excluido (no se envió)":
			excluded++
			if row[11] == "" {
				t.Errorf("excluded without a reason: %v", row)
			}
		case "para enviar":
			toSend++
			if _, err := strconv.Atoi(row[6]); err != nil || row[2] == report.NoData {
				t.Errorf("a student to send without progress or name: %v", row)
			}
		}
	}
	if excluded != sum.Excluded || toSend != sum.Included {
		t.Errorf("%d excluded and %d to send, resumen.json says %d and %d", excluded, toSend, sum.Excluded, sum.Included)
	}
	page, err := os.ReadFile(filepath.Join(out, "reporte.html"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "report-export.golden", pageText(string(page)))
	if r := run(t, nil, "send", filepath.Join(dir, "mapping.yaml"), "--from", out); r.code == ExitFailed || r.code == ExitUsage {
		t.Errorf("send --from a folder with alumnos.csv: exit %d\n%s", r.code, r.stderr)
	}
}
