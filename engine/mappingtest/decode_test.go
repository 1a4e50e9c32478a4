package mappingtest

import (
	"strings"
	"testing"
)

// TestDecodeDiagnostics: each mistake is one error at its line and
// column, and a well-formed file decodes whole.
func TestDecodeDiagnostics(t *testing.T) {
	for _, c := range []struct {
		name, doc string
		want      []string // "line:col: part of the message"
	}{
		{"no version", "mapping: moodle\ntests: [{name: a, reportDate: 2026-11-20, expect: [{course: X}]}]\n",
			[]string{"1:1: falta «version: 1»"}},
		{"wrong version", "version: 2\nmapping: moodle\ntests: [{name: a, reportDate: 2026-11-20, expect: [{course: X}]}]\n",
			[]string{"1:10: versión 2 no soportada"}},
		{"top-level typo", "version: 1\nmapping: moodle\nreportDate: 2026-11-20\ntest: []\n",
			[]string{"4:1: clave desconocida «test» en el archivo de pruebas (claves: version, mapping, params, queries, reportDate, tables, tests); ¿quiso decir «tests»?", "1:1: falta «tests»"}},
		{"no report date", "version: 1\nmapping: moodle\ntests:\n  - name: a\n    expect: [{course: X}]\n",
			[]string{"4:5: la prueba «a» no tiene «reportDate»"}},
		{"bad date", "version: 1\nmapping: moodle\ntests:\n  - name: a\n    reportDate: 20-11-2026\n    expect: [{course: X}]\n",
			[]string{"5:17: «reportDate» debe ser una fecha AAAA-MM-DD"}},
		{"same name twice", "version: 1\nmapping: moodle\nreportDate: 2026-11-20\ntests:\n  - {name: a, expect: [{course: X}]}\n  - {name: a, expect: [{course: X}]}\n",
			[]string{"6:5: la prueba «a» ya está en la línea 5"}},
		{"field of another level", "version: 1\nmapping: moodle\nreportDate: 2026-11-20\ntests:\n  - name: a\n    expect:\n      - course: X\n        students:\n          - rut: 1-9\n            modules:\n              - module: M\n                fields: {rutAlumno: 1}\n",
			[]string{"12:26: «rutAlumno» no es un campo de SENCE de módulo"}},
		{"student without rut", "version: 1\nmapping: moodle\nreportDate: 2026-11-20\ntests:\n  - name: a\n    expect:\n      - course: X\n        excluded:\n          - reason: x\n",
			[]string{"9:13: falta «rut» (como 12345678-5) o «userid»"}},
		{"both reasons", "version: 1\nmapping: moodle\nreportDate: 2026-11-20\ntests:\n  - name: a\n    expect:\n      - course: X\n        excluded:\n          - {rut: 1-9, reason: x, exactReason: y}\n",
			[]string{"9:48: use «reason» (una parte del motivo) o «exactReason»"}},
		{"list for a value", "version: 1\nmapping: moodle\nreportDate: 2026-11-20\ntests:\n  - name: a\n    tables:\n      user:\n        - {id: [1]}\n    expect: [{course: X}]\n",
			[]string{"8:16: «tables.user.id» debe ser un valor"}},
		{"expects nothing", "version: 1\nmapping: moodle\nreportDate: 2026-11-20\ntests:\n  - name: a\n    expect: []\n",
			[]string{"6:13: la prueba «a» no espera nada: «expect» está vacío"}},
		{"fine", "version: 1\nmapping: moodle\nreportDate: 2026-11-20\ntests:\n  - name: a\n    expect:\n      - course: X\n        fields: {codigoGrupo: G}\n", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, ds := Decode("t.test.yaml", []byte(c.doc))
			var got []string
			for _, d := range ds {
				got = append(got, d.String())
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %d diagnostics, want %d:\n%s", len(got), len(c.want), strings.Join(got, "\n"))
			}
			for i, w := range c.want {
				if !strings.HasPrefix(got[i], "t.test.yaml:"+strings.SplitN(w, ": ", 2)[0]+": error: ") || !strings.Contains(got[i], strings.SplitN(w, ": ", 2)[1]) {
					t.Errorf("diagnostic %d:\n got  %s\n want %s", i, got[i], w)
				}
			}
			if c.want == nil && (f == nil || len(f.Tests) != 1 || f.Tests[0].Courses[0].Fields[0].Value != "G") {
				t.Errorf("decoded %+v", f)
			}
		})
	}
}

// TestOverlayKeepsOnlyParamsAndQueries: the mapping loader sees the test
// file's params and queries at their own lines, and nothing else.
func TestOverlayKeepsOnlyParamsAndQueries(t *testing.T) {
	doc := "version: 1\nmapping: moodle\nparams:\n  passGrade: 4.5\ntests:\n  - name: a\n    reportDate: 2026-11-20\n    expect: [{course: X}]\nqueries:\n  grades:\n    sql: SELECT 1\n"
	f, ds := Decode("t.test.yaml", []byte(doc))
	if len(ds) > 0 {
		t.Fatal(ds.Error())
	}
	want := "version: 1\n\nparams:\n  passGrade: 4.5\n\n\n\n\nqueries:\n  grades:\n    sql: SELECT 1\n"
	if string(f.Overlay) != want {
		t.Errorf("overlay:\n%q\nwant\n%q", f.Overlay, want)
	}
}

func TestEqualAndReasons(t *testing.T) {
	for _, c := range []struct {
		want, got any
		eq        bool
	}{
		{int64(4), 4.0, true}, {4.5, 4.5, true}, {int64(4), "4", false}, {"4", "4", true},
		{nil, nil, true}, {nil, 0.0, false}, {"2026-11-20", "2026-11-20", true}, {true, true, true},
	} {
		if equal(c.want, c.got) != c.eq {
			t.Errorf("equal(%#v, %#v) = %v", c.want, c.got, !c.eq)
		}
	}
	if !(Reason{Text: "sin RUT"}).Matches("sin RUT: el campo está vacío") || (Reason{Text: "sin RUT", Exact: true}).Matches("sin RUT: x") {
		t.Error("reason: a part matches, an exact text only itself")
	}
}
