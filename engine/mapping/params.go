package mapping

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/fn"
	yaml "go.yaml.in/yaml/v3"
)

// Parameters: `parameters` declares them (type, default, accepted values,
// description), `params` sets their values. With declarations anywhere in
// the chain of files, a name no file declares is an error with the nearest
// declared one suggested, and a value is checked against its declaration
// where the user wrote it. Without declarations, params are free, typed by
// YAML, as before declarations existed.

// rawParam is one entry of params as written.
type rawParam struct {
	name string
	k, v *yaml.Node
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (l *loader) params(v *yaml.Node) {
	l.fields(v, "params", nil, func(key string, k, v *yaml.Node) {
		if !identifier.MatchString(key) {
			l.errorf(k, "el nombre de parámetro «%s» debe ser un identificador (letras, números y _)", key)
			return
		}
		l.rawParams = append(l.rawParams, rawParam{name: key, k: k, v: v})
	})
}

// declKeys are the keys of a declaration.
var declKeys = []string{"type", "items", "default", "values", "min", "max", "match", "description"}

func (l *loader) parameters(v *yaml.Node, m *Mapping) {
	l.fields(v, "parameters", nil, func(name string, k, v *yaml.Node) {
		if !identifier.MatchString(name) {
			l.errorf(k, "el nombre de parámetro «%s» debe ser un identificador (letras, números y _)", name)
			return
		}
		if d, ok := l.declaration(name, k, v); ok {
			m.Declarations = append(m.Declarations, d)
		}
	})
}

func (l *loader) declaration(name string, key, v *yaml.Node) (ParamDecl, bool) {
	d := ParamDecl{Name: name, Pos: l.pos(key)}
	where := "parameters." + name
	if v.Kind != yaml.MappingNode {
		l.errorf(v, "la declaración «%s» debe ser un mapa con type, default, description…", where)
		return d, false
	}
	var typeNode, itemsNode, defKey, defNode, valuesNode, matchNode *yaml.Node
	var boundNodes []*yaml.Node
	l.fields(v, where, declKeys, func(k string, kn, vn *yaml.Node) {
		switch k {
		case "type":
			d.Type, typeNode = strings.TrimSpace(l.str(vn, where+".type")), vn
		case "items":
			d.Items, itemsNode = strings.TrimSpace(l.str(vn, where+".items")), vn
		case "default":
			defKey, defNode = kn, vn
		case "values":
			valuesNode = vn
		case "min", "max":
			s := strings.TrimSpace(l.str(vn, where+"."+k))
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				l.errorf(vn, "«%s.%s» debe ser un número; se obtuvo «%s»", where, k, s)
				return
			}
			if k == "min" {
				d.Min = &f
			} else {
				d.Max = &f
			}
			boundNodes = append(boundNodes, vn)
		case "match":
			d.Match, matchNode = l.str(vn, where+".match"), vn
			if _, err := fn.Pattern(d.Match); err != nil {
				l.errorf(vn, "«%s.match»: %v", where, err)
				d.Match = ""
			}
		case "description":
			d.Description = strings.TrimSpace(l.str(vn, where+".description"))
		}
	})
	switch {
	case typeNode == nil:
		l.errorf(key, "a la declaración «%s» le falta «type» (%s)", where, strings.Join(ParamTypes, ", "))
		return d, false
	case !contains(ParamTypes, d.Type):
		l.errorf(typeNode, "tipo «%s» desconocido en «%s.type» (use %s)%s", d.Type, where, strings.Join(ParamTypes, ", "), suggestion(d.Type, ParamTypes))
		return d, false
	}
	if d.Type == TypeList {
		if d.Items == "" {
			d.Items = TypeString
		} else if !contains(ItemTypes, d.Items) {
			l.errorf(itemsNode, "tipo «%s» desconocido en «%s.items» (use %s)%s", d.Items, where, strings.Join(ItemTypes, ", "), suggestion(d.Items, ItemTypes))
			d.Items = TypeString
		}
	} else if itemsNode != nil {
		l.errorf(itemsNode, "«%s.items» solo sirve con type: list", where)
	}
	elem := d.ElemType()
	if len(boundNodes) > 0 && elem != TypeInteger && elem != TypeNumber {
		l.errorf(boundNodes[0], "«%s»: min y max solo sirven con números (type integer o number)", where)
		d.Min, d.Max = nil, nil
	}
	if d.Min != nil && d.Max != nil && *d.Min > *d.Max {
		l.errorf(boundNodes[0], "«%s»: min (%s) es mayor que max (%s)", where, strconv.FormatFloat(*d.Min, 'f', -1, 64), strconv.FormatFloat(*d.Max, 'f', -1, 64))
	}
	if matchNode != nil && elem != TypeString && elem != TypePattern {
		l.errorf(matchNode, "«%s.match» solo sirve con textos (type string, pattern o una lista de ellos)", where)
		d.Match = ""
	}
	if d.Description == "" {
		l.errorf(key, "a la declaración «%s» le falta «description»: qué es el parámetro, en castellano (engine params y el editor la muestran)", where)
	}
	if valuesNode != nil {
		d.Values = l.allowedValues(&d, valuesNode, where+".values")
	}
	if defNode != nil {
		v, pos, env, ok := l.typed(&d, defNode, where+".default")
		if !ok {
			v = zero(&d)
		}
		d.Default, d.HasDefault, d.DefaultPos = v, true, l.pos(defKey)
		d.defValue = valueOrigin{pos: l.pos(defNode), items: pos, env: env}
	}
	return d, true
}

