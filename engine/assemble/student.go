package assemble

import (
	"fmt"

	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// studentOut is what became of one student: built (sc, al, who), left
// out by an include rule (note) or excluded with its reasons (excl); part
// is its value of courses.split, known unless it could not be told.
type studentOut struct {
	sc    scope
	al    *payload.Alumno
	who   Exclusion
	excl  *Exclusion
	note  *Note
	part  string
	known bool
	// warns are the student's warnings: sent, but to look at.
	warns []Note
}

func (b *builder) student(c *courseEntity, row map[string]any, idx index) studentOut {
	lv := b.plan.Levels[mapping.Student]
	sb := &studentBuild{b: b, lv: lv, sc: b.newScope(lv, row, []scope{c.sc}), failed: map[string]bool{}}
	sb.id = ids{b.plan.Levels[0].Key: c.id, lv.Key: canon(row[lv.Key])}
	sc, id := sb.sc, sb.id
	if err := b.attach(lv, sc, id, idx); err != nil {
		sb.fail(err)
		return sb.excluded()
	}
	if err := b.evalSteps(lv.Early, sc); err != nil {
		sb.fail(err)
	}
	// A student the include rule leaves out is not reported for data that
	// is not sent, so the rule is read even when a value failed: what it
	// reads of a failed value is nil, and an error it gives then only
	// repeats the failure.
	if lv.Include != nil && !lv.IncludeLate {
		ok, why, err := b.include(b.runner(lv.Include), sc)
		switch {
		case err != nil:
			if !readsAny(&plan.Step{Prog: lv.Include}, sb.failed) {
				sb.fail(err)
			}
		case !ok && (len(sb.problems) == 0 || !readsAny(&plan.Step{Prog: lv.Include}, sb.failed)):
			return sb.leftOut(why)
		}
	}
	if len(sb.problems) > 0 {
		return sb.excluded()
	}
	mods, modList, err := b.modules(c, sc, id, idx)
	if err != nil {
		sb.fail(err)
		return sb.excluded()
	}
	sc[plan.ChildList[mapping.Student]] = mods
	if err := b.evalSteps(lv.Late, sc); err != nil {
		sb.fail(err)
		return sb.excluded()
	}
	if lv.Include != nil && lv.IncludeLate {
		ok, why, err := b.include(b.runner(lv.Include), sc)
		if err != nil {
			sb.fail(err)
			return sb.excluded()
		}
		if !ok {
			return sb.leftOut(why)
		}
	}
	al := &payload.Alumno{}
	if err := convertStudent(sc, al); err != nil {
		sb.fail(err)
		return sb.excluded()
	}
	al.ListaModulos = modList
	part, known, err := b.split(sc, sb.failed)
	if err != nil {
		sb.problems = append(sb.problems, reason(err))
		e := sb.who()
		e.Reasons = sb.problems
		return studentOut{excl: e, part: part, known: known}
	}
	var warns []Note
	if ws := b.warnings(lv, sc); len(ws) > 0 {
		w := b.note(lv, sb.who(), "").Who
		for _, msg := range ws {
			warns = append(warns, Note{Level: mapping.Student, Who: w, Msg: msg, Warning: true})
		}
	}
	return studentOut{sc: sc, al: al, who: *sb.who(), part: part, known: known, warns: warns}
}

// studentBuild is one student being built: the steps that failed and the
// problems found so far.
type studentBuild struct {
	b        *builder
	lv       *plan.Level
	sc       scope
	id       ids
	failed   map[string]bool
	problems []string
}

// who names the student as far as its scope tells.
func (sb *studentBuild) who() *Exclusion {
	e := &Exclusion{UserID: sb.id[sb.lv.Key]}
	if s, ok := sb.sc["label"].(string); ok {
		e.Label = s
	}
	if n, ok := sb.sc["rutAlumno"]; ok && n != nil {
		e.RUT = fmt.Sprintf("%v-%v", n, sb.sc["dvAlumno"])
	} else if s, ok := sb.sc["rut"].(string); ok {
		e.RUT = s
	} else if s, ok := sb.sc["rutText"].(string); ok {
		e.RUTText = s // read, but not a valid RUT
	}
	return e
}

// fail records a step's failure, and the steps it leaves without a value.
func (sb *studentBuild) fail(err error) {
	sb.problems = append(sb.problems, reasons(err)...)
	for _, n := range failedSteps(err) {
		sb.failed[n] = true
	}
	// The steps skipped because they read a failed one have no value
	// either.
	for _, st := range sb.lv.Steps {
		if !sb.failed[st.Name] && readsAny(st, sb.failed) {
			sb.failed[st.Name] = true
		}
	}
}

// excluded ends with every problem found, and the split value when it can
// be told without the failed values.
func (sb *studentBuild) excluded() studentOut {
	part, known, err := sb.b.split(sb.sc, sb.failed)
	if err != nil {
		sb.problems = append(sb.problems, reason(err))
	}
	e := sb.who()
	e.Reasons = sb.problems
	return studentOut{excl: e, part: part, known: known}
}

// leftOut ends with a student the include rule leaves out, and why.
func (sb *studentBuild) leftOut(why string) studentOut {
	part, known, _ := sb.b.split(sb.sc, sb.failed)
	n := sb.b.note(sb.lv, sb.who(), why)
	return studentOut{note: n, part: part, known: known}
}

// modules builds the modules of one student, with their activities.
func (b *builder) modules(c *courseEntity, st scope, sid ids, idx index) ([]any, []payload.Modulo, error) {
	mlv := b.plan.Levels[mapping.Module]
	prefix := b.parentPrefix(mlv.From, sid)
	var list []any
	var out []payload.Modulo
	for _, row := range idx.under(mlv.From, prefix) {
		sc := b.newScope(mlv, row, []scope{c.sc, st})
		id := ids{}
		for k, v := range sid {
			id[k] = v
		}
		id[mlv.Key] = canon(row[mlv.Key])
		name := fmt.Sprintf("módulo %v", row[mlv.Key])
		wrap := func(err error) error { return fmt.Errorf("%s: %s", name, reason(err)) }
		// A note on an entity without a module code names it in its own
		// words: the engine's id would only confuse.
		noteName := ""
		if err := b.attach(mlv, sc, id, idx); err != nil {
			return nil, nil, wrap(err)
		}
		if err := b.evalSteps(mlv.Early, sc); err != nil {
			return nil, nil, wrap(err)
		}
		if s, ok := sc["codigoModulo"].(string); ok && s != "" {
			name = "módulo " + s
			noteName = name
		}
		if mlv.Include != nil && !mlv.IncludeLate {
			ok, why, err := b.include(b.runner(mlv.Include), sc)
			if err != nil {
				return nil, nil, wrap(err)
			}
			if !ok {
				b.moduleNote(Note{Level: mapping.Module, Who: noteName, Msg: why})
				continue
			}
		}
		acts, actList, err := b.moduleActivities(c, st, sc, id, idx)
		if err != nil {
			return nil, nil, wrap(err)
		}
		sc[plan.ChildList[mapping.Module]] = acts
		if err := b.evalSteps(mlv.Late, sc); err != nil {
			return nil, nil, wrap(err)
		}
		if mlv.Include != nil && mlv.IncludeLate {
			ok, why, err := b.include(b.runner(mlv.Include), sc)
			if err != nil {
				return nil, nil, wrap(err)
			}
			if !ok {
				b.moduleNote(Note{Level: mapping.Module, Who: noteName, Msg: why})
				continue
			}
		}
		m := payload.Modulo{}
		if err := convertModule(sc, &m); err != nil {
			return nil, nil, wrap(err)
		}
		m.ListaActividades = actList
		for _, msg := range b.warnings(mlv, sc) {
			b.moduleNote(Note{Level: mapping.Module, Who: name, Msg: msg, Warning: true})
		}
		list = append(list, sc)
		out = append(out, m)
	}
	return list, out, nil
}

// moduleNote records a module note once per course: the modules of every
// student give the same ones.
func (b *builder) moduleNote(n Note) {
	if n.Msg == "" {
		return
	}
	for _, o := range b.modNotes {
		if o.Msg == n.Msg && o.Warning == n.Warning {
			return
		}
	}
	b.modNotes = append(b.modNotes, n)
}

// moduleActivities builds a module's activities, once per module of the
// course when they are the same for every student: the lists are then
// shared by the students' payloads, which only read them.
func (b *builder) moduleActivities(c *courseEntity, st, mod scope, mid ids, idx index) ([]any, []payload.Actividad, error) {
	if !b.sharedActs {
		return b.activities(c, st, mod, mid, idx)
	}
	key := b.parentPrefix(b.plan.Levels[mapping.Activity].From, mid)
	if r, ok := b.actMemo[key]; ok {
		return r.list, r.out, r.err
	}
	list, out, err := b.activities(c, st, mod, mid, idx)
	if b.actMemo == nil {
		b.actMemo = map[string]*actResult{}
	}
	b.actMemo[key] = &actResult{list, out, err}
	return list, out, err
}

func (b *builder) activities(c *courseEntity, st, mod scope, mid ids, idx index) ([]any, []payload.Actividad, error) {
	alv := b.plan.Levels[mapping.Activity]
	prefix := b.parentPrefix(alv.From, mid)
	var list []any
	var out []payload.Actividad
	for _, row := range idx.under(alv.From, prefix) {
		sc := b.newScope(alv, row, []scope{c.sc, st, mod})
		id := ids{}
		for k, v := range mid {
			id[k] = v
		}
		id[alv.Key] = canon(row[alv.Key])
		wrap := func(err error) error { return fmt.Errorf("actividad %v: %s", row[alv.Key], reason(err)) }
		if err := b.attach(alv, sc, id, idx); err != nil {
			return nil, nil, wrap(err)
		}
		if err := b.evalSteps(alv.Steps, sc); err != nil {
			return nil, nil, wrap(err)
		}
		if alv.Include != nil {
			ok, _, err := b.include(b.runner(alv.Include), sc)
			if err != nil {
				return nil, nil, wrap(err)
			}
			if !ok {
				continue
			}
		}
		a := payload.Actividad{}
		if err := convertActivity(sc, &a); err != nil {
			return nil, nil, wrap(err)
		}
		list = append(list, sc)
		out = append(out, a)
	}
	return list, out, nil
}
