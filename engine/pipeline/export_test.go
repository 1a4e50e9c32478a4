package pipeline

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// TestReadExportOfEarlierVersion: send --from still reads an export whose
// resumen.json an earlier version wrote (no version, English keys for the
// excluded students and notes).
func TestReadExportOfEarlierVersion(t *testing.T) {
	dir := t.TempDir()
	c := &payload.Course{RutOtec: "76543210-3", CodigoOferta: "CAP-1", CodigoGrupo: "CAP-1", ListaAlumnos: []payload.Alumno{{RutAlumno: 12345678, DvAlumno: "5", ListaModulos: []payload.Modulo{}}}}
	b, err := payload.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "CAP-1.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	old := `{
  "fechaReporte": "2026-11-20",
  "cursos": [
    {
      "codigoOferta": "CAP-1",
      "codigoGrupo": "CAP-1",
      "nombre": "Curso",
      "archivo": "CAP-1.json",
      "alumnosIncluidos": 1,
      "alumnosExcluidos": [{"UserID": "9", "RUT": "", "Label": "Juan Pérez", "Reasons": ["sin RUT"]}],
      "notas": [{"Level": 2, "Who": "módulo M5", "Msg": "sin actividades"}]
    }
  ],
  "alumnosIncluidos": 1,
  "alumnosExcluidos": 1,
  "cursosConError": 0,
  "cursosParaEnviar": 1,
  "cursosNoSeleccionados": []
}
`
	if err := os.WriteFile(filepath.Join(dir, summaryFile), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadExport(dir, nil)
	if err != nil || len(got) != 1 || got[0].CodigoOferta != "CAP-1" || len(got[0].ListaAlumnos) != 1 {
		t.Fatalf("ReadExport: %v %+v", err, got)
	}
}
