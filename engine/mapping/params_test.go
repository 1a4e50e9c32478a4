package mapping_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/mapping"
)

// decls is a small set of declarations, one of each type, for the table
// tests below (line 3 onwards of base.yaml).
const decls = `version: 1
parameters:
  grade:
    type: number
    default: 4.0
    min: 1
    max: 7
    description: Nota.
  gap:
    type: integer
    default: 2700
    min: 1
    description: Segundos.
  from:
    type: string
    default: idnumber
    values:
      idnumber: el número de ID
      username: el nombre de usuario
    description: Dónde está el RUT.
  field:
    type: string
    default: ""
    description: Un campo.
  strict:
    type: bool
    default: false
    description: Estricto.
  code:
    type: pattern
    default: '^C[0-9]+$'
    description: Un patrón.
  mods:
    type: list
    match: '^[a-z]+$'
    default: [bigbluebuttonbn]
    description: Tipos de actividad.
  levels:
    type: list
    items: integer
    values: [1, 2, 3]
    default: [1]
    description: Niveles.
`

func loadSite(t *testing.T, site string, vars map[string]string) (*mapping.Mapping, diag.List) {
	t.Helper()
	dir := t.TempDir()
	write(t, dir, "base.yaml", decls)
	p := write(t, dir, "site.yaml", "version: 1\nextends: base.yaml\n"+site)
	m, ds := mapping.Load(p, mapping.Options{LookupEnv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }})
	if m == nil {
		t.Fatalf("not loaded: %s", ds.Error())
	}
	// Positions in messages are made relative, for the table.
	for i := range ds {
		ds[i].File = strings.TrimPrefix(ds[i].File, dir+"/")
	}
	return m, ds
}

