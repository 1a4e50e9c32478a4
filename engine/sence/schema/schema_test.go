package schema

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

var (
	sharedOnce sync.Once
	shared     *Validator
)

// validator returns one Validator for every test, as production code does.
func validator(t testing.TB) *Validator {
	t.Helper()
	sharedOnce.Do(func() {
		v, err := New()
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		shared = v
	})
	if shared == nil {
		t.Fatal("validator failed to compile")
	}
	return shared
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGoodDocuments(t *testing.T) {
	v := validator(t)
	files, _ := filepath.Glob("testdata/good/*.json")
	if len(files) == 0 {
		t.Fatal("no good documents")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			doc, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			probs, err := v.CheckJSON(doc)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range probs {
				t.Errorf("unexpected problem: %s", p)
			}
		})
	}
}

// want is an expected problem: exact student and path, and a part of the
// message (the whole wording lives in the golden files).
type want struct {
	student int
	path    string
	msg     string
}

func TestBadDocuments(t *testing.T) {
	cases := []struct {
		file string
		want []want
	}{
		{"types.json", []want{
			{-1, "cantActividadSincronica", "cantActividadSincronica debe ser un entero mayor o igual a 0; se obtuvo 1.5"},
			{-1, "idSistema", "idSistema debe ser 1350; se obtuvo 1351"},
			{0, "listaAlumnos[0].estado", "estado debe ser 1 (cursando), 2 (aprobado) o 3 (reprobado); se obtuvo el texto «2»"},
			{0, "listaAlumnos[0].evaluacionFinal", "evaluacionFinal debe ser un número entre 0 y 100 (la nota como porcentaje); se obtuvo 100.5"},
			{0, "listaAlumnos[0].listaModulos[0].notaModulo", "se obtuvo -1"},
			{0, "listaAlumnos[0].listaModulos[1].porcentajeAvance", "porcentajeAvance debe ser un entero entre 0 y 100; se obtuvo 99.6"},
			{0, "listaAlumnos[0].porcentajeAvance", "porcentajeAvance debe ser un entero entre 0 y 100; se obtuvo 101"},
			{0, "listaAlumnos[0].tiempoConectividad", "tiempoConectividad debe ser un entero de segundos mayor o igual a 0; se obtuvo -5"},
			{1, "listaAlumnos[1].estado", "se obtuvo 4"},
			{1, "listaAlumnos[1].listaModulos[0].cantActividadAsincronica", "se obtuvo null (vacío)"},
			{1, "listaAlumnos[1].rutAlumno", "rutAlumno debe ser el número del RUT sin dígito verificador"},
		}},
		{"dates.json", []want{
			{0, "listaAlumnos[0].fechaFin", "fechaFin «2026-13-01» no es una fecha válida (AAAA-MM-DD)"},
			{0, "listaAlumnos[0].listaModulos[0].fechaInicio", "fechaInicio «26-3-2» no es una fecha válida (AAAA-MM-DD)"},
			{0, "listaAlumnos[0].listaModulos[1].fechaFin", "fechaFin «2026-03-20» del módulo CAP-M2 es anterior a su fechaInicio «2026-04-01»"},
			{1, "listaAlumnos[1].fechaEjecucion", "fechaEjecucion «2026-07-01» es posterior a fechaFin «2026-06-30»"},
			{1, "listaAlumnos[1].listaModulos[0].fechaFin", "fechaFin «2026-02-29» no es una fecha válida (AAAA-MM-DD)"},
			{1, "listaAlumnos[1].listaModulos[1].fechaInicio", "fechaInicio debe ser una fecha AAAA-MM-DD entre comillas; se obtuvo 20260401"},
		}},
		{"empty-lists.json", []want{
			{0, "listaAlumnos[0].listaModulos", "listaModulos no puede estar vacía: el alumno no tiene módulos con actividades obligatorias"},
			{1, "listaAlumnos[1].listaModulos[0].listaActividades", "listaActividades no puede estar vacía: el módulo no tiene actividades obligatorias"},
			{1, "listaAlumnos[1].listaModulos[1].listaActividades", "listaActividades no puede estar vacía"},
		}},
		{"no-students.json", []want{
			{-1, "listaAlumnos", "listaAlumnos no puede estar vacía: el curso no tiene alumnos que informar"},
		}},
		{"missing.json", []want{
			{-1, "idSistema", "falta el campo obligatorio idSistema (siempre 1350)"},
			{0, "listaAlumnos[0].dvAlumno", "falta el campo obligatorio dvAlumno"},
			{0, "listaAlumnos[0].fechaEjecucion", "falta el campo obligatorio fechaEjecucion"},
			{1, "listaAlumnos[1].listaModulos[0].listaActividades[2].codigoActividad", "falta el campo obligatorio codigoActividad"},
			{1, "listaAlumnos[1].listaModulos[1].listaActividades[0].nombre", "clave desconocida «nombre»: SENCE no la acepta"},
		}},
		{"auth-and-ruts.json", []want{
			{-1, "rutOtec", "rutOtec «76.543.210-3» debe escribirse sin puntos, con guion y dígito verificador en mayúscula: «76543210-3»"},
			{-1, "token", "el token está en minúsculas; SENCE solo acepta el token en mayúsculas"},
			{0, "listaAlumnos[0].dvAlumno", "el RUT 12345678-4 no es válido: para 12345678 el dígito verificador es 5"},
			{1, "listaAlumnos[1].rutAlumno", "se obtuvo 0"},
		}},
		{"sence-example-ruts.json", []want{
			{-1, "rutOtec", "rutOtec «11222333-4» no es un RUT válido: el dígito verificador no corresponde (para 11222333 debería ser 9)"},
			{-1, "token", "el token no tiene el formato de SENCE: un UUID en mayúsculas"},
			{1, "listaAlumnos[1].dvAlumno", "dvAlumno debe ser un texto con el dígito verificador: un número de 0 a 9 o K; se obtuvo «X»"},
		}},
		{"codes.json", []want{
			{-1, "codigoGrupo", "codigoGrupo «CAP-26-01-13-0001-1 » tiene espacios o saltos de línea al inicio o al final"},
			{-1, "codigoOferta", "codigoOferta no puede estar vacío"},
			{0, "listaAlumnos[0].listaModulos[0].codigoModulo", "codigoModulo « CAP-M1» tiene espacios"},
			{0, "listaAlumnos[0].listaModulos[0].listaActividades[0].codigoActividad", "tiene 69 caracteres y SENCE admite hasta 50: use truncate(nombre, 50) en el mapeo"},
			{1, "listaAlumnos[1].listaModulos[0].listaActividades[0].codigoActividad", "codigoActividad no puede estar vacío"},
		}},
		{"not-an-object.json", []want{
			{-1, "", "el documento debe ser un objeto JSON con los datos de un curso; se obtuvo una lista"},
		}},
		{"list-items.json", []want{
			{0, "listaAlumnos[0].listaModulos[0].listaActividades[3]", "debe ser un objeto con el codigoActividad de una actividad; se obtuvo el texto «Foro»"},
			{2, "listaAlumnos[2]", "listaAlumnos[2] debe ser un objeto con los datos de un alumno; se obtuvo el texto «12345678-5»"},
		}},
	}
	v := validator(t)
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			probs, err := v.CheckJSON(readFile(t, filepath.Join("bad", c.file)))
			if err != nil {
				t.Fatal(err)
			}
			checkWant(t, probs, c.want)
		})
	}
}

