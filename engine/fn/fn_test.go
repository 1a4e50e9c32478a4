package fn

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/otec-tools/sence-engine/engine/chile"
)

// eval compiles src with the functions (America/Santiago) and runs it.
func eval(t testing.TB, src string, env map[string]any) (any, error) {
	t.Helper()
	opts := Options(nil)
	if env != nil {
		// Variables untyped at compile time, as database rows are: the
		// functions then see whatever the driver gives.
		opts = append(opts, expr.AllowUndefinedVariables())
	}
	p, err := expr.Compile(src, opts...)
	if err != nil {
		t.Fatalf("compile %s: %v", src, err)
	}
	return expr.Run(p, env)
}

// format writes a value as an expr literal, as Doc.Result does.
func format(v any, err error) string {
	if err != nil {
		var fe *Error
		if errors.As(err, &fe) {
			return "error: " + fe.Msg
		}
		return "error (not *fn.Error): " + err.Error()
	}
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case float64:
		s := strconv.FormatFloat(x, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	case RUT:
		return fmt.Sprintf("{number: %d, dv: %q, text: %q}", x.Number, x.DV, x.Text)
	case nil:
		return "nil"
	}
	return fmt.Sprint(v)
}

// TestDocs runs the example of every documented function and compares it
// with the documented result: the README is generated from Docs.
func TestDocs(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range Docs() {
		if seen[d.Name] {
			t.Errorf("%s documented twice", d.Name)
		}
		seen[d.Name] = true
		if d.Signature == "" || d.Description == "" || d.Example == "" || d.Result == "" {
			t.Errorf("%s: incomplete doc %+v", d.Name, d)
		}
		if !strings.Contains(d.Example, d.Name) {
			t.Errorf("%s: example %q does not use it", d.Name, d.Example)
		}
		out, err := eval(t, d.Example, nil)
		if got := format(out, err); got != d.Result {
			t.Errorf("%s: %s\n got  %s\n want %s", d.Name, d.Example, got, d.Result)
		}
	}
	// Every registered function is documented.
	for _, d := range defs {
		if d.impl != nil && len(d.types) == 0 {
			t.Errorf("%s has no typed signature", d.Name)
		}
	}
}

// ExampleDocs prints each documented example with what it evaluates to.
func ExampleDocs() {
	for _, d := range Docs() {
		p, err := expr.Compile(d.Example, Options(nil)...)
		if err != nil {
			fmt.Println(d.Name, "does not compile:", err)
			continue
		}
		out, err := expr.Run(p, nil)
		fmt.Printf("%s → %s\n", d.Example, format(out, err))
	}
	// Output:
	// rut("17.118.181-k") → {number: 17118181, dv: "K", text: "17118181-K"}
	// isRut("12345678-9") → false
	// date(1788229800) → "2026-08-31"
	// epoch("2026-09-06") → 1788667200
	// earliest("2026-07-15", "", "2026-06-30") → "2026-06-30"
	// latest("2026-03-02", "2026-04-10") → "2026-04-10"
	// daysBetween("2026-04-01", "2026-04-10") → 9
	// pct(7, 9) → 77
	// clamp(104.5, 0, 100) → 100.0
	// roundTo(2.675, 2) → 2.68
	// nota(75) → 5.125
	// notaPct(4.0) → 60.0
	// notaFromGrade(4.6, 1, 7) → 4.6
	// logroFromGrade(4.0, 1, 7, 60) → 60.0
	// truncate("  Actividad Formativa 2 - Ejercicio Constitución de la Sociedad", 50) → "Actividad Formativa 2 - Ejercicio Constitución de "
	// require(nil, "sin fecha de inicio: configure la fecha de inicio del curso en Moodle") → error: sin fecha de inicio: configure la fecha de inicio del curso en Moodle
	// isRut("") ? "ok" : fail("sin RUT: registre el RUT en el perfil del alumno") → error: sin RUT: registre el RUT en el perfil del alumno
	// "CAP-21-01-13-0000-1" matches "^CAP-\\d{2}-" → true
	// extract("1. ELE028837032039 - Módulo 1", "(?:^|[^A-Za-z0-9])(?P<code>[A-Z]{2,4}[0-9]{6,})(?:$|[^A-Za-z0-9])") → "ELE028837032039"
	// toInt("10.00000") → 10
	// toFloat(" 72.5 ") → 72.5
}

