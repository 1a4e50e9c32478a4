package mapping_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/mappings"
	"github.com/otec-tools/sence-engine/schemas"
	"github.com/xeipuuv/gojsonschema"
	yaml "go.yaml.in/yaml/v3"
)

func noEnv(string) (string, bool) { return "", false }

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExtendsMergesKeyByKey(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "base.yaml", "version: 1\nsource:\n  driver: sqlite\n  dsn: base.db\n  prefix: mdl_\nparams:\n  a: 1\n  b: two\n")
	p := write(t, dir, "site.yaml", "version: 1\nextends: base.yaml\nsource:\n  prefix: m_\nparams:\n  b: three\n  c: 4.5\n")
	m, ds := mapping.Load(p, mapping.Options{LookupEnv: noEnv})
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	if m.Source.Driver != "sqlite" || m.Source.Prefix != "m_" || m.Source.DSN != filepath.Join(dir, "base.db") {
		t.Errorf("source not merged: %+v", m.Source)
	}
	got := map[string]any{}
	for _, prm := range m.Params {
		got[prm.Name] = prm.Value
	}
	if got["a"] != 1 || got["b"] != "three" || got["c"] != 4.5 {
		t.Errorf("params: %v", got)
	}
	// The overriding value keeps its own file and line.
	for _, prm := range m.Params {
		if prm.Name == "b" && (prm.Pos.File != p || prm.Pos.Line != 6) {
			t.Errorf("b at %+v, want %s:6", prm.Pos, p)
		}
	}
}

// TestListParams: a parameter can be a YAML list of simple values, and a
// site's list replaces the preset's whole (it is not appended to).
func TestListParams(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "base.yaml", "version: 1\nparams:\n  mods: [bigbluebuttonbn]\n  n: 2\n")
	p := write(t, dir, "site.yaml", "version: 1\nextends: base.yaml\nparams:\n  mods:\n    - bigbluebuttonbn\n    - zoom\n    - 3\n    - \"4\"\n")
	m, ds := mapping.Load(p, mapping.Options{LookupEnv: noEnv})
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	got, _ := m.Param("mods")
	if !reflect.DeepEqual(got, []any{"bigbluebuttonbn", "zoom", 3, "4"}) {
		t.Errorf("mods = %#v", got)
	}
	// A single value where the extended file has a list is that list.
	p = write(t, dir, "one.yaml", "version: 1\nextends: base.yaml\nparams:\n  mods: zoom\n  n: [1]\n")
	m, ds = mapping.Load(p, mapping.Options{LookupEnv: noEnv})
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	got, _ = m.Param("mods")
	n, _ := m.Param("n")
	if !reflect.DeepEqual(got, []any{"zoom"}) || !reflect.DeepEqual(n, []any{1}) {
		t.Errorf("mods = %#v, n = %#v", got, n)
	}
	for _, prm := range m.Params {
		if prm.Name == "mods" && (prm.Pos.File != p || prm.Pos.Line != 4) {
			t.Errorf("mods at %+v, want %s:4", prm.Pos, p)
		}
	}
	for _, bad := range []string{"params:\n  mods: [[a]]\n", "params:\n  mods: {a: 1}\n"} {
		_, ds := mapping.LoadBytes("x.yaml", []byte("version: 1\n"+bad), mapping.Options{LookupEnv: noEnv})
		if !ds.HasErrors() || !strings.Contains(ds.Error(), "mods") {
			t.Errorf("%q: %s", bad, ds.Error())
		}
	}
}

func TestExtendsCycleAndMissing(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", "version: 1\nextends: b.yaml\n")
	p := write(t, dir, "b.yaml", "version: 1\nextends: a.yaml\n")
	if _, ds := mapping.Load(p, mapping.Options{LookupEnv: noEnv}); !strings.Contains(ds.Error(), "ciclo") {
		t.Errorf("cycle not reported: %s", ds.Error())
	}
	q := write(t, dir, "c.yaml", "version: 1\nextends: moodel\n")
	if _, ds := mapping.Load(q, mapping.Options{LookupEnv: noEnv}); !strings.Contains(ds.Error(), "¿quiso decir «moodle»?") {
		t.Errorf("preset typo: %s", ds.Error())
	}
}

