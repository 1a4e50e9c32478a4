// Package mappingtest is the format of a mapping's test files (engine
// test): what a test gives (the mapping under test, parameter and query
// overrides, Moodle table rows or query rows, the report date) and what it
// expects (fields of courses, students, modules and activities, students
// and modules left out and why). It decodes a test file strictly, keeping
// the line and column of everything, and compares a build's results with
// the expectations; engine/pipeline loads, builds and runs them.
package mappingtest

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	yaml "go.yaml.in/yaml/v3"
)

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Suffix ends the name of every test file: engine test reads the files of
// a folder that end with it.
const Suffix = ".test.yaml"

// Preset is the value of `mapping` that names the embedded preset.
const Preset = "moodle"

// File is a decoded test file.
type File struct {
	Path string
	// Mapping is the mapping under test: a path relative to the file or
	// the name of an embedded preset.
	Mapping    string
	MappingPos mapping.Pos
	// Tables are loaded for every test, before the test's own.
	Tables     []TableRows
	ReportDate time.Time
	Tests      []Test
	// Overlay is the file's own text with only `version`, `params` and
	// `queries` kept (every other line blank), so that the mapping loader
	// reports a problem there at the test file's line and column.
	Overlay []byte
}

// Test is one named test of a file.
type Test struct {
	Name       string
	Pos        mapping.Pos
	ReportDate time.Time
	Tables     []TableRows
	Rows       []QueryRows
	Courses    []CourseExpect
}

// TableRows are rows of a Moodle table (without prefix).
type TableRows struct {
	Table string
	Pos   mapping.Pos
	Rows  []Row
}

// QueryRows are the rows a query of the mapping returns instead of
// running.
type QueryRows struct {
	Query string
	Pos   mapping.Pos
	Rows  []Row
}

// Row is one row: its cells in the order written.
type Row struct {
	Pos   mapping.Pos
	Cells []Cell
}

// Cell is a column's value: int64, float64, string, bool or nil.
type Cell struct {
	Column string
	Value  any
	Pos    mapping.Pos
	// Date is set when the value was written as a date or a date and
	// time, for an integer column (a Moodle time in Unix seconds).
	Date *time.Time
}

// Field is an expected field value (only listed fields are compared).
type Field struct {
	Name  string
	Value any // int64, float64, string, bool or nil
	Pos   mapping.Pos
}

// Reason is an expected reason: a part of it, or all of it with Exact.
type Reason struct {
	Text  string
	Exact bool
	Pos   mapping.Pos
}

// Matches says whether got is the reason expected.
func (r Reason) Matches(got string) bool {
	if r.Exact {
		return got == r.Text
	}
	return strings.Contains(got, r.Text)
}

// CourseExpect is what a test expects of one course (its codigoOferta,
// and codigoGrupo when a course is sent in several groups).
type CourseExpect struct {
	Code, Group string
	Pos         mapping.Pos
	Fields      []Field
	Students    []StudentExpect
	Excluded    []StudentOut
	ModulesOut  []ModuleOut
	Warnings    []Reason
	// Error expects the course not to be built at all, for this reason.
	Error *Reason
}

// StudentExpect is what a test expects of a student sent (by RUT or
// Moodle user id).
type StudentExpect struct {
	RUT, UserID string
	Pos         mapping.Pos
	Fields      []Field
	Modules     []ModuleExpect
}

// ModuleExpect is what a test expects of a module sent.
type ModuleExpect struct {
	Code       string
	Pos        mapping.Pos
	Fields     []Field
	Activities []ActivityExpect
}

// ActivityExpect is what a test expects of an activity sent.
type ActivityExpect struct {
	Code   string
	Pos    mapping.Pos
	Fields []Field
}

// StudentOut is a student expected not to be sent, with why.
type StudentOut struct {
	RUT, UserID string
	Pos         mapping.Pos
	Reason      *Reason
}

// ModuleOut is a module expected to be left out, with why; Code is ""
// for a section that carries no module code.
type ModuleOut struct {
	Code   string
	Pos    mapping.Pos
	Reason *Reason
}

