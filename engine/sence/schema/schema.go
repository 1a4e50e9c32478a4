// Package schema checks SENCE enviarAvance bodies before they are sent: the
// JSON Schema in schemas/sence-avance.schema.json for names, types and
// ranges, and the rules a schema cannot say (RUT check digits, real calendar
// dates, the order of dates). Every problem is reported at once, with the
// JSON path of the field and the student it belongs to, so that the caller
// can hold back only the students in error and send the others.
package schema

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xeipuuv/gojsonschema"

	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/schemas"
)

// Problem is one reason a course or a student cannot be sent as it is.
type Problem struct {
	// Student is the index in listaAlumnos, or -1 when the problem concerns
	// the whole course (nothing of the course can be sent until it is fixed).
	Student int `json:"student"`
	// RUT is the student's RUT as sent ("12345678-5") when it is known.
	RUT string `json:"rut,omitempty"`
	// Path is the field in SENCE's names, e.g.
	// "listaAlumnos[3].listaModulos[0].fechaFin"; "" is the whole document.
	Path string `json:"path"`
	// Value is the offending scalar value (nil for objects, lists, missing
	// fields and the token, which is a secret).
	Value any `json:"value,omitempty"`
	// Msg says in Spanish what is wrong and how to fix it.
	Msg string `json:"msg"`
}

// String formats the problem for a coordinator.
func (p Problem) String() string {
	var b strings.Builder
	if p.Path == "" {
		b.WriteString("documento")
	} else {
		b.WriteString(p.Path)
	}
	if p.RUT != "" {
		fmt.Fprintf(&b, " (alumno %s)", p.RUT)
	}
	b.WriteString(": ")
	b.WriteString(p.Msg)
	return b.String()
}

// Validator checks enviarAvance bodies. Build it once with New: compiling
// the schema is the expensive part. It is safe for concurrent use.
type Validator struct {
	schema *gojsonschema.Schema
	// keys lists the field names SENCE accepts at each level (course,
	// student, module, activity), read from the schema itself.
	keys [levels][]string
	// native is the same schema applied to typed payloads (see Check).
	native *native
}

const levels = 4

// listKey is the list that holds the objects of the next level.
var listKey = [levels]string{"listaAlumnos", "listaModulos", "listaActividades", ""}

// New compiles the embedded enviarAvance schema.
func New() (*Validator, error) {
	src := schemas.SenceAvance()
	s, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(src))
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", schemas.SenceAvanceFile, err)
	}
	n, err := compileNative(src)
	if err != nil {
		return nil, fmt.Errorf("compile %s for typed payloads: %w", schemas.SenceAvanceFile, err)
	}
	v := &Validator{schema: s, native: n}
	var raw struct {
		Properties  map[string]json.RawMessage `json:"properties"`
		Definitions map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(src, &raw); err != nil {
		return nil, fmt.Errorf("read %s: %w", schemas.SenceAvanceFile, err)
	}
	props := [levels]map[string]json.RawMessage{raw.Properties,
		raw.Definitions["alumno"].Properties, raw.Definitions["modulo"].Properties, raw.Definitions["actividad"].Properties}
	for i, p := range props {
		if len(p) == 0 {
			return nil, fmt.Errorf("read %s: level %d has no properties", schemas.SenceAvanceFile, i)
		}
		for k := range p {
			v.keys[i] = append(v.keys[i], k)
		}
		slices.Sort(v.keys[i])
	}
	return v, nil
}

// ValidateJSON checks a document against the schema. Beyond the schema it
// reports keys that appear twice in an object and misspelt keys (SENCE's own
// examples carry ldSistema, ListaAlumnos, dvaAlumno…): a misspelt key is
// reported once and what it holds is checked under the right name, so one
// pass shows every problem. The error is for documents that are not JSON.
func (v *Validator) ValidateJSON(doc []byte) ([]Problem, error) {
	_, probs, err := v.validateJSON(doc)
	return probs, err
}

// CheckJSON is ValidateJSON plus the Rules, applied to every field whose
// JSON type is right: what a "validate this file" command needs.
func (v *Validator) CheckJSON(doc []byte) ([]Problem, error) {
	root, probs, err := v.validateJSON(doc)
	if err != nil {
		return nil, err
	}
	rp := factsOf(root).check()
	locate(rp, root)
	return merge(rp, probs), nil
}

