// Package assemble runs a Plan against a Moodle database: it reads the
// rows of each batch of courses set-based, assembles course → student →
// module → activity, evaluates children before parents, converts to SENCE
// payloads and validates them, and hands each course to its caller as it
// is built, in order.
package assemble

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/dedication"
	"github.com/otec-tools/sence-engine/engine/eval"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/sence/schema"
	"github.com/otec-tools/sence-engine/engine/source"
)

// Options of a build.
type Options struct {
	// ReportDate is the day the progress refers to, in America/Santiago.
	ReportDate time.Time
	// Courses keeps only these courses (codigoOferta, short name or id).
	Courses []string
	// Check validates a course payload; problems exclude students. Nil
	// skips validation (benchmarks of the build alone). Courses are built
	// concurrently: Check must be safe for concurrent use.
	Check func(*payload.Course) []Problem
	// BatchSize overrides source.batchSize.
	BatchSize int
	// Workers is the number of courses built at once once a batch is read
	// (the database is idle then); 0 means one per CPU. Courses are
	// yielded in order whatever the number.
	Workers int
	// Sessions, when set, keeps the dedication sessions of incremental
	// sessions queries (those that read :since) between runs: a run reads
	// only the log events since the watermark of the last one, and saves
	// the sessions again with a new watermark. Nil recomputes them from
	// the whole log (engine export).
	Sessions SessionStore
	// RecomputeSessions ignores the saved sessions, reads the whole log
	// and saves the result (engine run --full-dedication).
	RecomputeSessions bool
	// Now is when the log is read, default time.Now: events before
	// Now − SessionMargin are folded into the saved sessions.
	Now func() time.Time
	// OnUnselected is told of every course the selection left out that
	// courses.unselected (or a course include rule that gives a text)
	// reports, before the courses are built. Nil ignores them.
	OnUnselected func(UnselectedCourse)
	// OnSelected is told, once the course query is read and before any
	// course is built or yielded, which courses the build will yield; an
	// error from it ends the build with nothing yielded (a --course that
	// names nothing). Nil ignores it.
	OnSelected func(Selection) error
}

// Selection is what the course query selected: the courses the build
// will yield (CourseID and CodigoOferta of each, those whose identity
// failed included) and the Options.Courses values that name a course of
// the course query, selected or not (Stats.Matched).
type Selection struct {
	Courses []SelectedCourse
	Matched []string
}

// SelectedCourse is a course a build will yield.
type SelectedCourse struct {
	CourseID, CodigoOferta string
}

// UnselectedCourse is a Moodle course the selection left out and the
// mapping reports: it looks like a SENCE course (courses.unselected), or
// the include rule gave a reason.
type UnselectedCourse struct {
	CourseID  string `json:"idMoodle"`
	Shortname string `json:"nombreCorto"`
	Fullname  string `json:"nombre,omitempty"`
	Reason    string `json:"motivo"`
}

// SessionStore keeps dedication sessions between runs; *state.Ledger is
// one.
type SessionStore interface {
	LoadSessions(ctx context.Context, stream, fingerprint string, courses []string) (map[string]dedication.Saved, error)
	SaveSessions(ctx context.Context, stream, fingerprint string, now time.Time, updates []dedication.Update) error
}

// SessionMargin is how far back from the time of reading the log is taken
// as complete: Moodle writes an event at the end of the request that
// caused it, so the last minutes may still be arriving. Events after the
// watermark count tonight and are read again by the next run.
const SessionMargin = time.Hour

// Problem is a validation problem of a payload: SENCE's schema and rules
// (engine/sence/schema) find them, the build excludes students by them.
type Problem = schema.Problem

// Exclusion is a student left out of a payload, with every reason.
type Exclusion struct {
	UserID  string
	RUT     string
	Label   string
	Reasons []string
}

// Note is something left out that is not an error (a module without
// mandatory activities, a student who starts after the report date), or,
// with Warning, something sent that a coordinator should look at (a
// module without a synchronous class).
type Note struct {
	Level   int
	Who     string
	Msg     string
	Warning bool `json:",omitempty"`
	// RUT ("12345678-5") and UserID identify a student left out, when
	// known; a run uses them to tell students who left from students
	// still reported.
	RUT    string `json:"-"`
	UserID string `json:"-"`
}

// CourseResult is the outcome of building one course.
type CourseResult struct {
	CourseID     string
	CodigoOferta string
	CodigoGrupo  string
	Label        string
	Payload      *payload.Course // nil when nothing can be sent
	Excluded     []Exclusion
	Notes        []Note
	// Sent names the payload's students, in the order of listaAlumnos
	// (RUT, Moodle id and name; Reasons empty).
	Sent []Exclusion `json:"-"`
	Err  error       // the course as a whole could not be built
}

// Stats count what a build did.
type Stats struct {
	Queries  int
	Batches  int
	Courses  int
	Students int
	Rows     int
	// SessionsResumed counts, per incremental sessions query, the courses
	// read from a saved watermark; SessionsFull those read from the whole
	// log.
	SessionsResumed, SessionsFull int
	// Unselected counts the courses the selection left out that were
	// checked by courses.unselected, and UnselectedQueries the queries
	// that read them (counted in Queries too).
	Unselected, UnselectedQueries int
	// CoursesSeen counts the rows of the course query (every Moodle
	// course it lists, selected or not); LeftOutNames are the short names
	// of the first few courses the selection (courses.include or
	// courses.list) left out, so that a build that selects nothing can
	// name some. Matched are the Options.Courses values that name a
	// course of the course query (selected or not), by id, short name or
	// codigoOferta.
	CoursesSeen  int
	LeftOutNames []string
	Matched      []string
}