// Decode reads a test file strictly: unknown keys, wrong types and
// missing keys are errors at their line and column, every one at once.
func Decode(path string, data []byte) (*File, diag.List) {
	d := &decoder{file: path}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 0
		msg := err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		d.ds.Errorf(path, line, 0, "el archivo de pruebas no es YAML válido: %s", msg)
		return nil, d.ds
	}
	if len(doc.Content) == 0 {
		d.ds.Errorf(path, 1, 1, "el archivo de pruebas está vacío")
		return nil, d.ds
	}
	root := doc.Content[0]
	f := &File{Path: path}
	keys := d.fields(root, "el archivo de pruebas", "version", "mapping", "params", "queries", "reportDate", "tables", "tests")
	if keys == nil {
		return nil, d.ds
	}
	if v := keys["version"]; v == nil {
		d.ds.Errorf(path, 1, 1, "falta «version: 1»")
	} else if v.Value != strconv.Itoa(mapping.Version) {
		d.errorf(v, "versión %s no soportada: este motor lee «version: %d»", v.Value, mapping.Version)
	}
	if n := keys["mapping"]; n == nil {
		d.ds.Errorf(path, 1, 1, "falta «mapping»: el mapeo que se prueba (la ruta de un archivo, relativa a este, o «%s» para el preset)", Preset)
	} else if s, ok := d.str(n, "mapping"); ok {
		f.Mapping, f.MappingPos = s, d.pos(n)
	}
	if n := keys["reportDate"]; n != nil {
		f.ReportDate = d.date(n, "reportDate")
	}
	f.Tables = d.tables(keys["tables"])
	tests := keys["tests"]
	if tests == nil {
		d.ds.Errorf(path, 1, 1, "falta «tests»: la lista de pruebas del archivo")
	} else if d.kind(tests, yaml.SequenceNode, "tests", "una lista de pruebas") {
		names := map[string]int{}
		for _, tn := range tests.Content {
			t, ok := d.test(tn, f.ReportDate)
			if !ok {
				continue
			}
			if line, dup := names[t.Name]; dup {
				d.errorf(tn, "la prueba «%s» ya está en la línea %d: cada prueba lleva un nombre distinto", t.Name, line)
			}
			names[t.Name] = t.Pos.Line
			f.Tests = append(f.Tests, t)
		}
		if len(tests.Content) == 0 {
			d.errorf(tests, "«tests» está vacío: escriba al menos una prueba")
		}
	}
	f.Overlay = overlay(data, root, "version", "params", "queries")
	return f, d.ds
}

// overlay blanks every line of data that is not part of one of the kept
// top-level keys.
func overlay(data []byte, root *yaml.Node, keep ...string) []byte {
	lines := strings.Split(string(data), "\n")
	kept := make([]bool, len(lines)+1)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i]
		if !contains(keep, k.Value) {
			continue
		}
		end := len(lines)
		if i+2 < len(root.Content) {
			end = root.Content[i+2].Line - 1
		}
		for l := k.Line; l <= end && l <= len(lines); l++ {
			kept[l] = true
		}
	}
	for i := range lines {
		if !kept[i+1] {
			lines[i] = ""
		}
	}
	return []byte(strings.Join(lines, "\n"))
}