// valueOrigin is where a value was read from.
type valueOrigin struct {
	pos   Pos
	items []Pos
	env   []EnvRef
}

// allowedValues reads `values`: a list of values, or a map from each value
// to what it means.
func (l *loader) allowedValues(d *ParamDecl, n *yaml.Node, where string) []AllowedValue {
	elem := d.ElemType()
	if elem == TypeBool || elem == TypePattern {
		l.errorf(n, "«%s» no sirve con type %s", where, elem)
		return nil
	}
	bare := &ParamDecl{Name: d.Name, Type: elem}
	var out []AllowedValue
	add := func(vn *yaml.Node, desc string) {
		v, ok := l.scalarTyped(bare, elem, vn, where)
		if ok {
			out = append(out, AllowedValue{Value: v, Description: desc})
		}
	}
	switch n.Kind {
	case yaml.SequenceNode:
		for _, item := range n.Content {
			add(item, "")
		}
	case yaml.MappingNode:
		l.fields(n, where, nil, func(_ string, k, v *yaml.Node) {
			add(k, strings.TrimSpace(l.str(v, where)))
		})
	default:
		l.errorf(n, "«%s» debe ser una lista de valores, o un mapa de cada valor a lo que significa", where)
	}
	return out
}

// resolveParams makes the effective parameters once every file is read.
func (l *loader) resolveParams(m *Mapping) {
	if len(m.Declarations) == 0 {
		for _, r := range l.rawParams {
			if p, ok := l.freeParam(r); ok {
				m.Params = append(m.Params, p)
			}
		}
		return
	}
	names := make([]string, len(m.Declarations))
	for i, d := range m.Declarations {
		names[i] = d.Name
	}
	set := map[string]rawParam{}
	for _, r := range l.rawParams {
		if m.Declaration(r.name) == nil {
			hint := suggestion(r.name, names)
			if hint == "" {
				hint = fmt.Sprintf(" (los parámetros declarados son %s; engine params los explica). Para uno propio, declárelo en «parameters»", strings.Join(names, ", "))
			}
			l.errorf(r.k, "parámetro desconocido «%s»%s", r.name, hint)
			continue
		}
		set[r.name] = r
	}
	for i := range m.Declarations {
		d := &m.Declarations[i]
		r, ok := set[d.Name]
		if !ok {
			p := Param{Name: d.Name, Value: d.Default, Pos: d.DefaultPos, ValuePos: d.defValue.pos, ItemPos: d.defValue.items, Env: d.defValue.env, Default: true, Decl: d}
			if !d.HasDefault {
				l.diags.Errorf(m.File, 0, 0, "falta el parámetro «%s»: defínalo en «params» (está declarado en %s:%d sin valor por omisión). Qué es: %s", d.Name, d.Pos.File, d.Pos.Line, d.Description)
				p.Value = zero(d)
			}
			m.Params = append(m.Params, p)
			continue
		}
		v, items, env, ok := l.typed(d, r.v, "params."+d.Name)
		p := Param{Name: d.Name, Value: v, Pos: l.pos(r.k), ValuePos: l.pos(r.v), ItemPos: items, Env: env, Decl: d}
		if !ok {
			// Reported; the rest of the mapping is checked with the
			// default, so that one mistake gives one diagnostic.
			p.Value = d.Default
			if !d.HasDefault {
				p.Value = zero(d)
			}
		}
		m.Params = append(m.Params, p)
	}
}

