package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/mappings"
)

// cmdParams prints every effective parameter of a mapping: its value, its
// default, where the value was set (a preset's or a site's file and line,
// and the environment variable it came from) and what it is. It reads only
// the mapping: neither the database's DSN nor the SENCE token is needed.
// Exit codes: 0 shown, 1 the mapping has errors (shown instead), 2 usage.
func cmdParams(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "params", "MAPEO.yaml")
	asJSON := fs.Bool("json", false, "muestra los parámetros en JSON")
	pos, code, done := fs.parseN(args, 1, 1)
	if done {
		return code
	}
	m, ds := mapping.Load(pos[0], mapping.Options{LookupEnv: e.LookupEnv,
		Unneeded: []string{"source.dsn", "source.prefix", "sence.rutOtec", "sence.token", "sence.tokenFile"}})
	if m == nil || ds.HasErrors() {
		ds.Print(e.Stderr)
		fmt.Fprintln(e.Stderr, "el mapeo tiene errores: corríjalos para ver sus parámetros (engine validate los muestra todos)")
		return ExitProblems
	}
	ds.Print(e.Stderr)
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		enc.Encode(paramsJSON(m))
		return ExitOK
	}
	writeParams(e.Stdout, m)
	return ExitOK
}

// ParamInfo is one parameter as engine params --json shows it.
type ParamInfo struct {
	Name    string          `json:"nombre"`
	Type    string          `json:"tipo,omitempty"` // "" when undeclared
	Value   any             `json:"valor"`
	Default any             `json:"porOmision,omitempty"`
	Origin  string          `json:"origen"` // params | porOmision
	File    string          `json:"archivo"`
	Line    int             `json:"linea"`
	Preset  string          `json:"preset,omitempty"`
	Env     []EnvInfo       `json:"variablesDeEntorno,omitempty"`
	Desc    string          `json:"descripcion,omitempty"`
	Values  []AllowedValue  `json:"valores,omitempty"`
	Min     *float64        `json:"min,omitempty"`
	Max     *float64        `json:"max,omitempty"`
	Match   string          `json:"calzaCon,omitempty"`
	Items   string          `json:"tipoDeElementos,omitempty"`
	Decl    *DeclaredAtInfo `json:"declarado,omitempty"`
}

// EnvInfo is an environment variable a value reads.
type EnvInfo struct {
	Name string `json:"nombre"`
	Set  bool   `json:"definida"`
}

// AllowedValue is a value a parameter accepts.
type AllowedValue struct {
	Value       any    `json:"valor"`
	Description string `json:"descripcion,omitempty"`
}

// DeclaredAtInfo is where a parameter is declared.
type DeclaredAtInfo struct {
	File string `json:"archivo"`
	Line int    `json:"linea"`
}

func paramsJSON(m *mapping.Mapping) any {
	out := make([]ParamInfo, 0, len(m.Params))
	for _, p := range m.Params {
		pi := ParamInfo{Name: p.Name, Value: p.Value, Origin: "params", File: p.Pos.File, Line: p.Pos.Line, Preset: presetOf(m, p.Pos.File)}
		if p.Default {
			pi.Origin = "porOmision"
		}
		for _, r := range p.Env {
			pi.Env = append(pi.Env, EnvInfo{Name: r.Name, Set: r.Set})
		}
		if d := p.Decl; d != nil {
			pi.Type, pi.Desc, pi.Min, pi.Max, pi.Match = d.Type, d.Description, d.Min, d.Max, d.Match
			if d.Type == mapping.TypeList {
				pi.Items = d.Items
			}
			if d.HasDefault {
				pi.Default = d.Default
			}
			for _, a := range d.Values {
				pi.Values = append(pi.Values, AllowedValue{Value: a.Value, Description: a.Description})
			}
			pi.Decl = &DeclaredAtInfo{File: d.Pos.File, Line: d.Pos.Line}
		}
		out = append(out, pi)
	}
	return struct {
		Mapping string      `json:"mapeo"`
		Params  []ParamInfo `json:"parametros"`
	}{m.File, out}
}

// writeParams prints the parameters for people.
func writeParams(w io.Writer, m *mapping.Mapping) {
	if len(m.Params) == 0 {
		fmt.Fprintf(w, "%s no tiene parámetros.\n", m.File)
		return
	}
	declared := 0
	for _, p := range m.Params {
		if p.Decl != nil {
			declared++
		}
	}
	fmt.Fprintf(w, "Parámetros de %s (%s", m.File, diag.Plural(len(m.Params), "parámetro", "parámetros"))
	switch declared {
	case 0:
		fmt.Fprint(w, "; el mapeo no los declara: se aceptan con cualquier nombre y valor")
	case len(m.Params):
	default:
		fmt.Fprintf(w, "; %d declarados", declared)
	}
	fmt.Fprintln(w, "):")
	plain := func(s string) string { return s }
	for _, p := range m.Params {
		fmt.Fprintf(w, "\n%s: %s\n", p.Name, displayValue(p.Value))
		var where string
		if p.Default {
			where = "por omisión, de " + place(m, p.Pos)
		} else {
			where = "definido en " + place(m, p.Pos)
		}
		if env := envText(p.Env); env != "" {
			where += ", " + env
		}
		line := where
		if d := p.Decl; d != nil {
			line = mapping.TypeText(d) + "; " + where
			if !p.Default {
				line += "; por omisión: " + mapping.DefaultText(d)
			}
		} else {
			line = "sin declarar; " + where
		}
		fmt.Fprintf(w, "  %s\n", line)
		if d := p.Decl; d != nil {
			text := stripCode(d.Description)
			if a := mapping.AcceptsText(d, plain); a != "" {
				text += " " + a
			}
			for _, l := range wrap(text, 76) {
				fmt.Fprintf(w, "  %s\n", l)
			}
		}
	}
}

// displayValue shows a value as it would be written in params.
func displayValue(v any) string {
	return mapping.FormatValue(v)
}

// place is "file:line", with the preset named when the file is one.
func place(m *mapping.Mapping, p mapping.Pos) string {
	s := fmt.Sprintf("%s:%d", p.File, p.Line)
	if name := presetOf(m, p.File); name != "" {
		s += " (preset " + name + ")"
	}
	return s
}

// presetOf names the embedded preset a position's file is, or "".
func presetOf(m *mapping.Mapping, file string) string {
	if file == m.File || strings.ContainsAny(file, `/\`) {
		return ""
	}
	for _, name := range mappings.Names() {
		if file == name+".yaml" {
			return name
		}
	}
	return ""
}

func envText(refs []mapping.EnvRef) string {
	var parts []string
	for _, r := range refs {
		if r.Set {
			parts = append(parts, "de la variable de entorno "+r.Name)
		} else {
			parts = append(parts, "con el valor de respaldo de ${"+r.Name+":-…} ("+r.Name+" no está definida)")
		}
	}
	return strings.Join(parts, ", ")
}

// stripCode drops Markdown's backticks from a description for a terminal.
func stripCode(s string) string { return strings.ReplaceAll(s, "`", "") }

// wrap breaks text into lines of at most width runes, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	var cur strings.Builder
	n := 0
	for _, word := range strings.Fields(text) {
		wl := len([]rune(word))
		if n > 0 && n+1+wl > width {
			lines = append(lines, cur.String())
			cur.Reset()
			n = 0
		}
		if n > 0 {
			cur.WriteByte(' ')
			n++
		}
		cur.WriteString(word)
		n += wl
	}
	if n > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}
