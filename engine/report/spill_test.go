package report

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/spill"
)

// TestSpilledExport: with a spill, an export's course keeps no student in
// memory once added (its counts and outcomes stay), and the page and the
// spreadsheet read back from the spill are byte for byte those of the
// same export in memory.
func TestSpilledExport(t *testing.T) {
	results := []*assemble.CourseResult{
		{CodigoOferta: "C-1", CodigoGrupo: "C-1", Label: "Curso <uno>",
			Payload: &payload.Course{CodigoOferta: "C-1", ListaAlumnos: []payload.Alumno{
				{RutAlumno: 12345678, DvAlumno: "5", PorcentajeAvance: 40, Estado: 1, TiempoConectividad: 3600},
				{RutAlumno: 9876543, DvAlumno: "3", PorcentajeAvance: 100, Estado: 2, TiempoConectividad: 7200}}},
			Sent:     []assemble.Exclusion{{UserID: "8", Label: "Ana «Soto»"}, {UserID: "9", Label: "Bruno"}},
			Excluded: []assemble.Exclusion{{UserID: "10", Label: "Juan & Pérez", Reasons: []string{"sin RUT", "sin correo"}}},
			Notes:    []assemble.Note{{Who: "Carla", Msg: "dejó el curso"}}},
		{CodigoOferta: "C-2", Label: "Vacío"},
		{CodigoOferta: "C-3", Err: errors.New("sin código de módulo")},
	}
	dir := t.TempDir()
	sp, err := spill.New(dir, ".out.export-spill-")
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Remove()
	mem, spilled := NewExport("m.yaml", "2026-11-20"), NewExport("m.yaml", "2026-11-20")
	spilled.Spill(sp)
	for _, r := range results {
		mem.Add(r)
		spilled.Add(r)
	}
	for _, c := range spilled.m.Courses {
		if c.Students != nil {
			t.Errorf("course %s keeps %d students in memory", c.Code, len(c.Students))
		}
	}
	if st, err := os.Stat(sp.Name()); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the spill: %v %v", st, err)
	}
	a, b := mem.Model(), spilled.Model()
	if a.Totals != b.Totals || a.Sentence != b.Sentence {
		t.Errorf("totals %+v %q, in memory %+v %q", b.Totals, b.Sentence, a.Totals, a.Sentence)
	}
	for _, write := range []struct {
		name string
		of   func(*Model) func(w *bytes.Buffer) error
	}{
		{"html", func(m *Model) func(*bytes.Buffer) error { return func(w *bytes.Buffer) error { return m.WriteHTML(w) } }},
		{"csv", func(m *Model) func(*bytes.Buffer) error { return func(w *bytes.Buffer) error { return m.WriteCSV(w) } }},
	} {
		var want, got bytes.Buffer
		if err := write.of(a)(&want); err != nil {
			t.Fatal(err)
		}
		if err := write.of(b)(&got); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%s from the spill:\n%s\nin memory:\n%s", write.name, got.String(), want.String())
		}
		if !strings.Contains(got.String(), "Bruno") || !strings.Contains(got.String(), "sin correo") {
			t.Errorf("%s lacks the students:\n%s", write.name, got.String())
		}
	}
	// A spill that cannot be read is an error, not a page without students.
	sp.Remove()
	if err := b.WriteHTML(&bytes.Buffer{}); err == nil {
		t.Error("WriteHTML without its spill: no error")
	}
	if err := b.WriteCSV(&bytes.Buffer{}); err == nil {
		t.Error("WriteCSV without its spill: no error")
	}
}
