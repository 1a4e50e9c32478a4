package simulator

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/rut"
	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// Answer bodies, with SENCE's field order.
type acceptedBody struct {
	IDProceso    int64  `json:"id_proceso"`
	Envio        []any  `json:"envio"`
	Errores      []any  `json:"errores"`
	RespuestaSIC string `json:"respuesta_SIC"`
}

type rejectedBody struct {
	IDProceso     *int64      `json:"id_proceso,omitempty"`
	DatosEnviados []any       `json:"datosEnviados"`
	DatosError    []errorItem `json:"datosError"`
	RespuestaSIC  string      `json:"respuesta_SIC"`
}

type errorItem struct {
	Alumno  any    `json:"alumno"`
	Codigo  string `json:"codigo"`
	Mensaje string `json:"mensaje"`
}

// problem is an error found in a send; previous is the stored progress of
// a 025.
type problem struct {
	code, message string
	previous      int
}

// catalogued is a problem with SENCE's own text for the code.
func catalogued(code string, args ...string) *problem {
	info, _ := sence.Lookup(code)
	return &problem{code: code, message: info.Format(args...)}
}

// process validates and stores one authenticated send; the caller holds
// the lock. stored is false when nothing was kept (authentication failed).
func (s *Simulator) process(body map[string]any) (answer any, stored bool, err error) {
	rutOtec, _ := body["rutOtec"].(string)
	token, _ := body["token"].(string)
	id, ok := intValue(body["idSistema"])
	otec, ok := s.authenticate(rutOtec, ok && id == payload.IDSistema, token)
	if !ok {
		p := catalogued("001")
		return rejectedBody{DatosEnviados: []any{}, DatosError: []errorItem{{Codigo: p.code, Mensaje: p.message}}}, false, nil
	}
	students, ok := body["listaAlumnos"].([]any)
	if !ok || len(students) == 0 {
		return nil, false, badRequestError("listaAlumnos falta o está vacía: SENCE exige al menos un alumno")
	}
	oferta, _ := body["codigoOferta"].(string)
	grupo, _ := body["codigoGrupo"].(string)

	// Course checks; registration last, so that it is what gets reported
	// (SENCE reports the last error it finds).
	var courseProblem *problem
	if v, ok := body["cantActividadSincronica"]; ok && !nonNegativeInt(v) {
		courseProblem = catalogued("032")
	}
	if v, ok := body["cantActividadAsincronica"]; ok && !nonNegativeInt(v) {
		courseProblem = catalogued("033")
	}
	course, registered := s.course(oferta, grupo)
	if !registered {
		courseProblem = catalogued("003", oferta)
	}

	now := s.opts.Clock().In(chile.Location)
	s.state.LastProcess++
	pid := s.state.LastProcess
	proc := sence.Process{
		IDProceso: strconv.FormatInt(pid, 10), IDLMS: "0", CodigoExterno: text(body["codigoEnvio"]),
		Fecha: now.Format("2006-01-02 15:04:05"), StatusCode: "0", Estado: "2",
		Observaciones: fmt.Sprintf(`El proceso %d ha finalizado correctamente, para ver la cantidad de registros y detalle consulte el servicio \avance-sic\historial-envios?id_proceso=%d `, pid, pid),
		RutOtec:       strconv.FormatInt(otec.Number, 10),
	}
	envio := []any{}
	var errs []errorItem
	for _, raw := range students {
		st := s.checkStudent(raw, oferta, grupo, course, now)
		if courseProblem != nil {
			st.problem = courseProblem
		}
		proc.Registros = append(proc.Registros, s.records(st, otec, oferta, grupo, pid)...)
		if st.problem != nil {
			errs = append(errs, errorItem{Alumno: echo(st.raw, true), Codigo: st.problem.code, Mensaje: st.problem.message})
			continue
		}
		for _, m := range st.modules {
			s.state.Progress[progressKey(oferta, grupo, st.key, m.code)] = m.progress
		}
		envio = append(envio, echo(st.raw, false))
	}
	s.state.Processes = append(s.state.Processes, proc)
	if s.opts.HistoryLag > 0 {
		s.state.Shown[proc.IDProceso] = s.opts.Clock().Add(s.opts.HistoryLag)
	}
	if err := s.state.save(s.opts.StatePath); err != nil {
		return nil, true, err
	}
	s.log.Info("envío recibido", "id_proceso", pid, "codigoOferta", oferta, "codigoGrupo", grupo,
		"accepted", len(envio), "rejected", len(errs))
	if len(errs) == 0 {
		return acceptedBody{IDProceso: pid, Envio: envio, Errores: []any{},
			RespuestaSIC: fmt.Sprintf("El proceso %d ha finalizado correctamente, para ver la cantidad de registros y detalle, diríjase a la pantalla de procesos", pid)}, true, nil
	}
	return rejectedBody{IDProceso: &pid, DatosEnviados: envio, DatosError: errs, RespuestaSIC: ""}, true, nil
}

