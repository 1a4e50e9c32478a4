// Package mapping reads mapping files: strict YAML, `extends` presets,
// ${ENV} interpolation and defaults. It keeps the file, line and column of
// every expression and query so that later stages report problems in place.
// It never evaluates anything: the engine compiles what this package reads.
package mapping

import "time"

// Version is the only mapping format version this engine reads.
const Version = 1

// Pos is a place in a mapping file. Line and Col are 1-based.
type Pos struct {
	File string
	Line int
	Col  int
}

// Text is a string read from the mapping (an expression or SQL) with the
// place where its first character stands, so that a position inside the
// text can be mapped back to the file.
type Text struct {
	Src string
	Pos Pos
	// Block is true for YAML block scalars (| or >): every line of the text
	// starts at column Pos.Col. Otherwise the text sits on one line.
	Block bool
}

// IsZero reports whether the text was not given.
func (t Text) IsZero() bool { return t.Src == "" }

// At returns the file position of a 1-based line and 0-based column inside
// the text.
func (t Text) At(line, col int) Pos {
	if line < 1 {
		line = 1
	}
	if !t.Block {
		return Pos{File: t.Pos.File, Line: t.Pos.Line, Col: t.Pos.Col + col}
	}
	return Pos{File: t.Pos.File, Line: t.Pos.Line + line - 1, Col: t.Pos.Col + col}
}

// Mapping is a whole mapping after `extends` is resolved.
type Mapping struct {
	File    string // the file the user named
	Files   []string
	Version int
	Source  Source
	Sence   Sence
	Run     RunConfig
	// Params are the effective parameters: with declarations, every
	// declared parameter in declaration order (its value or its default);
	// without, the ones params sets.
	Params []Param
	// Declarations are the parameters the files declare (`parameters`).
	// When there are none, params are free: any name, typed by YAML.
	Declarations []ParamDecl
	Queries      []Query
	Levels       [4]*Level // course, student, module, activity
	Checks       []Check
	// Unresolved names the settings (like "source.dsn") whose ${VAR} was
	// not defined; they were reported already.
	Unresolved map[string]bool
	// Presets are the file names under which embedded presets were read
	// ("moodle.yaml"): positions there are not in a file the user can edit.
	Presets []string
}

// InPreset reports whether p is in an embedded preset rather than in a
// file the user wrote.
func (m *Mapping) InPreset(p Pos) bool {
	for _, f := range m.Presets {
		if p.File == f {
			return true
		}
	}
	return false
}

// Check is a rule over the parameters, checked when the mapping loads: a
// preset says which values its parameters accept, and a site's typo is
// reported at the parameter, before anything runs.
type Check struct {
	Name    string
	Rule    Text   // expression over params, true when the values are fine
	Message string // Spanish, shown when the rule is false
	Param   string // the parameter to point at
	Pos     Pos
}

// Source is the LMS database.
type Source struct {
	Driver    string // sqlite | postgres | mysql
	DSN       string
	Prefix    string
	BatchSize int
	Timeout   time.Duration
	Pos       Pos
	DriverPos Pos
	// DSNPos and PrefixPos are where the DSN and the prefix were set (in a
	// preset for a prefix the site file leaves as is).
	DSNPos, PrefixPos Pos
	dir               string // of the file that set the DSN
}

// Sence is the SENCE service: credentials and limits.
type Sence struct {
	RutOtec   string
	Token     string // never printed
	TokenFile string
	BaseURL   string
	Timeout   time.Duration
	// Settle is how long SENCE may take to process a send and show it in
	// historialEnvios; 0 is the default (600 s or Timeout, the longer).
	Settle       time.Duration
	Window       Window
	RutPos       Pos
	TokenPos     Pos
	TokenFilePos Pos
	Pos          Pos
	// Simulator points the engine at an in-process SENCE simulator with the
	// given roster file ("" for none); used by the demo.
	Simulator    bool
	SimRoster    string
	SimulatorPos Pos
	RosterPos    Pos
}

// Window is the daily send window in America/Santiago.
type Window struct {
	Start, End       string // "22:00", "00:00"
	Pos              Pos
	StartPos, EndPos Pos
}

// RunConfig holds settings of nightly runs.
type RunConfig struct {
	Ledger        string
	Concurrency   int
	Policy        string // keep-max | hold | send
	SkipUnchanged bool
	Schedule      string
	Pos           Pos
	LedgerPos     Pos
	SchedulePos   Pos
}

// Param is a named constant visible to expressions as params.NAME.
type Param struct {
	Name  string
	Value any // string, int, float64, bool, or []any of those (a YAML list)
	// Pos is where the value was written: the key in params, or the
	// `default` of its declaration when no file sets it.
	Pos Pos
	// ValuePos is the value itself; ItemPos each item of a list value.
	ValuePos Pos
	ItemPos  []Pos
	// Default is set when the value is the declaration's default.
	Default bool
	// Env are the environment variables interpolated into the value.
	Env []EnvRef
	// Decl is the parameter's declaration (nil for a free parameter).
	Decl *ParamDecl
}

// EnvRef is an environment variable a value reads (${NAME} or
// ${NAME:-default}); Set is false when it was undefined or empty.
type EnvRef struct {
	Name string
	Set  bool
}

// Parameter types a declaration names.
const (
	TypeString  = "string"
	TypeInteger = "integer"
	TypeNumber  = "number"
	TypeBool    = "bool"
	TypePattern = "pattern" // a Go RE2 regular expression
	TypeList    = "list"    // a YAML list of Items
)

