package pipeline

import (
	"os"
	"path/filepath"
	"strings"
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

// TestFileName: SENCE's codes are file names as they are; every other
// course gets a name of its own that every file system can hold.
func TestFileName(t *testing.T) {
	for _, c := range []struct{ oferta, grupo, want string }{
		{"CAP-21-01-13-0000-1", "CAP-21-01-13-0000-1", "CAP-21-01-13-0000-1.json"},
		{"274714101", "", "274714101.json"},
		{"BFCS-21-02-14-0106-3", "S1", "BFCS-21-02-14-0106-3_S1.json"},
		{"A/1", "A/1", "A%2F1.json"},
		{"A_1", "A_1", "A%5F1.json"},
		{"X", "Y_Z", "X_Y%5FZ.json"},
		{"X_Y", "Z", "X%5FY_Z.json"},
		{`C:\d*?"<>|`, "", "C%3A%5Cd%2A%3F%22%3C%3E%7C.json"},
		{"100%", "", "100%25.json"},
		{"a\tb", "", "a%09b.json"},
		{"resumen", "", "resumen_.json"},
		{"RESUMEN", "RESUMEN", "RESUMEN_.json"},
		{"resumen", "G", "resumen_G.json"},
		{"Año-1", "", "Año-1.json"},
		{"A\xf1o", "", "A%F1o.json"},
	} {
		if got := FileName(&payload.Course{CodigoOferta: c.oferta, CodigoGrupo: c.grupo}); got != c.want {
			t.Errorf("FileName(%q, %q) = %q, want %q", c.oferta, c.grupo, got, c.want)
		}
	}
}

// FuzzFileName: two different courses never share a file name, and a
// name holds no character a file system refuses.
func FuzzFileName(f *testing.F) {
	f.Add("A/1", "", "A_1", "")
	f.Add("X", "Y_Z", "X_Y", "Z")
	f.Add("resumen", "", "resumen_", "")
	f.Add("A%2F1", "", "A/1", "")
	f.Fuzz(func(t *testing.T, o1, g1, o2, g2 string) {
		key := func(o, g string) [2]string {
			if g == o {
				g = ""
			}
			return [2]string{o, g}
		}
		n1 := FileName(&payload.Course{CodigoOferta: o1, CodigoGrupo: g1})
		n2 := FileName(&payload.Course{CodigoOferta: o2, CodigoGrupo: g2})
		if key(o1, g1) != key(o2, g2) && n1 == n2 {
			t.Fatalf("(%q, %q) and (%q, %q) share %q", o1, g1, o2, g2, n1)
		}
		if strings.ContainsAny(n1, `/\:*?"<>|`) || strings.ContainsFunc(n1, func(r rune) bool { return r < 32 || r == 127 }) {
			t.Fatalf("(%q, %q) → %q", o1, g1, n1)
		}
		if strings.EqualFold(n1, summaryFile) || n1 == StudentsFile || n1 == PageFile {
			t.Fatalf("(%q, %q) → %q, a file of the export itself", o1, g1, n1)
		}
	})
}

// TestExportFileTaken: a course whose file another course already wrote
// (on a file system that ignores case, "cap-1" and "CAP-1") is an error
// that says so, not the system's "file exists".
func TestExportFileTaken(t *testing.T) {
	w, err := NewExport(filepath.Join(t.TempDir(), "envios"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Discard()
	c := &payload.Course{CodigoOferta: "CAP-1", CodigoGrupo: "CAP-1"}
	if err := w.Add(c); err != nil {
		t.Fatal(err)
	}
	err = w.Add(c)
	if err == nil || !strings.Contains(err.Error(), "otro curso ya escribió «CAP-1.json»: este sistema de archivos no distingue mayúsculas de minúsculas") || strings.Contains(err.Error(), "file exists") {
		t.Errorf("%v", err)
	}
}
