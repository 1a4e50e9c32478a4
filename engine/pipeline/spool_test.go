package pipeline

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// TestSpool: what run --strict and --wait-window keep between building and
// sending comes back as it was built (payload, exclusions, the notes'
// RUTs, the error), in order, from an owner-only file with no token, and
// nothing is left once the run ends; a crashed run's spool is removed by
// the next.
func TestSpool(t *testing.T) {
	dir := t.TempDir()
	in := []*assemble.CourseResult{
		{CourseID: "7", CodigoOferta: "CAP-1", CodigoGrupo: "G1", Label: "Curso «uno» <b>",
			Payload: &payload.Course{CodigoOferta: "CAP-1", CodigoGrupo: "G1", Token: payload.RedactedToken,
				ListaAlumnos: []payload.Alumno{{RutAlumno: 12345678, DvAlumno: "5", Estado: 1, PorcentajeAvance: 40,
					ListaModulos: []payload.Modulo{{CodigoModulo: "M1", PorcentajeAvance: 0, ListaActividades: []payload.Actividad{}}}}},
				IDSistema: payload.IDSistema},
			Excluded: []assemble.Exclusion{{UserID: "9", RUT: "1-9", Label: "Ana", Reasons: []string{"sin RUT"}}},
			Notes:    []assemble.Note{{Level: 1, Who: "Bruno", Msg: "dejó el curso", RUT: "11111111-1", UserID: "10"}},
			Sent:     []assemble.Exclusion{{UserID: "8", RUT: "12345678-5", Label: "Carla"}}},
		{CourseID: "8", CodigoOferta: "CAP-2", Err: errors.New("sin código de módulo")},
	}
	sp, err := newSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range in {
		if err := sp.add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := sp.finish(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(sp.file.Name())
	if err != nil || st.Mode().Perm() != 0o600 || filepath.Dir(sp.file.Name()) != dir {
		t.Fatalf("spool %s: %v %v", sp.file.Name(), st.Mode(), err)
	}
	var out []*assemble.CourseResult
	if err := sp.replay(func(r *assemble.CourseResult) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[1].Err == nil || out[1].Err.Error() != "sin código de módulo" {
		t.Fatalf("replayed %+v", out)
	}
	out[1].Err, in[1].Err = nil, nil
	if !reflect.DeepEqual(in, out) {
		t.Errorf("replayed\n%+v\nwant\n%+v", out[0], in[0])
	}
	b, _ := os.ReadFile(sp.file.Name())
	if !strings.Contains(string(b), payload.RedactedToken) {
		t.Errorf("the spool does not carry the token placeholder")
	}
	sp.remove()
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	// A crashed run's spool goes at the next run.
	crashed, _ := newSpool(dir)
	_ = crashed // left as a crash leaves it
	removeSpools(dir)
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("a crashed run's spool stays: %v", left)
	}
}