// freeParam types an undeclared parameter by YAML: a simple value or a list
// of them.
func (l *loader) freeParam(r rawParam) (Param, bool) {
	p := Param{Name: r.name, Pos: l.pos(r.k), ValuePos: l.pos(r.v), Env: l.envRefs(r.v)}
	switch r.v.Kind {
	case yaml.ScalarNode:
		p.Value = l.paramValue(r.v, "params."+r.name)
	case yaml.SequenceNode:
		list := make([]any, 0, len(r.v.Content))
		for i, item := range r.v.Content {
			if item.Kind != yaml.ScalarNode {
				l.errorf(item, "los elementos de la lista «params.%s» deben ser valores simples (número, texto o true/false)", r.name)
				return p, false
			}
			list = append(list, l.paramValue(item, fmt.Sprintf("params.%s[%d]", r.name, i)))
			p.ItemPos = append(p.ItemPos, l.pos(item))
			p.Env = append(p.Env, l.envRefs(item)...)
		}
		p.Value = list
	default:
		l.errorf(r.v, "el parámetro «%s» debe ser un valor simple (número, texto o true/false) o una lista de ellos, como [bigbluebuttonbn, zoom]", r.name)
		return p, false
	}
	return p, true
}

// paramValue types a scalar parameter: an unquoted number or true/false is
// one, anything else (or anything quoted) is a text.
func (l *loader) paramValue(v *yaml.Node, where string) any {
	s := l.str(v, where)
	if v.Style != 0 {
		return s
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return int(i)
	} else if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	} else if s == "true" || s == "false" {
		return s == "true"
	}
	return s
}

// typed reads a value of a declared parameter (set, or its default). A
// single value where a list is declared is a list of that value. ok is
// false when the value was reported as wrong.
func (l *loader) typed(d *ParamDecl, n *yaml.Node, where string) (v any, items []Pos, env []EnvRef, ok bool) {
	if d.Type != TypeList {
		env = l.envRefs(n)
		v, ok = l.scalarTyped(d, d.Type, n, where)
		return v, nil, env, ok
	}
	var nodes []*yaml.Node
	switch {
	case n.Kind == yaml.SequenceNode:
		nodes = n.Content
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
	case n.Kind == yaml.ScalarNode:
		nodes = []*yaml.Node{n} // syncModules: zoom is [zoom]
	default:
		l.errorf(n, "«%s» debe ser una lista%s", where, example(d, "[a, b]"))
		return nil, nil, nil, false
	}
	list := make([]any, 0, len(nodes))
	ok = true
	for i, item := range nodes {
		w := where
		if n.Kind == yaml.SequenceNode {
			w = fmt.Sprintf("%s[%d]", where, i)
		}
		iv, iok := l.scalarTyped(d, d.Items, item, w)
		ok = ok && iok
		list = append(list, iv)
		items = append(items, l.pos(item))
		env = append(env, l.envRefs(item)...)
	}
	return list, items, env, ok
}