// validateJSON returns the decoded document, with misspelt keys renamed,
// and the schema's problems.
func (v *Validator) validateJSON(doc []byte) (any, []Problem, error) {
	root, probs, err := decodeStrict(doc)
	if err != nil {
		return nil, nil, err
	}
	fixed, renames := v.fixKeys(root)
	for i := range probs {
		probs[i].Path = renamePath(probs[i].Path, renames)
	}
	probs = append(probs, fixed...)
	sp, err := v.validateTree(root)
	if err != nil {
		return nil, nil, err
	}
	probs = append(probs, sp...)
	locate(probs, root)
	return root, finish(probs), nil
}

// Check validates a course built by the engine: the schema on its JSON form
// and the rules. Problems with Student ≥ 0 concern only that student.
//
// The schema is applied natively to the typed course, which costs about a
// hundredth of running gojsonschema on its JSON tree; CheckReference does
// the latter and gives the same problems (the differential tests and the
// fuzz target hold them together).
func (v *Validator) Check(c *payload.Course) ([]Problem, error) {
	return merge(v.Rules(c), v.native.check(c)), nil
}

// CheckReference is Check with gojsonschema, the reference validator,
// applying the schema to the course's JSON form.
func (v *Validator) CheckReference(c *payload.Course) ([]Problem, error) {
	root := treeOf(c)
	sp, err := v.validateTree(root)
	if err != nil {
		return nil, err
	}
	locate(sp, root)
	return merge(v.Rules(c), sp), nil
}

// validateTree runs the schema over a decoded document (json.Number for
// numbers, as gojsonschema expects).
func (v *Validator) validateTree(root any) ([]Problem, error) {
	res, err := v.schema.Validate(gojsonschema.NewRawLoader(root))
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	if res.Valid() {
		return nil, nil
	}
	out := make([]Problem, 0, len(res.Errors()))
	seen := make(map[string]bool, len(res.Errors()))
	for _, e := range res.Errors() {
		if e.Field() == "token" && e.Value() == payload.RedactedToken {
			continue // an export with the token left out on purpose
		}
		// One message per field, not one per keyword it breaks.
		if p := v.translate(e, root); !seen[p.Path] {
			seen[p.Path] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// merge joins rule problems with schema problems. Both may speak about the
// same field (a malformed date, a bad token): the rule's message is the
// more specific one, so a schema problem on a field a rule already reported
// is dropped.
func merge(rules, schema []Problem) []Problem {
	seen := make(map[string]bool, len(rules))
	for _, p := range rules {
		seen[p.Path] = true
	}
	out := rules
	for _, p := range schema {
		if !seen[p.Path] {
			out = append(out, p)
		}
	}
	return finish(out)
}

// finish sorts problems by student, path and message and drops repeats.
func finish(ps []Problem) []Problem {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Student, b.Student), cmp.Compare(pathKey(a.Path), pathKey(b.Path)), cmp.Compare(a.Msg, b.Msg))
	})
	return slices.CompactFunc(ps, func(a, b Problem) bool { return a.Path == b.Path && a.Msg == b.Msg })
}

// pathKey makes paths sort naturally: listaAlumnos[2] before listaAlumnos[10].
func pathKey(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '[' {
			b.WriteByte(p[i])
			continue
		}
		j := strings.IndexByte(p[i:], ']')
		if j < 0 {
			b.WriteString(p[i:])
			break
		}
		fmt.Fprintf(&b, "[%010s]", p[i+1:i+j])
		i += j
	}
	return b.String()
}

// locate fills Student and RUT from the path and the document.
func locate(ps []Problem, root any) {
	for i := range ps {
		p := &ps[i]
		p.Student = -1
		rest, ok := strings.CutPrefix(p.Path, "listaAlumnos[")
		if !ok {
			continue
		}
		end := strings.IndexByte(rest, ']')
		n, err := strconv.Atoi(rest[:max(end, 0)])
		if end < 0 || err != nil {
			continue
		}
		p.Student = n
		if p.RUT == "" {
			p.RUT = rutAt(root, n)
		}
	}
}