// ExampleOptions shows a mapping field evaluated against a row.
func ExampleOptions() {
	santiago, _ := time.LoadLocation("America/Santiago")
	env := map[string]any{"row": map[string]any{"idnumber": "17.118.181-k", "timestart": int64(1772420400), "timeend": nil}, "courseEnd": int64(1782792000)}
	for _, src := range []string{
		`rut(row.idnumber).text`,
		`date(row.timestart)`,
		`date(require(row.timeend ?? courseEnd, "sin fecha de término"))`,
	} {
		p, err := expr.Compile(src, append(Options(santiago), expr.Env(env))...)
		if err != nil {
			fmt.Println(err)
			continue
		}
		out, err := expr.Run(p, env)
		fmt.Println(src, "→", format(out, err))
	}
	// Output:
	// rut(row.idnumber).text → "17118181-K"
	// date(row.timestart) → "2026-03-02"
	// date(require(row.timeend ?? courseEnd, "sin fecha de término")) → "2026-06-30"
}

type call struct {
	src  string
	want string // format() of the result
}

func runCalls(t *testing.T, calls []call) {
	t.Helper()
	for _, c := range calls {
		out, err := eval(t, c.src, nil)
		if got := format(out, err); got != c.want {
			t.Errorf("%s\n got  %s\n want %s", c.src, got, c.want)
		}
	}
}

func TestRut(t *testing.T) {
	runCalls(t, []call{
		{`rut("12.345.678-5")`, `{number: 12345678, dv: "5", text: "12345678-5"}`},
		{`rut("12345678-5").number`, `12345678`},
		{`rut("123456785").text`, `"12345678-5"`},
		{`rut("17118181-k").dv`, `"K"`},
		{`rut("17118181K").text`, `"17118181-K"`},
		{`rut(" 9.445.435-2 ").text`, `"9445435-2"`},
		{`rut("11222333-4")`, `error: RUT «11222333-4» inválido: el dígito verificador no corresponde (para 11222333 debería ser 9)`},
		{`rut("")`, `error: RUT vacío`},
		{`rut(" ")`, `error: RUT vacío`},
		{`rut("abc")`, `error: RUT «abc» inválido: el dígito verificador debe ser un número o K`},
		{`rut("ab-1")`, `error: RUT «ab-1» inválido: el número contiene caracteres que no son dígitos`},
		{`isRut("10.312.870-6")`, `true`},
		{`isRut("10312870-7")`, `false`},
		{`isRut("")`, `false`},
	})
	// Values typed any at compile time reach the function as they are.
	for _, c := range []struct {
		v    any
		want string
	}{
		{nil, `error: RUT vacío`},
		{[]byte("17118181-k"), `"17118181-K"`},
		{int64(123456785), `"12345678-5"`},
		{3.5, `error: RUT «3.5» inválido: se esperaba un texto`},
	} {
		out, err := eval(t, `rut(x).text`, map[string]any{"x": c.v})
		if got := format(out, err); got != c.want {
			t.Errorf("rut(%#v): got %s, want %s", c.v, got, c.want)
		}
	}
}

