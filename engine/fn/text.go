package fn

import (
	"errors"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

func truncateImpl(*time.Location) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		if err := arity("truncate", params, 2, 2); err != nil {
			return nil, err
		}
		s, ok := toText(params[0])
		if !ok {
			return nil, fail("truncate", "%s no es un texto", show(params[0]))
		}
		n, err := toInteger(params[1])
		if err != nil || n < 0 {
			return nil, fail("truncate", "el largo máximo debe ser un entero mayor o igual a 0; se obtuvo %s", show(params[1]))
		}
		return truncate(s, int(n)), nil
	}
}

// truncate trims surrounding spaces, then keeps at most n characters.
func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

func requireImpl(*time.Location) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		if err := arity("require", params, 2, 2); err != nil {
			return nil, err
		}
		if !isEmpty(params[0]) {
			return params[0], nil
		}
		return nil, fail("require", "%s", message(params[1], "falta un valor obligatorio"))
	}
}

func failImpl(*time.Location) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		if err := arity("fail", params, 1, 1); err != nil {
			return nil, err
		}
		return nil, fail("fail", "%s", message(params[0], "excluido por el mapeo"))
	}
}

// message is the text of a user-written message, or def when it is empty.
func message(v any, def string) string {
	if s, ok := toText(v); ok && strings.TrimSpace(s) != "" {
		return s
	}
	return def
}

func extractImpl(*time.Location) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		if err := arity("extract", params, 2, 2); err != nil {
			return nil, err
		}
		s, ok := toText(params[0])
		if !ok {
			return nil, fail("extract", "%s no es un texto", show(params[0]))
		}
		re, err := compiled("extract", params[1])
		if err != nil {
			return nil, err
		}
		m := re.FindStringSubmatchIndex(s)
		if m == nil {
			return "", nil
		}
		g := ExtractGroup(re)
		if m[2*g] < 0 {
			return "", nil // the group did not take part in the match
		}
		return s[m[2*g]:m[2*g+1]], nil
	}
}

// CodeGroup is the name of the group whose text extract returns: a
// pattern marks what it extracts with (?P<code>…) and may use any other
// groups around it.
const CodeGroup = "code"

// ExtractGroup is the index of the submatch extract returns for a pattern:
// the group named CodeGroup when there is one; otherwise the first group,
// as extract did before CodeGroup existed (site files written then keep
// working); otherwise 0, the whole match.
func ExtractGroup(re *regexp.Regexp) int {
	if i := re.SubexpIndex(CodeGroup); i > 0 {
		return i
	}
	if re.NumSubexp() > 0 {
		return 1
	}
	return 0
}

// Pattern compiles a regular expression as extract and matches read it,
// with a Spanish error for a mapping author.
func Pattern(p string) (*regexp.Regexp, error) { return compiled("patrón", p) }

// Patterns usually come from the mapping (constants or params), so a few
// are compiled once and kept; a pattern built per record is compiled each
// time rather than growing the cache without bound.
var (
	patterns     sync.Map // string → *regexp.Regexp
	patternCount atomic.Int64
)

const maxPatterns = 256

func compiled(name string, v any) (*regexp.Regexp, error) {
	p, ok := toText(v)
	if !ok {
		return nil, fail(name, "el patrón %s no es un texto", show(v))
	}
	if re, ok := patterns.Load(p); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		why := err.Error()
		var se *syntax.Error
		if errors.As(err, &se) {
			why = string(se.Code)
			if es, ok := regexpErrors[se.Code]; ok {
				why = es
			}
			why += " en «" + se.Expr + "»"
		}
		return nil, &Error{Func: name, Msg: "expresión regular " + show(p) + " inválida: " + why, Err: err}
	}
	if patternCount.Load() < maxPatterns {
		if _, loaded := patterns.LoadOrStore(p, re); !loaded {
			patternCount.Add(1)
		}
	}
	return re, nil
}

// regexpErrors words Go's regexp syntax errors for a mapping author.
var regexpErrors = map[syntax.ErrorCode]string{
	syntax.ErrMissingParen:          "falta cerrar un paréntesis",
	syntax.ErrUnexpectedParen:       "hay un paréntesis de cierre sin abrir",
	syntax.ErrMissingBracket:        "falta cerrar un corchete",
	syntax.ErrInvalidEscape:         "secuencia de escape inválida",
	syntax.ErrTrailingBackslash:     "termina en una barra invertida",
	syntax.ErrMissingRepeatArgument: "falta lo que se repite antes de *, + o ?",
	syntax.ErrInvalidRepeatOp:       "repetición inválida",
	syntax.ErrInvalidRepeatSize:     "cantidad de repeticiones inválida",
	syntax.ErrInvalidCharRange:      "rango de caracteres inválido",
	syntax.ErrInvalidCharClass:      "clase de caracteres inválida",
	syntax.ErrInvalidPerlOp:         "sintaxis (?…) no admitida",
	syntax.ErrInvalidNamedCapture:   "nombre de grupo inválido",
	syntax.ErrNestingDepth:          "anidación demasiado profunda",
	syntax.ErrLarge:                 "expresión demasiado grande",
}
