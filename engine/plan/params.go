package plan

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/types"
	"github.com/otec-tools/sence-engine/engine/fn"
	"github.com/otec-tools/sence-engine/engine/mapping"
)

// checkParams evaluates the mapping's checks (rules across parameters)
// over its parameters and reports a failed one where the user can fix it:
// at the parameter the check names if a file sets it, else at the first
// parameter the rule reads that a file sets, else at the rule.
func (c *compiler) checkParams() {
	for _, chk := range c.m.Checks {
		p, ds := c.ev.Compile(chk.Rule, types.Map{NameParams: c.paramsType()}, []string{NameParams}, expr.AsBool())
		c.ds.Add(ds...)
		if p == nil {
			continue
		}
		v, err := p.Run(map[string]any{NameParams: c.plan.Params})
		if err == nil && v == true {
			continue
		}
		at := c.checkPos(chk)
		if err != nil {
			c.errAt(at, "%s (%v)", chk.Message, err)
		} else {
			c.errAt(at, "%s", chk.Message)
		}
	}
}

var paramRef = regexp.MustCompile(`\bparams\.([A-Za-z_][A-Za-z0-9_]*)`)

func (c *compiler) checkPos(chk mapping.Check) mapping.Pos {
	names := []string{chk.Param}
	for _, m := range paramRef.FindAllStringSubmatch(chk.Rule.Src, -1) {
		if !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	var fallback *mapping.Param
	for _, name := range names {
		for i := range c.m.Params {
			p := &c.m.Params[i]
			if p.Name != name {
				continue
			}
			if !p.Default {
				return p.Pos
			}
			if fallback == nil && name == chk.Param {
				fallback = p
			}
		}
	}
	if fallback != nil && fallback.Pos.File != "" {
		return fallback.Pos
	}
	return chk.Rule.Pos
}

// checkPatterns compiles every parameter declared as a pattern (or a list
// of patterns) where its value was written, and warns when one has
// capturing groups but no group named code: extract() then returns its
// first group, not the code the whole pattern describes (the preset's own
// pattern once sent "-M1" for "C51737-O14-M1").
func (c *compiler) checkPatterns() {
	for _, p := range c.m.Params {
		if p.Decl == nil || p.Decl.ElemType() != mapping.TypePattern {
			continue
		}
		if p.Decl.Type != mapping.TypeList {
			c.checkPattern(p.Name, p.Value, p.ValuePos)
			continue
		}
		list, _ := p.Value.([]any)
		for i, v := range list {
			at := p.ValuePos
			if i < len(p.ItemPos) {
				at = p.ItemPos[i]
			}
			c.checkPattern(fmt.Sprintf("%s[%d]", p.Name, i), v, at)
		}
	}
}

func (c *compiler) checkPattern(name string, v any, at mapping.Pos) {
	s, _ := v.(string)
	if s == "" {
		c.warnAt(at, "«params.%s» está vacío: como patrón calza con cualquier texto", name)
		return
	}
	re, err := fn.Pattern(s)
	if err != nil {
		c.errAt(at, "«params.%s»: %v", name, err)
		return
	}
	if re.NumSubexp() > 0 && fn.ExtractGroup(re) != re.SubexpIndex(fn.CodeGroup) {
		c.warnAt(at, "«params.%s» tiene grupos de captura ( ) y ninguno se llama %s: extract() devuelve lo que captura el primer grupo, no todo el código que describe el patrón; agrupe sin capturar con (?:…), o marque el código con (?P<%s>…)", name, fn.CodeGroup, fn.CodeGroup)
	}
}
