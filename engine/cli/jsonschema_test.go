package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xeipuuv/gojsonschema"

	"github.com/otec-tools/sence-engine/engine/nightly"
	"github.com/otec-tools/sence-engine/engine/pipeline"
	"github.com/otec-tools/sence-engine/schemas"
)

// validJSON checks a file against one of schemas/: the result's Valid,
// not only the error (an invalid document returns no error).
func validJSON(t *testing.T, schemaFile, path string) []byte {
	t.Helper()
	sb, err := schemas.FS.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(sb), gojsonschema.NewBytesLoader(doc))
	if err != nil {
		t.Fatalf("%s against %s: %v", path, schemaFile, err)
	}
	if !res.Valid() {
		for _, e := range res.Errors() {
			t.Errorf("%s: %s", filepath.Base(path), e)
		}
	}
	return doc
}

// TestJSONReportsMatchSchemas: the demo's resumen.json (export, plain and
// with groups as sections) and its run reports (a night, the same night
// again, and a dry run) follow schemas/resumen.schema.json and
// schemas/ejecucion.schema.json, name each student as every output does
// and carry the values sent and times in Chile's time.
func TestJSONReportsMatchSchemas(t *testing.T) {
	dd := demoDir(t)
	ctx := context.Background()
	clock := newClock(22, 30)
	mapping := filepath.Join(dd, "mapping.yaml")
	for _, extra := range []string{"", "params:\n  groupFrom: groups\n"} {
		out := filepath.Join(t.TempDir(), "out")
		if r := runCmd(ctx, clock, "export", site(t, dd, "site.yaml", extra), "--date", "2026-11-20", "--out", out); r.code != ExitProblems {
			t.Fatalf("export: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		doc := validJSON(t, schemas.ResumenFile, filepath.Join(out, "resumen.json"))
		var sum pipeline.Summary
		if err := json.Unmarshal(doc, &sum); err != nil {
			t.Fatal(err)
		}
		if sum.Version != pipeline.SummaryVersion || sum.Schema != pipeline.SummarySchemaID {
			t.Errorf("resumen.json format: %q %d", sum.Schema, sum.Version)
		}
		if extra == "" {
			for _, want := range []string{
				`"alumno": "Luis Silva Parra (RUT inválido \"11111111-2\", Moodle id 10)"`,
				`"rutInvalido": "11111111-2"`,
				`"alumno": "Benjamín Araya Quiroz (RUT 20.111.222-2, Moodle id 16)"`,
				`"porcentajeAvance"`, `"codigoModulo": "C61001-O101-M1"`,
			} {
				if !strings.Contains(string(doc), want) {
					t.Errorf("resumen.json lacks %s", want)
				}
			}
			sent := 0
			for _, c := range sum.Courses {
				sent += len(c.Enviados)
				for _, s := range c.Enviados {
					if s.Enviado == nil || len(s.Enviado.Modulos) == 0 || s.IDMoodle == "" {
						t.Errorf("%s: student sent without values or Moodle id: %+v", c.CodigoOferta, s)
					}
				}
			}
			if sent != sum.Included {
				t.Errorf("%d students listed as sent, %d included", sent, sum.Included)
			}
		}
	}
	for i, args := range [][]string{
		{"run", mapping, "--date", "2026-11-20"},
		{"run", mapping, "--date", "2026-11-20"}, // the same night: ya-enviado
		{"run", mapping, "--date", "2026-11-21", "--dry-run"},
	} {
		r := runCmd(ctx, clock, args...)
		if r.code != ExitProblems {
			t.Fatalf("%v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		path := filepath.Join(dd, "reports", "run-"+string(rune('1'+i))+".json")
		doc := validJSON(t, schemas.EjecucionFile, path)
		if i > 0 {
			continue
		}
		for _, want := range []string{
			`"inicio": "2026-11-20T22:30:00-03:00"`,
			`"alumno": "Benjamín Araya Quiroz (RUT 20.111.222-2, Moodle id 16)"`,
			`"alumno": "Juan Pérez Cofré (sin RUT válido, Moodle id 9)"`,
		} {
			if !strings.Contains(string(doc), want) {
				t.Errorf("run-1.json lacks %s", want)
			}
		}
		var rep nightly.Report
		if err := json.Unmarshal(doc, &rep); err != nil {
			t.Fatal(err)
		}
		withValues := 0
		for _, c := range rep.Courses {
			for _, s := range c.Students {
				if s.Status == nightly.StudentAccepted && s.Sent != nil && len(s.Sent.Modulos) > 0 {
					withValues++
				}
			}
		}
		if withValues != rep.Totals.Accepted {
			t.Errorf("%d accepted students with the values sent, %d accepted", withValues, rep.Totals.Accepted)
		}
	}
}

// TestSchemasMatchTypes: every key the Go types of resumen.json and
// run-N.json write is in their schema, and every key of the schema is
// written: a field added to a report type needs its place (and its
// description) in schemas/.
func TestSchemasMatchTypes(t *testing.T) {
	for _, tc := range []struct {
		file string
		typ  reflect.Type
	}{
		{schemas.ResumenFile, reflect.TypeOf(pipeline.Summary{})},
		{schemas.EjecucionFile, reflect.TypeOf(nightly.Report{})},
	} {
		b, err := schemas.FS.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		var root map[string]any
		if err := json.Unmarshal(b, &root); err != nil {
			t.Fatal(err)
		}
		defs, _ := root["definitions"].(map[string]any)
		compareKeys(t, tc.file, "", tc.typ, root, defs)
	}
}

// compareKeys compares a struct type's JSON keys with a schema object's
// properties, and recurses into nested objects and lists.
func compareKeys(t *testing.T, file, at string, typ reflect.Type, node map[string]any, defs map[string]any) {
	t.Helper()
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
		typ = typ.Elem()
		if items, ok := node["items"].(map[string]any); ok {
			node = items
		}
	}
	if ref, ok := node["$ref"].(string); ok {
		node, _ = defs[strings.TrimPrefix(ref, "#/definitions/")].(map[string]any)
	}
	if typ.Kind() != reflect.Struct || typ == reflect.TypeOf(time.Time{}) {
		return
	}
	props, _ := node["properties"].(map[string]any)
	keys := jsonKeys(typ)
	for name, f := range keys {
		p, ok := props[name].(map[string]any)
		if !ok {
			t.Errorf("%s: %s%s is written but not in the schema", file, at, name)
			continue
		}
		compareKeys(t, file, at+name+".", f.Type, p, defs)
	}
	for name := range props {
		if _, ok := keys[name]; !ok {
			t.Errorf("%s: %s%s is in the schema but never written", file, at, name)
		}
	}
}

// jsonKeys are the keys encoding/json writes for a struct type, embedded
// structs flattened.
func jsonKeys(typ reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && name == "" {
			for k, v := range jsonKeys(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f
	}
	return out
}