// rutAt reads "number-DV" of student i of a decoded document, or "".
func rutAt(root any, i int) string {
	doc, _ := root.(map[string]any)
	list, _ := doc["listaAlumnos"].([]any)
	if i >= len(list) {
		return ""
	}
	st, _ := list[i].(map[string]any)
	num, ok := st["rutAlumno"].(json.Number)
	if !ok {
		return ""
	}
	n, err := num.Int64()
	if err != nil || n <= 0 {
		return ""
	}
	var dv string
	switch d := st["dvAlumno"].(type) {
	case string:
		dv = d
	case json.Number:
		dv = d.String()
	}
	if len(dv) != 1 {
		return ""
	}
	return strconv.FormatInt(n, 10) + "-" + strings.ToUpper(dv)
}

// decodeStrict decodes a document keeping numbers as json.Number and reports
// keys repeated inside one object: encoding/json silently keeps the last one,
// SENCE's example repeats cantActividadASincronica, and a reader cannot know
// which value the service will take.
func decodeStrict(doc []byte) (any, []Problem, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var dups []Problem
	var value func(path string) (any, error)
	value = func(path string) (any, error) {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				obj := map[string]any{}
				for dec.More() {
					kt, err := dec.Token()
					if err != nil {
						return nil, err
					}
					k, ok := kt.(string)
					if !ok {
						return nil, errors.New("object key is not a string")
					}
					child := joinKey(path, k)
					if _, dup := obj[k]; dup {
						dups = append(dups, Problem{Path: child, Msg: fmt.Sprintf(
							"la clave «%s» aparece más de una vez en el mismo objeto; no se sabe qué valor tomará SENCE: deje una sola", k)})
					}
					if obj[k], err = value(child); err != nil {
						return nil, err
					}
				}
				_, err := dec.Token() // '}'
				return obj, err
			case '[':
				list := []any{}
				for i := 0; dec.More(); i++ {
					item, err := value(path + "[" + strconv.Itoa(i) + "]")
					if err != nil {
						return nil, err
					}
					list = append(list, item)
				}
				_, err := dec.Token() // ']'
				return list, err
			}
		}
		return tok, nil
	}
	root, err := value("")
	if err == nil {
		end := dec.InputOffset()
		if _, err = dec.Token(); err == io.EOF {
			return root, dups, nil
		}
		if err == nil {
			// A second value: point at its first character.
			for end < int64(len(doc)) && strings.IndexByte(" \t\r\n", doc[end]) >= 0 {
				end++
			}
			return nil, nil, syntaxError(doc, end+1, "hay contenido después del final del documento")
		}
	}
	return nil, nil, notJSON(doc)
}

// notJSON explains in Spanish why a document is not JSON, with the line and
// column, and names the usual culprit: the trailing commas of SENCE's own
// examples. encoding/json's Unmarshal gives the reliable offset.
func notJSON(doc []byte) error {
	if len(bytes.TrimSpace(doc)) == 0 {
		return errors.New("el documento no es JSON válido: está vacío")
	}
	var v any
	err := json.Unmarshal(doc, &v)
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		// The token reader and Unmarshal disagree: report without position.
		return fmt.Errorf("el documento no es JSON válido: %v", err)
	}
	// The stdlib's texts are stable; they are the only way to tell these apart.
	if strings.Contains(se.Error(), "unexpected end of JSON input") || se.Offset < 1 || se.Offset > int64(len(doc)) {
		return syntaxError(doc, int64(len(doc)), "el documento termina antes de cerrar todos sus objetos y listas")
	}
	bad, _ := utf8.DecodeRune(doc[se.Offset-1:])
	prev := bytes.TrimRight(doc[:se.Offset-1], " \t\r\n")
	if (bad == '}' || bad == ']') && len(prev) > 0 && prev[len(prev)-1] == ',' {
		return syntaxError(doc, se.Offset, fmt.Sprintf("sobra una coma antes de «%c» (JSON no admite comas finales)", bad))
	}
	if strings.Contains(se.Error(), "after top-level value") {
		return syntaxError(doc, se.Offset, "hay contenido después del final del documento")
	}
	return syntaxError(doc, se.Offset, fmt.Sprintf("hay un carácter inesperado «%c»", bad))
}