// TestDeclaredParams: each value a site writes is typed by its
// declaration and reported, when wrong, at its own line and column.
func TestDeclaredParams(t *testing.T) {
	for _, c := range []struct {
		name, site string
		vars       map[string]string
		param      string
		want       any
		err        string // "" for none
	}{
		{"default", "", nil, "grade", 4.0, ""},
		{"number from an integer", "params:\n  grade: 5\n", nil, "grade", 5.0, ""},
		{"number quoted", "params:\n  grade: \"4.5\"\n", nil, "grade", 4.5, ""},
		{"decimal comma", "params:\n  grade: \"4,0\"\n", nil, "grade", 4.0,
			"site.yaml:4:10: error: «params.grade» debe ser un número, como 4.0; se obtuvo «4,0»: escriba el decimal con punto, 4.0"},
		{"not a number", "params:\n  grade: cuatro\n", nil, "grade", 4.0, "site.yaml:4:10: error: «params.grade» debe ser un número, como 4.0; se obtuvo «cuatro»"},
		{"out of range", "params:\n  grade: 70\n", nil, "grade", 4.0, "site.yaml:4:10: error: «params.grade» debe estar entre 1.0 y 7.0; se obtuvo 70.0"},
		{"integer", "params:\n  gap: 1800\n", nil, "gap", 1800, ""},
		{"integer with decimals", "params:\n  gap: 2700.5\n", nil, "gap", 2700, "site.yaml:4:8: error: «params.gap» debe ser un número entero, como 2700; se obtuvo «2700.5»: sin decimales"},
		{"integer below min", "params:\n  gap: 0\n", nil, "gap", 2700, "site.yaml:4:8: error: «params.gap» debe ser al menos 1; se obtuvo 0"},
		{"null integer", "params:\n  gap:\n", nil, "gap", 2700, "site.yaml:4:7: error: «params.gap» debe ser un número entero, como 2700; se obtuvo nada"},
		{"a list for a number", "params:\n  gap: [1]\n", nil, "gap", 2700, "site.yaml:4:8: error: «params.gap» debe ser un número entero, como 2700; se obtuvo una lista"},
		{"value", "params:\n  from: username\n", nil, "from", "username", ""},
		{"value typo", "params:\n  from: usernme\n", nil, "from", "idnumber", "site.yaml:4:9: error: «params.from» debe ser idnumber o username; se obtuvo «usernme»; ¿quiso decir «username»?"},
		{"text from a number", "params:\n  field: 123\n", nil, "field", "123", ""},
		{"text null", "params:\n  field:\n", nil, "field", "", ""},
		{"bool", "params:\n  strict: true\n", nil, "strict", true, ""},
		{"bool typo", "params:\n  strict: si\n", nil, "strict", false, "site.yaml:4:11: error: «params.strict» debe ser true o false; se obtuvo «si»"},
		{"pattern is a text", "params:\n  code: '^X'\n", nil, "code", "^X", ""},
		{"list", "params:\n  mods: [zoom, teams]\n", nil, "mods", []any{"zoom", "teams"}, ""},
		{"one value is a list", "params:\n  mods: zoom\n", nil, "mods", []any{"zoom"}, ""},
		{"null is the empty list", "params:\n  mods:\n", nil, "mods", []any{}, ""},
		{"list item", "params:\n  mods:\n    - zoom\n    - Zoom\n", nil, "mods", []any{"bigbluebuttonbn"}, "site.yaml:6:7: error: «params.mods[1]» debe calzar con la expresión regular «^[a-z]+$»; se obtuvo «Zoom»"},
		{"list of maps", "params:\n  mods: {a: 1}\n", nil, "mods", []any{"bigbluebuttonbn"}, "site.yaml:4:9: error: «params.mods» debe ser una lista, como [bigbluebuttonbn]"},
		{"integer items", "params:\n  levels: [2, 3]\n", nil, "levels", []any{2, 3}, ""},
		{"integer item not allowed", "params:\n  levels: [2, 4]\n", nil, "levels", []any{1}, "site.yaml:4:15: error: «params.levels[1]» debe ser 1, 2 o 3; se obtuvo «4»"},
		{"from the environment", "params:\n  grade: ${GRADE}\n", map[string]string{"GRADE": "5.5"}, "grade", 5.5, ""},
		{"wrong in the environment", "params:\n  grade: ${GRADE}\n", map[string]string{"GRADE": "5,5"}, "grade", 4.0,
			"site.yaml:4:10: error: «params.grade» debe ser un número, como 4.0; se obtuvo «5,5» (de la variable de entorno GRADE): escriba el decimal con punto, 5.5"},
		{"undefined variable: one diagnostic", "params:\n  grade: ${GRADE}\n", nil, "grade", 4.0,
			"site.yaml:4:10: error: la variable de entorno GRADE no está definida (usada en «params.grade»); defínala o use ${GRADE:-valor}"},
		{"variable default", "params:\n  grade: ${GRADE:-6.0}\n", nil, "grade", 6.0, ""},
		{"typo", "params:\n  grde: 4.5\n", nil, "grade", 4.0, "site.yaml:4:3: error: parámetro desconocido «grde»; ¿quiso decir «grade»?"},
		{"unknown, far from any", "params:\n  somethingElse: 1\n", nil, "grade", 4.0,
			"site.yaml:4:3: error: parámetro desconocido «somethingElse» (los parámetros declarados son grade, gap, from, field, strict, code, mods, levels; engine params los explica). Para uno propio, declárelo en «parameters»"},
		{"own declaration", "parameters:\n  mine:\n    type: integer\n    default: 3\n    description: Mío.\nparams:\n  mine: 4\n", nil, "mine", 4, ""},
		{"own parameter required", "parameters:\n  mine:\n    type: string\n    description: Mío.\n", nil, "mine", "", "site.yaml: error: falta el parámetro «mine»: defínalo en «params» (está declarado en"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, ds := loadSite(t, c.site, c.vars)
			got, ok := m.Param(c.param)
			if !ok || !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s = %#v (%v), want %#v", c.param, got, ok, c.want)
			}
			errs, _ := ds.Count()
			switch {
			case c.err == "" && errs > 0:
				t.Errorf("unexpected: %s", ds.Error())
			case c.err != "" && (errs != 1 || !strings.HasPrefix(ds.Error(), c.err)):
				t.Errorf("got %d errors:\n%s\nwant one:\n%s", errs, ds.Error(), c.err)
			}
		})
	}
}

