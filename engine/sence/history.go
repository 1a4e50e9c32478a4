package sence

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/otec-tools/sence-engine/engine/rut"
)

// Process is one send as historialEnvios reports it. SENCE writes every
// value as a string or null (null reads as ""); numbers are tolerated too.
// The JSON tags are SENCE's names, so the simulator answers with this type.
type Process struct {
	IDProceso        string   `json:"id_proceso_externo"`
	IDLMS            string   `json:"id_lms"`
	CodigoExterno    string   `json:"codigo_externo"`
	Fecha            string   `json:"fecha"`
	Horario          string   `json:"horario"`
	Observaciones    string   `json:"observaciones"`
	ObservacionesSIC string   `json:"observaciones_sic"`
	StatusCode       string   `json:"status_code"`
	Estado           string   `json:"estado"`
	RutOtec          string   `json:"rut_otec"`
	Registros        []Record `json:"listaregistros"`
}

// Record is one student-module of a Process.
type Record struct {
	IDRegistro            string `json:"id_registro"`
	RutOtec               string `json:"rut_otec"`
	DvOtec                string `json:"dv_otec"`
	OfertaCod             string `json:"oferta_cod"`
	SeccionCod            string `json:"seccion_cod"`
	RutAlumno             string `json:"rut_alumno"`
	DvAlumno              string `json:"dv_alumno"`
	TiempoConectividad    string `json:"tiempo_conectividad"`
	Estado                string `json:"estado"`
	PorcentajeAvance      string `json:"porcentaje_avance"`
	FechaInicio           string `json:"fecha_inicio"`
	FechaFin              string `json:"fecha_fin"`
	FechaEjecucion        string `json:"fecha_ejecucion"`
	ModCod                string `json:"mod_cod"`
	ModTiempoConectividad string `json:"mod_tiempo_conectividad"`
	ModEstado             string `json:"mod_estado"`
	ModPorcentajeAvance   string `json:"mod_porcentaje_avance"`
	ModFechaInicio        string `json:"mod_fecha_inicio"`
	ModFechaFin           string `json:"mod_fecha_fin"`
	ModObligatorio        string `json:"mod_obligatorio"`
	ModNota               string `json:"mod_nota"`
	ActCod                string `json:"act_cod"`
	ActEstado             string `json:"act_estado"`
	EstadoRegistro        string `json:"estado_registro"`
	ObsRegistro           string `json:"obs_registro"`
	IDProcesoExterno      string `json:"id_proceso_externo"`
}

// Values of Record.EstadoRegistro.
const (
	RecordOK    = "1"
	RecordError = "3"
)

// aliases are other spellings SENCE's examples use for a field.
var aliases = map[string]string{"mod_notas": "mod_nota"}

// UnmarshalJSON reads a process leniently.
func (p *Process) UnmarshalJSON(b []byte) error {
	m, err := lenientFields(b, p)
	if err != nil {
		return err
	}
	p.Registros = nil
	if raw, ok := m["listaregistros"]; ok {
		if t := bytes.TrimSpace(raw); len(t) > 0 && string(t) != "null" {
			if err := json.Unmarshal(raw, &p.Registros); err != nil {
				return fmt.Errorf("listaregistros: %w", err)
			}
		}
	}
	return nil
}

// UnmarshalJSON reads a record leniently.
func (r *Record) UnmarshalJSON(b []byte) error {
	_, err := lenientFields(b, r)
	return err
}

// lenientFields fills the string fields of the struct dst points to from a
// JSON object by their json tags, accepting strings, numbers, booleans and
// null for each. It returns the object for the caller's other fields.
func lenientFields(b []byte, dst any) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return nil, fmt.Errorf("no es un objeto JSON")
	}
	for k, v := range m {
		if to, ok := aliases[k]; ok {
			if _, has := m[to]; !has {
				m[to] = v
			}
		}
	}
	v := reflect.ValueOf(dst).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type.Kind() != reflect.String {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		s, ok := scalar(m[name])
		if !ok {
			return nil, fmt.Errorf("%s no es un valor simple", name)
		}
		v.Field(i).SetString(s)
	}
	return m, nil
}

// StudentRUT is the record's student as "12345678-5" ("" if unusable).
func (r Record) StudentRUT() string { return studentKey(r.RutAlumno, r.DvAlumno) }

