package schema

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/schemas"
)

// TestSchemaFollowsPayloadKeys: SENCE's JSON Schema, as we publish it, has
// at each level exactly the keys of payload.Keys (the one declaration of
// SENCE's fields), in the same order, and requires exactly the
// non-optional ones.
func TestSchemaFollowsPayloadKeys(t *testing.T) {
	type object struct {
		Required   []string                   `json:"required"`
		Properties orderedKeys                `json:"properties"`
		Defs       map[string]json.RawMessage `json:"definitions"`
	}
	var root object
	if err := json.Unmarshal(schemas.SenceAvance(), &root); err != nil {
		t.Fatal(err)
	}
	levels := []object{root}
	for _, def := range []string{"alumno", "modulo", "actividad"} {
		var o object
		if err := json.Unmarshal(root.Defs[def], &o); err != nil {
			t.Fatalf("%s: %v", def, err)
		}
		levels = append(levels, o)
	}
	for level, o := range levels {
		var names, required []string
		for _, k := range payload.Keys[level] {
			names = append(names, k.Name)
			if !k.Optional {
				required = append(required, k.Name)
			}
		}
		if !slices.Equal([]string(o.Properties), names) {
			t.Errorf("level %d: the schema has %v, payload.Keys %v", level, o.Properties, names)
		}
		slices.Sort(required)
		got := slices.Sorted(slices.Values(o.Required))
		if !slices.Equal(got, required) {
			t.Errorf("level %d: the schema requires %v, payload.Keys %v", level, got, required)
		}
	}
}

// orderedKeys are an object's keys in the order written.
type orderedKeys []string

func (o *orderedKeys) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // {
		return err
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		*o = append(*o, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	return nil
}
