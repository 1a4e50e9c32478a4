// Package plan compiles a mapping into a Plan: its queries with their
// columns and keys, its levels, and each level's expressions compiled once
// and put in evaluation order; and the offline checks of validate (the
// expressions, the parameters, the schedule and the files a mapping names).
// engine/assemble runs a Plan against a database.
package plan

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/types"
	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/eval"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/moodledb"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/source"
)

// Names visible at every level besides the level's own.
const (
	NameParams     = "params"
	NameReportDate = "reportDate"
	// NameSplit is, at the course level, the value of courses.split the
	// payload being built is for ("" without courses.split).
	NameSplit = "split"
	// NameStaticList is, in courses.unselected, whether courses.list is in
	// force (then the list, not courses.include, left the course out).
	NameStaticList = "staticList"
)

// ChildList is the name under which a level sees its children.
var ChildList = [4]string{mapping.LevelNames[1], mapping.LevelNames[2], mapping.LevelNames[3], ""}

// BuiltinSQLParams are the :names the engine fills in queries.
var BuiltinSQLParams = []string{"courseids", "reportStart", "reportEnd", "since"}

// Plan is a compiled mapping.
type Plan struct {
	Mapping *mapping.Mapping
	Params  map[string]any
	Queries []*Query
	Levels  [4]*Level
}

// Query is a mapping query with what the engine learnt of it.
type Query struct {
	*mapping.Query
	Columns []string // output columns as seen by expressions
	SQLCols []string // columns the SQL itself returns
	// Keys are the identity columns the query carries, in level order; rows
	// attach to the entities that share those values.
	Keys    []string
	Skipped bool // its `when` was false
	IsFrom  bool // the From query of its level
	Gap     int64
	MinLen  int64
	// Incremental is set on a sessions query that reads :since: with a
	// session store, a run reads only the events since the last one.
	Incremental bool
}

// Level is a compiled level.
type Level struct {
	*mapping.Level
	From    *Query
	Queries []*Query // bound to this level, From first
	IDKeys  []string // identity columns: keys of this level and above
	Include *eval.Program
	Steps   []*Step // vars and fields in evaluation order
	// Early holds the steps that do not depend on the children: they are
	// evaluated before the children, who can read them; Late the others.
	// At the course level Early steps read only the courses.from row (they
	// select the courses); Mid steps read the other course queries too and
	// are evaluated once a batch is read, before the students; Late steps
	// read the students or split and are evaluated once per payload.
	Early, Mid, Late []*Step
	// IncludeLate is set when the include rule reads the children.
	IncludeLate bool
	// Warnings run after everything else of an included entity; each
	// gives a text to report or nothing.
	Warnings []*Step
	// Flat maps a column name to the query that provides it, where unique.
	Flat map[string]*Query
	// Course level only: Unselected are the course queries that run over
	// the courses the selection left out; SplitProg is courses.split
	// (compiled at the student level) and UnselectedProg
	// courses.unselected.
	Unselected     []*Query
	SplitProg      *eval.Program
	UnselectedProg *eval.Program
	// env and known are the level's expression environment and names, for
	// expressions of other keys compiled against this level.
	env   types.Map
	known []string
}

// Step computes one var or field.
type Step struct {
	Name    string
	IsField bool
	Spec    payload.FieldSpec
	Prog    *eval.Program
	Pos     mapping.Pos
}

// Compile checks the whole mapping and compiles it. It reports every
// problem at once; the plan is usable only when there are no errors.
func Compile(m *mapping.Mapping) (*Plan, diag.List) {
	c := &compiler{m: m, plan: &Plan{Mapping: m, Params: map[string]any{}}, ev: eval.NewCompiler(chile.Location)}
	c.run()
	return c.plan, c.ds
}

type compiler struct {
	m    *mapping.Mapping
	plan *Plan
	ds   diag.List
	ev   *eval.Compiler
}

func (c *compiler) errAt(p mapping.Pos, format string, args ...any) {
	c.ds.Errorf(p.File, p.Line, p.Col, format, args...)
}

func (c *compiler) warnAt(p mapping.Pos, format string, args ...any) {
	c.ds.Warnf(p.File, p.Line, p.Col, format, args...)
}