func (d *decoder) test(n *yaml.Node, fileDate time.Time) (Test, bool) {
	keys := d.fields(n, "una prueba", "name", "reportDate", "tables", "rows", "expect")
	if keys == nil {
		return Test{}, false
	}
	t := Test{Pos: d.pos(n), ReportDate: fileDate}
	if nn := keys["name"]; nn == nil {
		d.errorf(n, "la prueba no tiene «name»: cada prueba lleva un nombre, que --run selecciona")
	} else if s, ok := d.str(nn, "name"); ok && strings.TrimSpace(s) != "" {
		t.Name = s
	} else if ok {
		d.errorf(nn, "«name» está vacío")
	}
	if dn := keys["reportDate"]; dn != nil {
		t.ReportDate = d.date(dn, "reportDate")
	} else if fileDate.IsZero() {
		d.errorf(n, "la prueba «%s» no tiene «reportDate» (la fecha del informe, como 2026-11-20), ni el archivo una para todas", t.Name)
	}
	t.Tables = d.tables(keys["tables"])
	if rn := keys["rows"]; rn != nil && d.kind(rn, yaml.MappingNode, "rows", "un mapa de consulta a filas") {
		for i := 0; i+1 < len(rn.Content); i += 2 {
			t.Rows = append(t.Rows, QueryRows{Query: rn.Content[i].Value, Pos: d.pos(rn.Content[i]), Rows: d.rows(rn.Content[i+1], "rows."+rn.Content[i].Value)})
		}
	}
	if en := keys["expect"]; en == nil {
		d.errorf(n, "la prueba «%s» no tiene «expect»: lo que espera de los cursos", t.Name)
	} else if d.kind(en, yaml.SequenceNode, "expect", "una lista de cursos") {
		if len(en.Content) == 0 {
			// A test that expects nothing would pass whatever the
			// mapping does.
			d.errorf(en, "la prueba «%s» no espera nada: «expect» está vacío; agregue al menos un curso («- course: CODIGO») con lo que debe resultar", t.Name)
		}
		for _, cn := range en.Content {
			if c, ok := d.course(cn); ok {
				t.Courses = append(t.Courses, c)
			}
		}
	}
	return t, t.Name != ""
}

func (d *decoder) tables(n *yaml.Node) []TableRows {
	if n == nil || !d.kind(n, yaml.MappingNode, "tables", "un mapa de tabla de Moodle (sin prefijo) a filas") {
		return nil
	}
	var out []TableRows
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		out = append(out, TableRows{Table: k.Value, Pos: d.pos(k), Rows: d.rows(n.Content[i+1], "tables."+k.Value)})
	}
	return out
}

func (d *decoder) rows(n *yaml.Node, where string) []Row {
	if !d.kind(n, yaml.SequenceNode, where, "una lista de filas") {
		return nil
	}
	out := []Row{}
	for _, rn := range n.Content {
		if !d.kind(rn, yaml.MappingNode, where, "una fila: un mapa de columna a valor") {
			continue
		}
		d.repeated(rn)
		r := Row{Pos: d.pos(rn)}
		for i := 0; i+1 < len(rn.Content); i += 2 {
			k, v := rn.Content[i], rn.Content[i+1]
			val, ok := d.scalar(v, where+"."+k.Value)
			if !ok {
				continue
			}
			r.Cells = append(r.Cells, Cell{Column: k.Value, Value: val, Pos: d.pos(v)})
		}
		out = append(out, r)
	}
	return out
}

func (d *decoder) course(n *yaml.Node) (CourseExpect, bool) {
	keys := d.fields(n, "un curso esperado", "course", "group", "fields", "students", "excluded", "modulesLeftOut", "warnings", "error")
	if keys == nil {
		return CourseExpect{}, false
	}
	c := CourseExpect{Pos: d.pos(n)}
	if cn := keys["course"]; cn == nil {
		d.errorf(n, "falta «course»: el codigoOferta del curso")
		return c, false
	} else if s, ok := d.str(cn, "course"); ok {
		c.Code = s
	}
	if gn := keys["group"]; gn != nil {
		c.Group, _ = d.str(gn, "group")
	}
	c.Fields = d.expectFields(keys["fields"], mapping.Course)
	if sn := keys["students"]; sn != nil && d.kind(sn, yaml.SequenceNode, "students", "una lista de alumnos") {
		for _, s := range sn.Content {
			if st, ok := d.student(s); ok {
				c.Students = append(c.Students, st)
			}
		}
	}
	if xn := keys["excluded"]; xn != nil && d.kind(xn, yaml.SequenceNode, "excluded", "una lista de alumnos que no se envían") {
		for _, s := range xn.Content {
			k := d.fields(s, "un alumno que no se envía", "rut", "userid", "reason", "exactReason")
			if k == nil {
				continue
			}
			o := StudentOut{Pos: d.pos(s), Reason: d.reason(k)}
			o.RUT, o.UserID = d.who(s, k)
			c.Excluded = append(c.Excluded, o)
		}
	}
	if mn := keys["modulesLeftOut"]; mn != nil && d.kind(mn, yaml.SequenceNode, "modulesLeftOut", "una lista de módulos que no se envían") {
		for _, s := range mn.Content {
			k := d.fields(s, "un módulo que no se envía", "module", "reason", "exactReason")
			if k == nil {
				continue
			}
			o := ModuleOut{Pos: d.pos(s), Reason: d.reason(k)}
			if m := k["module"]; m != nil {
				o.Code, _ = d.str(m, "module")
			}
			if o.Code == "" && o.Reason == nil {
				d.errorf(s, "diga qué módulo («module») o por qué se deja fuera («reason»)")
			}
			c.ModulesOut = append(c.ModulesOut, o)
		}
	}
	if wn := keys["warnings"]; wn != nil && d.kind(wn, yaml.SequenceNode, "warnings", "una lista de textos de avisos") {
		for _, s := range wn.Content {
			if txt, ok := d.str(s, "warnings"); ok {
				c.Warnings = append(c.Warnings, Reason{Text: txt, Pos: d.pos(s)})
			}
		}
	}
	if en := keys["error"]; en != nil {
		if txt, ok := d.str(en, "error"); ok {
			c.Error = &Reason{Text: txt, Pos: d.pos(en)}
		}
	}
	return c, c.Code != ""
}

