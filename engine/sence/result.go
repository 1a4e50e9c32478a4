package sence

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/otec-tools/sence-engine/engine/rut"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// Outcome is what happened to one student of a send.
type Outcome int

const (
	// Accepted: SENCE stored the student's progress.
	Accepted Outcome = iota + 1
	// Rejected: SENCE did not store the student; Code and Message say why.
	Rejected
	// Unchanged: SENCE answered 025 with the very value that was sent for
	// a module, so it already has this progress: nothing to correct.
	Unchanged
)

func (o Outcome) String() string {
	switch o {
	case Accepted:
		return "aceptado"
	case Rejected:
		return "rechazado"
	case Unchanged:
		return "sin cambios"
	}
	return "desconocido"
}

// StudentResult is the outcome of one student.
type StudentResult struct {
	RUT     string
	Outcome Outcome
	// Code and Message are as SENCE reported them ("" when accepted).
	Code    string
	Message string
	// Info is the catalogue entry matched by text and code; Known is false
	// when SENCE's code and text are both unknown.
	Info  CodeInfo
	Known bool
	// Previous is the value SENCE already has, for a 025.
	Previous *float64
	// Uncertain marks an Unchanged student with several modules. SENCE
	// reports only the last error it finds and rejects the whole student,
	// so the 025 may hide a change in another module that was not stored;
	// compare with the values last accepted before trusting "no change".
	Uncertain bool
}

// Explain is the Spanish explanation of a rejection, "" when accepted.
func (s StudentResult) Explain() string {
	switch s.Outcome {
	case Accepted:
		return ""
	case Unchanged:
		msg := fmt.Sprintf("sin cambios: SENCE ya tiene %s %% de avance en el módulo y se envió el mismo valor; no hay nada que corregir", formatFloat(*s.Previous))
		if s.Uncertain {
			msg += "; ojo: el alumno tiene otros módulos y SENCE informa solo el último error, así que si otro módulo avanzó ese avance no quedó guardado"
		}
		return msg
	}
	if s.Code == "" && s.Message != "" && !s.Known {
		return s.Message
	}
	return Explain(s.Code, s.Message)
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// studentProgress is what judge needs of a sent student: its key and the
// progress of each module.
type studentProgress struct {
	key     string
	modules []float64
}

func progressOfPayload(a payload.Alumno) studentProgress {
	p := studentProgress{key: rut.RUT{Number: a.RutAlumno, DV: strings.ToUpper(a.DvAlumno)}.String()}
	for _, m := range a.ListaModulos {
		p.modules = append(p.modules, float64(m.PorcentajeAvance))
	}
	return p
}

func progressOfEcho(s *EchoedStudent, key string) studentProgress {
	p := studentProgress{key: key}
	if s != nil {
		for _, m := range s.Modulos {
			if m.PorcentajeAvance != nil {
				p.modules = append(p.modules, *m.PorcentajeAvance)
			}
		}
	}
	return p
}

// judge decides the outcome of a student SENCE reported errors for. A 025
// is Unchanged when the value SENCE has equals a module value that was
// sent. Every error must be such a 025 for the student to be Unchanged;
// otherwise the last error decides, as SENCE reports the last it finds.
func judge(p studentProgress, errs []ErrorEntry) StudentResult {
	res := StudentResult{RUT: p.key, Outcome: Unchanged}
	var rejected *ErrorEntry
	for i := range errs {
		e := &errs[i]
		prev, ok := unchangedBy(e.Info, e.Known, e.Message, p.modules)
		if ok {
			if rejected == nil {
				res.Code, res.Message, res.Info, res.Known, res.Previous = e.Code, e.Message, e.Info, e.Known, &prev
			}
			continue
		}
		rejected = e
	}
	if rejected != nil {
		res = StudentResult{RUT: p.key, Outcome: Rejected, Code: rejected.Code, Message: rejected.Message,
			Info: rejected.Info, Known: rejected.Known}
		if rejected.Known && rejected.Info.Code == "025" {
			if v, ok := Previous(rejected.Message); ok {
				res.Previous = &v
			}
		}
		return res
	}
	res.Uncertain = len(p.modules) > 1
	return res
}

// unchangedBy reports whether an error is a 025 carrying a value that was
// sent for one of the student's modules.
func unchangedBy(info CodeInfo, known bool, message string, modules []float64) (float64, bool) {
	if !known || info.Code != "025" {
		return 0, false
	}
	prev, ok := Previous(message)
	if !ok {
		return 0, false
	}
	for _, m := range modules {
		if m == prev {
			return prev, true
		}
	}
	return 0, false
}

// Outcomes gives the outcome of every student, keyed by "12345678-5".
// With the course that was sent, every sent student has an outcome and
// 025s are compared with the values sent (the authoritative way); without
// it, the students come from SENCE's echo and its echoed values.
// Errors of scope course or send reject every student.
func (r *SendResponse) Outcomes(sent *payload.Course) map[string]StudentResult {
	out := map[string]StudentResult{}
	var whole *ErrorEntry
	perStudent := map[string][]ErrorEntry{}
	for i, e := range r.Errors {
		switch {
		case e.Scope() != ScopeStudent:
			whole = &r.Errors[i]
		case e.RUT != "":
			perStudent[e.RUT] = append(perStudent[e.RUT], e)
		}
	}
	echoed := map[string]bool{}
	for _, s := range r.Stored {
		if s.RUT != "" {
			echoed[s.RUT] = true
		}
	}
	var students []studentProgress
	if sent != nil {
		for _, a := range sent.ListaAlumnos {
			students = append(students, progressOfPayload(a))
		}
	} else {
		for _, s := range r.Stored {
			if s.RUT != "" {
				students = append(students, progressOfEcho(&s, s.RUT))
			}
		}
	}
	seen := map[string]bool{}
	for _, p := range students {
		seen[p.key] = true
	}
	// Students SENCE reports errors for but that were not in the list.
	for _, e := range r.Errors {
		if e.RUT != "" && !seen[e.RUT] {
			seen[e.RUT] = true
			students = append(students, progressOfEcho(e.Student, e.RUT))
		}
	}
	for _, p := range students {
		switch {
		case whole != nil:
			out[p.key] = StudentResult{RUT: p.key, Outcome: Rejected, Code: whole.Code, Message: whole.Message, Info: whole.Info, Known: whole.Known}
		case len(perStudent[p.key]) > 0:
			out[p.key] = judge(p, perStudent[p.key])
		case r.IDProceso != "" || echoed[p.key]:
			out[p.key] = StudentResult{RUT: p.key, Outcome: Accepted}
		default:
			out[p.key] = StudentResult{RUT: p.key, Outcome: Rejected,
				Message: "SENCE no informó el resultado de este alumno (sin id_proceso ni eco del alumno)"}
		}
	}
	return out
}

// SendResult is the outcome of one Send.
type SendResult struct {
	// Course is the course as sent, with the token replaced by <TOKEN>.
	Course    payload.Course
	IDProceso string
	// Students maps "12345678-5" to the student's outcome.
	Students map[string]StudentResult
	// SendErrors (001, 002) and CourseErrors (003, 032, 033) are the
	// errors that affected every student.
	SendErrors   []ErrorEntry
	CourseErrors []ErrorEntry
	// Unattributed are student errors whose student SENCE did not name.
	Unattributed []ErrorEntry
	// Response is SENCE's answer; nil when the result comes from history.
	Response *SendResponse
	// FromHistory is set when the answer was lost and the outcome was read
	// from historialEnvios; History is the process found there.
	FromHistory bool
	History     *Process
	// Attempts is how many POSTs were made.
	Attempts int
	// Note explains in Spanish anything unusual about how the result was
	// obtained (answer lost and found in history, retries).
	Note string
}

// Count returns how many students had each outcome.
func (r *SendResult) Count() (accepted, rejected, unchanged int) {
	for _, s := range r.Students {
		switch s.Outcome {
		case Accepted:
			accepted++
		case Rejected:
			rejected++
		case Unchanged:
			unchanged++
		}
	}
	return
}

// RUTs returns the keys of Students with the given outcome, sorted.
func (r *SendResult) RUTs(o Outcome) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(r.Students)) {
		if r.Students[k].Outcome == o {
			out = append(out, k)
		}
	}
	return out
}