// ParamTypes are the types a declaration may name; ItemTypes those of a
// list's items.
var (
	ParamTypes = []string{TypeString, TypeInteger, TypeNumber, TypeBool, TypePattern, TypeList}
	ItemTypes  = []string{TypeString, TypeInteger, TypeNumber, TypePattern}
)

// ParamDecl declares a parameter: what it holds, what it accepts and what
// it is for, so that a site's typo or wrong value is reported where the
// site wrote it, editors complete it, and engine params explains it.
type ParamDecl struct {
	Name  string
	Type  string
	Items string // of a list: the type of its items (string by default)
	// Default is the value when no file sets the parameter (typed like a
	// value); without one, a file must set it.
	Default    any
	HasDefault bool
	DefaultPos Pos // the `default` key
	// Values are the values it accepts (each item's, for a list), in
	// order, each with an optional Spanish description; none: any.
	Values []AllowedValue
	// Min and Max bound a number or integer (each item's, for a list).
	Min, Max *float64
	// Match is a regular expression a text (or each item) must match.
	Match       string
	Description string // Spanish, for people
	Pos         Pos    // the declaration's key
	defValue    valueOrigin
}

// AllowedValue is one of the values a parameter accepts.
type AllowedValue struct {
	Value       any
	Description string
}

// ElemType is the type of a value or, for a list, of its items.
func (d *ParamDecl) ElemType() string {
	if d.Type == TypeList {
		return d.Items
	}
	return d.Type
}

// Level names, in payload order.
const (
	Course = iota
	Student
	Module
	Activity
)

// LevelNames are the YAML section names of the levels.
var LevelNames = [4]string{"courses", "students", "modules", "activities"}

// LevelWords are the Spanish names of the levels, for messages, and
// LevelPlurals their plurals.
var (
	LevelWords   = [4]string{"curso", "alumno", "módulo", "actividad"}
	LevelPlurals = [4]string{"cursos", "alumnos", "módulos", "actividades"}
)

// ParentNames are the names under which lower levels see an entity of a
// level (student.rutAlumno); a level sees its children's list under the
// next level's name (LevelNames).
var ParentNames = [4]string{"course", "student", "module", "activity"}

// DefaultKeys are the identity columns of each level.
var DefaultKeys = [4]string{"courseid", "userid", "sectionid", "cmid"}

// Query is a named SQL query bound to a level.
type Query struct {
	Name     string
	Level    int
	LevelPos Pos
	SQL      Text
	Multiple bool
	Types    map[string]string
	TypesPos Pos
	When     Text
	Sessions *Sessions
	// Selection says which courses a courses-level query reads: the
	// selected ones (the default), the ones the selection left out (for
	// courses.unselected), or both.
	Selection    string
	SelectionPos Pos
	Pos          Pos
}

// Values of Query.Selection.
const (
	SelectSelected   = "selected"
	SelectUnselected = "unselected"
	SelectAll        = "all"
)

// Selections are the values Query.Selection accepts.
var Selections = []string{SelectSelected, SelectUnselected, SelectAll}

// ForSelected reports whether the query runs over the selected courses.
func (q *Query) ForSelected() bool { return q.Selection != SelectUnselected }

// ForUnselected reports whether the query runs over the courses the
// selection left out.
func (q *Query) ForUnselected() bool {
	return q.Level == Course && (q.Selection == SelectUnselected || q.Selection == SelectAll)
}

// Sessions asks the engine to turn an ordered event query into dedication
// sessions with the maximum-gap rule, streaming.
type Sessions struct {
	Time      string // column with the event time (epoch seconds)
	Gap       Text   // expression over params: maximum seconds between clicks
	MinLength Text   // sessions of this length or shorter are dropped
	Pos       Pos
}

// Level is one level of the payload: which rows make its entities, which are
// kept, and how each field is computed.
type Level struct {
	Index   int
	From    string
	FromPos Pos
	Key     string
	Include Text
	Vars    []Field
	Fields  []Field
	// Warnings are checks of an included entity that never leave it out:
	// each gives a text to report (a warning in every summary) or
	// ""/false/nil. Courses, students and modules only.
	Warnings []Field
	Pos      Pos
	// List is the static course list (courses level only).
	List []ListedCourse
	// Split (courses level only) is evaluated per student: the course is
	// sent as one payload per distinct value, each with the students of
	// that value (one per Moodle group, for instance).
	Split Text
	// Unselected (courses level only) is evaluated for every course the
	// selection (include or list) left out: false, nil or "" says nothing;
	// a text reports the course with that text.
	Unselected Text
}

// Field is a named expression.
type Field struct {
	Name string
	Expr Text
	Pos  Pos // of the key
}

// ListedCourse is an entry of the static course list.
type ListedCourse struct {
	Course       string // shortname or id
	CodigoOferta string
	CodigoGrupo  string
	Pos          Pos
}

// Param returns the value of a parameter.
func (m *Mapping) Param(name string) (any, bool) {
	for _, p := range m.Params {
		if p.Name == name {
			return p.Value, true
		}
	}
	return nil, false
}

// Declaration returns the declaration of a parameter, or nil.
func (m *Mapping) Declaration(name string) *ParamDecl {
	for i := range m.Declarations {
		if m.Declarations[i].Name == name {
			return &m.Declarations[i]
		}
	}
	return nil
}

// Query returns a query by name.
func (m *Mapping) Query(name string) *Query {
	for i := range m.Queries {
		if m.Queries[i].Name == name {
			return &m.Queries[i]
		}
	}
	return nil
}