// scalarTyped reads one value of type typ and checks it against d's
// accepted values, bounds and match.
func (l *loader) scalarTyped(d *ParamDecl, typ string, n *yaml.Node, where string) (any, bool) {
	if n.Kind != yaml.ScalarNode {
		l.errorf(n, "«%s» debe ser %s%s; se obtuvo %s", where, typeWords[typ], example(d, ""), nodeWord(n))
		return nil, false
	}
	s := l.str(n, where)
	if l.unresolved[where] {
		return nil, false // the undefined variable is reported
	}
	from := l.envNote(n)
	null := n.Tag == "!!null"
	got := "nada"
	if !null {
		got = "«" + s + "»"
	}
	var v any
	switch typ {
	case TypeString, TypePattern:
		v = s
	case TypeInteger:
		t := strings.TrimSpace(s)
		i, err := strconv.ParseInt(t, 10, 64)
		if err != nil || null {
			hint := ""
			if _, ferr := strconv.ParseFloat(strings.Replace(t, ",", ".", 1), 64); ferr == nil && !null {
				hint = ": sin decimales"
			}
			l.errorf(n, "«%s» debe ser un número entero%s; se obtuvo %s%s%s", where, example(d, ""), got, from, hint)
			return nil, false
		}
		v = int(i)
	case TypeNumber:
		t := strings.TrimSpace(s)
		f, err := strconv.ParseFloat(t, 64)
		if err != nil || null || math.IsNaN(f) || math.IsInf(f, 0) {
			hint := ""
			if c := strings.Replace(t, ",", ".", 1); c != t && !null {
				if _, err := strconv.ParseFloat(c, 64); err == nil {
					hint = fmt.Sprintf(": escriba el decimal con punto, %s", c)
				}
			}
			l.errorf(n, "«%s» debe ser un número%s; se obtuvo %s%s%s", where, example(d, ""), got, from, hint)
			return nil, false
		}
		v = f
	case TypeBool:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			v = true
		case "false":
			v = false
		default:
			l.errorf(n, "«%s» debe ser true o false; se obtuvo %s%s", where, got, from)
			return nil, false
		}
	}
	return v, l.accepts(d, n, where, v, from)
}

// accepts checks a typed value against the declaration's values, bounds
// and match.
func (l *loader) accepts(d *ParamDecl, n *yaml.Node, where string, v any, from string) bool {
	if len(d.Values) > 0 && !slices.ContainsFunc(d.Values, func(a AllowedValue) bool { return a.Value == v }) {
		words := make([]string, len(d.Values))
		for i, a := range d.Values {
			words[i] = FormatValue(a.Value)
		}
		l.errorf(n, "«%s» debe ser %s; se obtuvo «%s»%s%s", where, joinOr(words), FormatValue(v), from, suggestion(FormatValue(v), words))
		return false
	}
	if f, ok := asFloat(v); ok && (d.Min != nil && f < *d.Min || d.Max != nil && f > *d.Max) {
		l.errorf(n, "«%s» debe %s; se obtuvo %s%s", where, RangeText(d), FormatValue(v), from)
		return false
	}
	if s, ok := v.(string); ok && d.Match != "" {
		if !regexp.MustCompile(d.Match).MatchString(s) {
			l.errorf(n, "«%s» debe calzar con la expresión regular «%s»; se obtuvo «%s»%s (engine params explica el parámetro)", where, d.Match, s, from)
			return false
		}
	}
	return true
}