func (c *compiler) run() {
	m := c.m
	for _, p := range m.Params {
		c.plan.Params[p.Name] = p.Value
	}
	c.checkSource()
	c.checkParams()
	c.checkPatterns()
	c.checkSchedule()
	for i := range m.Queries {
		c.plan.Queries = append(c.plan.Queries, c.query(&m.Queries[i]))
	}
	for i := range 4 {
		c.plan.Levels[i] = c.level(m.Levels[i])
	}
	// Children before parents: a level's type includes its children's.
	var childType types.Type = nil
	for i := 3; i >= 0; i-- {
		lv := c.plan.Levels[i]
		c.compileLevel(lv, childType)
		childType = types.Array(c.scopeType(lv))
	}
	c.compileSplit()
	c.compileUnselected()
	c.checkParentReads()
}

func (c *compiler) checkSource() {
	s := c.m.Source
	if s.Driver == "" {
		c.errAt(mapping.Pos{File: c.m.File, Line: s.Pos.Line, Col: s.Pos.Col}, "falta «source.driver» (sqlite, postgres o mysql)")
	}
	if s.DSN == "" && s.Driver != "" && !c.m.Unresolved["source.dsn"] {
		c.errAt(mapping.Pos{File: c.m.File, Line: s.Pos.Line, Col: s.Pos.Col}, "falta «source.dsn»: la conexión a la base de datos de Moodle (use ${MOODLE_DSN} para no escribir la contraseña en el archivo)")
	}
}

func offsetToLineCol(src string, off int) (int, int) {
	line, col := 1, 0
	for i, r := range src {
		if i >= off {
			break
		}
		if r == '\n' {
			line++
			col = 0
		} else {
			col++
		}
	}
	return line, col
}

func (c *compiler) query(q *mapping.Query) *Query {
	out := &Query{Query: q}
	if q.SQL.IsZero() || q.Level < 0 {
		return out
	}
	// The engine refuses what is not a single read before sending it;
	// say so here, where the query is written.
	drivers := []string{c.m.Source.Driver}
	if !slices.Contains(mapping.Drivers, c.m.Source.Driver) {
		drivers = mapping.Drivers
	}
	for _, d := range drivers {
		if _, err := source.CheckStatement(d, q.SQL.Src); err != nil {
			var se *source.StatementError
			p := q.SQL.Pos
			if errors.As(err, &se) && se.Off > 0 {
				p = q.SQL.At(offsetToLineCol(q.SQL.Src, se.Off))
			}
			c.errAt(p, "consulta «%s»: %v", q.Name, err)
			break
		}
	}
	cols, err := source.Columns(q.SQL.Src)
	if err != nil {
		c.errAt(q.SQL.Pos, "consulta «%s»: %v", q.Name, err)
	}
	out.SQLCols = cols
	out.Columns = cols
	hasCourseIDs := c.queryParams(q, out)
	isCourseFrom := q.Level == mapping.Course && c.m.Levels[mapping.Course].From == q.Name
	if isCourseFrom && q.Selection != mapping.SelectSelected {
		c.errAt(q.SelectionPos, "consulta «%s»: la consulta de «courses.from» lee todos los cursos; «selection» solo sirve en las otras consultas de nivel courses", q.Name)
	}
	if q.Selection == mapping.SelectUnselected && c.m.Levels[mapping.Course].Unselected.IsZero() {
		c.warnAt(q.SelectionPos, "consulta «%s»: «selection: unselected» la hace correr solo para «courses.unselected», que no está definido: no se usa", q.Name)
	}
	if !hasCourseIDs && !isCourseFrom {
		c.errAt(q.SQL.Pos, "consulta «%s»: falta el filtro por cursos «IN (:courseids)» dentro del SQL; sin él la consulta leería todos los cursos de Moodle", q.Name)
	}
	c.queryTables(q)
	c.queryKeys(q, out, cols)
	c.queryWhen(q, out)
	c.querySessions(q, out, cols)
	for col, t := range q.Types {
		if cols != nil && !slices.Contains(cols, col) {
			c.errAt(q.TypesPos, "consulta «%s»: «types» nombra la columna «%s» (%s), que la consulta no devuelve", q.Name, col, t)
		}
	}
	return out
}