// OK reports whether SENCE stored the record.
func (r Record) OK() bool { return strings.TrimSpace(r.EstadoRegistro) == RecordOK }

// Problem returns the code and message of a failed record: the code is the
// "[ddd]" that obs_registro starts with, which is not always the right
// one; classify it with Match, which trusts the text first.
func (r Record) Problem() (code, message string) {
	msg := strings.TrimSpace(r.ObsRegistro)
	if m := recordedCode.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return fmt.Sprintf("%03d", n), strings.TrimSpace(msg[len(m[0]):])
	}
	return "", msg
}

// ModProgress is mod_porcentaje_avance as a number.
func (r Record) ModProgress() (float64, bool) {
	v, err := strconv.ParseFloat(strings.TrimSpace(r.ModPorcentajeAvance), 64)
	return v, err == nil
}

// ID is the process id as a number, 0 when it is not one.
func (p Process) ID() int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(p.IDProceso), 10, 64)
	return n
}

// RutOtecKey is the process's OTEC as "76543210-3" when a record carries
// the check digit (the process itself has only the number).
func (p Process) RutOtecKey() string {
	for _, r := range p.Registros {
		if k := studentKey(r.RutOtec, r.DvOtec); k != "" {
			return k
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(p.RutOtec), 10, 64)
	if err != nil || n <= 0 {
		return ""
	}
	return rut.RUT{Number: n, DV: rut.CheckDigit(n)}.String()
}

// HistoryQuery filters historialEnvios; every field is optional.
type HistoryQuery struct {
	// Since is fechaDesde, "YYYY-MM-DD".
	Since string
	// CodigoExterno is the codigoEnvio of a send.
	CodigoExterno string
	// IDProceso is SENCE's id of a send.
	IDProceso string
}

// ParseHistory reads an answer of historialEnvios: a list of processes, or
// {"error":[{"mensaje":"Token invalido"}]} (ErrAuth) or another error
// object (ErrService). Anything else is ErrMalformed, keeping the body.
func ParseHistory(body []byte) ([]Process, error) {
	malformed := func(why string) error {
		return &Error{Kind: ErrMalformed, Op: opHistory, Body: body,
			What: "el historial de SENCE no se puede interpretar (" + why + ")",
			Hint: "reintente más tarde; si se repite, SENCE cambió el formato de historialEnvios"}
	}
	t := bytes.TrimSpace(body)
	if len(t) == 0 {
		return nil, malformed("respuesta vacía")
	}
	switch t[0] {
	case '[':
		var procs []Process
		if err := json.Unmarshal(t, &procs); err != nil {
			return nil, malformed(err.Error())
		}
		return procs, nil
	case '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(t, &m); err != nil {
			return nil, malformed("no es JSON válido")
		}
		if raw, ok := m["error"]; ok {
			entries, err := serviceErrors(raw)
			if err != nil {
				return nil, malformed("error: " + err.Error())
			}
			return nil, serviceError(opHistory, entries, body)
		}
		if _, ok := m["id_proceso_externo"]; ok { // one process, not a list
			var p Process
			if err := json.Unmarshal(t, &p); err != nil {
				return nil, malformed(err.Error())
			}
			return []Process{p}, nil
		}
		return nil, malformed("objeto sin lista de procesos ni error")
	}
	return nil, malformed("no es una lista JSON")
}

// serviceError turns the entries of an {"error":…} answer into ErrAuth
// (token) or ErrService.
func serviceError(op string, entries []ErrorEntry, body []byte) error {
	msgs := make([]string, 0, len(entries))
	auth := false
	for _, e := range entries {
		msgs = append(msgs, e.Message)
		if e.Info.Code == "001" {
			auth = true
		}
	}
	if auth {
		return authError(op, strings.Join(msgs, "; "), body)
	}
	return &Error{Kind: ErrService, Op: op, Body: body,
		What: "SENCE informó un error: " + strings.Join(msgs, "; "),
		Hint: "no es un problema de los datos enviados: reintente más tarde; si se repite, escriba a adminlearning@sence.cl"}
}

func authError(op, msg string, body []byte) error {
	if msg == "" {
		msg = "Token inválido"
	}
	info, _ := Lookup("001")
	return &Error{Kind: ErrAuth, Op: op, Body: body,
		What: "SENCE rechazó las credenciales («" + msg + "»)",
		Hint: info.Action}
}
