package fn

import (
	"errors"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/rut"
)

// RUT is what rut() gives a mapping: rut(x).number, .dv and .text.
type RUT struct {
	Number int    `expr:"number"` // without check digit
	DV     string `expr:"dv"`     // "0"–"9" or "K", always upper case
	Text   string `expr:"text"`   // "12345678-5", as SENCE writes it
}

func (r RUT) String() string { return r.Text }

func rutImpl(*time.Location) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		if err := arity("rut", params, 1, 1); err != nil {
			return nil, err
		}
		r, err := parseRUT(params[0])
		if err != nil {
			return nil, err
		}
		return RUT{Number: int(r.Number), DV: r.DV, Text: r.String()}, nil
	}
}

func isRutImpl(*time.Location) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		if err := arity("isRut", params, 1, 1); err != nil {
			return nil, err
		}
		_, err := parseRUT(params[0])
		return err == nil, nil
	}
}

func parseRUT(v any) (rut.RUT, error) {
	s, ok := toText(v)
	if !ok {
		return rut.RUT{}, fail("rut", "RUT %s inválido: se esperaba un texto", show(v))
	}
	if strings.TrimSpace(s) == "" {
		return rut.RUT{}, fail("rut", "RUT vacío")
	}
	r, err := rut.Parse(s)
	if err != nil {
		var re *rut.Error
		if errors.As(err, &re) {
			return rut.RUT{}, &Error{Func: "rut", Msg: re.Error(), Err: err}
		}
		return rut.RUT{}, &Error{Func: "rut", Msg: "RUT " + show(s) + " inválido", Err: err}
	}
	return r, nil
}