// queryParams checks the query's :parameters; it says whether the query
// filters by :courseids.
func (c *compiler) queryParams(q *mapping.Query, out *Query) bool {
	known := append(slices.Clone(BuiltinSQLParams), paramNames(c.m)...)
	hasCourseIDs := false
	for _, r := range source.Params(q.SQL.Src) {
		if r.Name == "courseids" {
			hasCourseIDs = true
		}
		if r.Name == "since" {
			if q.Sessions == nil {
				l, col := offsetToLineCol(q.SQL.Src, r.Off)
				c.errAt(q.SQL.At(l, col), "consulta «%s»: «:since» (la marca de la última ejecución) solo sirve en una consulta con «sessions»", q.Name)
			}
			out.Incremental = true
		}
		if !slices.Contains(known, r.Name) {
			l, col := offsetToLineCol(q.SQL.Src, r.Off)
			p := q.SQL.At(l, col)
			hint := ""
			if s := diag.Suggest(r.Name, known); s != "" {
				hint = fmt.Sprintf("; ¿quiso decir «:%s»?", s)
			}
			c.errAt(p, "consulta «%s»: parámetro «:%s» desconocido (use un parámetro de «params» o :courseids, :reportStart, :reportEnd, :since)%s", q.Name, r.Name, hint)
		}
	}
	return hasCourseIDs
}

// queryTables warns of tables the engine does not know and of a written
// prefix.
func (c *compiler) queryTables(q *mapping.Query) {
	tables := moodledb.Tables()
	for _, r := range source.Tables(q.SQL.Src) {
		if !slices.Contains(tables, r.Name) {
			l, col := offsetToLineCol(q.SQL.Src, r.Off)
			hint := ""
			if s := diag.Suggest(r.Name, tables); s != "" {
				hint = fmt.Sprintf("; ¿quiso decir «{%s}»?", s)
			}
			c.warnAt(q.SQL.At(l, col), "consulta «%s»: la tabla «{%s}» no es una de las tablas de Moodle que conoce el motor%s", q.Name, r.Name, hint)
		}
	}
	if strings.Contains(q.SQL.Src, "mdl_") {
		c.warnAt(q.SQL.Pos, "consulta «%s»: escriba las tablas como {user}, {course}…, no con el prefijo mdl_: el motor aplica el prefijo de source.prefix", q.Name)
	}
}

// queryKeys finds the identity columns the query carries.
func (c *compiler) queryKeys(q *mapping.Query, out *Query, cols []string) {
	keys := c.identityKeys(q.Level)
	for i, k := range keys {
		if slices.Contains(cols, k) {
			out.Keys = append(out.Keys, k)
			continue
		}
		optional := i == mapping.Student && q.Level > mapping.Student // modules shared by all students
		if !optional && cols != nil {
			c.errAt(q.SQL.Pos, "consulta «%s» (nivel %s): debe devolver la columna «%s» para unir sus filas con su %s", q.Name, mapping.LevelNames[q.Level], k, mapping.LevelWords[i])
		}
	}
}

// queryWhen evaluates the query's when: false skips it.
func (c *compiler) queryWhen(q *mapping.Query, out *Query) {
	if !q.When.IsZero() {
		env := types.Map{NameParams: c.paramsType()}
		p, ds := c.ev.Compile(q.When, env, []string{NameParams}, expr.AsBool())
		c.ds.Add(ds...)
		if p != nil {
			v, err := p.Run(map[string]any{NameParams: c.plan.Params})
			if err != nil {
				c.errAt(q.When.Pos, "consulta «%s»: «when» no se pudo evaluar: %v", q.Name, err)
			} else if v == false {
				out.Skipped = true
			}
		}
	}
}

// querySessions checks a sessions query and sets its rule and columns.
func (c *compiler) querySessions(q *mapping.Query, out *Query, cols []string) {
	if s := q.Sessions; s != nil {
		if cols != nil && !slices.Contains(cols, s.Time) {
			c.errAt(s.Pos, "consulta «%s»: «sessions.time» nombra la columna «%s», que la consulta no devuelve", q.Name, s.Time)
		}
		out.Gap = c.constInt(s.Gap, q.Name+".sessions.gap", 0)
		out.MinLen = c.constInt(s.MinLength, q.Name+".sessions.minLength", 0)
		out.Columns = append(slices.Clone(out.Keys), SessionColumns...)
		if !out.Incremental {
			c.warnAt(q.SQL.Pos, "consulta «%s»: sin «AND <tiempo> >= :since» cada ejecución lee todo el registro de eventos; con él, «engine run» lee solo los eventos desde la ejecución anterior", q.Name)
		}
	}
}