func (d *decoder) student(n *yaml.Node) (StudentExpect, bool) {
	keys := d.fields(n, "un alumno esperado", "rut", "userid", "fields", "modules")
	if keys == nil {
		return StudentExpect{}, false
	}
	s := StudentExpect{Pos: d.pos(n)}
	s.RUT, s.UserID = d.who(n, keys)
	s.Fields = d.expectFields(keys["fields"], mapping.Student)
	if mn := keys["modules"]; mn != nil && d.kind(mn, yaml.SequenceNode, "modules", "una lista de módulos") {
		for _, m := range mn.Content {
			k := d.fields(m, "un módulo esperado", "module", "fields", "activities")
			if k == nil {
				continue
			}
			me := ModuleExpect{Pos: d.pos(m)}
			if c := k["module"]; c == nil {
				d.errorf(m, "falta «module»: el codigoModulo")
				continue
			} else {
				me.Code, _ = d.str(c, "module")
			}
			me.Fields = d.expectFields(k["fields"], mapping.Module)
			if an := k["activities"]; an != nil && d.kind(an, yaml.SequenceNode, "activities", "una lista de actividades") {
				for _, a := range an.Content {
					ak := d.fields(a, "una actividad esperada", "activity", "fields")
					if ak == nil {
						continue
					}
					ae := ActivityExpect{Pos: d.pos(a)}
					if c := ak["activity"]; c == nil {
						d.errorf(a, "falta «activity»: el codigoActividad")
						continue
					} else {
						ae.Code, _ = d.str(c, "activity")
					}
					ae.Fields = d.expectFields(ak["fields"], mapping.Activity)
					me.Activities = append(me.Activities, ae)
				}
			}
			s.Modules = append(s.Modules, me)
		}
	}
	return s, s.RUT != "" || s.UserID != ""
}

// who reads the rut or userid that names a student.
func (d *decoder) who(n *yaml.Node, keys map[string]*yaml.Node) (rut, userid string) {
	if r := keys["rut"]; r != nil {
		rut, _ = d.str(r, "rut")
	}
	if u := keys["userid"]; u != nil {
		userid = u.Value
	}
	if rut == "" && userid == "" {
		d.errorf(n, "falta «rut» (como 12345678-5) o «userid» (el id del usuario en Moodle) del alumno")
	}
	return rut, userid
}

func (d *decoder) reason(keys map[string]*yaml.Node) *Reason {
	r, e := keys["reason"], keys["exactReason"]
	switch {
	case r != nil && e != nil:
		d.errorf(e, "use «reason» (una parte del motivo) o «exactReason» (el motivo completo), no ambos")
	case r != nil:
		if s, ok := d.str(r, "reason"); ok {
			return &Reason{Text: s, Pos: d.pos(r)}
		}
	case e != nil:
		if s, ok := d.str(e, "exactReason"); ok {
			return &Reason{Text: s, Exact: true, Pos: d.pos(e)}
		}
	}
	return nil
}