func TestDate(t *testing.T) {
	utc := func(y int, m time.Month, d, h, mi, s int) string {
		return strconv.FormatInt(time.Date(y, m, d, h, mi, s, 0, time.UTC).Unix(), 10)
	}
	runCalls(t, []call{
		{`date(` + utc(2026, 9, 1, 2, 30, 0) + `)`, `"2026-08-31"`},
		{`date(` + utc(2026, 9, 1, 4, 0, 0) + `)`, `"2026-09-01"`},
		// April 2026: at 03:00 UTC on the 5th clocks go back from 00:00 to
		// 23:00 of the 4th, which lasts 25 hours.
		{`date(` + utc(2026, 4, 5, 2, 59, 59) + `)`, `"2026-04-04"`},
		{`date(` + utc(2026, 4, 5, 3, 0, 0) + `)`, `"2026-04-04"`},
		{`date(` + utc(2026, 4, 5, 3, 59, 59) + `)`, `"2026-04-04"`},
		{`date(` + utc(2026, 4, 5, 4, 0, 0) + `)`, `"2026-04-05"`},
		// September 2026: at 04:00 UTC on the 6th clocks jump from 00:00
		// to 01:00; the 6th starts at 01:00 and lasts 23 hours.
		{`date(` + utc(2026, 9, 6, 3, 59, 59) + `)`, `"2026-09-05"`},
		{`date(` + utc(2026, 9, 6, 4, 0, 0) + `)`, `"2026-09-06"`},
		{`date(` + utc(2026, 9, 7, 2, 59, 59) + `)`, `"2026-09-06"`},
		{`date(` + utc(2026, 9, 7, 3, 0, 0) + `)`, `"2026-09-07"`},
		{`date(1788229800.9)`, `"2026-08-31"`},
		{`date("1788229800")`, `"2026-08-31"`},
		{`date(" 1788229800 ")`, `"2026-08-31"`},
		{`date(0)`, `error: fecha vacía`},
		{`date("")`, `error: fecha vacía`},
		{`date(-5)`, `error: fecha vacía o inválida: «-5» es negativo`},
		{`date(1788229800000)`, `error: fecha fuera de rango: «1788229800000» segundos es posterior al año 9999 (¿está en milisegundos?)`},
		{`date("2026-08-31")`, `error: «2026-08-31» no es una fecha de Moodle (segundos desde 1970)`},
		{`epoch("2026-04-05")`, utc(2026, 4, 5, 4, 0, 0)},
		{`epoch("2026-04-04")`, utc(2026, 4, 4, 3, 0, 0)},
		{`epoch("2026-09-06")`, utc(2026, 9, 6, 4, 0, 0)},
		{`epoch("2026-09-07")`, utc(2026, 9, 7, 3, 0, 0)},
		{`epoch("2026-02-30")`, `error: «2026-02-30» no es una fecha válida (AAAA-MM-DD)`},
		{`epoch("")`, `error: fecha vacía`},
		{`date(epoch("2026-09-06"))`, `"2026-09-06"`},
		{`earliest("2026-07-15", "2026-06-30")`, `"2026-06-30"`},
		{`earliest("2026-07-15")`, `"2026-07-15"`},
		{`earliest("", "")`, `""`},
		{`latest("2026-07-15", "2026-06-30", "2027-01-01")`, `"2027-01-01"`},
		{`latest("2026-07-15", "15-07-2026")`, `error: «15-07-2026» no es una fecha válida (AAAA-MM-DD)`},
		{`daysBetween("2026-04-04", "2026-04-05")`, `1`},
		{`daysBetween("2026-09-05", "2026-09-07")`, `2`},
		{`daysBetween("2026-04-10", "2026-04-01")`, `-9`},
		{`daysBetween("2024-02-28", "2024-03-01")`, `2`},
		{`daysBetween("", "2024-03-01")`, `error: fecha vacía`},
	})
	for _, c := range []struct {
		v    any
		want string
	}{
		{nil, `error: fecha vacía`},
		{int64(1788229800), `"2026-08-31"`},
		{int32(1788229800), `"2026-08-31"`},
		{uint64(1788229800), `"2026-08-31"`},
		{[]byte("1788229800"), `"2026-08-31"`},
		{time.Date(2026, 9, 1, 2, 30, 0, 0, time.UTC), `"2026-08-31"`},
		{time.Time{}, `error: fecha vacía`},
		{(*int64)(nil), `error: fecha vacía`},
		{true, `error: «true» no es una fecha de Moodle (segundos desde 1970)`},
	} {
		out, err := eval(t, `date(x)`, map[string]any{"x": c.v})
		if got := format(out, err); got != c.want {
			t.Errorf("date(%#v): got %s, want %s", c.v, got, c.want)
		}
	}
	out, err := eval(t, `earliest(a, b, c)`, map[string]any{"a": nil, "b": "2026-05-01", "c": []byte("2026-04-30")})
	if got := format(out, err); got != `"2026-04-30"` {
		t.Errorf("earliest with nil and []byte: %s", got)
	}
}