// SessionColumns are what a sessions query gives per key.
var SessionColumns = []string{"seconds", "sessions", "events", "first", "last"}

func (c *compiler) constInt(t mapping.Text, where string, def int64) int64 {
	if t.IsZero() {
		return def
	}
	p, ds := c.ev.Compile(t, types.Map{NameParams: c.paramsType()}, []string{NameParams})
	c.ds.Add(ds...)
	if p == nil {
		return def
	}
	v, err := p.Run(map[string]any{NameParams: c.plan.Params})
	if err != nil {
		c.errAt(t.Pos, "«%s» no se pudo evaluar: %v", where, err)
		return def
	}
	switch x := v.(type) {
	case int:
		return int64(x)
	case int64:
		return x
	case float64:
		return int64(x)
	}
	c.errAt(t.Pos, "«%s» debe ser un número de segundos", where)
	return def
}

func paramNames(m *mapping.Mapping) []string {
	out := make([]string, len(m.Params))
	for i, p := range m.Params {
		out[i] = p.Name
	}
	return out
}

func (c *compiler) paramsType() types.Map {
	t := types.Map{}
	for _, p := range c.m.Params {
		t[p.Name] = types.TypeOf(p.Value)
	}
	return t
}

func (c *compiler) identityKeys(level int) []string {
	out := make([]string, level+1)
	for i := 0; i <= level; i++ {
		out[i] = c.m.Levels[i].Key
	}
	return out
}

func (c *compiler) level(ml *mapping.Level) *Level {
	lv := &Level{Level: ml, IDKeys: c.identityKeys(ml.Index), Flat: map[string]*Query{}}
	name := mapping.LevelNames[ml.Index]
	levelPos := ml.Pos
	if levelPos.File == "" {
		levelPos = mapping.Pos{File: c.m.File}
	}
	if ml.From == "" {
		c.errAt(levelPos, "falta «%s.from»: el nombre de la consulta cuyas filas son los %s", name, mapping.LevelPlurals[ml.Index])
	}
	var names []string
	for _, q := range c.plan.Queries {
		if q.Level == ml.Index {
			names = append(names, q.Name)
			if q.Name == ml.From {
				lv.From = q
			}
		}
	}
	if ml.From != "" && lv.From == nil {
		if q := c.m.Query(ml.From); q != nil && q.Level >= 0 {
			c.errAt(ml.FromPos, "«%s.from» nombra la consulta «%s», que es de nivel %s, no %s", name, ml.From, mapping.LevelNames[q.Level], name)
		} else {
			hint := ""
			if s := diag.Suggest(ml.From, names); s != "" {
				hint = fmt.Sprintf("; ¿quiso decir «%s»?", s)
			}
			c.errAt(ml.FromPos, "«%s.from» nombra la consulta «%s», que no existe%s", name, ml.From, hint)
		}
	}
	if lv.From != nil {
		lv.From.IsFrom = true
		if lv.From.Multiple || lv.From.Sessions != nil {
			c.errAt(ml.FromPos, "la consulta «%s» de «%s.from» no puede ser «multiple» ni «sessions»", lv.From.Name, name)
		}
		lv.Queries = append(lv.Queries, lv.From)
	}
	for _, q := range c.plan.Queries {
		if q.Level != ml.Index || q == lv.From {
			continue
		}
		if ml.Index != mapping.Course {
			lv.Queries = append(lv.Queries, q)
			continue
		}
		if q.ForUnselected() {
			lv.Unselected = append(lv.Unselected, q)
		}
		if q.ForSelected() {
			lv.Queries = append(lv.Queries, q)
		}
	}
	// Flat names: columns that only one single-row query of the level has,
	// and the identity keys, read from the first query that has them (the
	// level's own, from, which has a row for every entity): taken from a
	// later query, a key would be nil for an entity that query has no row
	// for (a module's sectionid for a student without completions or log
	// events in it).
	count := map[string]int{}
	for _, q := range lv.Queries {
		if q.Multiple {
			continue
		}
		for _, col := range q.Columns {
			count[col]++
			if count[col] == 1 {
				lv.Flat[col] = q
			}
		}
	}
	for col, n := range count {
		if n > 1 && !slices.Contains(lv.IDKeys, col) {
			delete(lv.Flat, col)
		}
	}
	return lv
}