// TestParamOrigins: engine params says where each value comes from.
func TestParamOrigins(t *testing.T) {
	m, ds := loadSite(t, "params:\n  gap: 1800\n  grade: ${GRADE}\n  mods: [zoom, '${MOD:-teams}']\n", map[string]string{"GRADE": "5"})
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	byName := map[string]mapping.Param{}
	for _, p := range m.Params {
		byName[p.Name] = p
	}
	// Declared order, every declared parameter.
	var names []string
	for _, p := range m.Params {
		names = append(names, p.Name)
	}
	if want := []string{"grade", "gap", "from", "field", "strict", "code", "mods", "levels"}; !reflect.DeepEqual(names, want) {
		t.Errorf("params %v, want %v", names, want)
	}
	gap, grade, from, mods := byName["gap"], byName["grade"], byName["from"], byName["mods"]
	if gap.Default || !strings.HasSuffix(gap.Pos.File, "site.yaml") || gap.Pos.Line != 4 || gap.ValuePos.Col != 8 {
		t.Errorf("gap from %+v (value %+v), default %v", gap.Pos, gap.ValuePos, gap.Default)
	}
	if !from.Default || !strings.HasSuffix(from.Pos.File, "base.yaml") || from.Pos.Line != 16 || from.Decl == nil || from.Decl.Name != "from" {
		t.Errorf("from from %+v, default %v", from.Pos, from.Default)
	}
	if !reflect.DeepEqual(grade.Env, []mapping.EnvRef{{Name: "GRADE", Set: true}}) || grade.Value != 5.0 {
		t.Errorf("grade env %+v value %v", grade.Env, grade.Value)
	}
	if !reflect.DeepEqual(mods.Env, []mapping.EnvRef{{Name: "MOD", Set: false}}) || len(mods.ItemPos) != 2 || mods.ItemPos[1].Line != 6 || mods.ItemPos[1].Col != 16 {
		t.Errorf("mods env %+v items %+v", mods.Env, mods.ItemPos)
	}
}

// TestDeclarationMistakes: a preset writer's mistakes are reported in the
// declaring file.
func TestDeclarationMistakes(t *testing.T) {
	for _, c := range []struct{ decl, err string }{
		{"  x:\n    default: 1\n    description: X.\n", "x.yaml:3:3: error: a la declaración «parameters.x» le falta «type» (string, integer, number, bool, pattern, list)"},
		{"  x:\n    type: numbre\n    description: X.\n", "x.yaml:4:11: error: tipo «numbre» desconocido en «parameters.x.type» (use string, integer, number, bool, pattern, list); ¿quiso decir «number»?"},
		{"  x:\n    type: number\n", "x.yaml:3:3: error: a la declaración «parameters.x» le falta «description»"},
		{"  x:\n    type: string\n    items: string\n    description: X.\n", "x.yaml:5:12: error: «parameters.x.items» solo sirve con type: list"},
		{"  x:\n    type: string\n    min: 1\n    description: X.\n", "x.yaml:5:10: error: «parameters.x»: min y max solo sirven con números"},
		{"  x:\n    type: integer\n    min: 5\n    max: 1\n    description: X.\n", "x.yaml:5:10: error: «parameters.x»: min (5) es mayor que max (1)"},
		{"  x:\n    type: string\n    match: '('\n    description: X.\n", "x.yaml:5:12: error: «parameters.x.match»: expresión regular «(» inválida: falta cerrar un paréntesis en «(»"},
		{"  x:\n    type: integer\n    default: 9\n    max: 5\n    description: X.\n", "x.yaml:5:14: error: «parameters.x.default» debe ser a lo más 5; se obtuvo 9"},
		{"  x:\n    type: string\n    values: [a, b]\n    default: c\n    description: X.\n", "x.yaml:6:14: error: «parameters.x.default» debe ser a o b; se obtuvo «c»"},
		{"  x:\n    type: bool\n    values: [true]\n    description: X.\n", "x.yaml:5:13: error: «parameters.x.values» no sirve con type bool"},
		{"  x: number\n", "x.yaml:3:6: error: la declaración «parameters.x» debe ser un mapa"},
	} {
		_, all := mapping.LoadBytes("x.yaml", []byte("version: 1\nparameters:\n"+c.decl), mapping.Options{LookupEnv: noEnv})
		// Without a default, x also lacks a value: not what is tested here.
		var ds diag.List
		for _, d := range all {
			if !strings.HasPrefix(d.Msg, "falta el parámetro «x»") {
				ds = append(ds, d)
			}
		}
		if errs, _ := ds.Count(); errs != 1 || !strings.HasPrefix(ds.Error(), c.err) {
			t.Errorf("%q: got\n%s\nwant one error:\n%s", c.decl, ds.Error(), c.err)
		}
	}
}

// TestFreeParams: a mapping chain without declarations keeps free params
// (any name, typed by YAML), as before declarations existed.
func TestFreeParams(t *testing.T) {
	m, ds := mapping.LoadBytes("x.yaml", []byte("version: 1\nparams:\n  anything: 4,0\n  n: 3\n"), mapping.Options{LookupEnv: noEnv})
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	if v, _ := m.Param("anything"); v != "4,0" {
		t.Errorf("anything = %#v", v)
	}
	if v, _ := m.Param("n"); v != 3 {
		t.Errorf("n = %#v", v)
	}
	if len(m.Declarations) != 0 || m.Params[0].Decl != nil {
		t.Error("declarations out of nowhere")
	}
}
