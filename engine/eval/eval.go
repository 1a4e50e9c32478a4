// Package eval compiles the expressions of a mapping once, against a typed
// environment per level, and maps expr's errors back into the YAML file.
package eval

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/fn"
	"github.com/otec-tools/sence-engine/engine/mapping"
)

// Program is a compiled expression with the place it came from.
type Program struct {
	vm   *vm.Program
	Text mapping.Text
	// Idents are the top-level names the expression reads.
	Idents []string
	// Members lists, per top-level name, the fields read from it with a
	// constant name (student.fechaInicio gives student → fechaInicio).
	Members map[string][]string
	// Elements are the fields read from the element of a list in a
	// predicate (sum(modules, .done) gives done), in the order written.
	Elements []string
}

// Compiler compiles expressions with the engine's functions.
type Compiler struct {
	opts []expr.Option
}

// NewCompiler prepares the function set for the given time zone.
func NewCompiler(loc *time.Location) *Compiler {
	return &Compiler{opts: append(fn.Options(loc), extraOptions()...)}
}

// Compile checks and compiles one expression against env. known lists every
// name visible in the environment (for suggestions). The diagnostics point
// into the mapping file.
func (c *Compiler) Compile(t mapping.Text, env types.Map, known []string, extra ...expr.Option) (*Program, diag.List) {
	var ds diag.List
	src := strings.TrimRight(t.Src, "\n")
	if strings.TrimSpace(src) == "" {
		ds.Errorf(t.Pos.File, t.Pos.Line, t.Pos.Col, "expresión vacía")
		return nil, ds
	}
	opts := append([]expr.Option{expr.Env(env)}, c.opts...)
	opts = append(opts, extra...)
	p, err := expr.Compile(src, opts...)
	if err != nil {
		ds.Add(ToDiag(t, err, known))
		return nil, ds
	}
	prog := &Program{vm: p, Text: t}
	prog.Idents, prog.Members, prog.Elements = identifiers(p.Node())
	return prog, ds
}

// Run evaluates the program.
func (p *Program) Run(env map[string]any) (any, error) {
	out, err := expr.Run(p.vm, env)
	if err != nil {
		return nil, RuntimeError(err)
	}
	return out, nil
}

// RunVM evaluates the program on v, a VM the caller reuses for every
// evaluation of one goroutine: expr.Run allocates a new VM and its stack
// each time, which costs as much as a short expression.
func (p *Program) RunVM(v *vm.VM, env map[string]any) (any, error) {
	out, err := v.Run(p.vm, env)
	if err != nil {
		return nil, RuntimeError(err)
	}
	return out, nil
}

type identVisitor struct {
	names    map[string]bool
	members  map[string][]string
	elements []string
}

func (v *identVisitor) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.IdentifierNode:
		v.names[x.Value] = true
	case *ast.MemberNode:
		id, ok1 := x.Node.(*ast.IdentifierNode)
		prop, ok2 := x.Property.(*ast.StringNode)
		if ok1 && ok2 {
			v.members[id.Value] = append(v.members[id.Value], prop.Value)
		}
		if _, ok := x.Node.(*ast.PointerNode); ok && ok2 && !slices.Contains(v.elements, prop.Value) {
			v.elements = append(v.elements, prop.Value)
		}
	}
}

func identifiers(root ast.Node) ([]string, map[string][]string, []string) {
	v := &identVisitor{names: map[string]bool{}, members: map[string][]string{}}
	ast.Walk(&root, v)
	out := make([]string, 0, len(v.names))
	for n := range v.names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, v.members, v.elements
}

var (
	reUnknownName  = regexp.MustCompile(`^unknown name (\S+)$`)
	reUnknownField = regexp.MustCompile(`^unknown field (\S+)$`)
	reNoField      = regexp.MustCompile(`^type .* has no field (\S+)$`)
	reNotEnough    = regexp.MustCompile(`^not enough arguments to call (\S+)$`)
	reTooMany      = regexp.MustCompile(`^too many arguments to call (\S+)$`)
	reCannotUse    = regexp.MustCompile(`^cannot use (\S+) as argument \(type (\S+)\) to call (\S+)\s*$`)
	reMismatch     = regexp.MustCompile(`^invalid operation: (\S+) \(mismatched types (\S+) and (\S+)\)$`)
	reUnexpected   = regexp.MustCompile(`^unexpected token (.*)$`)
)

// ToDiag maps an expr compile error into a diagnostic at its place in the
// file, in Spanish, with the nearest known name for a typo.
func ToDiag(t mapping.Text, err error, known []string) diag.Diagnostic {
	var fe *file.Error
	line, col, msg := 1, 0, err.Error()
	if errors.As(err, &fe) {
		line, col, msg = fe.Line, fe.Column, fe.Message
	}
	p := t.At(line, col)
	d := diag.Diagnostic{File: p.File, Line: p.Line, Col: p.Col, Severity: diag.Error, Msg: Spanish(msg)}
	var name string
	if m := reUnknownName.FindStringSubmatch(msg); m != nil {
		name = m[1]
	} else if m := reUnknownField.FindStringSubmatch(msg); m != nil {
		name = m[1]
	} else if m := reNoField.FindStringSubmatch(msg); m != nil {
		name = m[1]
	}
	if name != "" {
		if s := diag.Suggest(name, known); s != "" {
			d.Hint = fmt.Sprintf("¿quiso decir «%s»?", s)
		}
	}
	return d
}

// Spanish translates expr's messages that users meet most often.
func Spanish(msg string) string {
	if m := reUnknownName.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("nombre desconocido «%s»: no es una columna de las consultas de este nivel, ni una variable, campo o función", m[1])
	}
	if m := reUnknownField.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("campo desconocido «%s»", m[1])
	}
	if m := reNoField.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("campo desconocido «%s»", m[1])
	}
	if m := reNotEnough.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("faltan argumentos en la llamada a %s()", m[1])
	}
	if m := reTooMany.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("sobran argumentos en la llamada a %s()", m[1])
	}
	if m := reCannotUse.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("no se puede usar un valor de tipo %s como argumento de %s() (espera %s)", m[1], m[3], m[2])
	}
	if m := reMismatch.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("operación %s inválida entre tipos %s y %s", m[1], m[2], m[3])
	}
	if m := reUnexpected.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("error de sintaxis: símbolo inesperado %s", m[1])
	}
	return "expresión inválida: " + msg
}

// RuntimeError keeps the message of an evaluation error without expr's
// snippet: function errors are already Spanish and read as reasons.
func RuntimeError(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		if fe.Prev != nil {
			return fe.Prev
		}
		return errors.New(runtimeSpanish(fe.Message))
	}
	return err
}

var reInvalidOp = regexp.MustCompile(`^invalid operation: (.*)$`)

func runtimeSpanish(msg string) string {
	if m := reInvalidOp.FindStringSubmatch(msg); m != nil {
		return "operación inválida: " + strings.ReplaceAll(m[1], "<nil>", "(vacío)") + " (¿falta un valor en Moodle? use ?? para dar uno por defecto)"
	}
	if strings.HasPrefix(msg, "cannot fetch") {
		return "no se puede leer un campo de un valor vacío: " + msg
	}
	return msg
}