// scopeType is what other levels see of a level: its columns, query rows,
// vars and fields.
func (c *compiler) scopeType(lv *Level) types.Map {
	t := types.Map{}
	for col := range lv.Flat {
		t[col] = types.Any
	}
	for _, q := range lv.Queries {
		t[q.Name] = rowType(q)
	}
	for _, v := range lv.Vars {
		t[v.Name] = types.Any
	}
	for _, f := range lv.Fields {
		t[f.Name] = types.Any
	}
	if name := ChildList[lv.Index]; name != "" {
		t[name] = types.Array(types.Map{types.Extra: types.Any})
		if lv.Index < 3 && c.plan.Levels[lv.Index+1] != nil {
			t[name] = types.Array(c.scopeType(c.plan.Levels[lv.Index+1]))
		}
	}
	return t
}

func rowType(q *Query) types.Type {
	row := types.Map{}
	for _, col := range q.Columns {
		row[col] = types.Any
	}
	if q.Multiple {
		return types.Array(row)
	}
	return row
}

func (c *compiler) compileLevel(lv *Level, children types.Type) {
	name := mapping.LevelNames[lv.Index]
	env := types.Map{NameParams: c.paramsType(), NameReportDate: types.String}
	if lv.Index == mapping.Course {
		env[NameSplit] = types.String
	}
	for i := 0; i < lv.Index; i++ {
		// Parents are evaluated after their children, so a child sees only
		// what the parent has before evaluation: its columns and rows.
		env[mapping.ParentNames[i]] = c.parentType(c.plan.Levels[i])
	}
	if children != nil {
		env[ChildList[lv.Index]] = children
	}
	for col := range lv.Flat {
		env[col] = types.Any
	}
	for _, q := range lv.Queries {
		if _, clash := env[q.Name]; clash {
			c.errAt(q.Pos, "el nombre de la consulta «%s» coincide con una columna o un nombre reservado del nivel %s; cámbielo", q.Name, name)
		}
		env[q.Name] = rowType(q)
	}
	// Vars and fields: names first, so they can refer to each other.
	type item struct {
		f       mapping.Field
		isField bool
	}
	var items []item
	for _, v := range lv.Vars {
		items = append(items, item{v, false})
	}
	fieldNames := payload.FieldNames(lv.Index)
	seen := map[string]bool{}
	for _, f := range lv.Fields {
		if _, ok := payload.Field(lv.Index, f.Name); !ok {
			hint := ""
			if s := diag.Suggest(f.Name, fieldNames); s != "" {
				hint = fmt.Sprintf("; ¿quiso decir «%s»?", s)
			} else if s := suggestOtherLevel(f.Name, lv.Index); s != "" {
				hint = "; " + s
			}
			c.errAt(f.Pos, "«%s» no es un campo de SENCE del nivel %s (campos: %s)%s", f.Name, name, strings.Join(fieldNames, ", "), hint)
			continue
		}
		items = append(items, item{f, true})
		seen[f.Name] = true
	}
	for _, it := range items {
		if _, clash := env[it.f.Name]; clash {
			c.errAt(it.f.Pos, "«%s» ya es una columna o un nombre reservado del nivel %s; use otro nombre", it.f.Name, name)
			continue
		}
		env[it.f.Name] = types.Any
	}
	if lv.From != nil || len(lv.Fields) > 0 {
		levelPos := lv.Pos
		if levelPos.File == "" {
			levelPos = mapping.Pos{File: c.m.File}
		}
		for _, spec := range payload.Fields[lv.Index] {
			if seen[spec.Name] {
				continue
			}
			if spec.Required {
				c.errAt(levelPos, "falta el campo obligatorio de SENCE «%s» en «%s.fields»", spec.Name, name)
			} else {
				c.warnAt(levelPos, "el campo «%s» (edición más reciente de SENCE) no está en «%s.fields»: no se enviará, y SENCE lo usa en sus controles de pago", spec.Name, name)
			}
		}
	}
	known := make([]string, 0, len(env))
	for k := range env {
		known = append(known, k)
	}
	for _, q := range lv.Queries {
		known = append(known, q.Columns...)
	}
	sort.Strings(known)
	lv.env, lv.known = env, known
	// Compile.
	byName := map[string]*Step{}
	var steps []*Step
	for _, it := range items {
		st := &Step{Name: it.f.Name, IsField: it.isField, Pos: it.f.Pos}
		if it.isField {
			st.Spec, _ = payload.Field(lv.Index, it.f.Name)
		}
		p, ds := c.ev.Compile(it.f.Expr, env, known)
		c.ds.Add(ds...)
		if p == nil {
			continue
		}
		st.Prog = p
		steps = append(steps, st)
		byName[st.Name] = st
	}
	lv.Steps = c.order(steps, byName, name)
	if !lv.Level.Include.IsZero() {
		p, ds := c.ev.Compile(lv.Level.Include, env, known)
		c.ds.Add(ds...)
		lv.Include = p
	}
	for _, w := range lv.Level.Warnings {
		if w.Expr.IsZero() {
			continue // a site turns a preset's warning off with ""
		}
		p, ds := c.ev.Compile(w.Expr, env, known)
		c.ds.Add(ds...)
		if p != nil {
			lv.Warnings = append(lv.Warnings, &Step{Name: w.Name, Prog: p, Pos: w.Pos})
		}
	}
	c.splitEarly(lv)
}