func TestEnvInterpolation(t *testing.T) {
	env := func(k string) (string, bool) {
		if k == "MOODLE_DSN" {
			return "postgres://ro:pw@db/moodle", true
		}
		return "", false
	}
	m, ds := mapping.LoadBytes("x.yaml", []byte("version: 1\nsource:\n  driver: postgres\n  dsn: ${MOODLE_DSN}\n  prefix: ${PREFIX:-mdl_}\nparams:\n  price: $$5\n"), mapping.Options{LookupEnv: env})
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	if m.Source.DSN != "postgres://ro:pw@db/moodle" || m.Source.Prefix != "mdl_" {
		t.Errorf("interpolation: %+v", m.Source)
	}
	if v, _ := m.Param("price"); v != "$5" {
		t.Errorf("$$ escape: %v", v)
	}
	_, ds = mapping.LoadBytes("x.yaml", []byte("version: 1\nsource:\n  dsn: ${MOODLE}\nsence:\n  token: ${SENCE_TOKEN}\n"), mapping.Options{LookupEnv: noEnv})
	if !strings.Contains(ds.Error(), "x.yaml:3:8: error: la variable de entorno MOODLE no está definida") {
		t.Errorf("missing variable: %s", ds.Error())
	}
	// A missing token only warns: reviewing a mapping needs no secret.
	if !strings.Contains(ds.Error(), "x.yaml:5:10: aviso: la variable de entorno SENCE_TOKEN no está definida") {
		t.Errorf("missing token variable: %s", ds.Error())
	}
}

func TestTokenNeverQuoted(t *testing.T) {
	const tok = "5eebf607-25a9-4db2-a4dd-5d31bdae3220"
	_, ds := mapping.LoadBytes("x.yaml", []byte("version: 1\nsence:\n  token: "+tok+"\n"), mapping.Options{LookupEnv: noEnv})
	if !strings.Contains(ds.Error(), "MAYÚSCULAS") || strings.Contains(ds.Error(), tok) {
		t.Errorf("lower-case token: %s", ds.Error())
	}
}

func TestBlockScalarPositions(t *testing.T) {
	src := "version: 1\nstudents:\n  fields:\n    estado: |\n      passed ? 2\n        : 1\n    fechaFin: \"date(x)\"\n"
	m, ds := mapping.LoadBytes("x.yaml", []byte(src), mapping.Options{LookupEnv: noEnv})
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	f := m.Levels[mapping.Student].Fields
	if got := f[0].Expr.At(2, 2); got.Line != 6 || got.Col != 9 {
		t.Errorf("block scalar line 2 col 2 at %+v, want 6:9", got)
	}
	if got := f[1].Expr.At(1, 5); got.Line != 7 || got.Col != 21 {
		t.Errorf("quoted scalar col 5 at %+v, want 7:21", got)
	}
}

func TestStrictKeys(t *testing.T) {
	_, ds := mapping.LoadBytes("x.yaml", []byte("version: 1\nsorce:\n  driver: sqlite\nstudents:\n  feilds: {}\n"), mapping.Options{LookupEnv: noEnv})
	for _, want := range []string{"x.yaml:2:1: error: clave desconocida «sorce» en «mapeo»; ¿quiso decir «source»?", "x.yaml:5:3: error: clave desconocida «feilds» en «students»; ¿quiso decir «fields»?"} {
		if !strings.Contains(ds.Error(), want) {
			t.Errorf("missing %q in\n%s", want, ds.Error())
		}
	}
	_, ds = mapping.LoadBytes("x.yaml", []byte("source: {driver: sqlite}\n"), mapping.Options{LookupEnv: noEnv})
	if !strings.Contains(ds.Error(), "falta «version: 1»") {
		t.Errorf("missing version: %s", ds.Error())
	}
}

