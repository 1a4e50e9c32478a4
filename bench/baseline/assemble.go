// Package baseline holds the two programs the engine is measured against
// in GitHub issue 6. Both produce the payloads of the standard Moodle preset
// (mappings/moodle.yaml) without the mapping engine: plain SQL, typed rows
// and the preset's rules written in Go.
//
//   - SetBased reads each dataset once per batch of courses, as the engine
//     does, and assembles the payloads in memory: the best a developer
//     would write by hand for one Moodle.
//   - PerStudent follows the pattern of the PHP integrations that sites use
//     today: per course a list of students, then a few queries per student
//     (enrolment dates, completion, grades, dedication, activity log, live
//     classes).
//
// The students they leave out, and why, follow the preset; the payloads are
// validated with the same validator as the engine's (engine/schema), so all
// three send the same documents.
package baseline

import (
	"cmp"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/sence/schema"
)

// Result is one SENCE course: what would be sent and who was left out with
// a problem (students not yet started are not problems).
type Result struct {
	CourseID     int64
	CodigoOferta string
	Payload      *payload.Course // nil when nothing can be sent
	Excluded     []int64         // user ids
	Failed       bool            // the course as a whole cannot be sent
}

// Options of a run.
type Options struct {
	Dialect string // sqlite, postgres or mysql
	Prefix  string
	// ReportDate is the day reported, in America/Santiago.
	ReportDate time.Time
	Params     Params
	// BatchSize is the number of courses per query of SetBased.
	BatchSize int
	// Validator checks each payload; RutOtec and Token are set in the
	// payloads before checking.
	Validator *schema.Validator
	RutOtec   string
	Token     string
}

// reportDay is the report date as SENCE writes it.
func (o *Options) reportDay() string {
	d := o.ReportDate.In(chile.Location)
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, chile.Location).Format(time.DateOnly)
}

// reportEnd is the first second after the report date.
func (o *Options) reportEnd() int64 {
	d := o.ReportDate.In(chile.Location)
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, chile.Location).AddDate(0, 0, 1).Unix()
}

type courseRow struct {
	id         int64
	shortname  string
	code       string // the short name trimmed: codigoOferta
	start, end sql.NullInt64
}

type section struct {
	id, num            int64
	name               string
	required           int64 // activities with completion
	sync, async        int64 // synchronous classes, asynchronous activities with completion
	activities         []activity
	code               string // extracted module code
	activityCodes      []payload.Actividad
	activityCodesReady bool
}

type activity struct {
	cmid          int64
	modname, name string
}

type grade struct {
	itemtype, category string
	final              sql.NullFloat64
	min, max           float64
}

// sessions are the maximum-gap totals of a stream of events.
type sessions struct {
	seconds     int64
	first, last int64
	events      int64
}

// sessionAcc applies the maximum-gap rule of Moodle's dedication block.
type sessionAcc struct {
	gap, minLen int64
	start, last int64
	s           sessions
}

func (a *sessionAcc) add(t int64) {
	if a.s.events == 0 {
		a.start, a.last, a.s.first = t, t, t
	} else if t-a.last > a.gap {
		a.close()
		a.start = t
	}
	a.last, a.s.last = t, t
	a.s.events++
}

func (a *sessionAcc) close() {
	if l := a.last - a.start; l > a.minLen {
		a.s.seconds += l
	}
}

func (a *sessionAcc) result() sessions {
	if a.s.events > 0 {
		a.close()
	}
	return a.s
}

// sessionsByKey applies the rule to rows ordered by key and time: each
// run of rows with the same key is one key's events, handed to done when
// the key changes and at finish.
type sessionsByKey[K comparable] struct {
	gap, minLen int64
	done        func(K, sessions)
	acc         *sessionAcc
	cur         K
}

func (g *sessionsByKey[K]) add(k K, t int64) {
	if g.acc == nil || k != g.cur {
		g.finish()
		g.acc, g.cur = &sessionAcc{gap: g.gap, minLen: g.minLen}, k
	}
	g.acc.add(t)
}

func (g *sessionsByKey[K]) finish() {
	if g.acc != nil {
		g.done(g.cur, g.acc.result())
		g.acc = nil
	}
}