// leftOutSample is how many short names Stats.LeftOutNames keeps.
const leftOutSample = 5

// unselectedBatch is the number of courses read at once for
// courses.unselected: its queries give a few rows per course, so a large
// batch keeps the number of queries small on a site with thousands of
// courses.
const unselectedBatch = 500

// Build reads the database and yields each course's result to fn, course
// by course, so that memory stays bounded by one batch of courses.
func Build(ctx context.Context, db *source.DB, pl *plan.Plan, opts Options, fn func(*CourseResult) error) (Stats, error) {
	b := newBuilder(db, pl, opts)
	err := b.run(ctx, fn)
	return b.stats, err
}

func newBuilder(db *source.DB, pl *plan.Plan, opts Options) *builder {
	b := &builder{db: db, plan: pl, opts: opts, emptyRows: map[*plan.Query]map[string]any{}}
	b.sharedActs = sharesActivities(pl)
	for i, lv := range pl.Levels {
		b.scopeSize[i] = scopeSize(lv)
	}
	return b
}

type builder struct {
	db    *source.DB
	plan  *plan.Plan
	opts  Options
	stats Stats
	tx    *sql.Tx
	rep   string // report date YYYY-MM-DD
	repT0 int64  // first second of the report date
	repT1 int64  // first second after it
	since int64  // :since of the sessions query being read
	// modNotes collects, per course, the modules an include rule left out
	// with a reason: the same for every student, so reported once.
	modNotes []Note
	// vm evaluates every expression: one VM reused, not one per call.
	vm vm.VM
	// scopeSize is the number of names a scope of each level holds, so
	// that its map is allocated once at its final size.
	scopeSize [4]int
	// emptyRows are the rows, all nil, of a query without a row for an
	// entity; expressions never modify their environment, so one per
	// query serves every entity.
	emptyRows map[*plan.Query]map[string]any
	// sharedActs is set when the activities of a module are the same for
	// every student (see sharesActivities); actMemo holds them per module
	// of the current course.
	sharedActs bool
	actMemo    map[string]*actResult
}

// actResult is the outcome of building the activities of one module.
type actResult struct {
	list []any
	out  []payload.Actividad
	err  error
}

// scope is what expressions of one entity see.
type scope map[string]any

// setReportDate fixes the report date and its bounds.
func (b *builder) setReportDate() {
	d := b.opts.ReportDate
	if d.IsZero() {
		d = time.Now()
	}
	day := chile.Today(d)
	b.rep = day.Format("2006-01-02")
	b.repT0 = day.Unix()
	b.repT1 = day.AddDate(0, 0, 1).Unix()
}

func (b *builder) run(ctx context.Context, fn func(*CourseResult) error) (err error) {
	b.setReportDate()
	b.tx, err = b.db.ReadTx(ctx)
	if err != nil {
		return err
	}
	defer b.tx.Rollback()

	courses, pending, left, err := b.courses(ctx)
	if err != nil {
		return err
	}
	if err := b.unselected(ctx, left); err != nil {
		return err
	}
	if b.opts.OnSelected != nil {
		sel := Selection{Matched: b.stats.Matched}
		for _, r := range pending {
			sel.Courses = append(sel.Courses, SelectedCourse{CourseID: r.CourseID, CodigoOferta: r.CodigoOferta})
		}
		for _, c := range courses {
			sel.Courses = append(sel.Courses, SelectedCourse{CourseID: c.res.CourseID, CodigoOferta: c.res.CodigoOferta})
		}
		if err := b.opts.OnSelected(sel); err != nil {
			return err
		}
	}
	for _, r := range pending {
		if err := fn(r); err != nil {
			return err
		}
	}
	size := b.opts.BatchSize
	if size <= 0 {
		size = b.plan.Mapping.Source.BatchSize
	}
	if size <= 0 {
		size = 500
	}
	for start := 0; start < len(courses); start += size {
		batch := courses[start:min(start+size, len(courses))]
		idx, err := b.extract(ctx, batch)
		if err != nil {
			return err
		}
		if err := b.buildBatch(ctx, batch, idx, fn); err != nil {
			return err
		}
	}
	return nil
}