// TestEpochDateRoundTrip covers every day of two years in Chile (both DST
// changes each year): epoch gives the first second of the day.
func TestEpochDateRoundTrip(t *testing.T) {
	loc, err := time.LoadLocation(chile.Zone)
	if err != nil {
		t.Fatal(err)
	}
	for day := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC); day.Year() < 2027; day = day.AddDate(0, 0, 1) {
		start := startOfDay(day, loc)
		want := day.Format(time.DateOnly)
		if got := time.Unix(start, 0).In(loc).Format(time.DateOnly); got != want {
			t.Fatalf("%s starts at %d, which is %s", want, start, got)
		}
		if prev := time.Unix(start-1, 0).In(loc).Format(time.DateOnly); prev == want {
			t.Fatalf("%s: the second before %d is the same day", want, start)
		}
	}
	// Elsewhere too: the location given to Options is used.
	out, err := expr.Run(mustCompile(t, `date(1788229800)`, Options(time.UTC)), nil)
	if err != nil || out != "2026-09-01" {
		t.Errorf("UTC: got %v, %v", out, err)
	}
}

func mustCompile(t testing.TB, src string, opts []expr.Option) *vm.Program {
	t.Helper()
	p, err := expr.Compile(src, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNumbers(t *testing.T) {
	runCalls(t, []call{
		{`pct(0, 0)`, `0`},
		{`pct(5, 0)`, `0`},
		{`pct(7, 9)`, `77`},
		{`pct(9, 9)`, `100`},
		{`pct(10, 9)`, `100`},
		{`pct(-1, 9)`, `0`},
		{`pct(99.6, 100)`, `99`},
		{`pct(0.29, 1)`, `29`},
		{`pct(1, 3)`, `33`},
		{`pct(2, 3)`, `66`},
		{`pct(1, -3)`, `error: el total (-3) no puede ser negativo`},
		{`clamp(5, 0, 10)`, `5`},
		{`clamp(-5, 0, 10)`, `0`},
		{`clamp(15, 0, 10)`, `10`},
		{`clamp(5.5, 0, 10)`, `5.5`},
		{`clamp(11, 0, 10.5)`, `10.5`},
		{`clamp(1, 10, 0)`, `error: el mínimo (10) es mayor que el máximo (0)`},
		{`roundTo(2.675, 2)`, `2.68`},
		{`roundTo(1.005, 2)`, `1.01`},
		{`roundTo(0.125, 2)`, `0.13`},
		{`roundTo(-2.5, 0)`, `-3.0`},
		{`roundTo(2.5, 0)`, `3.0`},
		{`roundTo(-0.004, 2)`, `0.0`},
		{`roundTo(72.34567, 3)`, `72.346`},
		{`roundTo(68, 2)`, `68.0`},
		{`roundTo(1e20, 2)`, `100000000000000000000.0`},
		{`roundTo(1.5, 16)`, `error: los decimales deben ser un entero de 0 a 15; se obtuvo «16»`},
		{`nota(0)`, `1.0`},
		{`nota(30)`, `2.5`},
		{`nota(60)`, `4.0`},
		{`nota(75)`, `5.125`},
		{`nota(100)`, `7.0`},
		{`nota(50, 50)`, `4.0`},
		{`nota(70, 70)`, `4.0`},
		{`nota(100.000000000001)`, `7.0`},
		{`nota(101)`, `error: porcentaje de logro fuera de rango (0 a 100): 101; use clamp(x, 0, 100) si la nota puede superar el máximo`},
		{`nota(-1)`, `error: porcentaje de logro fuera de rango (0 a 100): -1; use clamp(x, 0, 100) si la nota puede superar el máximo`},
		{`nota(50, 100)`, `error: la exigencia debe estar entre 0 y 100 (sin incluirlos); se obtuvo 100`},
		{`notaPct(1)`, `0.0`},
		{`notaPct(2.5)`, `30.0`},
		{`notaPct(4)`, `60.0`},
		{`notaPct(7)`, `100.0`},
		{`notaPct(4, 50)`, `50.0`},
		{`notaPct(7.5)`, `error: nota fuera de rango (1,0 a 7,0): 7.5`},
		// A 1–7 gradebook is read as the Chilean grade it is: never
		// through a percentage and back (4.0 would become 3.5, 4.6 would
		// fail by a float hair).
		{`notaFromGrade(4.0, 1, 7)`, `4.0`},
		{`notaFromGrade(4.6, 1, 7) >= 4.0`, `true`},
		{`notaFromGrade(4.0, 1, 7) >= 4.0`, `true`},
		{`notaFromGrade(3.9, 1, 7) >= 4.0`, `false`},
		{`notaFromGrade(3.9, 1, 7, 70)`, `3.9`},
		{`notaFromGrade(4.0, 1.0000001, 6.99999)`, `4.0`},
		{`notaFromGrade(7.5, 1, 7)`, `error: la nota 7.5 está fuera de su escala (1,0 a 7,0)`},
		{`notaFromGrade(nil, 1, 7)`, `nil`},
		{`notaFromGrade(5, 7, 7)`, `nil`},
		// Other scales go through the exigency, as nota(gradePct(…)).
		{`notaFromGrade(60, 0, 100)`, `4.0`},
		{`notaFromGrade(75, 0, 100)`, `5.125`},
		{`notaFromGrade(6, 0, 10, 60)`, `4.0`},
		{`notaFromGrade(138, 0, 230)`, `4.0`},
		{`notaFromGrade(4.6, 1, 10)`, `3.0`},
		{`notaFromGrade(101, 0, 100)`, `error: la nota 101 está fuera de su escala (0 a 100)`},
		{`notaFromGrade(1, 7, 1)`, `nil`},
		{`logroFromGrade(4.0, 1, 7)`, `60.0`},
		{`logroFromGrade(7, 1, 7)`, `100.0`},
		{`logroFromGrade(1, 1, 7)`, `0.0`},
		{`logroFromGrade(4.6, 1, 7, 60)`, `68.0`},
		{`roundTo(logroFromGrade(3.9, 1, 7), 2)`, `58.0`},
		{`logroFromGrade(4.0, 1, 7, 70)`, `70.0`},
		{`logroFromGrade(55, 0, 100)`, `55.0`},
		{`logroFromGrade(5.5, 0, 10)`, `55.0`},
		{`logroFromGrade(nil, 0, 100)`, `nil`},
		{`logroFromGrade(7.5, 1, 7)`, `error: la nota 7.5 está fuera de su escala (1,0 a 7,0)`},
		{`logroFromGrade(4, 1, 7, 100)`, `error: la exigencia debe estar entre 0 y 100 (sin incluirlos); se obtuvo 100`},
		{`notaFromGrade("x", 1, 7)`, `error: la nota: «x» no es un número`},
		{`toInt("10.00000")`, `10`},
		{`toInt(" 42 ")`, `42`},
		{`toInt(3.9)`, `3`},
		{`toInt(-3.9)`, `-3`},
		{`toInt("1e3")`, `1000`},
		{`toInt("abc")`, `error: el valor: «abc» no es un número`},
		{`toInt("0x10")`, `error: el valor: «0x10» no es un número`},
		{`toInt("NaN")`, `error: el valor: «NaN» no es un número`},
		{`toInt("")`, `error: el valor vacío`},
		{`toInt(nil)`, `error: el valor vacío`},
		{`toInt(true)`, `error: el valor: el valor lógico true no es un número`},
		{`toInt("1e30")`, `error: «1e30» es demasiado grande para un entero`},
		{`toFloat("72.5")`, `72.5`},
		{`toFloat(3)`, `3.0`},
		{`toFloat("7,5")`, `error: el valor: «7,5» no es un número`},
	})
	for _, c := range []struct {
		v    any
		want string
	}{
		{[]byte("12.50"), `12.5`},
		{int64(7), `7.0`},
		{uint8(7), `7.0`},
		{float32(0.5), `0.5`},
		{ptrTo(int64(9)), `9.0`},
		{math.NaN(), `error: el valor: el valor NaN no es un número`},
	} {
		out, err := eval(t, `toFloat(x)`, map[string]any{"x": c.v})
		if got := format(out, err); got != c.want {
			t.Errorf("toFloat(%#v): got %s, want %s", c.v, got, c.want)
		}
	}
	// pct with counts as databases give them (MySQL DECIMAL sums as text).
	out, err := eval(t, `pct(done, total)`, map[string]any{"done": []byte("3"), "total": int64(4)})
	if got := format(out, err); got != "75" {
		t.Errorf("pct of []byte and int64: %s", got)
	}
	out, err = eval(t, `pct(done, total)`, map[string]any{"done": nil, "total": int64(4)})
	if got := format(out, err); got != "error: el número de actividades hechas vacío" {
		t.Errorf("pct(nil, 4): %s", got)
	}
	// Grades as databases return them: DECIMAL(10,5) as text.
	out, err = eval(t, `notaFromGrade(g, lo, hi)`, map[string]any{"g": []byte("4.60000"), "lo": "1.00000", "hi": 7.0})
	if got := format(out, err); got != "4.6" {
		t.Errorf("notaFromGrade of database texts: %s", got)
	}
	// On a 1–7 scale notaFromGrade and logroFromGrade agree with nota: the
	// percentage reported gives back the grade used for the pass rule.
	for g := 1.0; g <= 7; g += 0.1 {
		n, _ := eval(t, fmt.Sprintf(`nota(logroFromGrade(%v, 1, 7, 60), 60) - notaFromGrade(%v, 1, 7, 60)`, g, g), nil)
		if math.Abs(n.(float64)) > 1e-6 {
			t.Errorf("grade %v: nota(logroFromGrade) − notaFromGrade = %v", g, n)
		}
	}
	// nota and notaPct are inverse.
	for p := 0.0; p <= 100; p += 0.5 {
		n, _ := eval(t, fmt.Sprintf(`notaPct(nota(%v, 55), 55)`, p), nil)
		if math.Abs(n.(float64)-p) > 1e-9 {
			t.Errorf("notaPct(nota(%v)) = %v", p, n)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestText(t *testing.T) {
	runCalls(t, []call{
		{`truncate("  Foro Módulo 1  ", 50)`, `"Foro Módulo 1"`},
		{`truncate("Constitución", 11)`, `"Constitució"`},
		{`truncate("ñandú", 0)`, `""`},
		{`truncate("abc", -1)`, `error: el largo máximo debe ser un entero mayor o igual a 0; se obtuvo «-1»`},
		{`len(truncate("ÁÉÍÓÚáéíóúñÑüÜ¿¡ÁÉÍÓÚáéíóúñÑüÜ¿¡ÁÉÍÓÚáéíóúñÑüÜ¿¡ÁÉÍÓÚáéíóúñÑüÜ¿¡", 50))`, `50`},
		{`require("x", "m")`, `"x"`},
		{`require(0, "m")`, `0`},
		{`require(false, "m")`, `false`},
		{`require("", "sin RUT")`, `error: sin RUT`},
		{`require(nil, "")`, `error: falta un valor obligatorio`},
		{`fail("el alumno no tiene matrícula activa")`, `error: el alumno no tiene matrícula activa`},
		{`fail("")`, `error: excluido por el mapeo`},
		{`extract("Módulo 2 [ELE028837032040]", "\\[([A-Z0-9-]+)\\]")`, `"ELE028837032040"`},
		{`extract("M1 - Introducción", "^M\\d+")`, `"M1"`},
		{`extract("Introducción", "^M\\d+")`, `""`},
		{`extract("M1", "(")`, "error: expresión regular «(» inválida: falta cerrar un paréntesis en «(»"},
		// The group named code wins over any group before it; without
		// one, the first group (site files written before code existed);
		// without groups, the whole match.
		{`extract("Módulo 2: C51737-O14-M2 Fundamentos", "C[0-9]+-[O0][0-9]+-M[0-9]+")`, `"C51737-O14-M2"`},
		{`extract("Módulo 2: C51737-O14-M2 Fundamentos", "C[0-9]+(-[A-Z0-9]+)*")`, `"-M2"`},
		{`extract("Módulo 2: C51737-O14-M2 Fundamentos", "(^|\\s)(?P<code>C[0-9]+(?:-[A-Z0-9]+)*)(\\s|$)")`, `"C51737-O14-M2"`},
		{`extract("x C1-O1-M1 y", "(?P<other>C[0-9]+)-(?P<code>O[0-9]+)")`, `"O1"`},
		{`extract("PRES028008000558 Introducción", "(?P<code>[A-Z]{2,4}[0-9]{6,})|(Z+)")`, `"PRES028008000558"`},
		{`extract("ZZ", "(?P<code>[A-Z]{2,4}[0-9]{6,})|(Z+)")`, `""`}, // code did not take part
		{`extract("sin código", "(?P<code>[A-Z]{2,4}[0-9]{6,})")`, `""`},
		{`"CAP-21" matches "^CAP-"`, `true`},
	})
	for _, c := range []struct {
		v    any
		want string
	}{
		{nil, `""`},
		{[]byte("  Foro  "), `"For"`},
		{int64(12345), `"123"`},
		{3.5, `error: «3.5» no es un texto`},
	} {
		out, err := eval(t, `truncate(x, 3)`, map[string]any{"x": c.v})
		if got := format(out, err); got != c.want {
			t.Errorf("truncate(%#v): got %s, want %s", c.v, got, c.want)
		}
	}
	out, err := eval(t, `require(x, "sin fecha")`, map[string]any{"x": (*int64)(nil)})
	if got := format(out, err); got != "error: sin fecha" {
		t.Errorf("require(nil pointer): %s", got)
	}
	out, err = eval(t, `extract(x, "\\d+")`, map[string]any{"x": nil})
	if got := format(out, err); got != `""` {
		t.Errorf("extract(nil): %s", got)
	}
}

// TestTypedSignatures: wrong argument counts and types fail when the
// mapping is compiled, not on the first student.
func TestTypedSignatures(t *testing.T) {
	for _, src := range []string{
		`pct(1)`, `pct(1, 2, 3)`, `pct("a", 2)`,
		`rut()`, `rut(1, 2)`, `rut(12345678)`,
		`date()`, `date(1, 2)`, `date(true)`, `date(nil)`,
		`epoch(1)`, `earliest()`, `earliest(1)`, `daysBetween("2026-01-01")`,
		`clamp(1, 2)`, `clamp("a", 1, 2)`, `roundTo(1.5)`, `roundTo(1.5, 1.5)`,
		`nota()`, `nota(1, 2, 3)`, `nota("a")`, `notaPct()`,
		`notaFromGrade(1, 2)`, `notaFromGrade(1, 2, 3, 4, 5)`, `logroFromGrade()`,
		`truncate("a")`, `truncate(5, 1)`, `truncate("a", "b")`,
		`require(1)`, `require(1, 2)`, `fail()`, `fail(1)`,
		`extract("a")`, `extract("a", 1)`, `toInt()`, `toFloat(1, 2)`,
		`isRut()`, `rut("1-9").nombre`, `date(1) + 1`, `pct(1, 2) + "a"`,
	} {
		if _, err := expr.Compile(src, Options(nil)...); err == nil {
			t.Errorf("%s compiled", src)
		}
	}
	// matches is expr's operator: the call form cannot be parsed.
	if _, err := expr.Compile(`matches("a", "b")`, Options(nil)...); err == nil {
		t.Error("matches(…) compiled: update the Docs entry of matches")
	}
	// Result types flow into the rest of the expression.
	runCalls(t, []call{
		{`rut("12345678-5").number + 1`, `12345679`},
		{`pct(1, 2) >= 50`, `true`},
		{`date(1788229800) < "2026-09-01"`, `true`},
		{`nota(75) >= 4.0`, `true`},
		{`upper(truncate("abc", 2))`, `"AB"`},
	})
}

func TestErrorsAreFnErrors(t *testing.T) {
	_, err := eval(t, `rut("1-1")`, nil)
	var fe *Error
	if !errors.As(err, &fe) || fe.Func != "rut" || fe.Err == nil {
		t.Fatalf("got %#v", err)
	}
}

func TestPatternCacheConcurrent(t *testing.T) {
	p, err := expr.Compile(`extract(s, pattern)`, append(Options(nil), expr.Env(map[string]any{"s": "", "pattern": ""}))...)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 400 {
				pat := fmt.Sprintf(`M(%d)`, (g*400+i)%300) // more than maxPatterns
				out, err := expr.Run(p, map[string]any{"s": fmt.Sprintf("M%d", (g*400+i)%300), "pattern": pat})
				if err != nil || out != strconv.Itoa((g*400+i)%300) {
					t.Errorf("%s: %v %v", pat, out, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := patternCount.Load(); n > maxPatterns {
		t.Errorf("cache grew to %d", n)
	}
}

func TestPanicsBecomeErrors(t *testing.T) {
	f := guard("x", func(...any) (any, error) { panic("boom") })
	if _, err := f(); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("got %v", err)
	}
	// Functions called directly with too few arguments do not panic.
	for _, d := range defs {
		if d.impl == nil {
			continue
		}
		if _, err := d.impl(time.UTC)(); err == nil && d.Name != "earliest" && d.Name != "latest" {
			t.Errorf("%s() without arguments: no error", d.Name)
		}
	}
}

func FuzzRut(f *testing.F) {
	for _, s := range []string{"12.345.678-5", "17118181-k", "17118181K", " 9 445 435-2", "", "-", "1-2-3", "١٢٣", "0-0", "99999999999-9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := rutImpl(nil)(s)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || fe.Msg == "" {
				t.Fatalf("%q: error %v is not a worded *Error", s, err)
			}
			return
		}
		r := out.(RUT)
		again, err := rutImpl(nil)(r.Text)
		if err != nil || again.(RUT) != r {
			t.Fatalf("%q → %+v does not read back: %v", s, r, err)
		}
		if r.Number <= 0 || (r.DV != "K" && (r.DV < "0" || r.DV > "9")) {
			t.Fatalf("%q → %+v", s, r)
		}
	})
}

func FuzzDate(f *testing.F) {
	for _, s := range []string{"1788229800", " 1788229800 ", "0", "-1", "1e3", "1788229800.5", "", "abc", "253402300800", "9223372036854775807", "1e308"} {
		f.Add(s)
	}
	loc, err := time.LoadLocation(chile.Zone)
	if err != nil {
		f.Fatal(err)
	}
	date, epoch := dateImpl(loc), epochImpl(loc)
	f.Fuzz(func(t *testing.T, s string) {
		out, err := date(s)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || fe.Msg == "" {
				t.Fatalf("%q: error %v is not a worded *Error", s, err)
			}
		} else if d, ok := parseDay(out.(string)); !ok {
			t.Fatalf("%q → %q is not a date", s, out)
		} else if e, err := epoch(out); err != nil || time.Unix(int64(e.(int)), 0).In(loc).Format(time.DateOnly) != d.Format(time.DateOnly) {
			t.Fatalf("%q → %q → epoch %v, %v", s, out, e, err)
		}
		if _, err := epoch(s); err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("epoch(%q): %v", s, err)
			}
		}
	})
}
