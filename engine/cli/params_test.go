package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParamsGolden: engine params shows every parameter of the demo
// mapping (the preset as shipped) with its value, where it comes from and
// what it is; and of a site file, the values it sets, from the
// environment or a variable's fallback, beside the preset's defaults.
func TestParamsGolden(t *testing.T) {
	for _, c := range []struct {
		golden string
		env    map[string]string
		args   []string
	}{
		{"params-demo.golden", nil, []string{"../../examples/moodle-demo/mapping.yaml"}},
		{"params-demo.json.golden", nil, []string{"--json", "../../examples/moodle-demo/mapping.yaml"}},
		{"params-site.golden", map[string]string{"PASS_GRADE": "4.5"}, []string{"testdata/params-site.yaml"}},
	} {
		t.Run(c.golden, func(t *testing.T) {
			r := run(t, c.env, append([]string{"params"}, c.args...)...)
			if r.code != ExitOK || r.stderr != "" {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			golden(t, c.golden, r.stdout)
		})
	}
}

// TestParamsJSON: --json carries, per parameter, what the text shows.
func TestParamsJSON(t *testing.T) {
	r := run(t, map[string]string{"PASS_GRADE": "4.5"}, "params", "--json", "testdata/params-site.yaml")
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	var out struct {
		Params []ParamInfo `json:"parametros"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	got := map[string]ParamInfo{}
	for _, p := range out.Params {
		got[p.Name] = p
	}
	if len(out.Params) != 14 {
		t.Errorf("%d parameters, want the preset's 14", len(out.Params))
	}
	pg := got["passGrade"]
	if pg.Value != 4.5 || pg.Default != 4.0 || pg.Origin != "params" || pg.File != "testdata/params-site.yaml" || pg.Line != 7 ||
		len(pg.Env) != 1 || pg.Env[0].Name != "PASS_GRADE" || !pg.Env[0].Set || pg.Type != "number" || *pg.Min != 1 || *pg.Max != 7 {
		t.Errorf("passGrade: %+v", pg)
	}
	sm := got["syncModules"]
	if v, _ := sm.Value.([]any); len(v) != 1 || v[0] != "zoom" || sm.Items != "string" {
		t.Errorf("syncModules: %+v", sm)
	}
	rf := got["rutFrom"]
	if rf.Origin != "porOmision" || rf.Preset != "moodle" || rf.File != "moodle.yaml" || len(rf.Values) != 2 || rf.Desc == "" {
		t.Errorf("rutFrom: %+v", rf)
	}
}

// TestParamsNeedsNoSecrets: engine params reads only the mapping: the
// database's DSN, the RUT and the token may be unset; a mistake in the
// parameters is shown instead, with exit 1.
func TestParamsNeedsNoSecrets(t *testing.T) {
	if r := run(t, nil, "params", "../../examples/site/mapping.yaml"); r.code != ExitOK || !strings.Contains(r.stdout, "passGrade: 4.0\n  número; definido en ../../examples/site/mapping.yaml:21") {
		t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := run(t, nil, "params", "../plan/testdata/validate/offline.yaml")
	if r.code != ExitProblems || r.stdout != "" || !strings.Contains(r.stderr, "offline.yaml:22:3: error: parámetro desconocido «passGrde»; ¿quiso decir «passGrade»?") {
		t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, nil, "params", "-h"); r.code != ExitOK || !strings.Contains(r.stdout, "Uso: engine params [opciones] MAPEO.yaml") {
		t.Errorf("-h: exit %d\n%s", r.code, r.stdout)
	}
}

// TestParamsFree: a mapping that declares nothing shows its params as
// undeclared, with where each is set.
func TestParamsFree(t *testing.T) {
	p := filepath.Join(t.TempDir(), "free.yaml")
	if err := os.WriteFile(p, []byte("version: 1\nparams:\n  a: 1\n  b: [x, '${B:-y}']\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "params", p)
	want := "Parámetros de " + p + " (2 parámetros; el mapeo no los declara: se aceptan con cualquier nombre y valor):\n\n" +
		"a: 1\n  sin declarar; definido en " + p + ":3\n\n" +
		"b: [x, y]\n  sin declarar; definido en " + p + ":4, con el valor de respaldo de ${B:-…} (B no está definida)\n"
	if r.code != ExitOK || r.stdout != want {
		t.Errorf("exit %d\n%s\nwant\n%s", r.code, r.stdout, want)
	}
}
