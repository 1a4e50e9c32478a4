package eval

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/otec-tools/sence-engine/engine/fn"
)

// Functions the engine adds to engine/fn's: they read Moodle's own value
// shapes (grade ranges, JSON columns) rather than SENCE's.

// extraOptions are registered with every expression.
func extraOptions() []expr.Option {
	return []expr.Option{
		expr.Function("gradePct", gradePct),
		expr.Function("jsonValue", jsonValue, new(func(any, string) any)),
	}
}

// ExtraDocs documents the functions of this file for the README.
var ExtraDocs = []struct{ Name, Signature, Description, Example, Result string }{
	{"gradePct", "gradePct(valor, min, max)", "porcentaje 0–100 de una nota de Moodle en su escala (min–max); nil si no hay nota o la escala no es válida", "gradePct(5.5, 1, 7)", "75"},
	{"jsonValue", "jsonValue(texto, \"ruta.al.valor\")", "lee un valor de un texto JSON (por ejemplo la columna meta de bigbluebuttonbn_logs); nil si no existe", `jsonValue("{\"data\":{\"duration\":1800}}", "data.duration")`, "1800"},
}

// number reads a grade or bound the way the expression functions read
// numbers (fn.Float).
func number(v any) (float64, bool) {
	f, err := fn.Float(v)
	return f, err == nil
}

func gradePct(args ...any) (any, error) {
	if len(args) != 3 {
		return nil, fmt.Errorf("gradePct necesita 3 argumentos (valor, min, max)")
	}
	if args[0] == nil {
		return nil, nil
	}
	v, ok1 := number(args[0])
	lo, ok2 := number(args[1])
	hi, ok3 := number(args[2])
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("gradePct: la nota y su escala deben ser números")
	}
	if hi <= lo {
		return nil, nil
	}
	return (v - lo) * 100 / (hi - lo), nil
}

func jsonValue(args ...any) (any, error) {
	s, _ := args[0].(string)
	if s == "" {
		return nil, nil
	}
	var doc any
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		return nil, nil
	}
	for _, part := range strings.Split(args[1].(string), ".") {
		m, ok := doc.(map[string]any)
		if !ok {
			return nil, nil
		}
		doc = m[part]
	}
	return doc, nil
}
