package mapping

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/otec-tools/sence-engine/mappings"
)

// What people read about declared parameters: engine params, the README's
// table of the preset's parameters and the editor schema all come from the
// declarations, so none of them can drift from the preset.

var typeNames = map[string]string{
	TypeString:  "texto",
	TypeInteger: "entero",
	TypeNumber:  "número",
	TypeBool:    "true o false",
	TypePattern: "patrón",
}

var listNames = map[string]string{
	TypeString:  "lista de textos",
	TypeInteger: "lista de enteros",
	TypeNumber:  "lista de números",
	TypePattern: "lista de patrones",
}

// TypeText names a declaration's type in Spanish: «número», «lista de
// textos».
func TypeText(d *ParamDecl) string {
	if d.Type == TypeList {
		return listNames[d.Items]
	}
	return typeNames[d.Type]
}

// AcceptsText says in Spanish what a declaration accepts beyond its type,
// as a sentence, or "": «De 1.0 a 7.0.», «idnumber o username.». code
// wraps a literal (backticks in Markdown, nothing in a terminal).
func AcceptsText(d *ParamDecl, code func(string) string) string {
	var parts []string
	list := d.Type == TypeList
	if len(d.Values) > 0 {
		vs := make([]string, len(d.Values))
		for i, a := range d.Values {
			vs[i] = code(FormatValue(a.Value))
			if a.Description != "" {
				vs[i] += " (" + a.Description + ")"
			}
		}
		head := "Valores: "
		if list {
			head = "Valores de cada elemento: "
		}
		parts = append(parts, head+joinOr(vs))
	}
	if r := RangeText(d); r != "" {
		if list {
			parts = append(parts, "Cada elemento debe "+r)
		} else {
			parts = append(parts, "Debe "+r)
		}
	}
	if d.Match != "" {
		if list {
			parts = append(parts, "Cada elemento calza con "+code(d.Match))
		} else {
			parts = append(parts, "Calza con "+code(d.Match))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, ". ") + "."
}

// DefaultText is a declaration's default as a person types it, "(vacío)"
// for an empty text and "(ninguno)" without a default.
func DefaultText(d *ParamDecl) string {
	if !d.HasDefault {
		return "(ninguno)"
	}
	if s, ok := d.Default.(string); ok && s == "" {
		return "(vacío)"
	}
	return FormatValue(d.Default)
}

// ParamsTable is the Markdown table of a mapping's declared parameters, as
// the README shows the preset's.
func ParamsTable(decls []ParamDecl) string {
	code := func(s string) string {
		return "`" + strings.ReplaceAll(s, "|", `\|`) + "`"
	}
	cell := func(s string) string {
		return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "|", `\|`)
	}
	var b strings.Builder
	b.WriteString("| Parámetro | Tipo | Por omisión | Qué es |\n| --- | --- | --- | --- |\n")
	for i := range decls {
		d := &decls[i]
		def := DefaultText(d)
		if d.HasDefault && def != "(vacío)" {
			def = code(def)
		}
		what := d.Description
		if a := AcceptsText(d, code); a != "" {
			what = strings.TrimRight(what, " ") + " " + a
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", d.Name, TypeText(d), def, cell(what))
	}
	return b.String()
}

// PresetDeclarations loads an embedded preset and returns its parameter
// declarations.
func PresetDeclarations(name string) ([]ParamDecl, error) {
	data, ok := mappings.Preset(name)
	if !ok {
		return nil, fmt.Errorf("no existe el preset %q", name)
	}
	m, ds := LoadBytes(name+".yaml", data, Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if m == nil || ds.HasErrors() {
		return nil, ds
	}
	return m.Declarations, nil
}

// object is a JSON object that keeps its keys in order.
type object []member

type member struct {
	key   string
	value any
}

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := marshal(m.key)
		if err != nil {
			return nil, err
		}
		v, err := marshal(m.value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// envValueRef is the schema of a ${VAR} value, which any parameter may be.
var envValueRef = object{{"$ref", "#/definitions/envValue"}}

// PresetSchemaParts are the parts of schemas/mapping.schema.json made from
// the presets' declarations: the root's allOf (a file that extends a
// preset gets that preset's parameters, typed and, unless it declares its
// own, closed) and definitions.presetParams (each preset's parameters).
func PresetSchemaParts() (allOf, presetParams []byte, err error) {
	var rules []any
	var defs object
	for _, name := range mappings.Names() {
		decls, err := PresetDeclarations(name)
		if err != nil {
			return nil, nil, err
		}
		if len(decls) == 0 {
			continue
		}
		props := object{}
		names := make([]string, len(decls))
		for i := range decls {
			props = append(props, member{decls[i].Name, paramSchema(&decls[i])})
			names[i] = decls[i].Name
		}
		defs = append(defs, member{name, object{{"type", "object"}, {"properties", props}}})
		extends := object{{"properties", object{{"extends", object{{"const", name}}}}}, {"required", []string{"extends"}}}
		rules = append(rules,
			object{{"if", extends}, {"then", object{{"properties", object{{"params", object{{"$ref", "#/definitions/presetParams/" + name}}}}}}}},
			object{
				{"if", append(append(object{}, extends...), member{"not", object{{"required", []string{"parameters"}}}})},
				{"then", object{{"properties", object{{"params", object{
					{"description", fmt.Sprintf("Valores de los parámetros que declara el preset %s (engine params los muestra con su valor y su origen)", name)},
					{"propertyNames", object{{"enum", names}}},
				}}}}}},
			})
	}
	if allOf, err = marshal(rules); err != nil {
		return nil, nil, err
	}
	presetParams, err = marshal(defs)
	return allOf, presetParams, err
}

// paramSchema is the JSON Schema of one declared parameter's value.
func paramSchema(d *ParamDecl) object {
	desc := d.Description
	if a := AcceptsText(d, func(s string) string { return s }); a != "" {
		desc += "\n\n" + a
	}
	desc += "\n\nTipo: " + TypeText(d) + ". Por omisión: " + DefaultText(d) + "."
	out := object{{"description", desc}}
	if d.HasDefault {
		out = append(out, member{"default", d.Default})
	}
	elem := elemSchema(d)
	if d.Type == TypeList {
		return append(out, member{"anyOf", []any{object{{"type", "array"}, {"items", elem}}, elem, envValueRef}})
	}
	return append(out, member{"anyOf", []any{elem, envValueRef}})
}

func elemSchema(d *ParamDecl) object {
	var out object
	switch d.ElemType() {
	case TypeInteger:
		out = object{{"type", "integer"}}
	case TypeNumber:
		out = object{{"type", "number"}}
	case TypeBool:
		out = object{{"type", "boolean"}}
	default:
		out = object{{"type", "string"}}
	}
	if len(d.Values) > 0 {
		vs := make([]any, len(d.Values))
		for i, a := range d.Values {
			vs[i] = a.Value
		}
		out = append(out, member{"enum", vs})
	}
	if d.Min != nil {
		out = append(out, member{"minimum", *d.Min})
	}
	if d.Max != nil {
		out = append(out, member{"maximum", *d.Max})
	}
	if d.Match != "" {
		out = append(out, member{"pattern", d.Match})
	}
	return out
}
