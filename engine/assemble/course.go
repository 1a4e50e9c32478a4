package assemble

import (
	"errors"
	"fmt"
	"github.com/otec-tools/sence-engine/engine/fn"
	"github.com/otec-tools/sence-engine/engine/voice"
	"slices"
	"strings"

	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// coursePart is the students of one value of courses.split: one payload.
type coursePart struct {
	value    string
	students []any
	alumnos  []payload.Alumno
	whos     []Exclusion
	excluded []Exclusion
	notes    []Note
}

// course builds one course of the batch: one result per value of
// courses.split (one result without it), in the order of the values.
func (b *builder) course(c *courseEntity, idx index) []*CourseResult {
	res := c.res
	pl := b.plan
	b.modNotes = nil
	// The memo's activities reach the course's whole scope tree through
	// their parents: drop it with the course.
	defer func() { b.actMemo = nil }()
	clv := pl.Levels[mapping.Course]
	cid := ids{clv.Key: c.id}
	if err := b.attach(clv, c.sc, cid, idx); err != nil {
		res.Err = err
		return []*CourseResult{res}
	}
	if err := b.evalSteps(clv.Mid, c.sc); err != nil {
		// A course-wide problem (no module can be sent, say) is said
		// once, before any student is built.
		res.Err = courseError(err)
		return []*CourseResult{res}
	}
	slv := pl.Levels[mapping.Student]
	parts := map[string]*coursePart{}
	partOf := func(v string) *coursePart {
		p := parts[v]
		if p == nil {
			p = &coursePart{value: v}
			parts[v] = p
		}
		return p
	}
	// Students whose split could not be told go with the first payload.
	loose := &coursePart{}
	for _, row := range idx.fromRows(slv.From, c.id) {
		b.stats.Students++
		st := b.student(c, row, idx)
		p := loose
		if st.known {
			p = partOf(st.part)
		}
		switch {
		case st.excl != nil:
			p.excluded = append(p.excluded, *st.excl)
		case st.note != nil:
			if st.note.Msg != "" {
				p.notes = append(p.notes, *st.note)
			}
		default:
			p.students = append(p.students, st.sc)
			p.alumnos = append(p.alumnos, *st.al)
			p.whos = append(p.whos, st.who)
			p.notes = append(p.notes, st.warns...)
		}
	}
	values := make([]string, 0, len(parts))
	for v := range parts {
		values = append(values, v)
	}
	slices.Sort(values)
	if len(values) == 0 {
		values = []string{""}
		partOf("")
	}
	var out []*CourseResult
	seen := map[string]bool{}
	for i, v := range values {
		p := parts[v]
		r := res
		if i > 0 {
			r = &CourseResult{CourseID: res.CourseID, Label: res.Label, CodigoOferta: res.CodigoOferta}
		}
		r.Excluded, r.Notes = p.excluded, p.notes
		if i == 0 {
			r.Excluded = append(r.Excluded, loose.excluded...)
			r.Notes = append(append(r.Notes, loose.notes...), b.modNotes...)
		}
		out = append(out, r)
		b.coursePart(c, p, r, seen)
	}
	return out
}

// coursePart evaluates the course's payload for the students of one split
// value and validates it. The course's scope is reused: each payload sets
// its students and split and evaluates the late steps again.
func (b *builder) coursePart(c *courseEntity, p *coursePart, r *CourseResult, seen map[string]bool) {
	clv := b.plan.Levels[mapping.Course]
	students := p.students
	if students == nil {
		students = []any{}
	}
	c.sc[plan.ChildList[mapping.Course]] = students
	c.sc[plan.NameSplit] = p.value
	if err := b.evalSteps(clv.Late, c.sc); err != nil {
		r.Err = courseError(err)
		return
	}
	for _, msg := range b.warnings(clv, c.sc) {
		r.Notes = append(r.Notes, Note{Level: mapping.Course, Who: r.Label, Msg: msg, Warning: true})
	}
	course := &payload.Course{IDSistema: payload.IDSistema}
	if err := convertCourse(c.sc, course); err != nil {
		r.Err = err
		return
	}
	if l := c.listed; l != nil {
		if l.CodigoOferta != "" {
			course.CodigoOferta = l.CodigoOferta
		}
		if l.CodigoGrupo != "" {
			course.CodigoGrupo = l.CodigoGrupo
		}
	}
	r.CodigoOferta, r.CodigoGrupo = course.CodigoOferta, course.CodigoGrupo
	if seen[course.CodigoGrupo] {
		r.Err = fmt.Errorf("codigoGrupo «%s» se repite en dos envíos del mismo curso (courses.split da «%s»): cada envío necesita su propio código de grupo", course.CodigoGrupo, p.value)
		return
	}
	seen[course.CodigoGrupo] = true
	course.ListaAlumnos = p.alumnos
	r.Sent = p.whos
	if b.opts.Check != nil && len(p.alumnos) > 0 {
		b.validate(course, r, p.whos)
	}
	if len(course.ListaAlumnos) > 0 && r.Err == nil {
		r.Payload = course
	}
}

// courseError is an evaluation error of the course level as a
// coordinator reads it (a var's name would only be jargon).
func courseError(err error) error {
	return &reasonError{msg: reason(err), err: err}
}

type reasonError struct {
	msg string
	err error
}

func (e *reasonError) Error() string { return e.msg }

func (e *reasonError) Unwrap() error { return e.err }

// split evaluates courses.split for a student: the value, whether it is
// known (it is not when the expression needs a value that failed, or
// fails itself), and its error, a reason to exclude the student.
func (b *builder) split(sc scope, failed map[string]bool) (string, bool, error) {
	p := b.plan.Levels[mapping.Course].SplitProg
	if p == nil {
		return "", true, nil
	}
	if readsAny(&plan.Step{Prog: p}, failed) {
		return "", false, nil
	}
	v, err := p.RunVM(&b.vm, sc)
	if b.tr != nil {
		b.trace(Trace{Kind: TraceSplit, Level: mapping.Student, Prog: p, Value: v, Err: err}, sc)
	}
	if err != nil {
		return "", false, err
	}
	switch x := v.(type) {
	case string:
		return x, true, nil
	case nil:
		return "", true, nil
	}
	return "", false, fmt.Errorf("«courses.split» debe dar un texto; dio %v", v)
}

// failedSteps are the names of the steps an evaluation error reports.
func failedSteps(err error) []string {
	var out []string
	switch x := err.(type) {
	case StepErrors:
		for _, e := range x {
			out = append(out, e.Step.Name)
		}
	case *StepError:
		out = append(out, x.Step.Name)
	}
	return out
}

// note records an entity left out by an include rule; a silent one (no
// reason given) has an empty Msg and is not reported.
func (b *builder) note(lv *plan.Level, e *Exclusion, why string) *Note {
	return &Note{Level: lv.Index, Who: e.Who(), Msg: why, RUT: e.RUT, UserID: e.UserID}
}

// reasons lists every problem of an error, as a coordinator reads them.
func reasons(err error) []string {
	if errs, ok := err.(StepErrors); ok {
		out := make([]string, len(errs))
		for i, e := range errs {
			out[i] = reason(e)
		}
		return out
	}
	return []string{reason(err)}
}

// reason is an error as a coordinator reads it: a message the mapping
// wrote (fail, require) is shown as written; another error of a SENCE
// field says which one in plain Spanish («la fecha de término: …»); a
// var's name would only be jargon.
func reason(err error) string {
	if errs, ok := err.(StepErrors); ok {
		return strings.Join(reasons(errs), "; ")
	}
	var se *StepError
	if errors.As(err, &se) {
		var fe *fn.Error
		if se.Step.IsField && !(errors.As(se.Err, &fe) && (fe.Func == "fail" || fe.Func == "require")) {
			return voice.Field(se.Step.Name) + ": " + se.Err.Error()
		}
		return se.Err.Error()
	}
	return err.Error()
}

// warnings evaluates a level's warnings for an included entity. A warning
// that cannot be evaluated is reported as such: it never leaves the entity
// out, and never goes silent.
func (b *builder) warnings(lv *plan.Level, sc scope) []string {
	var out []string
	for _, w := range lv.Warnings {
		v, err := w.Prog.RunVM(&b.vm, sc)
		if b.tr != nil {
			b.trace(Trace{Kind: TraceWarning, Level: lv.Index, Step: w, Prog: w.Prog, Value: v, Err: err}, sc)
		}
		if err != nil {
			out = append(out, fmt.Sprintf("el aviso «%s» no se pudo evaluar: %v", w.Name, err))
			continue
		}
		switch x := v.(type) {
		case nil, bool:
			if x == true {
				out = append(out, fmt.Sprintf("aviso «%s»", w.Name))
			}
		case string:
			if x != "" {
				out = append(out, x)
			}
		default:
			out = append(out, fmt.Sprintf("el aviso «%s» debe dar un texto (o \"\", false, nil); dio %v", w.Name, v))
		}
	}
	return out
}

// moduleCode gives the code of a student's module in a payload, for
// voice.Path.
func moduleCode(c *payload.Course) func(student, mod int) string {
	return func(student, mod int) string {
		if student < len(c.ListaAlumnos) && mod < len(c.ListaAlumnos[student].ListaModulos) {
			return c.ListaAlumnos[student].ListaModulos[mod].CodigoModulo
		}
		return ""
	}
}

// validate checks the course payload and excludes the students with
// problems; a course-level problem fails the course.
func (b *builder) validate(course *payload.Course, res *CourseResult, whos []Exclusion) {
	problems := b.opts.Check(course)
	if len(problems) == 0 {
		return
	}
	bad := map[int][]string{}
	var courseMsgs []string
	for _, p := range problems {
		msg := p.Msg
		if p.Path != "" && !strings.Contains(msg, p.Path) {
			msg = voice.Path(p.Path, moduleCode(course)) + ": " + msg
		}
		if p.Student < 0 || p.Student >= len(course.ListaAlumnos) {
			courseMsgs = append(courseMsgs, msg)
			continue
		}
		bad[p.Student] = append(bad[p.Student], msg)
	}
	if len(courseMsgs) > 0 {
		res.Err = errors.New(strings.Join(courseMsgs, "; "))
		return
	}
	kept := course.ListaAlumnos[:0]
	var sent []Exclusion
	for i, al := range course.ListaAlumnos {
		if msgs, ok := bad[i]; ok {
			e := whos[i]
			e.Reasons = msgs
			res.Excluded = append(res.Excluded, e)
			continue
		}
		kept = append(kept, al)
		sent = append(sent, whos[i])
	}
	course.ListaAlumnos = kept
	res.Sent = sent
}