// student is what the preset reads of one enrolled student.
type student struct {
	userid                                  int64
	username, idnumber, firstname, lastname string
	ueStart, ueEnd                          sql.NullInt64
	grades                                  []grade
	blockSeconds                            int64
	logSessions                             sessions
	done                                    map[int64]int64    // section id → activities done
	moduleLog                               map[int64]sessions // section id → sessions on its activities
	live                                    map[int64][]string // section id → Summary metas
}

// courseBuilder assembles one course, student by student, as the preset
// does: students in user id order, children before parents.
type courseBuilder struct {
	o        *Options
	rep      string
	c        *courseRow
	sections []*section
	alumnos  []payload.Alumno
	users    []int64 // user id of each of alumnos
	excluded []int64
	counted  bool
	sync     int
	async    int
}

func newCourse(o *Options, c *courseRow, sections []*section) *courseBuilder {
	for _, s := range sections {
		s.code = extract(s.name, o.Params.ModuleCode)
	}
	return &courseBuilder{o: o, rep: o.reportDay(), c: c, sections: sections}
}

// add evaluates one student: left out with a problem, not reported yet, or
// appended to the payload.
func (b *courseBuilder) add(s *student) {
	al, ok, problem := b.student(s)
	if problem {
		b.excluded = append(b.excluded, s.userid)
		return
	}
	if ok {
		b.alumnos = append(b.alumnos, *al)
		b.users = append(b.users, s.userid)
	}
}

func (b *courseBuilder) student(s *student) (al *payload.Alumno, ok, problem bool) {
	p := &b.o.Params
	// The student's own fields; every one that fails is a problem.
	rutText := ""
	switch {
	case p.RutFrom == "username":
		rutText = s.username
	case strings.TrimSpace(s.idnumber) != "":
		rutText = s.idnumber
	default:
		if _, err := parseRUT(s.username); err == nil {
			rutText = s.username
		} else {
			problem = true
		}
	}
	var r struct {
		number int64
		dv     string
	}
	if !problem {
		parsed, err := parseRUT(rutText)
		if err != nil {
			problem = true
		}
		r.number, r.dv = parsed.Number, parsed.DV
	}
	start, end := s.ueStart, s.ueEnd
	if !start.Valid {
		start = b.c.start
	}
	if !end.Valid {
		end = b.c.end
	}
	if !start.Valid || start.Int64 < 1 || !end.Valid || end.Int64 < 1 {
		problem = true
	}
	var finalPct, finalNota float64
	hasFinal := false
	for _, g := range s.grades {
		if g.itemtype == "course" {
			var err1, err2 error
			finalPct, hasFinal, err1 = logroFromGrade(g, p.Exigencia)
			finalNota, _, err2 = notaFromGrade(g, p.Exigencia)
			if err1 != nil || err2 != nil {
				problem = true
			}
			break
		}
	}
	if problem {
		return nil, false, true
	}
	al = &payload.Alumno{RutAlumno: r.number, DvAlumno: r.dv, FechaInicio: date(start.Int64), FechaFin: date(end.Int64)}
	al.FechaEjecucion = min(b.rep, al.FechaFin)
	if p.DedicationSource == "log" {
		al.TiempoConectividad = s.logSessions.seconds
	} else {
		al.TiempoConectividad = s.blockSeconds
	}
	// Attended classes of every section add into the student's time.
	for _, metas := range s.live {
		for _, meta := range metas {
			n, err := liveSeconds(meta)
			if err != nil {
				return nil, false, true
			}
			al.TiempoConectividad += n
		}
	}
	ev := roundTo(finalPct, 2)
	al.EvaluacionFinal = &ev
	if al.FechaInicio > b.rep {
		return nil, false, false // starts after the report date: nothing to report yet
	}

	// Modules: every one is evaluated, then those without a code or without
	// mandatory activities are left out.
	var done, required int64
	sync, async := 0, 0
	for _, sec := range b.sections {
		m, keep, bad := b.module(s, sec, al.FechaInicio)
		if bad {
			return nil, false, true
		}
		if !keep {
			continue
		}
		done += s.done[sec.id]
		required += sec.required
		sync += *m.CantActividadSincronica
		async += *m.CantActividadAsincronica
		al.ListaModulos = append(al.ListaModulos, m)
	}
	al.PorcentajeAvance = pct(done, required)
	passed := hasFinal && finalNota >= p.PassGrade && float64(al.PorcentajeAvance) >= p.PassProgress
	ended := al.FechaFin < b.rep
	switch {
	case passed:
		al.Estado = payload.EstadoAprobado
	case ended && !(!hasFinal && float64(al.PorcentajeAvance) >= p.PassProgress):
		al.Estado = payload.EstadoReprobado
	default:
		al.Estado = payload.EstadoCursando
	}
	if !b.counted {
		// The course counts are those of the first student sent.
		b.counted, b.sync, b.async = true, sync, async
	}
	return al, true, false
}