func checkWant(t *testing.T, got []Problem, want []want) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d", len(got), len(want))
	}
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			t.Errorf("missing problem %+v", want[i])
		case i >= len(want):
			t.Errorf("unexpected problem %s", got[i])
		case got[i].Student != want[i].student || got[i].Path != want[i].path || !strings.Contains(got[i].Msg, want[i].msg):
			t.Errorf("problem %d:\n got  %d %s: %s\n want %d %s: …%s…", i, got[i].Student, got[i].Path, got[i].Msg, want[i].student, want[i].path, want[i].msg)
		}
	}
}

// TestSenceTypos checks SENCE's own newest example, which misspells keys:
// it must be rejected, with a problem naming each misspelt key and the
// right name, and what those keys hold must still be checked.
func TestSenceTypos(t *testing.T) {
	v := validator(t)
	probs, err := v.ValidateJSON(readFile(t, "bad/sence-typos.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) == 0 {
		t.Fatal("SENCE's example with typos was accepted")
	}
	all := ""
	for _, p := range probs {
		all += p.String() + "\n"
	}
	for typo, right := range map[string]string{
		"rutotec":                  "rutOtec",
		"ldSistema":                "idSistema",
		"ListaAlumnos":             "listaAlumnos",
		"dvaAlumno":                "dvAlumno",
		"ListaModulos":             "listaModulos",
		"ListaActividades":         "listaActividades",
		"cantActividadASincronica": "cantActividadAsincronica",
	} {
		if !strings.Contains(all, "«"+typo+"» mal escrita: SENCE espera «"+right+"»") {
			t.Errorf("no problem names %s → %s", typo, right)
		}
	}
	for _, frag := range []string{
		"la clave «cantActividadASincronica» aparece más de una vez",
		"listaAlumnos[0].dvAlumno (alumno 21630806-5): dvAlumno debe ser un texto",
		"token: el token no tiene el formato de SENCE",
	} {
		if !strings.Contains(all, frag) {
			t.Errorf("missing %q in:\n%s", frag, all)
		}
	}
	// With the rules, the wrong check digits and the dates of the example
	// are reported too.
	probs, err = v.CheckJSON(readFile(t, "bad/sence-typos.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) == 0 {
		t.Fatal("CheckJSON accepted SENCE's example")
	}
}

func TestNotJSON(t *testing.T) {
	cases := []struct{ doc, want string }{
		{"", "el documento no es JSON válido: está vacío"},
		{"{\n  \"a\": [1,\n  ]\n}", "sobra una coma antes de «]» (JSON no admite comas finales) (línea 3, columna 3)"},
		{`{"codigoOferta": "x",}`, "sobra una coma antes de «}»"},
		{`{"codigoOferta": "x"`, "el documento termina antes de cerrar todos sus objetos y listas"},
		{`{"codigoOferta": "x"} {}`, "hay contenido después del final del documento"},
		{`{"codigoOferta": 'x'}`, "hay un carácter inesperado «'» (línea 1, columna 18)"},
		{`{"módulo": ñ}`, "hay un carácter inesperado «ñ» (línea 1, columna 12)"},
	}
	v := validator(t)
	for _, c := range cases {
		_, err := v.ValidateJSON([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want …%s…", c.doc, err, c.want)
		}
	}
}

// TestGolden keeps the full output (messages, values, RUTs) of every test
// document; go test -run Golden -update rewrites it.
func TestGolden(t *testing.T) {
	v := validator(t)
	files, _ := filepath.Glob("testdata/*/*.json")
	for _, f := range files {
		if strings.HasPrefix(f, filepath.Join("testdata", "golden")) {
			continue
		}
		name := strings.TrimSuffix(strings.ReplaceAll(strings.TrimPrefix(f, "testdata/"), "/", "-"), ".json")
		t.Run(name, func(t *testing.T) {
			doc, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			probs, err := v.CheckJSON(doc)
			if err != nil {
				t.Fatal(err)
			}
			if probs == nil {
				probs = []Problem{}
			}
			got, err := json.MarshalIndent(probs, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run Golden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the output:\n%s", golden, got)
			}
		})
	}
}