// course finds a registered course; in open mode every named course is.
func (s *Simulator) course(oferta, grupo string) (*registeredCourse, bool) {
	if s.registry == nil {
		return nil, strings.TrimSpace(oferta) != "" && strings.TrimSpace(grupo) != ""
	}
	c := s.registry.courses[courseKey{oferta, grupo}]
	return c, c != nil
}

// studentCheck is one student of a send after validation.
type studentCheck struct {
	raw            map[string]any // nil when the item is not an object
	key            string         // "12345678-5", "" when the RUT is unusable
	fechaEjecucion string
	modules        []moduleCheck
	problem        *problem // the last one found
}

type moduleCheck struct {
	raw      map[string]any
	code     string
	progress int
}

// checkStudent applies SENCE's field rules, then the registration rules.
// Every problem replaces the previous one: SENCE reports only the last.
// Where SENCE has no code for a rule (estado, the student's dates, empty
// lists) the closest code is used with a message naming the field.
func (s *Simulator) checkStudent(item any, oferta, grupo string, course *registeredCourse, now time.Time) studentCheck {
	raw, _ := item.(map[string]any)
	st := studentCheck{raw: raw}
	fail := func(p *problem) { st.problem = p }
	num, numOK := intValue(raw["rutAlumno"])
	dv, dvOK := raw["dvAlumno"].(string)
	shown := fmt.Sprintf("%s-%s", text(raw["rutAlumno"]), text(raw["dvAlumno"]))
	if numOK && dvOK && rut.Valid(num, dv) {
		st.key = rut.RUT{Number: num, DV: strings.ToUpper(dv)}.String()
		shown = st.key
	}
	if raw == nil {
		fail(&problem{code: "012", message: "El alumno no es un objeto JSON."})
		return st
	}

	if !nonNegativeInt(raw["tiempoConectividad"]) {
		fail(catalogued("021"))
	}
	if !percentInt(raw["porcentajeAvance"]) {
		fail(catalogued("022"))
	}
	if !estadoOK(raw, "estado") {
		fail(&problem{code: "022", message: "alumno.estado inválido"})
	}
	start, startOK := date(raw["fechaInicio"])
	if !startOK {
		fail(&problem{code: "026", message: "alumno.fechaInicio inválido"})
	}
	end, endOK := date(raw["fechaFin"])
	if !endOK || (startOK && end < start) {
		fail(&problem{code: "027", message: "alumno.fechaFin inválido"})
	}
	st.fechaEjecucion = now.Format("2006-01-02") // SENCE: "por defecto la fecha actual"
	if v, ok := raw["fechaEjecucion"]; ok {
		exec, execOK := date(v)
		if !execOK || (startOK && exec < start) || (endOK && exec > end) {
			fail(&problem{code: "027", message: "alumno.fechaEjecucion inválido"})
		}
		st.fechaEjecucion = text(v)
	}
	if v, ok := raw["evaluacionFinal"]; ok && !percentNumber(v) {
		fail(catalogued("031"))
	}
	mods, _ := raw["listaModulos"].([]any)
	if len(mods) == 0 {
		fail(&problem{code: "010", message: fmt.Sprintf("El alumno %s no informa módulos (listaModulos vacía).", shown)})
	}
	for _, item := range mods {
		m, _ := item.(map[string]any)
		if m == nil {
			fail(&problem{code: "010", message: fmt.Sprintf("El alumno %s tiene un módulo que no es un objeto JSON.", shown)})
			continue
		}
		code, _ := m["codigoModulo"].(string)
		if strings.TrimSpace(code) == "" || (course != nil && !course.modules[code]) {
			fail(catalogued("010", shown, code))
		}
		if !nonNegativeInt(m["tiempoConectividad"]) {
			fail(catalogued("023"))
		}
		progress, progressOK := intValue(m["porcentajeAvance"])
		progressOK = progressOK && progress >= 0 && progress <= 100
		if !progressOK {
			fail(catalogued("024"))
		}
		if !estadoOK(m, "estado") {
			fail(&problem{code: "024", message: "modulo.estado inválido"})
		}
		mStart, mStartOK := date(m["fechaInicio"])
		if !mStartOK {
			fail(catalogued("026"))
		}
		if mEnd, ok := date(m["fechaFin"]); !ok || (mStartOK && mEnd < mStart) {
			fail(catalogued("027"))
		}
		if v, ok := m["notaModulo"]; ok && !percentNumber(v) {
			fail(catalogued("028"))
		}
		if v, ok := m["cantActividadSincronica"]; ok && !nonNegativeInt(v) {
			fail(catalogued("029"))
		}
		if v, ok := m["cantActividadAsincronica"]; ok && !nonNegativeInt(v) {
			fail(catalogued("030"))
		}
		if acts, _ := m["listaActividades"].([]any); len(acts) == 0 {
			fail(&problem{code: "010", message: fmt.Sprintf("El alumno %s no informa actividades en el módulo %s (listaActividades vacía).", shown, code)})
		}
		if progressOK && st.key != "" {
			if prev, ok := s.state.Progress[progressKey(oferta, grupo, st.key, code)]; ok &&
				(int(progress) < prev || (int(progress) == prev && s.opts.RejectEqualProgress)) {
				p := catalogued("025", strconv.Itoa(prev))
				p.previous = prev
				fail(p)
			}
		}
		st.modules = append(st.modules, moduleCheck{raw: m, code: code, progress: int(progress)})
	}

	switch {
	case st.key == "":
		fail(catalogued("012", shown))
	case s.registry != nil && !s.registry.students[st.key]:
		fail(catalogued("012", shown))
	case course != nil && !course.students[st.key]:
		fail(catalogued("011", shown))
	}
	return st
}