// parentType is what a child sees of its parent: everything the parent's
// queries give plus its vars and fields (evaluated by the time a parent's
// scope is complete; see build for the two-phase course evaluation).
func (c *compiler) parentType(lv *Level) types.Map { return c.scopeType(lv) }

func suggestOtherLevel(name string, level int) string {
	for i := range 4 {
		if i == level {
			continue
		}
		if _, ok := payload.Field(i, name); ok {
			return fmt.Sprintf("«%s» es un campo del nivel %s", name, mapping.LevelNames[i])
		}
	}
	return ""
}

// order sorts steps so that each comes after the steps it reads; a cycle is
// an error at the first step in it.
func (c *compiler) order(steps []*Step, byName map[string]*Step, level string) []*Step {
	var out []*Step
	state := map[*Step]int{} // 0 new, 1 visiting, 2 done
	var visit func(s *Step, path []string) bool
	visit = func(s *Step, path []string) bool {
		switch state[s] {
		case 1:
			c.errAt(s.Pos, "dependencia circular en %s: %s → %s", level, strings.Join(path, " → "), s.Name)
			return false
		case 2:
			return true
		}
		state[s] = 1
		for _, id := range s.Prog.Idents {
			if d, ok := byName[id]; ok && d != s {
				if !visit(d, append(path, s.Name)) {
					state[s] = 2
					return false
				}
			}
		}
		state[s] = 2
		out = append(out, s)
		return true
	}
	for _, s := range steps {
		visit(s, nil)
	}
	return out
}

// splitEarly separates the steps that can run before the children are
// built (they do not read the children's list) from the others. At the
// course level it also sets apart the Mid steps, which read course queries
// other than courses.from (attached once a batch is read), and makes Late
// the steps that read split; codigoOferta and the include rule must be
// early: they decide which courses are read at all.
func (c *compiler) splitEarly(lv *Level) {
	children := ChildList[lv.Index]
	isCourse := lv.Index == mapping.Course
	// attached are the names a course step finds only once the batch's
	// course queries are attached.
	attached := map[string]bool{}
	if isCourse {
		for _, q := range lv.Queries {
			if q == lv.From {
				continue
			}
			attached[q.Name] = true
			for _, col := range q.Columns {
				if lv.Flat[col] == q {
					attached[col] = true
				}
			}
		}
	}
	// late: reads the children or split (transitively); mid: reads an
	// attached query; byChildren: reads the children's list itself.
	late, mid, byChildren := map[string]bool{}, map[string]bool{}, map[string]bool{}
	reads := func(ids []string) (l, m, ch bool) {
		for _, id := range ids {
			switch {
			case children != "" && id == children:
				l, ch = true, true
			case isCourse && id == NameSplit:
				l = true
			case attached[id]:
				m = true
			}
			l, m, ch = l || late[id], m || mid[id], ch || byChildren[id]
		}
		return l, m, ch
	}
	for _, s := range lv.Steps { // already in dependency order
		late[s.Name], mid[s.Name], byChildren[s.Name] = reads(s.Prog.Idents)
	}
	for _, s := range lv.Steps {
		switch {
		case late[s.Name]:
			lv.Late = append(lv.Late, s)
		case mid[s.Name]:
			lv.Mid = append(lv.Mid, s)
		default:
			lv.Early = append(lv.Early, s)
		}
		if !isCourse {
			continue
		}
		switch {
		case s.Name == "codigoOferta" && byChildren[s.Name]:
			c.errAt(s.Pos, "«courses.fields.codigoOferta» no puede depender de «students»: identifica al curso antes de leer sus alumnos")
		case s.Name == "codigoOferta" && (late[s.Name] || mid[s.Name]):
			c.errAt(s.Pos, "«courses.fields.codigoOferta» solo puede leer la consulta de «courses.from» y «params»: identifica al curso antes de leer nada más (no puede depender de «split» ni de otras consultas)")
		case s.Name == "codigoGrupo" && byChildren[s.Name]:
			c.errAt(s.Pos, "«courses.fields.codigoGrupo» no puede depender de «students»: identifica al envío antes de leer sus alumnos (para un código por grupo use «courses.split» y «split»)")
		}
	}
	if lv.Include != nil {
		l, m, _ := reads(lv.Include.Idents)
		lv.IncludeLate = l
		if isCourse && (l || m) {
			c.errAt(lv.Include.Text.Pos, "«courses.include» solo puede leer la consulta de «courses.from» y «params»: decide qué cursos leer antes de leerlos")
		}
	}
}