// fieldNames are the SENCE fields of each level a test may expect.
func fieldNames(level int) []string {
	var out []string
	for _, k := range payload.Keys[level] {
		if k.Computed {
			out = append(out, k.Name)
		}
	}
	return out
}

func (d *decoder) expectFields(n *yaml.Node, level int) []Field {
	if n == nil || !d.kind(n, yaml.MappingNode, "fields", "un mapa de campo SENCE a valor") {
		return nil
	}
	d.repeated(n)
	names := fieldNames(level)
	var out []Field
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !contains(names, k.Value) {
			msg := fmt.Sprintf("«%s» no es un campo de SENCE de %s (campos: %s)", k.Value, mapping.LevelWords[level], strings.Join(names, ", "))
			if s := diag.Suggest(k.Value, names); s != "" {
				msg += fmt.Sprintf("; ¿quiso decir «%s»?", s)
			}
			d.errorf(k, "%s", msg)
			continue
		}
		val, ok := d.scalar(v, k.Value)
		if ok {
			out = append(out, Field{Name: k.Value, Value: val, Pos: d.pos(v)})
		}
	}
	return out
}

type decoder struct {
	file string
	ds   diag.List
}

func (d *decoder) pos(n *yaml.Node) mapping.Pos {
	return mapping.Pos{File: d.file, Line: n.Line, Col: n.Column}
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.ds.Errorf(d.file, n.Line, n.Column, format, args...)
}

func (d *decoder) kind(n *yaml.Node, k yaml.Kind, where, want string) bool {
	if n.Kind == k {
		return true
	}
	if n.Kind == yaml.AliasNode {
		d.errorf(n, "«%s»: este formato no admite alias de YAML (*nombre); escriba el valor", where)
		return false
	}
	d.errorf(n, "«%s» debe ser %s", where, want)
	return false
}

// fields checks a map's keys and returns each key's value.
func (d *decoder) fields(n *yaml.Node, what string, allowed ...string) map[string]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s debe ser un mapa (clave: valor)", what)
		return nil
	}
	d.repeated(n)
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !contains(allowed, k.Value) {
			msg := fmt.Sprintf("clave desconocida «%s» en %s (claves: %s)", k.Value, what, strings.Join(allowed, ", "))
			if s := diag.Suggest(k.Value, allowed); s != "" {
				msg += fmt.Sprintf("; ¿quiso decir «%s»?", s)
			}
			d.errorf(k, "%s", msg)
			continue
		}
		out[k.Value] = n.Content[i+1]
	}
	return out
}

// repeated reports a key written twice in one map.
func (d *decoder) repeated(n *yaml.Node) {
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if line, ok := first[k.Value]; ok {
			d.errorf(k, "la clave «%s» está repetida (la primera está en la línea %d)", k.Value, line)
			continue
		}
		first[k.Value] = k.Line
	}
}

func (d *decoder) str(n *yaml.Node, where string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		d.errorf(n, "«%s» debe ser un texto", where)
		return "", false
	}
	return n.Value, true
}

// scalar reads a value as YAML types it: int64, float64, string, bool or
// nil.
func (d *decoder) scalar(n *yaml.Node, where string) (any, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "«%s» debe ser un valor (número, texto, true/false o null)", where)
		return nil, false
	}
	switch n.ShortTag() {
	case "!!null":
		return nil, true
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			d.errorf(n, "«%s»: %v", where, err)
			return nil, false
		}
		return b, true
	case "!!int":
		var i int64
		if err := n.Decode(&i); err != nil {
			d.errorf(n, "«%s»: %s no es un entero que quepa en 64 bits", where, n.Value)
			return nil, false
		}
		return i, true
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			d.errorf(n, "«%s»: %s no es un número", where, n.Value)
			return nil, false
		}
		return f, true
	}
	return n.Value, true
}

// date reads a YYYY-MM-DD day in Santiago.
func (d *decoder) date(n *yaml.Node, where string) time.Time {
	t, err := chile.ParseDate(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		d.errorf(n, "«%s» debe ser una fecha AAAA-MM-DD, como 2026-11-20", where)
		return time.Time{}
	}
	return t
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
