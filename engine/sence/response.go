package sence

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/rut"
)

// SendResponse is a parsed answer of enviarAvance, whatever its shape:
// accepted (id_proceso, envio, errores, respuesta_SIC), rejected
// (datosEnviados, datosError) or an authentication failure (code 001, or
// {"error":[{"mensaje":"Token invalido"}]}).
type SendResponse struct {
	// IDProceso is SENCE's process id, "" when SENCE gave none.
	IDProceso    string
	RespuestaSIC string
	// Stored are the students SENCE lists as received (envio or
	// datosEnviados).
	Stored []EchoedStudent
	// Errors are the entries of datosError, errores and error, in order.
	Errors []ErrorEntry
	// Raw is the body as received.
	Raw []byte
}

// EchoedStudent is a student as SENCE sends it back: only what the engine
// needs, read leniently (numbers as strings, dates with a time).
type EchoedStudent struct {
	// RUT is "12345678-5", "" when SENCE's echo has no usable RUT.
	RUT              string
	PorcentajeAvance *float64
	// Dates are "YYYY-MM-DD" even when SENCE adds " 00:00:00".
	FechaInicio    string
	FechaFin       string
	FechaEjecucion string
	Modulos        []EchoedModule
}

// EchoedModule is a module of an EchoedStudent.
type EchoedModule struct {
	CodigoModulo     string
	PorcentajeAvance *float64
	FechaInicio      string
	FechaFin         string
}

// ErrorEntry is one error SENCE reported.
type ErrorEntry struct {
	// RUT is the student's "12345678-5", "" when the entry names none.
	RUT string
	// Code is the code as SENCE wrote it ("" for the {"error":…} shape).
	Code    string
	Message string
	// Info is the catalogue entry matched by text and code (see Match).
	Info CodeInfo
	// Known is false when neither code nor text is in the catalogue.
	Known bool
	// Student is the student as SENCE echoed it, nil when absent.
	Student *EchoedStudent
}

// Scope of the entry: from the catalogue, or for unknown codes the student
// when one is named and the whole send otherwise.
func (e ErrorEntry) Scope() Scope {
	if !e.Known && e.RUT != "" {
		return ScopeStudent
	}
	if !e.Known {
		return ScopeSend
	}
	return e.Info.Scope
}

// Explain is the Spanish explanation of the entry for a coordinator.
func (e ErrorEntry) Explain() string { return Explain(e.Code, e.Message) }

// ParseSendResponse reads any documented shape of an enviarAvance answer.
// A body that is not one of them is an *Error of class ErrMalformed that
// keeps the body. An authentication failure is not an error here: it is an
// entry of scope ScopeSend (see (*SendResponse).AuthFailed).
func ParseSendResponse(body []byte) (*SendResponse, error) {
	malformed := func(why string) error {
		return &Error{Kind: ErrMalformed, Op: opSend, Body: body,
			What: "SENCE respondió algo que no se puede interpretar (" + why + ")",
			Hint: "no se sabe qué alumnos quedaron guardados: revise el historial de envíos antes de reenviar"}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return nil, malformed("no es un objeto JSON")
	}
	r := &SendResponse{Raw: body}
	known := false
	if v, ok := top["id_proceso"]; ok {
		s, ok := scalar(v)
		if !ok {
			return nil, malformed("id_proceso no es un valor simple")
		}
		r.IDProceso, known = s, true
	}
	if v, ok := top["respuesta_SIC"]; ok {
		s, ok := scalar(v)
		if !ok {
			return nil, malformed("respuesta_SIC no es un valor simple")
		}
		r.RespuestaSIC, known = strings.TrimSpace(s), true
	}
	for _, key := range []string{"envio", "datosEnviados"} {
		v, ok := top[key]
		if !ok {
			continue
		}
		known = true
		students, err := echoedStudents(v)
		if err != nil {
			return nil, malformed(key + ": " + err.Error())
		}
		r.Stored = append(r.Stored, students...)
	}
	for _, key := range []string{"datosError", "errores"} {
		v, ok := top[key]
		if !ok {
			continue
		}
		known = true
		entries, err := errorEntries(v)
		if err != nil {
			return nil, malformed(key + ": " + err.Error())
		}
		r.Errors = append(r.Errors, entries...)
	}
	if v, ok := top["error"]; ok {
		known = true
		entries, err := serviceErrors(v)
		if err != nil {
			return nil, malformed("error: " + err.Error())
		}
		r.Errors = append(r.Errors, entries...)
	}
	if !known {
		return nil, malformed("no tiene id_proceso, envio, datosError ni error")
	}
	return r, nil
}