// TestShippedMappingsMatchTheirSchema: every shipped mapping validates
// against schemas/mapping.schema.json, which editors use.
func TestShippedMappingsMatchTheirSchema(t *testing.T) {
	b, err := schemas.FS.ReadFile("mapping.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(b))
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string][]byte{}
	for _, name := range mappings.Names() {
		data, _ := mappings.Preset(name)
		docs["mappings/"+name+".yaml"] = data
	}
	for _, f := range []string{"../../examples/moodle-demo/mapping.yaml", "../../examples/site/mapping.yaml"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs[f] = data
	}
	// What an editor says of a site file: the preset's parameters are
	// known, typed and closed, unless the file declares its own.
	bad := map[string]bool{
		"version: 1\nsence:\n  rutOtek: x\n":                                                               true,
		"version: 1\nextends: moodle\nparams:\n  passGrde: 4.5\n":                                          true,
		"version: 1\nextends: moodle\nparams:\n  passGrade: \"4,0\"\n":                                     true,
		"version: 1\nextends: moodle\nparams:\n  passGrade: 9\n":                                           true,
		"version: 1\nextends: moodle\nparams:\n  rutFrom: usernme\n":                                       true,
		"version: 1\nextends: moodle\nparams:\n  syncModules: [zoom, 3]\n":                                 true,
		"version: 1\nextends: moodle\nparameters:\n  x: {type: number}\n":                                  true, // no description
		"version: 1\nextends: moodle\nparams:\n  passGrade: 4.5\n  syncModules: zoom\n":                    false,
		"version: 1\nextends: moodle\nparams:\n  passGrade: ${PASS_GRADE:-4.0}\n":                          false,
		"version: 1\nextends: moodle\nparams:\n  syncModules: [zoom, bigbluebuttonbn]\n":                   false,
		"version: 1\nextends: moodle\nparameters:\n  x: {type: number, description: X}\nparams:\n  x: 1\n": false,
		"version: 1\nextends: ./base.yaml\nparams:\n  anything: 1\n":                                       false,
	}
	for doc := range bad {
		docs[doc] = []byte(doc)
	}
	for name, data := range docs {
		_, planted := bad[name]
		if !strings.Contains(string(data), "yaml-language-server: $schema=") && !planted {
			t.Errorf("%s lacks the yaml-language-server $schema line", name)
		}
		var v any
		if err := yaml.Unmarshal(data, &v); err != nil {
			t.Fatal(err)
		}
		j, _ := json.Marshal(v)
		res, err := s.Validate(gojsonschema.NewBytesLoader(j))
		if err != nil {
			t.Fatal(err)
		}
		if wantBad, planted := bad[name]; planted {
			if res.Valid() == wantBad {
				t.Errorf("the mapping schema says valid=%v for %q: %v", res.Valid(), name, res.Errors())
			}
			continue
		}
		if !res.Valid() {
			t.Errorf("%s does not match mapping.schema.json: %v", name, res.Errors())
		}
	}
}

func FuzzLoad(f *testing.F) {
	for _, n := range mappings.Names() {
		b, _ := mappings.Preset(n)
		f.Add(b)
	}
	f.Add([]byte("version: 1\nextends: moodle\nparams: {a: ${X:-1}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, ds := mapping.LoadBytes("fuzz.yaml", data, mapping.Options{LookupEnv: noEnv})
		if m == nil && !ds.HasErrors() {
			t.Fatal("no mapping and no error")
		}
	})
}

// TestSenceSettle: sence.settle is read as a duration, may be left to its
// default, and cannot be shorter than the timeout (set or defaulted),
// reported at its own line.
func TestSenceSettle(t *testing.T) {
	for _, c := range []struct {
		text, err string
		want      time.Duration
	}{
		{"sence:\n  timeout: 30s\n", "", 0},
		{"sence:\n  timeout: 30s\n  settle: 15m\n", "", 15 * time.Minute},
		{"sence:\n  settle: 900\n", "", 900 * time.Second},
		{"sence:\n  timeout: 30s\n  settle: 30s\n", "", 30 * time.Second},
		{"sence:\n  timeout: 30s\n  settle: 10s\n", "x.yaml:4:11: error: sence.settle (10s) no puede ser menor que sence.timeout (30s)", 0},
		{"sence:\n  settle: 5m\n", "x.yaml:3:11: error: sence.settle (5m0s) no puede ser menor que sence.timeout (10m0s)", 0},
		{"sence:\n  settle: pronto\n", "«sence.settle» debe ser una duración", 0},
	} {
		m, ds := mapping.LoadBytes("x.yaml", []byte("version: 1\n"+c.text), mapping.Options{LookupEnv: noEnv})
		switch {
		case c.err == "" && ds.HasErrors():
			t.Errorf("%q: %s", c.text, ds.Error())
		case c.err != "" && !strings.Contains(ds.Error(), c.err):
			t.Errorf("%q: %q; want %q", c.text, ds.Error(), c.err)
		case c.err == "" && m.Sence.Settle != c.want:
			t.Errorf("%q: settle %s, want %s", c.text, m.Sence.Settle, c.want)
		}
	}
}

// TestRepeatedKeys: a key written twice in one map is an error at its
// second occurrence, at any level and in any file of the chain; without
// it YAML keeps one silently (two «sence:» blocks, the second deciding
// where to send).
func TestRepeatedKeys(t *testing.T) {
	dir := t.TempDir()
	base := write(t, dir, "base.yaml", "version: 1\nextends: moodle\nparams:\n  passGrade: 4.0\n  maxGap: 2700\n  passGrade: 5.0\n")
	site := write(t, dir, "site.yaml", "version: 1\nextends: base.yaml\nsence:\n  rutOtec: \"76543210-3\"\n  simulator: {}\nsource:\n  driver: sqlite\nsence:\n  rutOtec: \"76543210-3\"\n  baseUrl: https://sistemas.sence.cl/rce/ws\nstudents:\n  fields:\n    rutAlumno: rut\n    rutAlumno: rut2\n")
	_, ds := mapping.Load(site, mapping.Options{LookupEnv: noEnv})
	for _, want := range []string{
		site + ":8:1: error: la clave «sence» está repetida en el mismo nivel (la primera está en la línea 3)",
		site + ":14:5: error: la clave «rutAlumno» está repetida en el mismo nivel (la primera está en la línea 13)",
		base + ":6:3: error: la clave «passGrade» está repetida en el mismo nivel (la primera está en la línea 4)",
	} {
		if !strings.Contains(ds.Error()+"\n", want) {
			t.Errorf("missing %q in:\n%s", want, ds.Error())
		}
	}
	if n := strings.Count(ds.Error(), "repetida"); n != 3 {
		t.Errorf("%d reports of repeated keys, want 3:\n%s", n, ds.Error())
	}
}

