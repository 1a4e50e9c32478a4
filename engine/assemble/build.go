// Package assemble runs a Plan against a Moodle database: it reads the
// rows of each batch of courses set-based, assembles course → student →
// module → activity, evaluates children before parents, converts to SENCE
// payloads and validates them, and hands each course to its caller as it
// is built, in order.
package assemble

import (
	"context"
	"database/sql"
	"github.com/otec-tools/sence-engine/engine/voice"
	"runtime"
	"sync"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/dedication"
	"github.com/otec-tools/sence-engine/engine/eval"
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
	// Trace, when set, is told of every expression evaluated and every
	// query run (engine explain); the activities are then built per
	// student, so that each is traced under its own. Nil costs nothing.
	Trace Tracer
	// OnSelected is told, once the course query is read and before any
	// course is built or yielded, which courses the build will yield; an
	// error from it ends the build with nothing yielded (a --course that
	// names nothing). Nil ignores it.
	OnSelected func(Selection) error
	// OnBatch is told when a batch of courses starts to be read: its
	// number (from 1), the number of batches, the courses before it and
	// the courses of the build. Nil ignores it.
	OnBatch func(batch, batches, before, courses int)
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
	UserID string
	RUT    string
	// RUTText is what Moodle holds instead of a valid RUT, when RUT is
	// empty and the mapping read one ("" when there is none).
	RUTText string
	Label   string
	Reasons []string
}

// Who names the student as every output does (voice.Student).
func (e Exclusion) Who() string { return voice.Student(e.Label, e.RUT, e.RUTText, e.UserID) }

// Note is something left out that is not an error (a module without
// mandatory activities, a student who starts after the report date), or,
// with Warning, something sent that a coordinator should look at (a
// module without a synchronous class).
type Note struct {
	// Level is the level of what is left out: 0 course, 1 student, 2
	// module, 3 activity.
	Level   int    `json:"nivel"`
	Who     string `json:"sobre,omitempty"`
	Msg     string `json:"mensaje"`
	Warning bool   `json:"aviso,omitempty"`
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
	if opts.Trace != nil {
		b.tr, b.sharedActs = opts.Trace, false
		b.progLevel = progLevels(pl)
	}
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
	// tr is Options.Trace; progLevel the level of each expression, for it.
	tr        Tracer
	progLevel map[*eval.Program]int
}

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
	batches := (len(courses) + size - 1) / size
	for start := 0; start < len(courses); start += size {
		batch := courses[start:min(start+size, len(courses))]
		if b.opts.OnBatch != nil {
			b.opts.OnBatch(start/size+1, batches, start, len(courses))
		}
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
		scopeSize: b.scopeSize, sharedActs: b.sharedActs, emptyRows: map[*plan.Query]map[string]any{},
		tr: b.tr, progLevel: b.progLevel}
}