// AuthFailed reports whether SENCE rejected the credentials (code 001).
func (r *SendResponse) AuthFailed() bool {
	for _, e := range r.Errors {
		if e.Known && e.Info.Code == "001" {
			return true
		}
	}
	return false
}

// scalar returns a JSON scalar as text: a string as it is, a number as
// written, a boolean, null as "". ok is false for objects and arrays.
func scalar(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", true
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false
		}
		return s, true
	case '{', '[':
		return "", false
	case 'n':
		return "", string(raw) == "null"
	}
	return string(raw), json.Valid(raw)
}

// number reads a JSON number or a numeric string.
func number(raw json.RawMessage) (*float64, bool) {
	s, ok := scalar(raw)
	if !ok {
		return nil, false
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, true
	}
	v, err := strconv.ParseFloat(strings.Replace(s, ",", ".", 1), 64)
	if err != nil {
		return nil, false
	}
	return &v, true
}

// DatePart returns the "YYYY-MM-DD" of the dates SENCE writes back as
// "YYYY-MM-DD HH:MM:SS"; other text is returned unchanged.
func DatePart(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 10 && IsDate(s[:10]) && (s[10] == ' ' || s[10] == 'T') {
		return s[:10]
	}
	return s
}

// IsDate reports whether s is a date written the only way SENCE accepts
// it: "yyyy-mm-dd", a real calendar day.
func IsDate(s string) bool {
	return chile.IsDate(s)
}

// objects decodes a JSON array of objects; null is an empty list.
func objects(raw json.RawMessage) ([]map[string]json.RawMessage, error) {
	if s := bytes.TrimSpace(raw); len(s) == 0 || string(s) == "null" {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("no es una lista")
	}
	out := make([]map[string]json.RawMessage, 0, len(items))
	for i, it := range items {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(it, &m); err != nil || m == nil {
			return nil, fmt.Errorf("el elemento %d no es un objeto", i+1)
		}
		out = append(out, m)
	}
	return out, nil
}

