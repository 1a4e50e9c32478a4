package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/spill"
)

// TestSummarySpilled: with a spill, a course added to the summary keeps
// no student sent in memory (Enviados nil), and resumen.json written
// from the spill course by course is byte for byte json.MarshalIndent of
// the same summary kept in memory, with no course, one and several.
func TestSummarySpilled(t *testing.T) {
	results := []*assemble.CourseResult{
		{CodigoOferta: "C-1", CodigoGrupo: "G <1>", Label: "Curso «uno» & \"cursos\": []",
			Payload: &payload.Course{CodigoOferta: "C-1", CodigoGrupo: "G <1>", ListaAlumnos: []payload.Alumno{
				{RutAlumno: 12345678, DvAlumno: "5", PorcentajeAvance: 40, Estado: 1, TiempoConectividad: 3600,
					ListaModulos: []payload.Modulo{{CodigoModulo: "M1", PorcentajeAvance: 40}}},
				{RutAlumno: 9876543, DvAlumno: "3", PorcentajeAvance: 100, Estado: 2}}},
			Sent:     []assemble.Exclusion{{UserID: "8", RUT: "12345678-5", Label: "Ana"}},
			Excluded: []assemble.Exclusion{{UserID: "10", Label: "Juan", Reasons: []string{"sin RUT"}}}},
		{CodigoOferta: "C-2", Label: "Vacío"},
		{CodigoOferta: "C-3", Err: errors.New("sin código <de> módulo")},
	}
	for n := range len(results) + 1 {
		sp, err := spill.New(t.TempDir(), ".out.export-spill-")
		if err != nil {
			t.Fatal(err)
		}
		mem, spilled := NewSummary("2026-11-20"), NewSummary("2026-11-20")
		spilled.spill = sp
		for _, r := range results[:n] {
			mem.Add(r)
			spilled.Add(r)
		}
		for _, c := range spilled.Courses {
			if c.Enviados != nil {
				t.Errorf("%d courses: %s keeps %d students sent in memory", n, c.CodigoOferta, len(c.Enviados))
			}
		}
		var got bytes.Buffer
		if err := spilled.WriteJSON(&got); err != nil {
			t.Fatal(err)
		}
		want, _ := json.MarshalIndent(mem, "", "  ")
		want = append(want, '\n')
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%d courses:\n%s\nwant\n%s", n, got.String(), want)
		}
		if n > 0 && !bytes.Contains(got.Bytes(), []byte(`"porcentajeAvance": 40`)) {
			t.Errorf("%d courses: no values sent:\n%s", n, got.String())
		}
		sp.Remove()
	}
}