// records are the history rows of a student: one per module.
func (s *Simulator) records(st studentCheck, otec rut.RUT, oferta, grupo string, pid int64) []sence.Record {
	raw := st.raw
	base := sence.Record{
		RutOtec: strconv.FormatInt(otec.Number, 10), DvOtec: otec.DV,
		OfertaCod: oferta, SeccionCod: grupo,
		RutAlumno: text(raw["rutAlumno"]), DvAlumno: text(raw["dvAlumno"]),
		TiempoConectividad: text(raw["tiempoConectividad"]), Estado: text(raw["estado"]),
		PorcentajeAvance: decimal(raw["porcentajeAvance"]),
		FechaInicio:      dateTime(raw["fechaInicio"]), FechaFin: dateTime(raw["fechaFin"]),
		FechaEjecucion: dateTime(st.fechaEjecucion),
		EstadoRegistro: sence.RecordOK, IDProcesoExterno: strconv.FormatInt(pid, 10),
	}
	if p := st.problem; p != nil {
		base.EstadoRegistro = sence.RecordError
		code, msg := p.code, p.message
		if code == "025" {
			// SENCE's history records a regression under [010], with the
			// value written with five decimals (documented example).
			info, _ := sence.Lookup("025")
			code, msg = "010", info.Format(fmt.Sprintf("(%.5f)", float64(p.previous)))
		}
		base.ObsRegistro = fmt.Sprintf("[%s] %s", code, msg)
	}
	if len(st.modules) == 0 {
		s.state.LastRecord++
		base.IDRegistro = strconv.FormatInt(s.state.LastRecord, 10)
		return []sence.Record{base}
	}
	out := make([]sence.Record, 0, len(st.modules))
	for _, m := range st.modules {
		r := base
		s.state.LastRecord++
		r.IDRegistro = strconv.FormatInt(s.state.LastRecord, 10)
		r.ModCod = m.code
		r.ModTiempoConectividad = text(m.raw["tiempoConectividad"])
		r.ModEstado = text(m.raw["estado"])
		r.ModPorcentajeAvance = decimal(m.raw["porcentajeAvance"])
		r.ModFechaInicio = dateTime(m.raw["fechaInicio"])
		r.ModFechaFin = dateTime(m.raw["fechaFin"])
		r.ModNota = decimal(m.raw["notaModulo"])
		out = append(out, r)
	}
	return out
}

// echo is a student as SENCE sends it back: the student's dates with a
// time, and in datosError the RUT number as a string (both documented).
func echo(raw map[string]any, inError bool) any {
	if raw == nil {
		return nil
	}
	out := maps.Clone(raw)
	for _, k := range []string{"fechaInicio", "fechaFin", "fechaEjecucion"} {
		if d, ok := date(out[k]); ok {
			out[k] = d + " 00:00:00"
		}
	}
	if n, ok := out["rutAlumno"].(json.Number); ok && inError {
		out["rutAlumno"] = n.String()
	}
	return out
}

// intValue reads a JSON number with an integral value.
func intValue(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	if i, err := n.Int64(); err == nil {
		return i, true
	}
	f, err := n.Float64()
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

func nonNegativeInt(v any) bool {
	n, ok := intValue(v)
	return ok && n >= 0
}

func percentInt(v any) bool {
	n, ok := intValue(v)
	return ok && n >= 0 && n <= 100
}

func percentNumber(v any) bool {
	n, ok := v.(json.Number)
	if !ok {
		return false
	}
	f, err := n.Float64()
	return err == nil && f >= 0 && f <= 100
}

// estadoOK: 1 cursando, 2 aprobado, 3 reprobado; missing is SENCE's
// default 1.
func estadoOK(m map[string]any, key string) bool {
	v, ok := m[key]
	if !ok {
		return true
	}
	n, ok := intValue(v)
	return ok && n >= payload.EstadoCursando && n <= payload.EstadoReprobado
}

// date reads a "yyyy-mm-dd" string, the only format SENCE accepts.
func date(v any) (string, bool) {
	s, ok := v.(string)
	return s, ok && sence.IsDate(s)
}

// text writes any JSON value the way the history shows it.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// decimal writes a number with five decimals, as the history does.
func decimal(v any) string {
	if n, ok := v.(json.Number); ok {
		if f, err := n.Float64(); err == nil {
			return strconv.FormatFloat(f, 'f', 5, 64)
		}
	}
	return text(v)
}

// dateTime writes a date as the history does: "2021-04-01 00:00:00".
func dateTime(v any) string {
	if d, ok := date(v); ok {
		return d + " 00:00:00"
	}
	return text(v)
}
