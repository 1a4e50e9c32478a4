// Package fn is the set of functions mapping expressions call to turn LMS
// data into SENCE's fields: RUTs, dates in Chile's time zone, percentages,
// Chilean grades, text limits and explicit failures. Each function is
// registered with expr with typed signatures, so a wrong number or type of
// arguments is a compile-time error in the mapping file, and returns an
// *Error (never panics) on bad data, with a Spanish message that reads as
// the reason a student was left out of a send.
//
// Docs describes every function for the README; a test runs each example.
package fn

import (
	"fmt"
	"time"

	"github.com/expr-lang/expr"
	"github.com/otec-tools/sence-engine/engine/chile"
)

// Doc documents one function for users (Spanish). Example is an expression
// that uses only literals; Result is what it evaluates to, written as an
// expr literal ("error: …" when the example shows a failure).
type Doc struct {
	Name        string
	Signature   string
	Description string
	Example     string
	Result      string
}

// Error is a function's refusal of its data. Its message is the whole
// reason, in Spanish, ready to show as why a student was excluded.
type Error struct {
	Func string // the function that refused
	Msg  string
	Err  error // the underlying error, when there is one
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

func fail(name, format string, args ...any) error {
	return &Error{Func: name, Msg: fmt.Sprintf(format, args...)}
}

// def is one function: its documentation, its implementation for a time
// zone (nil for what expr already provides) and its signatures for expr's
// type checker.
type def struct {
	Doc
	impl  func(loc *time.Location) func(params ...any) (any, error)
	types []any
}

// Options registers the functions with expr. Dates are read and written in
// loc (America/Santiago when nil, DST included).
func Options(loc *time.Location) []expr.Option {
	if loc == nil {
		loc = chile.Location
	}
	var opts []expr.Option
	for _, d := range defs {
		if d.impl == nil {
			continue
		}
		opts = append(opts, expr.Function(d.Name, guard(d.Name, d.impl(loc)), d.types...))
	}
	return opts
}

// Docs returns the documentation of every function, in README order.
func Docs() []Doc {
	out := make([]Doc, len(defs))
	for i, d := range defs {
		out[i] = d.Doc
	}
	return out
}

// guard turns a panic inside a function into an error, so that a bug in a
// function excludes one student instead of stopping the run.
func guard(name string, f func(params ...any) (any, error)) func(params ...any) (any, error) {
	return func(params ...any) (out any, err error) {
		defer func() {
			if r := recover(); r != nil {
				out, err = nil, fail(name, "error interno en %s: %v", name, r)
			}
		}()
		return f(params...)
	}
}

// arity checks the number of arguments at run time too: expr checks it at
// compile time only when the call was type-checked.
func arity(name string, params []any, lo, hi int) error {
	if n := len(params); n < lo || (hi >= 0 && n > hi) {
		return fail(name, "%s: número de argumentos incorrecto (%d)", name, n)
	}
	return nil
}

// defs lists every function in README order.
var defs = []def{
	{Doc: Doc{"rut", "rut(texto) → RUT",
		"Lee un RUT escrito de cualquier forma habitual (con o sin puntos, con o sin guion, k minúscula, espacios) y verifica su dígito verificador. Da un objeto con .number (número sin dígito verificador), .dv (dígito verificador, K siempre en mayúscula) y .text («12345678-5», como lo pide SENCE). Error si el RUT no es válido.",
		`rut("17.118.181-k")`, `{number: 17118181, dv: "K", text: "17118181-K"}`},
		impl: rutImpl, types: []any{new(func(string) RUT)}},
	{Doc: Doc{"isRut", "isRut(texto) → bool",
		"Indica si el texto es un RUT válido (mismas formas que rut), sin producir error.",
		`isRut("12345678-9")`, `false`},
		impl: isRutImpl, types: []any{new(func(string) bool)}},
	{Doc: Doc{"date", "date(epoch) → \"AAAA-MM-DD\"",
		"Convierte una fecha de Moodle (segundos desde 1970, como número o texto) al día correspondiente en la zona horaria de Chile, con horario de verano. Error si la fecha está vacía (nil o 0, como guarda Moodle una fecha no configurada) o es negativa.",
		`date(1788229800)`, `"2026-08-31"`},
		impl: dateImpl, types: []any{new(func(int) string), new(func(float64) string), new(func(string) string), new(func(time.Time) string)}},
	{Doc: Doc{"epoch", "epoch(\"AAAA-MM-DD\") → int",
		"El instante en que empieza ese día en Chile, en segundos desde 1970: lo inverso de date, para comparar con fechas de Moodle.",
		`epoch("2026-09-06")`, `1788667200`},
		impl: epochImpl, types: []any{new(func(string) int)}},
	{Doc: Doc{"earliest", "earliest(fecha, ...) → \"AAAA-MM-DD\"",
		"La fecha más temprana entre las dadas (textos AAAA-MM-DD); ignora las vacías (nil o \"\"). Da \"\" si todas están vacías.",
		`earliest("2026-07-15", "", "2026-06-30")`, `"2026-06-30"`},
		impl: extremeImpl("earliest", -1), types: []any{new(func(string, ...string) string)}},
	{Doc: Doc{"latest", "latest(fecha, ...) → \"AAAA-MM-DD\"",
		"La fecha más tardía entre las dadas (textos AAAA-MM-DD); ignora las vacías (nil o \"\"). Da \"\" si todas están vacías.",
		`latest("2026-03-02", "2026-04-10")`, `"2026-04-10"`},
		impl: extremeImpl("latest", 1), types: []any{new(func(string, ...string) string)}},
	{Doc: Doc{"daysBetween", "daysBetween(desde, hasta) → int",
		"Días de calendario entre dos fechas AAAA-MM-DD (negativo si hasta es anterior a desde).",
		`daysBetween("2026-04-01", "2026-04-10")`, `9`},
		impl: daysBetweenImpl, types: []any{new(func(string, string) int)}},
	{Doc: Doc{"pct", "pct(hechas, total) → int",
		"Porcentaje entero de avance: hechas × 100 / total, truncado hacia abajo (99,6 % da 99, para no informar 100 % antes de tiempo) y limitado a 0–100. Da 0 si total es 0.",
		`pct(7, 9)`, `77`},
		impl: pctImpl, types: []any{new(func(float64, float64) int)}},
	{Doc: Doc{"clamp", "clamp(x, mín, máx) → número",
		"Limita x al rango mín–máx. Entero si los tres son enteros.",
		`clamp(104.5, 0, 100)`, `100.0`},
		impl: clampImpl, types: []any{new(func(int, int, int) int), new(func(float64, float64, float64) float64)}},
	{Doc: Doc{"roundTo", "roundTo(x, decimales) → float",
		"Redondea x a esa cantidad de decimales (0 a 15), con las mitades alejándose de cero como se redondea a mano (2,675 da 2,68).",
		`roundTo(2.675, 2)`, `2.68`},
		impl: roundToImpl, types: []any{new(func(float64, int) float64)}},
	{Doc: Doc{"nota", "nota(porcentaje [, exigencia]) → float",
		"Nota chilena de 1,0 a 7,0 para un porcentaje de logro de 0 a 100, con la exigencia dada (60 % por omisión): la exigencia da 4,0, 0 % da 1,0 y 100 % da 7,0, en línea recta a cada lado. Sin redondear. Error si el porcentaje está fuera de 0–100.",
		`nota(75)`, `5.125`},
		impl: notaImpl, types: []any{new(func(float64) float64), new(func(float64, float64) float64)}},
	{Doc: Doc{"notaPct", "notaPct(nota [, exigencia]) → float",
		"Lo inverso de nota: el porcentaje de logro (0 a 100) que corresponde a una nota de 1,0 a 7,0 con esa exigencia (60 % por omisión).",
		`notaPct(4.0)`, `60.0`},
		impl: notaPctImpl, types: []any{new(func(float64) float64), new(func(float64, float64) float64)}},
	{Doc: Doc{"notaFromGrade", "notaFromGrade(nota, mín, máx [, exigencia]) → float o nil",
		"Nota chilena (1,0 a 7,0) de una nota de Moodle en su escala mín–máx, para las reglas de aprobación: si la escala es la chilena (mín 1 y máx 7, ±0,001) es la nota misma; si es otra (0–100, 0–10, puntos…), la de su porcentaje de logro con la exigencia (60 % por omisión), como nota. Redondeada a 6 decimales, para que un 4,0 calculado nunca quede en 3,9999999. nil si no hay nota (nil) o la escala está vacía (máx ≤ mín). Error si la nota está fuera de su escala.",
		`notaFromGrade(4.6, 1, 7)`, `4.6`},
		impl: notaFromGradeImpl, types: []any{new(func(any, any, any) any), new(func(any, any, any, any) any)}},
	{Doc: Doc{"logroFromGrade", "logroFromGrade(nota, mín, máx [, exigencia]) → float o nil",
		"Porcentaje de logro (0 a 100) de una nota de Moodle en su escala mín–máx, el que SENCE pide en evaluacionFinal y notaModulo: en la escala chilena (mín 1, máx 7) el que la exigencia asigna a esa nota (con exigencia 60: 4,0 da 60, 7,0 da 100 y 1,0 da 0), no la posición lineal en 1–7, que haría de un 4,0 aprobado un 50 % reprobado; en otra escala, la posición de la nota en ella, (nota − mín) × 100 ÷ (máx − mín). nil si no hay nota o la escala está vacía.",
		`logroFromGrade(4.0, 1, 7, 60)`, `60.0`},
		impl: logroFromGradeImpl, types: []any{new(func(any, any, any) any), new(func(any, any, any, any) any)}},
	{Doc: Doc{"truncate", "truncate(texto, n) → string",
		"Quita los espacios del comienzo y del final y deja como máximo n caracteres (letras, no bytes: «ó» cuenta uno). SENCE corta los códigos de actividad en 50.",
		`truncate("  Actividad Formativa 2 - Ejercicio Constitución de la Sociedad", 50)`, `"Actividad Formativa 2 - Ejercicio Constitución de "`},
		impl: truncateImpl, types: []any{new(func(string, int) string)}},
	{Doc: Doc{"require", "require(valor, mensaje) → valor",
		"Devuelve el valor, o falla con el mensaje si el valor está vacío (nil o \"\"). El mensaje es lo que verá el coordinador como motivo de exclusión del alumno.",
		`require(nil, "sin fecha de inicio: configure la fecha de inicio del curso en Moodle")`, `error: sin fecha de inicio: configure la fecha de inicio del curso en Moodle`},
		impl: requireImpl, types: []any{new(func(any, string) any)}},
	{Doc: Doc{"fail", "fail(mensaje)",
		"Falla siempre con el mensaje: para excluir a un alumno con un motivo claro, por ejemplo en la rama final de una condición.",
		`isRut("") ? "ok" : fail("sin RUT: registre el RUT en el perfil del alumno")`, `error: sin RUT: registre el RUT en el perfil del alumno`},
		impl: failImpl, types: []any{new(func(string) any)}},
	{Doc: Doc{"matches", "texto matches patrón → bool",
		"Operador de expr (no una función: matches(texto, patrón) no compila): indica si el texto contiene una coincidencia de la expresión regular (sintaxis RE2 de Go). Use ^ y $ para exigir el texto completo.",
		`"CAP-21-01-13-0000-1" matches "^CAP-\\d{2}-"`, `true`},
		impl: nil},
	{Doc: Doc{"extract", "extract(texto, patrón) → string",
		"Saca un código del texto con una expresión regular (sintaxis RE2 de Go), en su primera coincidencia: si el patrón tiene un grupo llamado code, (?P<code>…), da lo que ese grupo capturó, y el resto del patrón solo dice dónde está el código (qué va antes y después); si no lo tiene pero tiene grupos ( ), da lo del primer grupo (así leen los mapeos escritos antes; engine validate lo advierte: use (?:…) para agrupar sin capturar); si no tiene grupos, la coincidencia completa. Da \"\" si no hay coincidencia. Sirve para sacar el código SENCE del nombre de una sección o categoría: extract(\"Módulo 2: C51737-O14-M2\", \"C[0-9]+-O[0-9]+-M[0-9]+\") da \"C51737-O14-M2\", y con \"C[0-9]+(-O[0-9]+)-M[0-9]+\" daría solo \"-O14\".",
		`extract("1. ELE028837032039 - Módulo 1", "(?:^|[^A-Za-z0-9])(?P<code>[A-Z]{2,4}[0-9]{6,})(?:$|[^A-Za-z0-9])")`, `"ELE028837032039"`},
		impl: extractImpl, types: []any{new(func(string, string) string)}},
	{Doc: Doc{"toInt", "toInt(x) → int",
		"Convierte a entero un número o un texto con un número (también con decimales, que se descartan: \"10.00000\" da 10). Error si no es un número.",
		`toInt("10.00000")`, `10`},
		impl: toIntImpl, types: []any{new(func(any) int)}},
	{Doc: Doc{"toFloat", "toFloat(x) → float",
		"Convierte a número decimal un número o un texto con un número (punto decimal). Error si no es un número.",
		`toFloat(" 72.5 ")`, `72.5`},
		impl: toFloatImpl, types: []any{new(func(any) float64)}},
}