// syntaxError places why at the character ending at byte offset (1-based,
// as json.SyntaxError counts) and reports its line and column in characters.
func syntaxError(doc []byte, offset int64, why string) error {
	offset = min(max(offset, 1), int64(len(doc)))
	before := doc[:offset-1]
	line := 1 + bytes.Count(before, []byte("\n"))
	col := 1 + utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:])
	return fmt.Errorf("el documento no es JSON válido: %s (línea %d, columna %d)", why, line, col)
}

// treeOf builds the document encoding/json would decode from the course's
// JSON (json.Number for numbers, nil for nil lists), without the round trip,
// which costs as much as a third of Check. A grade that is NaN or infinite
// is left out: JSON cannot carry it and Rules reports it.
// TestTreeOfMatchesJSON keeps it in step with the payload's JSON tags.
func treeOf(c *payload.Course) map[string]any {
	root := map[string]any{
		"rutOtec":      c.RutOtec,
		"idSistema":    intNum(int64(c.IDSistema)),
		"token":        c.Token,
		"codigoOferta": c.CodigoOferta,
		"codigoGrupo":  c.CodigoGrupo,
	}
	if c.CodigoEnvio != "" {
		root["codigoEnvio"] = c.CodigoEnvio
	}
	optInt(root, "cantActividadSincronica", c.CantActividadSincronica)
	optInt(root, "cantActividadAsincronica", c.CantActividadAsincronica)
	var alumnos []any
	if c.ListaAlumnos != nil {
		alumnos = make([]any, len(c.ListaAlumnos))
	}
	for i := range c.ListaAlumnos {
		a := &c.ListaAlumnos[i]
		st := map[string]any{
			"rutAlumno":          intNum(a.RutAlumno),
			"dvAlumno":           a.DvAlumno,
			"tiempoConectividad": intNum(a.TiempoConectividad),
			"estado":             intNum(int64(a.Estado)),
			"porcentajeAvance":   intNum(int64(a.PorcentajeAvance)),
			"fechaInicio":        a.FechaInicio,
			"fechaFin":           a.FechaFin,
			"fechaEjecucion":     a.FechaEjecucion,
		}
		optFloat(st, "evaluacionFinal", a.EvaluacionFinal)
		var modulos []any
		if a.ListaModulos != nil {
			modulos = make([]any, len(a.ListaModulos))
		}
		for j := range a.ListaModulos {
			m := &a.ListaModulos[j]
			mod := map[string]any{
				"codigoModulo":       m.CodigoModulo,
				"tiempoConectividad": intNum(m.TiempoConectividad),
				"estado":             intNum(int64(m.Estado)),
				"porcentajeAvance":   intNum(int64(m.PorcentajeAvance)),
				"fechaInicio":        m.FechaInicio,
				"fechaFin":           m.FechaFin,
			}
			optFloat(mod, "notaModulo", m.NotaModulo)
			optInt(mod, "cantActividadSincronica", m.CantActividadSincronica)
			optInt(mod, "cantActividadAsincronica", m.CantActividadAsincronica)
			var acts []any
			if m.ListaActividades != nil {
				acts = make([]any, len(m.ListaActividades))
			}
			for k, act := range m.ListaActividades {
				acts[k] = map[string]any{"codigoActividad": act.CodigoActividad}
			}
			mod["listaActividades"] = list(acts)
			modulos[j] = mod
		}
		st["listaModulos"] = list(modulos)
		alumnos[i] = st
	}
	root["listaAlumnos"] = list(alumnos)
	return root
}

// list keeps a nil list as JSON null (an untyped nil), as decoding would.
func list(l []any) any {
	if l == nil {
		return nil
	}
	return l
}

func intNum(n int64) json.Number { return json.Number(strconv.FormatInt(n, 10)) }

func optInt(m map[string]any, k string, p *int) {
	if p != nil {
		m[k] = intNum(int64(*p))
	}
}

func optFloat(m map[string]any, k string, p *float64) {
	if p != nil && finite(*p) {
		m[k] = json.Number(strconv.FormatFloat(*p, 'g', -1, 64))
	}
}