// echoedStudents reads a list of students; a course object carrying its
// own listaAlumnos is flattened, in case SENCE echoes the whole body.
func echoedStudents(raw json.RawMessage) ([]EchoedStudent, error) {
	items, err := objects(raw)
	if err != nil {
		return nil, err
	}
	var out []EchoedStudent
	for i, m := range items {
		if inner, ok := m["listaAlumnos"]; ok {
			students, err := echoedStudents(inner)
			if err != nil {
				return nil, fmt.Errorf("elemento %d: listaAlumnos: %w", i+1, err)
			}
			out = append(out, students...)
			continue
		}
		s, err := echoedStudent(m)
		if err != nil {
			return nil, fmt.Errorf("alumno %d: %w", i+1, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func echoedStudent(m map[string]json.RawMessage) (EchoedStudent, error) {
	var s EchoedStudent
	num, _ := scalar(m["rutAlumno"])
	dv, _ := scalar(m["dvAlumno"])
	s.RUT = studentKey(num, dv)
	var ok bool
	if s.PorcentajeAvance, ok = number(m["porcentajeAvance"]); !ok {
		s.PorcentajeAvance = nil
	}
	s.FechaInicio = dateField(m["fechaInicio"])
	s.FechaFin = dateField(m["fechaFin"])
	s.FechaEjecucion = dateField(m["fechaEjecucion"])
	mods, err := objects(m["listaModulos"])
	if err != nil {
		return s, fmt.Errorf("listaModulos: %w", err)
	}
	for _, mm := range mods {
		code, _ := scalar(mm["codigoModulo"])
		p, ok := number(mm["porcentajeAvance"])
		if !ok {
			p = nil
		}
		s.Modulos = append(s.Modulos, EchoedModule{CodigoModulo: code, PorcentajeAvance: p,
			FechaInicio: dateField(mm["fechaInicio"]), FechaFin: dateField(mm["fechaFin"])})
	}
	return s, nil
}

func dateField(raw json.RawMessage) string {
	s, _ := scalar(raw)
	return DatePart(s)
}

// studentKey is the "12345678-5" key of a student from SENCE's echo, which
// may carry the number as a string and, at times, the digit inside it. The
// check digit is not verified: SENCE names students with wrong digits too
// (its own example, 11111111-5), and the key must still find them.
func studentKey(num, dv string) string {
	clean := strings.NewReplacer(".", "", " ", "")
	num, dv = clean.Replace(strings.TrimSpace(num)), strings.ToUpper(clean.Replace(strings.TrimSpace(dv)))
	if i := strings.IndexByte(num, '-'); i >= 0 {
		num, dv = num[:i], strings.ToUpper(num[i+1:])
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || len(dv) != 1 || !strings.Contains("0123456789K", dv) {
		return ""
	}
	return rut.RUT{Number: n, DV: dv}.String()
}

// rutInMessage finds the "11111111-5" SENCE writes into 010-012 messages.
var rutInMessage = regexp.MustCompile(`\b(\d{1,2}\.?\d{3}\.?\d{3}-[\dkK])\b`)

func errorEntries(raw json.RawMessage) ([]ErrorEntry, error) {
	items, err := objects(raw)
	if err != nil {
		return nil, err
	}
	out := make([]ErrorEntry, 0, len(items))
	for i, m := range items {
		var e ErrorEntry
		var ok bool
		if e.Code, ok = scalar(m["codigo"]); !ok {
			return nil, fmt.Errorf("error %d: codigo no es un valor simple", i+1)
		}
		e.Code = strings.TrimSpace(e.Code)
		if e.Message, ok = scalar(m["mensaje"]); !ok {
			return nil, fmt.Errorf("error %d: mensaje no es un valor simple", i+1)
		}
		e.Message = strings.TrimSpace(e.Message)
		if a := bytes.TrimSpace(m["alumno"]); len(a) > 0 && string(a) != "null" {
			var am map[string]json.RawMessage
			if err := json.Unmarshal(a, &am); err != nil || am == nil {
				return nil, fmt.Errorf("error %d: alumno no es un objeto", i+1)
			}
			s, err := echoedStudent(am)
			if err != nil {
				return nil, fmt.Errorf("error %d: alumno: %w", i+1, err)
			}
			e.Student, e.RUT = &s, s.RUT
		}
		if e.RUT == "" {
			if mm := rutInMessage.FindStringSubmatch(e.Message); mm != nil {
				e.RUT = studentKey(mm[1], "")
			}
		}
		e.Info, e.Known = Match(e.Code, e.Message)
		out = append(out, e)
	}
	return out, nil
}

// serviceErrors reads {"error":[{"mensaje":"Token invalido"}]} (also a
// single object or a bare string). A message about the token is code 001;
// any other is code 002, whose text is by definition a free description.
func serviceErrors(raw json.RawMessage) ([]ErrorEntry, error) {
	var msgs []string
	if s, ok := scalar(raw); ok {
		msgs = append(msgs, s)
	} else if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '{' {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(t, &m); err != nil {
			return nil, fmt.Errorf("no es un objeto")
		}
		s, _ := scalar(m["mensaje"])
		msgs = append(msgs, s)
	} else {
		items, err := objects(raw)
		if err != nil {
			return nil, err
		}
		for _, m := range items {
			s, ok := scalar(m["mensaje"])
			if !ok {
				return nil, fmt.Errorf("mensaje no es un valor simple")
			}
			msgs = append(msgs, s)
		}
	}
	out := make([]ErrorEntry, 0, len(msgs))
	for _, msg := range msgs {
		e := ErrorEntry{Message: strings.TrimSpace(msg), Known: true}
		e.Info, _ = Lookup("002")
		if isTokenMessage(msg) {
			e.Info, _ = Lookup("001")
		}
		out = append(out, e)
	}
	return out, nil
}

// isTokenMessage recognises "Token invalido" / "Token inválido" and the
// like in the {"error":…} shape.
func isTokenMessage(msg string) bool {
	return strings.Contains(normalize(msg), "token")
}