// TestMappingSizeLimit: a mapping, with the files it extends, holds at
// most 1 MiB; above it the error says so at once, before parsing.
func TestMappingSizeLimit(t *testing.T) {
	dir := t.TempDir()
	filler := "# " + strings.Repeat("x", 97) + "\n"
	big := write(t, dir, "big.yaml", "version: 1\n"+strings.Repeat(filler, 11000)) // 1.05 MiB
	if _, ds := mapping.Load(big, mapping.Options{LookupEnv: noEnv}); !strings.Contains(ds.Error(), "big.yaml» es demasiado grande: un mapeo, con los archivos que extiende, no puede pasar de 1,0 MiB") {
		t.Errorf("big mapping: %s", ds.Error())
	}
	// Two files of 0.6 MiB each: the second, named by extends, is over.
	write(t, dir, "half.yaml", "version: 1\n"+strings.Repeat(filler, 6300))
	site := write(t, dir, "site.yaml", "version: 1\nextends: half.yaml\n"+strings.Repeat(filler, 6300))
	_, ds := mapping.Load(site, mapping.Options{LookupEnv: noEnv})
	if !strings.Contains(ds.Error(), site+":2:10: error: el archivo de mapeo") || !strings.Contains(ds.Error(), "los archivos ya leídos suman") {
		t.Errorf("chain over the limit: %s", ds.Error())
	}
	// Just under the limit loads.
	ok := write(t, dir, "ok.yaml", "version: 1\nextends: moodle\n"+strings.Repeat(filler, 10000))
	if _, ds := mapping.Load(ok, mapping.Options{LookupEnv: noEnv}); ds.HasErrors() {
		t.Errorf("a mapping under the limit: %s", ds.Error())
	}
	// A directory is not a mapping.
	sub := filepath.Join(dir, "sub.yaml")
	os.Mkdir(sub, 0o700)
	site = write(t, dir, "dir.yaml", "version: 1\nextends: sub.yaml\n")
	if _, ds := mapping.Load(site, mapping.Options{LookupEnv: noEnv}); !strings.Contains(ds.Error(), "no es un archivo común (es una carpeta)") {
		t.Errorf("directory: %s", ds.Error())
	}
}

// TestCoursesListRepeats: a course listed twice, or two entries giving the
// same SENCE course and section, are warnings at the later entry's line
// (the build would use only the last entry, or send only one of the two);
// different groups of one codigoOferta are fine.
func TestCoursesListRepeats(t *testing.T) {
	dir := t.TempDir()
	site := write(t, dir, "site.yaml", `version: 1
extends: moodle
source: {driver: sqlite, dsn: moodle.db}
sence: {rutOtec: "76543210-3", simulator: {}}
courses:
  list:
    - CAP-1
    - {course: CAP-2, codigoOferta: CAP-9}
    - {course: CAP-3, codigoOferta: CAP-9, codigoGrupo: G2}
    - {course: CAP-4, codigoOferta: CAP-9, codigoGrupo: CAP-9}
    - {course: CAP-1, codigoOferta: CAP-1}
    - {course: CAP-5, codigoOferta: CAP-9, codigoGrupo: G2}
`)
	_, ds := mapping.Load(site, mapping.Options{LookupEnv: noEnv})
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	got := ds.Error() + "\n"
	for _, want := range []string{
		site + ":10:7: aviso: «courses.list» ya da codigoOferta «CAP-9» a otro curso en la línea 8: SENCE recibiría dos listas del mismo curso y sección",
		site + ":11:7: aviso: «courses.list» ya nombra el curso «CAP-1» en la línea 7: vale esta última entrada",
		site + ":12:7: aviso: «courses.list» ya da codigoOferta «CAP-9» y codigoGrupo «G2» a otro curso en la línea 9:",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "«courses.list» ya"); n != 3 {
		t.Errorf("%d repeats reported, want 3:\n%s", n, got)
	}
}
