package mapping_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	yaml "go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite schemas/mapping.schema.json and the README's parameter table from the presets' declarations")

const schemaFile = "../../schemas/mapping.schema.json"

// TestSchemaIsCurrent: the editor schema's parameters of each preset are
// generated from the preset's declarations, and each level's SENCE fields
// from payload.Keys; a declaration changed without
// regenerating fails here (go test ./engine/mapping -run SchemaIsCurrent
// -update rewrites the file; review the diff).
func TestSchemaIsCurrent(t *testing.T) {
	cur, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	allOf, presetParams, err := mapping.PresetSchemaParts()
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(cur, &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	// The emitter reproduces the file as it is: the hand-written parts
	// stay as they were written.
	var same bytes.Buffer
	writeJSON(&same, root, "")
	if same.WriteByte('\n'); !bytes.Equal(same.Bytes(), cur) {
		t.Fatalf("the JSON writer of this test does not reproduce %s (write it with two-space indents, one value per line):\n%s", schemaFile, firstDiff(string(cur), same.String()))
	}
	set(t, root, allOf, "allOf")
	set(t, root, presetParams, "definitions", "presetParams")
	// Each level's SENCE fields, from payload.Keys.
	for level, name := range mapping.LevelNames {
		var props []string
		for _, f := range payload.Fields[level] {
			props = append(props, fmt.Sprintf(`%q: {"type": "string", "description": "Expresión (expr-lang) evaluada por cada entidad del nivel"}`, f.Name))
		}
		set(t, root, []byte("{"+strings.Join(props, ", ")+"}"), "properties", name, "properties", "fields", "properties")
	}
	var b bytes.Buffer
	writeJSON(&b, root, "")
	b.WriteByte('\n')
	if !json.Valid(b.Bytes()) {
		t.Fatalf("generated schema is not JSON:\n%s", b.String())
	}
	if bytes.Equal(b.Bytes(), cur) {
		return
	}
	if *update {
		if err := os.WriteFile(schemaFile, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is stale: the presets' declarations changed. Run go test ./engine/mapping -run SchemaIsCurrent -update and review the diff. First difference:\n%s", schemaFile, firstDiff(string(cur), b.String()))
}

// set replaces (or adds) the value at a path of object keys with JSON.
func set(t *testing.T, n *yaml.Node, value []byte, path ...string) {
	t.Helper()
	var v yaml.Node
	if err := yaml.Unmarshal(value, &v); err != nil {
		t.Fatal(err)
	}
	for i, key := range path {
		var found *yaml.Node
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == key {
				found = n.Content[j+1]
			}
		}
		if i == len(path)-1 {
			if found != nil {
				*found = *v.Content[0]
			} else {
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v.Content[0])
			}
			return
		}
		if found == nil {
			found = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, found)
		}
		n = found
	}
}

// writeJSON writes a YAML node read from JSON back as JSON, indented by two
// spaces with its keys in their order (as the file is written).
func writeJSON(b *bytes.Buffer, n *yaml.Node, indent string) {
	inner := indent + "  "
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{\n")
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString(inner)
			writeString(b, n.Content[i].Value)
			b.WriteString(": ")
			writeJSON(b, n.Content[i+1], inner)
		}
		b.WriteString("\n" + indent + "}")
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[\n")
		for i, c := range n.Content {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString(inner)
			writeJSON(b, c, inner)
		}
		b.WriteString("\n" + indent + "]")
	default:
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 || n.Tag == "!!str" {
			writeString(b, n.Value)
		} else {
			b.WriteString(n.Value) // a number, true, false or null
		}
	}
}

func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	b.Truncate(b.Len() - 1) // Encode's newline
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n  file       %s\n  generated  %s", i+1, x, y)
		}
	}
	return ""
}

const readmeFile = "../../README.md"

// README markers around the preset's parameter table.
const (
	tableStart = "<!-- parámetros del preset moodle: generados de sus declaraciones (go test ./engine/mapping -run READMEParams -update) -->\n"
	tableEnd   = "<!-- fin de los parámetros del preset moodle -->\n"
)

// TestREADMEParamsTable: the README's table of the preset's parameters is
// made from the preset's declarations, so its names, types, defaults and
// descriptions cannot drift from what the engine uses.
func TestREADMEParamsTable(t *testing.T) {
	b, err := os.ReadFile(readmeFile)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i, j := strings.Index(readme, tableStart), strings.Index(readme, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the markers of the preset's parameter table:\n%s%s", tableStart, tableEnd)
	}
	decls, err := mapping.PresetDeclarations("moodle")
	if err != nil {
		t.Fatal(err)
	}
	want := readme[:i] + tableStart + mapping.ParamsTable(decls) + readme[j:]
	if want == readme {
		return
	}
	if *update {
		if err := os.WriteFile(readmeFile, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the README's parameter table differs from the preset's declarations (go test ./engine/mapping -run READMEParams -update rewrites it):\n%s", firstDiff(readme, want))
}
