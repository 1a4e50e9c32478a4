// Package rut parses and checks Chilean RUTs (Rol Único Tributario): a number
// and a modulo-11 check digit, written in many ways by people and LMSs.
package rut

import (
	"fmt"
	"strconv"
	"strings"
)

// RUT is a parsed RUT. DV is always upper case ("K", never "k").
type RUT struct {
	Number int64
	DV     string
}

// String formats the RUT as SENCE expects: digits, hyphen, check digit.
func (r RUT) String() string { return strconv.FormatInt(r.Number, 10) + "-" + r.DV }

// Error is a RUT that cannot be used; its message is in Spanish because it
// reaches coordinators as an exclusion reason.
type Error struct {
	Input  string
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("RUT «%s» inválido: %s", e.Input, e.Reason) }

// CheckDigit computes the modulo-11 check digit of n.
func CheckDigit(n int64) string {
	sum, mul := int64(0), int64(2)
	for ; n > 0; n /= 10 {
		sum += (n % 10) * mul
		mul++
		if mul > 7 {
			mul = 2
		}
	}
	switch r := 11 - sum%11; r {
	case 11:
		return "0"
	case 10:
		return "K"
	default:
		return strconv.FormatInt(r, 10)
	}
}

// Parse accepts "12.345.678-5", "12345678-5", "123456785", "17118181-k",
// "17118181K" and surrounding or inner spaces, and checks the digit.
func Parse(s string) (RUT, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case '.', ' ', '\t', '\u00a0':
			return -1
		}
		return r
	}, s)
	clean = strings.ToUpper(clean)
	if clean == "" {
		return RUT{}, &Error{Input: s, Reason: "está vacío"}
	}
	var num, dv string
	if i := strings.IndexByte(clean, '-'); i >= 0 {
		num, dv = clean[:i], clean[i+1:]
		if strings.Contains(dv, "-") {
			return RUT{}, &Error{Input: s, Reason: "tiene más de un guion"}
		}
	} else {
		if len(clean) < 2 {
			return RUT{}, &Error{Input: s, Reason: "es demasiado corto"}
		}
		num, dv = clean[:len(clean)-1], clean[len(clean)-1:]
	}
	if len(dv) != 1 || !(dv[0] == 'K' || (dv[0] >= '0' && dv[0] <= '9')) {
		return RUT{}, &Error{Input: s, Reason: "el dígito verificador debe ser un número o K"}
	}
	if num == "" || len(num) > 9 {
		return RUT{}, &Error{Input: s, Reason: "el número debe tener entre 1 y 9 dígitos"}
	}
	for _, c := range num {
		if c < '0' || c > '9' {
			return RUT{}, &Error{Input: s, Reason: "el número contiene caracteres que no son dígitos"}
		}
	}
	n, _ := strconv.ParseInt(num, 10, 64)
	if n == 0 {
		return RUT{}, &Error{Input: s, Reason: "el número es cero"}
	}
	if want := CheckDigit(n); want != dv {
		return RUT{}, &Error{Input: s, Reason: fmt.Sprintf("el dígito verificador no corresponde (para %d debería ser %s)", n, want)}
	}
	return RUT{Number: n, DV: dv}, nil
}

// Valid reports whether number and dv form a valid RUT (dv in any case).
func Valid(number int64, dv string) bool {
	return number > 0 && CheckDigit(number) == strings.ToUpper(dv)
}