func (b *courseBuilder) module(s *student, sec *section, studentStart string) (m payload.Modulo, keep, bad bool) {
	p := &b.o.Params
	done := s.done[sec.id]
	var g *grade
	for i := range s.grades {
		if s.grades[i].itemtype == "category" && extract(s.grades[i].category, p.ModuleCode) == sec.code {
			g = &s.grades[i]
			break
		}
	}
	var gp, gn float64
	hasNota := false
	if g != nil {
		var err1, err2 error
		gp, _, err1 = logroFromGrade(*g, p.Exigencia)
		gn, hasNota, err2 = notaFromGrade(*g, p.Exigencia)
		if err1 != nil || err2 != nil {
			return m, false, true
		}
	}
	var live int64
	for _, meta := range s.live[sec.id] {
		n, err := liveSeconds(meta)
		if err != nil {
			return m, false, true
		}
		live += n
	}
	if sec.code == "" || sec.required <= 0 {
		return m, false, false
	}
	ml := s.moduleLog[sec.id]
	m.CodigoModulo = sec.code
	m.TiempoConectividad = ml.seconds + live
	m.FechaInicio = studentStart
	if ml.events > 0 {
		m.FechaInicio = date(ml.first)
	}
	m.FechaFin = m.FechaInicio
	if ml.events > 0 {
		m.FechaFin = date(ml.last)
	}
	m.PorcentajeAvance = pct(done, sec.required)
	nm := roundTo(gp, 2)
	m.NotaModulo = &nm
	sync, async := int(sec.sync), int(sec.async)
	m.CantActividadSincronica, m.CantActividadAsincronica = &sync, &async
	switch {
	case done >= sec.required && hasNota && gn >= p.PassGrade:
		m.Estado = payload.EstadoAprobado
	case done >= sec.required && hasNota:
		m.Estado = payload.EstadoReprobado
	default:
		m.Estado = payload.EstadoCursando
	}
	if !sec.activityCodesReady {
		for _, a := range sec.activities {
			name := a.name
			if name == "" {
				name = a.modname + " " + strconv.FormatInt(a.cmid, 10)
			}
			sec.activityCodes = append(sec.activityCodes, payload.Actividad{CodigoActividad: truncate(name, 50)})
		}
		sec.activityCodesReady = true
	}
	m.ListaActividades = sec.activityCodes
	return m, true, false
}

// finish validates the course and returns it.
func (b *courseBuilder) finish() *Result {
	res := &Result{CourseID: b.c.id, CodigoOferta: b.c.code}
	course := &payload.Course{IDSistema: payload.IDSistema, CodigoOferta: b.c.code, CodigoGrupo: b.c.code,
		CantActividadSincronica: &b.sync, CantActividadAsincronica: &b.async, ListaAlumnos: b.alumnos}
	if len(course.ListaAlumnos) > 0 && b.o.Validator != nil {
		course.RutOtec, course.Token = b.o.RutOtec, b.o.Token
		problems, err := b.o.Validator.Check(course)
		if err != nil {
			res.Failed = true
		}
		bad := map[int]bool{}
		for _, p := range problems {
			if p.Student < 0 || p.Student >= len(course.ListaAlumnos) {
				res.Failed = true
				continue
			}
			bad[p.Student] = true
		}
		if len(bad) > 0 && !res.Failed {
			kept := course.ListaAlumnos[:0]
			for i, al := range course.ListaAlumnos {
				if bad[i] {
					res.Excluded = append(res.Excluded, b.users[i])
					continue
				}
				kept = append(kept, al)
			}
			course.ListaAlumnos = kept
		}
	}
	res.Excluded = append(res.Excluded, b.excluded...)
	slices.SortFunc(res.Excluded, cmp.Compare)
	if len(course.ListaAlumnos) > 0 && !res.Failed {
		res.Payload = course
	}
	return res
}
