package plan_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/plan"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func compileFile(t *testing.T, path string, vars map[string]string) (*plan.Plan, diag.List) {
	t.Helper()
	m, ds := mapping.Load(path, mapping.Options{LookupEnv: env(vars)})
	if m == nil {
		return nil, ds
	}
	p, cds := plan.Compile(m)
	return p, append(ds, cds...)
}

func TestValidateGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/validate/*.yaml")
	if len(files) == 0 {
		t.Fatal("no test mappings")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			p, ds := compileFile(t, f, nil)
			if p != nil {
				ds = append(ds, plan.CheckFiles(p.Mapping)...)
			}
			var b bytes.Buffer
			ds.Print(&b)
			golden(t, strings.TrimSuffix(f, ".yaml")+".golden", b.Bytes())
		})
	}
}

// TestPlantedMistakes names each planted mistake and where it must be
// reported, so the golden file cannot silently lose one.
func TestPlantedMistakes(t *testing.T) {
	_, ds := compileFile(t, "testdata/validate/planted.yaml", nil)
	if !ds.HasErrors() {
		t.Fatal("planted mistakes not reported")
	}
	want := []struct {
		line, col int
		text      string
	}{
		{10, 3, "clave desconocida «rutOtek»"},
		{14, 12, "«params.rutFrom» debe ser idnumber o username; se obtuvo «usernme»; ¿quiso decir «username»?"},
		{18, 5, "«fechalnicio» no es un campo de SENCE"},
		{19, 20, "nombre desconocido «enrol_strat»"},
		{20, 23, "faltan argumentos en la llamada a pct()"},
	}
	for _, w := range want {
		found := false
		for _, d := range ds {
			if d.Line == w.line && d.Col == w.col && strings.Contains(d.Msg, w.text) && d.Severity == diag.Error {
				found = true
			}
		}
		if !found {
			t.Errorf("missing error at %d:%d containing %q; got:\n%s", w.line, w.col, w.text, ds.Error())
		}
	}
}

// TestOfflineMistakes names each mistake planted in offline.yaml that
// validate finds without a database or the network, and where: one
// diagnostic per mistake, at the value in the site's file (never in the
// preset it extends).
func TestOfflineMistakes(t *testing.T) {
	p, ds := compileFile(t, "testdata/validate/offline.yaml", nil)
	if p == nil {
		t.Fatal(ds.Error())
	}
	ds = append(ds, plan.CheckFiles(p.Mapping)...)
	want := []struct {
		line, col int
		text      string
	}{
		{11, 12, "sence.rutOtec «76543210-4» no es un RUT válido: el dígito verificador no corresponde (para 76543210 debería ser 3)"},
		{12, 14, "sence.tokenFile: no se puede leer «testdata/validate/no-such-token.txt»: no existe"},
		{15, 10, "sence.window.end debe ser una hora HH:MM; se obtuvo «24:30»"},
		{18, 13, "run.schedule: expresión cron «0 25 * * *», campo hora: 25 está fuera del rango 0-23"},
		{19, 11, "política «keep-maximum» desconocida en run.policy (use keep-max, hold, send); ¿quiso decir «keep-max»?"},
		{22, 3, "parámetro desconocido «passGrde»; ¿quiso decir «passGrade»?"},
		{23, 14, "«params.passGrade» debe ser un número, como 4.0; se obtuvo «4,0»: escriba el decimal con punto, 4.0"},
		{24, 22, "«params.moduleCodePattern»: expresión regular «^(C[0-9]+» inválida: falta cerrar un paréntesis"},
		{25, 14, "«params.exigencia» debe estar entre 1 y 99; se obtuvo 120"},
		{27, 12, "«params.leavers» debe ser report o send; se obtuvo «sned»; ¿quiso decir «send»?"},
	}
	if errs, warns := ds.Count(); errs != len(want) || warns != 0 {
		t.Errorf("%d errors and %d warnings, want %d errors (one per mistake):\n%s", errs, warns, len(want), ds.Error())
	}
	for _, w := range want {
		found := false
		for _, d := range ds {
			if d.File == "testdata/validate/offline.yaml" && d.Line == w.line && d.Col == w.col && strings.HasPrefix(d.Msg, w.text) && d.Severity == diag.Error {
				found = true
			}
		}
		if !found {
			t.Errorf("missing error at %d:%d starting %q; got:\n%s", w.line, w.col, w.text, ds.Error())
		}
	}
}

func TestStandaloneMistakes(t *testing.T) {
	_, ds := compileFile(t, "testdata/validate/standalone.yaml", nil)
	for _, text := range []string{
		"driver «postgress» no soportado",
		"¿quiso decir «postgres»?",
		"nivel «activites» desconocido",
		"parámetro «:activ» desconocido",
		"la tabla «{user_enrolment}»",
		"falta el filtro por cursos",
		"«modules.from» nombra la consulta «module», que no existe",
		"falta el campo obligatorio de SENCE «estado» en «modules.fields»",
		"error de sintaxis",
	} {
		if !strings.Contains(ds.Error(), text) {
			t.Errorf("missing diagnostic %q; got:\n%s", text, ds.Error())
		}
	}
}

func TestShippedMappingsAreValid(t *testing.T) {
	vars := map[string]string{"MOODLE_DSN": "postgres://ro@127.0.0.1/moodle", "SENCE_TOKEN": "5EEBF607-25A9-4DB2-A4DD-5D31BDAE3220"}
	for _, f := range []string{"../../examples/moodle-demo/mapping.yaml", "../../examples/site/mapping.yaml"} {
		_, ds := compileFile(t, f, vars)
		if ds.HasErrors() {
			t.Errorf("%s: %s", f, ds.Error())
		}
		for _, d := range ds {
			t.Logf("%s", d)
		}
	}
}

// TestSplitMistakes names each planted mistake of split.yaml (courses.split,
// courses.unselected, query selection) and where it must be reported.
func TestSplitMistakes(t *testing.T) {
	_, ds := compileFile(t, "testdata/validate/split.yaml", nil)
	want := []struct {
		line, col int
		text      string
	}{
		{12, 14, "«params.groupFrom» debe ser codigoOferta, idnumber, customfield o groups; se obtuvo «grupos»; ¿quiso decir «groups»?"},
		{15, 16, "la consulta de «courses.from» lee todos los cursos"},
		{17, 16, "«queries.student_groups.selection» solo sirve en consultas de nivel courses"},
		{19, 16, "«queries.sections.selection» debe ser selected, unselected, all"},
		{26, 12, "«courses.include» solo puede leer la consulta de «courses.from»"},
		{27, 10, "«courses.split» no puede leer «course.sentModules»"},
		{28, 19, "nombre desconocido «sentModules»"},
		{30, 5, "«courses.fields.codigoOferta» solo puede leer la consulta de «courses.from»"},
		{31, 5, "«courses.fields.codigoGrupo» no puede depender de «students»"},
	}
	for _, w := range want {
		found := false
		for _, d := range ds {
			if d.Line == w.line && d.Col == w.col && strings.Contains(d.Msg, w.text) && d.Severity == diag.Error {
				found = true
			}
		}
		if !found {
			t.Errorf("missing error at %d:%d containing %q; got:\n%s", w.line, w.col, w.text, ds.Error())
		}
	}
	// A query for courses.unselected without courses.unselected is unused.
	m, lds := mapping.LoadBytes("unused.yaml", []byte(`version: 1
extends: moodle
source: {driver: sqlite, dsn: moodle.db}
queries:
  lonely:
    level: courses
    selection: unselected
    sql: SELECT c.id AS courseid FROM {course} c WHERE c.id IN (:courseids)
courses:
  unselected: null
`), mapping.Options{LookupEnv: env(nil)})
	if lds.HasErrors() {
		t.Fatal(lds.Error())
	}
	_, cds := plan.Compile(m)
	if !strings.Contains(cds.Error(), "unused.yaml:7:16: aviso: consulta «lonely»: «selection: unselected» la hace correr solo para «courses.unselected», que no está definido") {
		t.Errorf("unused unselected query not reported:\n%s", cds.Error())
	}
}

// TestCheckAtTheSitesValue: a rule across parameters (checks) is reported
// at the parameter the site set, not inside the preset that holds the
// rule: groupFrom: customfield without groupField points at groupFrom.
func TestCheckAtTheSitesValue(t *testing.T) {
	for _, c := range []struct {
		params    string
		line, col int
	}{
		{"  groupFrom: customfield\n", 5, 3},
		{"  groupFrom: customfield\n  groupField: \" \"\n", 6, 3},
	} {
		m, ds := mapping.LoadBytes("site.yaml", []byte("version: 1\nextends: moodle\nsource: {driver: sqlite, dsn: x.db}\nparams:\n"+c.params), mapping.Options{LookupEnv: env(nil)})
		if ds.HasErrors() {
			t.Fatal(ds.Error())
		}
		_, cds := plan.Compile(m)
		if errs, _ := cds.Count(); errs != 1 || cds[0].File != "site.yaml" || cds[0].Line != c.line || cds[0].Col != c.col ||
			!strings.Contains(cds[0].Msg, "con «params.groupFrom» customfield, «params.groupField» debe ser el nombre corto") {
			t.Errorf("%q: %s", c.params, cds.Error())
		}
	}
}

// TestValidateRefusesWrites: what the engine would refuse to send is an
// error of `engine validate` (no database needed), at the line and column
// of the offending word in the YAML.
func TestValidateRefusesWrites(t *testing.T) {
	cases := []struct {
		driver, sql string
		line, col   int
		want        string
	}{
		{"sqlite", "SELECT c.id AS courseid, c.shortname FROM {course} c;\n      DELETE FROM {user}", 8, 7, "más de una instrucción"},
		{"mysql", "SELECT c.id AS courseid, c.shortname FROM {course} c;\n      COMMIT", 8, 7, "más de una instrucción"},
		{"postgres", "WITH d AS (DELETE FROM {user} RETURNING id)\n      SELECT c.id AS courseid, c.shortname FROM {course} c", 7, 18, "«DELETE»"},
		{"postgres", "ATTACH 'x' AS x", 7, 7, "empieza con «ATTACH»"},
	}
	for _, c := range cases {
		dir := t.TempDir()
		path := filepath.Join(dir, "site.yaml")
		yaml := "version: 1\nextends: moodle\nsource: {driver: " + c.driver + ", dsn: x}\nqueries:\n  courses:\n    sql: |\n      " + c.sql + "\n"
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		_, ds := compileFile(t, path, nil)
		found := false
		for _, d := range ds {
			if d.Severity == diag.Error && d.Line == c.line && d.Col == c.col && strings.Contains(d.Msg, c.want) && strings.Contains(d.Msg, "consulta «courses»") {
				found = true
			}
		}
		if !found {
			t.Errorf("%s %q: want an error at %d:%d with %q; got:\n%s", c.driver, c.sql, c.line, c.col, c.want, ds.Error())
		}
	}
}