// buildBatch builds the courses of a batch, several at once, and yields
// them in order. Each worker is a copy of the builder with its own VM and
// per-course state; the batch's rows are only read. At most two courses
// per worker are built ahead of the one being yielded, so memory holds a
// few courses, not the batch's payloads.
func (b *builder) buildBatch(ctx context.Context, batch []*courseEntity, idx index, fn func(*CourseResult) error) error {
	workers := b.opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(batch))
	if workers <= 1 {
		for _, c := range batch {
			rs := b.course(c, idx)
			// The course's scope holds every student, module and activity
			// it built, and its results the payloads: let both go once the
			// course is yielded.
			c.sc, c.res = nil, nil
			b.stats.Courses++
			for _, r := range rs {
				if err := fn(r); err != nil {
					return err
				}
			}
		}
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make([]chan []*CourseResult, len(batch))
	for i := range done {
		done[i] = make(chan []*CourseResult, 1)
	}
	ahead := make(chan struct{}, 2*workers)
	next := make(chan int)
	go func() {
		defer close(next)
		for i := range batch {
			select {
			case ahead <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	clones := make([]*builder, workers)
	for w := range clones {
		wb := b.clone()
		clones[w] = wb
		wg.Go(func() {
			for i := range next {
				rs := wb.course(batch[i], idx)
				batch[i].sc, batch[i].res = nil, nil
				done[i] <- rs
			}
		})
	}
	var err error
	for i := range batch {
		var rs []*CourseResult
		select {
		case rs = <-done[i]:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			break
		}
		<-ahead
		b.stats.Courses++
		for _, r := range rs {
			if err = fn(r); err != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	cancel()
	wg.Wait()
	for _, wb := range clones {
		b.stats.Students += wb.stats.Students
	}
	return err
}

// clone is a builder for another goroutine: the same plan, options and
// report date, its own VM and per-course state.
func (b *builder) clone() *builder {
	return &builder{db: b.db, plan: b.plan, opts: b.opts, rep: b.rep, repT0: b.repT0, repT1: b.repT1,
		scopeSize: b.scopeSize, sharedActs: b.sharedActs, emptyRows: map[*plan.Query]map[string]any{}}
}

// courseEntity is a selected course with its early scope.
type courseEntity struct {
	id    string
	rawID any
	sc    scope
	res   *CourseResult
	// listed is the course's entry in courses.list, if any: its codes
	// override the fields.
	listed *mapping.ListedCourse
}

// leftOut is a course the selection left out, to be checked by
// courses.unselected (reason "") or reported with the include rule's
// reason.
type leftOut struct {
	id     string
	row    map[string]any
	sc     scope
	reason string
}

// courses runs the course query, evaluates identity and include, and
// applies the static list and the --course filter. It returns the selected
// courses, the results of courses whose identity failed, and the courses
// the selection left out that must be checked or reported.
func (b *builder) courses(ctx context.Context) ([]*courseEntity, []*CourseResult, []*leftOut, error) {
	lv := b.plan.Levels[mapping.Course]
	rows, err := b.query(ctx, lv.From, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	var out []*courseEntity
	var failed []*CourseResult
	var left []*leftOut
	list := lv.List
	check := lv.UnselectedProg != nil
	matched := map[string]bool{}
	match := func(values ...string) {
		for _, s := range b.opts.Courses {
			if !matched[s] && slices.Contains(values, s) {
				matched[s] = true
				b.stats.Matched = append(b.stats.Matched, s)
			}
		}
	}
	noteLeftOut := func(shortname string) {
		if len(b.stats.LeftOutNames) < leftOutSample {
			b.stats.LeftOutNames = append(b.stats.LeftOutNames, strings.TrimSpace(shortname))
		}
	}
	for _, row := range rows {
		keyVal := row[lv.Key]
		id := canon(keyVal)
		shortname := fmt.Sprint(row["shortname"])
		b.stats.CoursesSeen++
		match(id, shortname)
		// With --course, only the courses asked for are of interest,
		// selected or not.
		asked := func(codigo string) bool {
			return len(b.opts.Courses) == 0 || slices.ContainsFunc(b.opts.Courses, func(s string) bool {
				return s == codigo || s == id || s == shortname
			})
		}
		sc := b.baseScope()
		for _, col := range lv.From.Columns {
			if lv.Flat[col] == lv.From {
				sc[col] = row[col]
			}
		}
		sc[lv.From.Name] = row
		var listed *mapping.ListedCourse
		if len(list) > 0 {
			for i := range list {
				if list[i].Course == id || list[i].Course == shortname {
					listed = &list[i]
				}
			}
		}
		res := &CourseResult{CourseID: id, Label: labelOf(row, id)}
		if len(list) > 0 && listed == nil {
			noteLeftOut(shortname)
			if check && asked("") {
				b.evalSteps(lv.Early, sc) // what fails reads as nil
				left = append(left, &leftOut{id: id, row: row, sc: sc})
			}
			continue
		}
		if err := b.evalSteps(lv.Early, sc); err != nil {
			res.Err = err
			if asked(fmt.Sprint(sc["codigoOferta"])) {
				failed = append(failed, res)
			}
			continue
		}
		if listed != nil {
			if listed.CodigoOferta != "" {
				sc["codigoOferta"] = listed.CodigoOferta
			}
			if listed.CodigoGrupo != "" {
				sc["codigoGrupo"] = listed.CodigoGrupo
			}
		}
		res.CodigoOferta, _ = sc["codigoOferta"].(string)
		res.CodigoGrupo, _ = sc["codigoGrupo"].(string)
		match(res.CodigoOferta)
		if lv.Include != nil && listed == nil {
			ok, why, err := b.include(b.runner(lv.Include), sc)
			if err != nil {
				res.Err = err
				if asked(res.CodigoOferta) {
					failed = append(failed, res)
				}
				continue
			}
			if !ok {
				noteLeftOut(shortname)
				if asked(res.CodigoOferta) && (why != "" || check) {
					left = append(left, &leftOut{id: id, row: row, sc: sc, reason: why})
				}
				continue
			}
		}
		if !asked(res.CodigoOferta) {
			continue
		}
		out = append(out, &courseEntity{id: id, rawID: keyVal, sc: sc, res: res, listed: listed})
	}
	return out, failed, left, nil
}

// unselected checks the courses the selection left out with
// courses.unselected, reading its queries in large batches, and tells
// Options.OnUnselected of every course it reports, in the order of the
// course query.
func (b *builder) unselected(ctx context.Context, left []*leftOut) error {
	lv := b.plan.Levels[mapping.Course]
	tell := func(l *leftOut, reason string) {
		if b.opts.OnUnselected == nil || reason == "" {
			return
		}
		u := UnselectedCourse{CourseID: l.id, Shortname: strings.TrimSpace(fmt.Sprint(l.row["shortname"])), Reason: reason}
		if f, ok := l.row["fullname"].(string); ok {
			u.Fullname = strings.TrimSpace(f)
		}
		b.opts.OnUnselected(u)
	}
	for start := 0; start < len(left); start += unselectedBatch {
		batch := left[start:min(start+unselectedBatch, len(left))]
		var ids []int64
		for _, l := range batch {
			if l.reason != "" {
				continue
			}
			if n, err := strconv.ParseInt(l.id, 10, 64); err == nil {
				ids = append(ids, n)
			}
		}
		rows := map[*plan.Query]map[string][][]any{}
		cols := map[*plan.Query][]string{}
		if len(ids) > 0 {
			for _, q := range lv.Unselected {
				if q.Skipped {
					continue
				}
				g, c, err := b.queryVals(ctx, q, ids)
				if err != nil {
					return err
				}
				b.stats.UnselectedQueries++
				rows[q], cols[q] = g, c
			}
		}
		for _, l := range batch {
			if l.reason != "" {
				tell(l, l.reason)
				continue
			}
			b.stats.Unselected++
			l.sc[plan.NameStaticList] = len(lv.List) > 0
			for _, q := range lv.Unselected {
				got := rows[q][canon(l.id)]
				if q.Multiple {
					list := make([]any, len(got))
					for i, r := range got {
						list[i] = rowMap(cols[q], r)
					}
					l.sc[q.Name] = list
					continue
				}
				if len(got) > 0 {
					l.sc[q.Name] = rowMap(cols[q], got[0])
				} else {
					l.sc[q.Name] = b.emptyRow(q)
				}
			}
			v, err := lv.UnselectedProg.RunVM(&b.vm, l.sc)
			switch x := v.(type) {
			case nil:
				if err != nil {
					tell(l, "no se pudo revisar si parece un curso SENCE («courses.unselected»): "+err.Error())
				}
			case string:
				tell(l, x)
			case bool:
				if x {
					tell(l, "«courses.unselected» lo marca como un curso SENCE que no se informa")
				}
			default:
				tell(l, fmt.Sprintf("«courses.unselected» debe dar false o un texto con el motivo; dio %v", v))
			}
			l.sc = nil
		}
	}
	return nil
}

func labelOf(row map[string]any, id string) string {
	for _, k := range []string{"fullname", "shortname"} {
		if s, ok := row[k].(string); ok && s != "" {
			return s
		}
	}
	return "curso " + id
}

func (b *builder) baseScope() scope {
	return scope{plan.NameParams: b.plan.Params, plan.NameReportDate: b.rep}
}

// scopeSize counts the names a scope of lv holds: params, reportDate, the
// parents, the children, the columns, the query rows, vars and fields.
func scopeSize(lv *plan.Level) int {
	if lv == nil {
		return 8
	}
	return 3 + lv.Index + len(lv.Flat) + len(lv.Queries) + len(lv.Steps)
}

// sharesActivities reports whether a module's activities come out the
// same for every student: no activity query carries the student's key and
// no activity expression reads the student or the module (the module's
// values are the student's). Then they are built once per module of a
// course instead of once per student, which is most of the entities of a
// run.
func sharesActivities(pl *plan.Plan) bool {
	alv := pl.Levels[mapping.Activity]
	if alv == nil || alv.From == nil {
		return false
	}
	studentKey := pl.Levels[mapping.Student].Key
	for _, q := range alv.Queries {
		if slices.Contains(q.Keys, studentKey) {
			return false
		}
	}
	progs := []*plan.Step{}
	progs = append(progs, alv.Steps...)
	if alv.Include != nil {
		progs = append(progs, &plan.Step{Prog: alv.Include})
	}
	for _, s := range progs {
		for _, id := range s.Prog.Idents {
			if id == plan.ParentName[mapping.Student] || id == plan.ParentName[mapping.Module] {
				return false
			}
		}
	}
	return true
}

// index holds the rows of one batch, per query, grouped by key. The rows
// of the levels' From queries are maps: each becomes an entity's scope. The
// others keep their bare values and become maps only when attached to their
// entity, so that a batch's rows weigh about half as much, and the maps of
// a course go with the course.
type index struct {
	maps map[*plan.Query]map[string][]map[string]any
	vals map[*plan.Query]map[string][][]any
	cols map[*plan.Query][]string // the names of vals' columns
}

// extract runs every query of the levels below the course (and the other
// course queries) once for the batch.
func (b *builder) extract(ctx context.Context, batch []*courseEntity) (index, error) {
	b.stats.Batches++
	ids := make([]int64, 0, len(batch))
	for _, c := range batch {
		if n, err := strconv.ParseInt(c.id, 10, 64); err == nil {
			ids = append(ids, n)
		}
	}
	idx := index{maps: map[*plan.Query]map[string][]map[string]any{}, vals: map[*plan.Query]map[string][][]any{}, cols: map[*plan.Query][]string{}}
	for _, q := range b.plan.Queries {
		if q.Skipped || q.Level < 0 {
			continue
		}
		if q.Level == mapping.Course && q == b.plan.Levels[mapping.Course].From {
			continue
		}
		switch {
		case q.Sessions != nil:
			groups := map[string][][]any{}
			if err := b.sessions(ctx, q, batch, ids, groups); err != nil {
				return idx, err
			}
			idx.vals[q], idx.cols[q] = groups, q.Columns
		case q.IsFrom:
			rows, err := b.query(ctx, q, ids)
			if err != nil {
				return idx, err
			}
			// Entities are listed under their parent, in SQL order.
			keys := q.Keys[:max(len(q.Keys)-1, 0)]
			groups := map[string][]map[string]any{}
			for _, r := range rows {
				k := keyOf(r, keys)
				groups[k] = append(groups[k], r)
			}
			idx.maps[q] = groups
		default:
			groups, cols, err := b.queryVals(ctx, q, ids)
			if err != nil {
				return idx, err
			}
			idx.vals[q], idx.cols[q] = groups, cols
		}
	}
	return idx, nil
}

// queryVals runs a query whose rows are attached to entities and groups
// its rows' values by the query's keys.
func (b *builder) queryVals(ctx context.Context, q *plan.Query, ids []int64) (map[string][][]any, []string, error) {
	rows, err := b.open(ctx, q, ids)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	keyCols := make([]int, len(q.Keys))
	for i, k := range q.Keys {
		keyCols[i] = slices.Index(rows.Columns, k)
	}
	groups := map[string][][]any{}
	var sb strings.Builder
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, nil, &QueryError{q.Name, q.SQL.Pos, err}
		}
		b.stats.Rows++
		var k string
		if len(keyCols) == 1 {
			k = canonAt(vals, keyCols[0])
		} else {
			sb.Reset()
			for i, c := range keyCols {
				if i > 0 {
					sb.WriteByte(0x1f)
				}
				sb.WriteString(canonAt(vals, c))
			}
			k = sb.String()
		}
		groups[k] = append(groups[k], vals)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, &QueryError{q.Name, q.SQL.Pos, err}
	}
	return groups, rows.Columns, nil
}

// canonAt is canon of vals[i], or of nil when the column is missing.
func canonAt(vals []any, i int) string {
	if i < 0 {
		return ""
	}
	return canon(vals[i])
}

// rowMap makes a row of bare values a map, as expressions read rows.
func rowMap(cols []string, vals []any) map[string]any {
	m := make(map[string]any, len(cols))
	for i, c := range cols {
		m[c] = vals[i]
	}
	return m
}

// QueryError is a query that the database refused.
type QueryError struct {
	Query string
	Pos   mapping.Pos
	Err   error
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("%s:%d:%d: la consulta «%s» falló: %v", e.Pos.File, e.Pos.Line, e.Pos.Col, e.Query, e.Err)
}

func (e *QueryError) Unwrap() error { return e.Err }

func (b *builder) sqlArg(ids []int64) func(string) (any, bool) {
	return func(name string) (any, bool) {
		switch name {
		case "courseids":
			return ids, true
		case "reportStart":
			return b.repT0, true
		case "reportEnd":
			return b.repT1, true
		case "since":
			return b.since, true
		}
		v, ok := b.plan.Params[name]
		return v, ok
	}
}

func (b *builder) open(ctx context.Context, q *plan.Query, ids []int64) (*source.Rows, error) {
	text, args, err := source.Expand(q.SQL.Src, b.plan.Mapping.Source.Prefix, b.sqlArg(ids))
	if err != nil {
		return nil, &QueryError{q.Name, q.SQL.Pos, err}
	}
	b.stats.Queries++
	rows, err := b.db.Query(ctx, b.tx, text, args, q.Types)
	if err != nil {
		return nil, &QueryError{q.Name, q.SQL.Pos, err}
	}
	return rows, nil
}

func (b *builder) query(ctx context.Context, q *plan.Query, ids []int64) ([]map[string]any, error) {
	rows, err := b.open(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []map[string]any
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, &QueryError{q.Name, q.SQL.Pos, err}
		}
		r := make(map[string]any, len(vals))
		for i, c := range rows.Columns {
			r[c] = vals[i]
		}
		out = append(out, r)
		b.stats.Rows++
	}
	if err := rows.Err(); err != nil {
		return nil, &QueryError{q.Name, q.SQL.Pos, err}
	}
	return out, nil
}

// sessions streams an event query ordered by key and time, and applies the
// maximum-gap rule: a gap larger than Gap closes a session at the previous
// event; sessions not longer than MinLen are dropped. With a session store
// and a query that reads :since, each course resumes the sessions saved by
// the last run and reads only the events since its watermark; the totals
// are those of a full recomputation (engine/dedication).
func (b *builder) sessions(ctx context.Context, q *plan.Query, batch []*courseEntity, ids []int64, groups map[string][][]any) error {
	rule := dedication.Rule{Gap: q.Gap, MinLen: q.MinLen}
	store := b.opts.Sessions
	if !q.Incremental {
		store = nil
	}
	upto := b.repT1
	now := time.Now()
	if b.opts.Now != nil {
		now = b.opts.Now()
	}
	var fp string
	var saved map[string]dedication.Saved
	if store != nil {
		upto = min(now.Add(-SessionMargin).Unix(), b.repT1)
		fp = b.fingerprint(q)
		if !b.opts.RecomputeSessions {
			courseIDs := make([]string, len(batch))
			for i, c := range batch {
				courseIDs[i] = c.id
			}
			var err error
			if saved, err = store.LoadSessions(ctx, q.Name, fp, courseIDs); err != nil {
				return err
			}
		}
	}
	// One increment per course: from its watermark, or from the start when
	// nothing usable was saved (a report day before the watermark is
	// recomputed, and not saved, for the saved sessions are newer).
	incs := make(map[string]*dedication.Increment, len(batch))
	resumed := map[string]bool{}
	b.since = math.MaxInt64
	for _, c := range batch {
		sv, ok := saved[c.id]
		if ok && sv.Watermark <= b.repT1 {
			resumed[c.id] = true
		} else {
			sv = dedication.Saved{}
		}
		incs[c.id] = dedication.NewIncrement(rule, sv.States, sv.Watermark, upto)
		b.since = min(b.since, sv.Watermark)
	}
	if len(batch) == 0 {
		b.since = 0
	}
	if store != nil {
		b.stats.SessionsResumed += len(resumed)
		b.stats.SessionsFull += len(batch) - len(resumed)
	}

	rows, err := b.open(ctx, q, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	ti := slices.Index(rows.Columns, q.Sessions.Time)
	if ti < 0 {
		return &QueryError{q.Name, q.SQL.Pos, fmt.Errorf("no devuelve la columna «%s» de «sessions.time»", q.Sessions.Time)}
	}
	// The key columns, and the current key's values: a row with the same
	// values continues the key's stream without building its key text.
	keyCols := make([]int, 0, len(q.Keys))
	for i, c := range rows.Columns {
		if slices.Contains(q.Keys, c) {
			keyCols = append(keyCols, i)
		}
	}
	courseCol := slices.Index(rows.Columns, q.Keys[0])
	cur := make([]any, len(keyCols))
	var inc *dedication.Increment
	var st *dedication.Stream
	var curKey string
	var keyVals map[string]any
	started := false
	// A group's row: the key values in q.Keys order, then the totals, as
	// q.Columns names them.
	emit := func(k string, vals []any, t dedication.Totals) {
		groups[k] = [][]any{append(vals, t.Seconds, t.Sessions, t.Events, t.First, t.Last)}
	}
	flush := func() {
		if st == nil {
			return
		}
		vals := make([]any, 0, len(q.Keys)+len(plan.SessionColumns))
		for _, k := range q.Keys {
			vals = append(vals, keyVals[k])
		}
		emit(curKey, vals, st.Totals())
		st = nil
	}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return &QueryError{q.Name, q.SQL.Pos, err}
		}
		b.stats.Rows++
		t, ok := asInt(vals[ti])
		if !ok {
			continue
		}
		same := started
		for j, i := range keyCols {
			if same && vals[i] != cur[j] {
				same = false
			}
		}
		if !same {
			r := make(map[string]any, len(q.Keys))
			for _, i := range keyCols {
				r[rows.Columns[i]] = vals[i]
			}
			k := keyOf(r, q.Keys)
			if !started || k != curKey {
				flush()
				if _, seen := groups[k]; seen {
					return &QueryError{q.Name, q.SQL.Pos, fmt.Errorf("las filas deben venir ordenadas por %s y luego por %s (ORDER BY)", strings.Join(q.Keys, ", "), q.Sessions.Time)}
				}
				curKey, keyVals, started = k, r, true
				if inc = incs[canonAt(vals, courseCol)]; inc != nil {
					st = inc.Key(k)
				}
			}
			for j, i := range keyCols {
				cur[j] = vals[i]
			}
		}
		// Events of a course outside the batch are ignored, and those
		// before a course's watermark were folded in by an earlier run.
		if st == nil || t < inc.Since {
			continue
		}
		if err := st.Add(t); err != nil {
			return &QueryError{q.Name, q.SQL.Pos, err}
		}
	}
	flush()
	if err := rows.Err(); err != nil {
		return &QueryError{q.Name, q.SQL.Pos, err}
	}
	// The keys with saved sessions and no new event.
	for _, inc := range incs {
		inc.Untouched(func(k string, t dedication.Totals) {
			emit(k, keyValues(k, len(q.Keys)), t)
		})
	}
	if store == nil {
		return nil
	}
	var updates []dedication.Update
	for _, c := range batch {
		inc := incs[c.id]
		if sv, ok := saved[c.id]; ok && !resumed[c.id] && sv.Watermark > inc.Upto {
			continue // never move a watermark back
		}
		u := dedication.Update{Course: c.id, Watermark: inc.Upto, Replace: !resumed[c.id], States: inc.Next()}
		if !u.Replace {
			u.States = inc.Changed()
		}
		updates = append(updates, u)
	}
	return store.SaveSessions(ctx, q.Name, fp, now, updates)
}

// fingerprint identifies what a sessions query's saved sessions depend
// on: the database, the SQL, the rule and the parameters the SQL reads.
// Sessions saved under another fingerprint are recomputed.
func (b *builder) fingerprint(q *plan.Query) string {
	src := b.plan.Mapping.Source
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%d\x00%d", src.Driver, source.Redact(src.Driver, src.DSN), src.Prefix, q.SQL.Src, q.Gap, q.MinLen)
	for _, r := range source.Params(q.SQL.Src) {
		if v, ok := b.plan.Params[r.Name]; ok {
			fmt.Fprintf(h, "\x00%s=%v", r.Name, v)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:20]
}

// keyValues are the key columns' values of a key text (see keyOf), as a
// row of the database would hold them: integers as int64.
func keyValues(k string, n int) []any {
	parts := []string{k}
	if n > 1 {
		parts = strings.Split(k, "\x1f")
	}
	out := make([]any, 0, n+len(plan.SessionColumns))
	for _, p := range parts {
		if v, err := strconv.ParseInt(p, 10, 64); err == nil {
			out = append(out, v)
		} else {
			out = append(out, p)
		}
	}
	return out
}

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case float64:
		return int64(x), true
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// canon is the text of a key value, equal across drivers.
func canon(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		if x == math.Trunc(x) {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func keyOf(r map[string]any, keys []string) string {
	if len(keys) == 1 {
		return canon(r[keys[0]])
	}
	var sb strings.Builder
	for i, k := range keys {
		if i > 0 {
			sb.WriteByte(0x1f)
		}
		sb.WriteString(canon(r[k]))
	}
	return sb.String()
}

// entity identity: key column → canonical value.
type ids map[string]string

func (b *builder) keyFor(q *plan.Query, id ids) string {
	if len(q.Keys) == 1 {
		return id[q.Keys[0]]
	}
	var sb strings.Builder
	for i, k := range q.Keys {
		if i > 0 {
			sb.WriteByte(0x1f)
		}
		sb.WriteString(id[k])
	}
	return sb.String()
}

// attach puts the rows of the level's queries (other than From) for the
// entity into its scope.
func (b *builder) attach(lv *plan.Level, sc scope, id ids, idx index) error {
	for _, q := range lv.Queries {
		if q == lv.From {
			continue
		}
		var rows [][]any
		if !q.Skipped {
			rows = idx.vals[q][b.keyFor(q, id)]
		}
		cols := idx.cols[q]
		if q.Multiple {
			list := make([]any, len(rows))
			for i, r := range rows {
				list[i] = rowMap(cols, r)
			}
			sc[q.Name] = list
			continue
		}
		if len(rows) > 1 {
			return fmt.Errorf("la consulta «%s» devolvió %d filas para un mismo %s (%s); debe devolver una, o declarar «multiple: true»", q.Name, len(rows), mapping.LevelWords[lv.Index], describeIDs(q.Keys, id))
		}
		var row map[string]any
		if len(rows) == 1 {
			row = rowMap(cols, rows[0])
		} else {
			row = b.emptyRow(q)
		}
		sc[q.Name] = row
		for _, c := range q.Columns {
			if lv.Flat[c] == q {
				sc[c] = row[c]
			}
		}
	}
	return nil
}

// emptyRow is q's row of nil values, shared by the entities q has no row
// for.
func (b *builder) emptyRow(q *plan.Query) map[string]any {
	row, ok := b.emptyRows[q]
	if !ok {
		row = make(map[string]any, len(q.Columns))
		for _, c := range q.Columns {
			row[c] = nil
		}
		b.emptyRows[q] = row
	}
	return row
}

func describeIDs(keys []string, id ids) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + id[k]
	}
	return strings.Join(parts, ", ")
}

// evalSteps runs the steps in order. A failed step does not stop the
// others: every independent problem of an entity is reported at once;
// steps that read a failed one are skipped, as their failure would only
// repeat it.
func (b *builder) evalSteps(steps []*plan.Step, sc scope) error {
	var errs StepErrors
	var failed map[string]bool
	for _, s := range steps {
		if failed != nil && readsAny(s, failed) {
			failed[s.Name] = true
			continue
		}
		v, err := s.Prog.RunVM(&b.vm, sc)
		if err != nil {
			errs = append(errs, &StepError{Step: s, Err: err})
			if failed == nil {
				failed = map[string]bool{}
			}
			failed[s.Name] = true
			continue
		}
		sc[s.Name] = v
	}
	if len(errs) == 0 {
		return nil
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errs
}

func readsAny(s *plan.Step, names map[string]bool) bool {
	for _, id := range s.Prog.Idents {
		if names[id] {
			return true
		}
	}
	return false
}

// StepErrors are several independent failures of one entity.
type StepErrors []*StepError

func (e StepErrors) Error() string {
	parts := make([]string, len(e))
	for i, x := range e {
		parts[i] = x.Error()
	}
	return strings.Join(parts, "; ")
}

// StepError is an expression that failed for one entity.
type StepError struct {
	Step *plan.Step
	Err  error
}

func (e *StepError) Error() string { return e.Step.Name + ": " + e.Err.Error() }

func (e *StepError) Unwrap() error { return e.Err }

// runner runs p on the builder's VM.
func (b *builder) runner(p *eval.Program) func(map[string]any) (any, error) {
	return func(env map[string]any) (any, error) { return p.RunVM(&b.vm, env) }
}

// include evaluates an include rule: true keeps the entity; false leaves it
// out silently; a text leaves it out with that text as the reason.
func (b *builder) include(run func(map[string]any) (any, error), sc scope) (bool, string, error) {
	v, err := run(sc)
	if err != nil {
		return false, "", &StepError{Step: &plan.Step{Name: "include"}, Err: err}
	}
	switch x := v.(type) {
	case bool:
		return x, "", nil
	case string:
		return x == "", x, nil
	case nil:
		return false, "", nil
	}
	return false, "", &StepError{Step: &plan.Step{Name: "include"}, Err: fmt.Errorf("debe dar true, false o un texto con el motivo; dio %v", v)}
}

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

// fromRows returns the From rows of a level under one parent key, in the
// order the query returned them.
func (idx index) fromRows(q *plan.Query, parentKey string) []map[string]any {
	return idx.maps[q][parentKey]
}

// under is fromRows for a parent given by its key prefix.
func (idx index) under(q *plan.Query, prefix string) []map[string]any {
	return idx.maps[q][prefix]
}

func (b *builder) newScope(lv *plan.Level, row map[string]any, parents []scope) scope {
	sc := make(scope, b.scopeSize[lv.Index])
	sc[plan.NameParams], sc[plan.NameReportDate] = b.plan.Params, b.rep
	for i, p := range parents {
		sc[plan.ParentName[i]] = p
	}
	for _, col := range lv.From.Columns {
		if lv.Flat[col] == lv.From {
			sc[col] = row[col]
		}
	}
	sc[lv.From.Name] = row
	return sc
}

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
	sc := b.newScope(lv, row, []scope{c.sc})
	id := ids{b.plan.Levels[0].Key: c.id, lv.Key: canon(row[lv.Key])}
	who := func() *Exclusion {
		e := &Exclusion{UserID: id[lv.Key]}
		if s, ok := sc["label"].(string); ok {
			e.Label = s
		}
		if n, ok := sc["rutAlumno"]; ok && n != nil {
			e.RUT = fmt.Sprintf("%v-%v", n, sc["dvAlumno"])
		} else if s, ok := sc["rut"].(string); ok {
			e.RUT = s
		}
		return e
	}
	failed := map[string]bool{}
	var problems []string
	fail := func(err error) {
		problems = append(problems, reasons(err)...)
		for _, n := range failedSteps(err) {
			failed[n] = true
		}
		// The steps skipped because they read a failed one have no value
		// either.
		for _, st := range lv.Steps {
			if !failed[st.Name] && readsAny(st, failed) {
				failed[st.Name] = true
			}
		}
	}
	// excluded ends with every problem found, and the split value when
	// it can be told without the failed values.
	excluded := func() studentOut {
		part, known, err := b.split(sc, failed)
		if err != nil {
			problems = append(problems, reason(err))
		}
		e := who()
		e.Reasons = problems
		return studentOut{excl: e, part: part, known: known}
	}
	leftOut := func(why string) studentOut {
		part, known, _ := b.split(sc, failed)
		n := b.note(lv, who(), why)
		return studentOut{note: n, part: part, known: known}
	}
	if err := b.attach(lv, sc, id, idx); err != nil {
		fail(err)
		return excluded()
	}
	if err := b.evalSteps(lv.Early, sc); err != nil {
		fail(err)
	}
	// A student the include rule leaves out is not reported for data that
	// is not sent, so the rule is read even when a value failed: what it
	// reads of a failed value is nil, and an error it gives then only
	// repeats the failure.
	if lv.Include != nil && !lv.IncludeLate {
		ok, why, err := b.include(b.runner(lv.Include), sc)
		switch {
		case err != nil:
			if !readsAny(&plan.Step{Prog: lv.Include}, failed) {
				fail(err)
			}
		case !ok && (len(problems) == 0 || !readsAny(&plan.Step{Prog: lv.Include}, failed)):
			return leftOut(why)
		}
	}
	if len(problems) > 0 {
		return excluded()
	}
	mods, modList, err := b.modules(c, sc, id, idx)
	if err != nil {
		fail(err)
		return excluded()
	}
	sc[plan.ChildList[mapping.Student]] = mods
	if err := b.evalSteps(lv.Late, sc); err != nil {
		fail(err)
		return excluded()
	}
	if lv.Include != nil && lv.IncludeLate {
		ok, why, err := b.include(b.runner(lv.Include), sc)
		if err != nil {
			fail(err)
			return excluded()
		}
		if !ok {
			return leftOut(why)
		}
	}
	al := &payload.Alumno{}
	if err := convertStudent(sc, al); err != nil {
		fail(err)
		return excluded()
	}
	al.ListaModulos = modList
	part, known, err := b.split(sc, failed)
	if err != nil {
		problems = append(problems, reason(err))
		e := who()
		e.Reasons = problems
		return studentOut{excl: e, part: part, known: known}
	}
	var warns []Note
	if ws := b.warnings(lv, sc); len(ws) > 0 {
		w := b.note(lv, who(), "").Who
		for _, msg := range ws {
			warns = append(warns, Note{Level: mapping.Student, Who: w, Msg: msg, Warning: true})
		}
	}
	return studentOut{sc: sc, al: al, who: *who(), part: part, known: known, warns: warns}
}

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
	w := e.RUT
	if e.Label != "" {
		w = strings.TrimSpace(e.Label + " " + e.RUT)
	}
	return &Note{Level: lv.Index, Who: w, Msg: why, RUT: e.RUT, UserID: e.UserID}
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

// reason is an error as a coordinator reads it: a SENCE field's name
// tells where the problem shows; a var's name would only be jargon.
func reason(err error) string {
	if errs, ok := err.(StepErrors); ok {
		return strings.Join(reasons(errs), "; ")
	}
	var se *StepError
	if errors.As(err, &se) {
		if se.Step.IsField {
			return se.Step.Name + ": " + se.Err.Error()
		}
		return se.Err.Error()
	}
	return err.Error()
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

// warnings evaluates a level's warnings for an included entity. A warning
// that cannot be evaluated is reported as such: it never leaves the entity
// out, and never goes silent.
func (b *builder) warnings(lv *plan.Level, sc scope) []string {
	var out []string
	for _, w := range lv.Warnings {
		v, err := w.Prog.RunVM(&b.vm, sc)
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

// parentPrefix is the key prefix under which q's rows of one parent lie:
// the parent identity restricted to the keys q carries.
func (b *builder) parentPrefix(q *plan.Query, parent ids) string {
	var parts []string
	for _, k := range q.Keys {
		v, ok := parent[k]
		if !ok {
			break
		}
		parts = append(parts, v)
	}
	return strings.Join(parts, "\x1f")
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
			msg = p.Path + ": " + msg
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
