package mappingtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/xeipuuv/gojsonschema"
	yaml "go.yaml.in/yaml/v3"

	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/schemas"
)

// testSchema compiles schemas/mapping-test.schema.json, which takes
// params and queries from the mapping's schema.
func testSchema(t *testing.T) *gojsonschema.Schema {
	t.Helper()
	ms, err := schemas.FS.ReadFile("mapping.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	ts, err := schemas.FS.ReadFile("mapping-test.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	sl := gojsonschema.NewSchemaLoader()
	if err := sl.AddSchemas(gojsonschema.NewBytesLoader(ms)); err != nil {
		t.Fatal(err)
	}
	s, err := sl.Compile(gojsonschema.NewBytesLoader(ts))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// yamlToJSON reads YAML as an editor does (YAML 1.2: 2026-11-20 is a
// text, not a timestamp).
func yamlToJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var text func(n *yaml.Node)
	text = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!timestamp" {
			n.Tag = "!!str"
		}
		for _, c := range n.Content {
			text(c)
		}
	}
	text(&doc)
	var v any
	if err := doc.Decode(&v); err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestShippedFilesMatchTheSchema: every test file the project ships (the
// preset's and the command's examples) is valid for the editor schema,
// and a file with a typo is not.
func TestShippedFilesMatchTheSchema(t *testing.T) {
	s := testSchema(t)
	files, _ := filepath.Glob("../../mappings/tests/*" + Suffix)
	more, _ := filepath.Glob("../cli/testdata/enginetest/*" + Suffix)
	files = append(files, more...)
	if len(files) < 10 {
		t.Fatalf("found only %d test files", len(files))
	}
	for _, f := range files {
		if filepath.Base(f) == "broken"+Suffix {
			continue // wrong on purpose
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.Validate(gojsonschema.NewBytesLoader(yamlToJSON(t, b)))
		if err != nil {
			t.Fatal(err)
		}
		if !r.Valid() {
			t.Errorf("%s: %v", f, r.Errors())
		}
	}
	for name, doc := range map[string]string{
		"unknown key":      "version: 1\nmapping: moodle\ntests: [{name: a, expect: [{course: X}], expct: []}]\n",
		"unknown field":    "version: 1\nmapping: moodle\ntests: [{name: a, expect: [{course: X, fields: {estad: 1}}]}]\n",
		"preset param":     "version: 1\nmapping: moodle\nparams: {passGrad: 4}\ntests: [{name: a, expect: [{course: X}]}]\n",
		"expects nothing":  "version: 1\nmapping: moodle\ntests: [{name: a, expect: []}]\n",
		"no tests":         "version: 1\nmapping: moodle\n",
		"module field":     "version: 1\nmapping: moodle\ntests: [{name: a, expect: [{course: X, students: [{rut: 1-9, modules: [{module: M, fields: {rutAlumno: 1}}]}]}]}]\n",
		"bad report date":  "version: 1\nmapping: moodle\nreportDate: 20-11-2026\ntests: [{name: a, expect: [{course: X}]}]\n",
		"query of mapping": "version: 1\nmapping: moodle\nqueries: {students: {sqll: x}}\ntests: [{name: a, expect: [{course: X}]}]\n",
	} {
		r, err := s.Validate(gojsonschema.NewBytesLoader(yamlToJSON(t, []byte(doc))))
		if err != nil {
			t.Fatal(err)
		}
		if r.Valid() {
			t.Errorf("%s: the schema accepts %q", name, doc)
		}
	}
}

// TestSchemaFieldsAreSENCEs: the schema's expected fields of each level
// are the fields a mapping computes (payload.Keys), as Decode accepts.
func TestSchemaFieldsAreSENCEs(t *testing.T) {
	b, err := schemas.FS.ReadFile("mapping-test.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Definitions map[string]json.RawMessage
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	type obj = map[string]any
	var course, student obj
	json.Unmarshal(s.Definitions["course"], &course)
	json.Unmarshal(s.Definitions["student"], &student)
	props := func(o obj, path ...string) obj {
		for _, p := range path {
			o, _ = o[p].(obj)
		}
		return o
	}
	module := props(student, "properties", "modules", "items")
	activity := props(module, "properties", "activities", "items")
	for level, o := range []obj{course, student, module, activity} {
		var got []string
		for k := range props(o, "properties", "fields", "properties") {
			got = append(got, k)
		}
		want := fieldNames(level)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: the schema's fields %v, SENCE's %v", mapping.LevelNames[level], got, want)
		}
	}
}