var envOnly = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}`)

// envRefs are the environment variables a scalar reads.
func (l *loader) envRefs(n *yaml.Node) []EnvRef {
	if n.Kind != yaml.ScalarNode || !strings.Contains(n.Value, "${") {
		return nil
	}
	var out []EnvRef
	for _, m := range envOnly.FindAllStringSubmatchIndex(n.Value, -1) {
		if m[0] > 0 && n.Value[m[0]-1] == '$' && escaped(n.Value[:m[0]]) {
			continue // $${X} is the text ${X}
		}
		name := n.Value[m[2]:m[3]]
		v, ok := l.env(name)
		out = append(out, EnvRef{Name: name, Set: ok && v != ""})
	}
	return out
}

// escaped reports whether the text before a ${ ends in an odd run of $.
func escaped(before string) bool {
	n := 0
	for i := len(before) - 1; i >= 0 && before[i] == '$'; i-- {
		n++
	}
	return n%2 == 1
}

// envNote says which environment variable gave a wrong value.
func (l *loader) envNote(n *yaml.Node) string {
	refs := l.envRefs(n)
	if len(refs) == 0 {
		return ""
	}
	names := make([]string, len(refs))
	for i, r := range refs {
		names[i] = r.Name
	}
	if len(names) == 1 {
		return " (de la variable de entorno " + names[0] + ")"
	}
	return " (de las variables de entorno " + strings.Join(names, ", ") + ")"
}

func suggestion(name string, candidates []string) string {
	if s := diag.Suggest(name, candidates); s != "" && s != name {
		return fmt.Sprintf("; ¿quiso decir «%s»?", s)
	}
	return ""
}

func nodeWord(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "una lista"
	case yaml.MappingNode:
		return "un mapa"
	}
	return "otro valor"
}

// typeWords name a type in messages: «params.x» debe ser ….
var typeWords = map[string]string{
	TypeString:  "un texto",
	TypeInteger: "un número entero",
	TypeNumber:  "un número",
	TypeBool:    "true o false",
	TypePattern: "un texto con una expresión regular",
	TypeList:    "una lista",
}

// example is ", como DEFAULT" when the declaration has a default worth
// showing, else ", como " + fallback (or "").
func example(d *ParamDecl, fallback string) string {
	if d.HasDefault {
		if s := FormatValue(d.Default); s != "" && len(s) <= 40 {
			return ", como " + s
		}
	}
	if fallback != "" {
		return ", como " + fallback
	}
	return ""
}

func zero(d *ParamDecl) any {
	switch d.Type {
	case TypeInteger:
		return 0
	case TypeNumber:
		return 0.0
	case TypeBool:
		return false
	case TypeList:
		return []any{}
	}
	return ""
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// FormatValue writes a parameter's value as a person would type it in
// YAML: 4.0, 60, username, [bigbluebuttonbn, zoom], "" for an empty text.
func FormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if x == "" {
			return `""`
		}
		return x
	case float64:
		return formatFloat(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = FormatValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v)
}

// formatFloat writes a number with a decimal point, so that it reads as
// one (4.0, not 4).
func formatFloat(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

// ValuesText lists accepted values in Spanish: «a (qué es), b o c».
func ValuesText(vs []AllowedValue) string {
	parts := make([]string, len(vs))
	for i, a := range vs {
		parts[i] = FormatValue(a.Value)
		if a.Description != "" {
			parts[i] += " (" + a.Description + ")"
		}
	}
	return joinOr(parts)
}

func joinOr(parts []string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " o " + parts[len(parts)-1]
}

// RangeText words a declaration's bounds after «debe»: «estar entre 1 y
// 7», «ser al menos 1», «ser a lo más 100»; "" without bounds.
func RangeText(d *ParamDecl) string {
	num := func(f float64) string {
		if d.ElemType() == TypeNumber {
			return formatFloat(f)
		}
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	switch {
	case d.Min != nil && d.Max != nil:
		return fmt.Sprintf("estar entre %s y %s", num(*d.Min), num(*d.Max))
	case d.Min != nil:
		return "ser al menos " + num(*d.Min)
	case d.Max != nil:
		return "ser a lo más " + num(*d.Max)
	}
	return ""
}