func newSendResult(sent payload.Course, resp *SendResponse) *SendResult {
	res := &SendResult{Course: sent, IDProceso: resp.IDProceso, Response: resp, Students: resp.Outcomes(&sent)}
	for _, e := range resp.Errors {
		switch {
		case e.Scope() == ScopeSend:
			res.SendErrors = append(res.SendErrors, e)
		case e.Scope() == ScopeCourse:
			if !slices.ContainsFunc(res.CourseErrors, func(c ErrorEntry) bool { return c.Code == e.Code && c.Message == e.Message }) {
				res.CourseErrors = append(res.CourseErrors, e)
			}
		case e.RUT == "":
			res.Unattributed = append(res.Unattributed, e)
		}
	}
	return res
}

// resultFromHistory builds the result of a send whose answer was lost from
// the process historialEnvios recorded for it. A student is accepted when
// all its records are ok; otherwise its first failed record decides.
func resultFromHistory(sent payload.Course, proc Process) *SendResult {
	res := &SendResult{Course: sent, IDProceso: proc.IDProceso, FromHistory: true, History: &proc,
		Students: map[string]StudentResult{}}
	records := map[string][]Record{}
	for _, rec := range proc.Registros {
		records[rec.StudentRUT()] = append(records[rec.StudentRUT()], rec)
	}
	for _, a := range sent.ListaAlumnos {
		p := progressOfPayload(a)
		recs := records[p.key]
		if len(recs) == 0 {
			res.Students[p.key] = StudentResult{RUT: p.key, Outcome: Rejected,
				Message: fmt.Sprintf("SENCE recibió el envío (proceso %s), pero su historial no tiene registros de este alumno: revise ese proceso en SENCE antes de volver a informarlo", orDash(proc.IDProceso))}
			continue
		}
		var errs []ErrorEntry
		for _, rec := range recs {
			if !rec.OK() {
				code, msg := rec.Problem()
				e := ErrorEntry{RUT: p.key, Code: code, Message: msg}
				e.Info, e.Known = Match(code, msg)
				errs = append(errs, e)
				break
			}
		}
		if len(errs) == 0 {
			res.Students[p.key] = StudentResult{RUT: p.key, Outcome: Accepted}
			continue
		}
		res.Students[p.key] = judge(p, errs)
		if e := errs[0]; e.Known && e.Info.Scope == ScopeCourse {
			if !slices.ContainsFunc(res.CourseErrors, func(c ErrorEntry) bool { return c.Info.Code == e.Info.Code }) {
				res.CourseErrors = append(res.CourseErrors, e)
			}
		}
	}
	return res
}