// compileSplit compiles courses.split against the student level: it is
// evaluated per student, after the student's own expressions.
func (c *compiler) compileSplit() {
	clv, slv := c.plan.Levels[mapping.Course], c.plan.Levels[mapping.Student]
	if clv.Level.Split.IsZero() || slv.env == nil {
		return
	}
	p, ds := c.ev.Compile(clv.Level.Split, slv.env, slv.known)
	c.ds.Add(ds...)
	if p == nil {
		return
	}
	for _, field := range p.Members[mapping.ParentNames[mapping.Course]] {
		for _, s := range clv.Late {
			if s.Name == field {
				c.errAt(p.Text.Pos, "«courses.split» no puede leer «course.%s»: se calcula después de repartir a los alumnos", field)
			}
		}
	}
	clv.SplitProg = p
}

// compileUnselected compiles courses.unselected: it sees the courses.from
// row and the course's early values (those that select it), the rows of
// the course queries with «selection: unselected» or «all», params,
// reportDate and staticList.
func (c *compiler) compileUnselected() {
	clv := c.plan.Levels[mapping.Course]
	t := clv.Level.Unselected
	if t.IsZero() {
		return
	}
	env := types.Map{NameParams: c.paramsType(), NameReportDate: types.String, NameStaticList: types.Bool}
	if clv.From != nil {
		for col, q := range clv.Flat {
			if q == clv.From {
				env[col] = types.Any
			}
		}
		env[clv.From.Name] = rowType(clv.From)
	}
	for _, s := range clv.Early {
		env[s.Name] = types.Any
	}
	for _, q := range clv.Unselected {
		env[q.Name] = rowType(q)
	}
	known := make([]string, 0, len(env))
	for k := range env {
		known = append(known, k)
	}
	sort.Strings(known)
	p, ds := c.ev.Compile(t, env, known)
	c.ds.Add(ds...)
	clv.UnselectedProg = p
}

// checkParentReads reports children that read a parent's value computed
// only after the children (it depends on them).
func (c *compiler) checkParentReads() {
	for l := 1; l < 4; l++ {
		progs := []*eval.Program{}
		for _, s := range c.plan.Levels[l].Steps {
			progs = append(progs, s.Prog)
		}
		for _, s := range c.plan.Levels[l].Warnings {
			progs = append(progs, s.Prog)
		}
		if c.plan.Levels[l].Include != nil {
			progs = append(progs, c.plan.Levels[l].Include)
		}
		for _, p := range progs {
			for i := 0; i < l; i++ {
				for _, field := range p.Members[mapping.ParentNames[i]] {
					for _, s := range c.plan.Levels[i].Late {
						if s.Name == field {
							c.errAt(p.Text.Pos, "«%s.%s» depende de los %s y se calcula después de ellos: el nivel %s no puede leerlo", mapping.ParentNames[i], field, mapping.LevelPlurals[i+1], mapping.LevelNames[l])
						}
					}
				}
			}
		}
	}
}
