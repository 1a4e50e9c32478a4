package pipeline

import (
	"context"
	"errors"
	"fmt"
	"github.com/otec-tools/sence-engine/engine/voice"
	"slices"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/sence/schema"
	"github.com/otec-tools/sence-engine/engine/source"
	"github.com/otec-tools/sence-engine/engine/spill"
)

// BuildOptions are the options of a build, shared by export, send, run,
// doctor and the benchmark harness.
type BuildOptions struct {
	// ReportDate is the day the progress refers to (00:00 in Santiago).
	ReportDate time.Time
	// Courses keeps only these courses (codigoOferta, short name or id);
	// one that names nothing ends the build before any course is built
	// (Usage).
	Courses []string
	// Token is set in every payload: payload.RedactedToken unless export
	// --include-token.
	Token string
	// Sessions keeps the dedication sessions between runs (engine run
	// passes its ledger); Recompute ignores what it saved.
	Sessions  assemble.SessionStore
	Recompute bool
	// Now is when the build reads Moodle's log.
	Now func() time.Time
	// Workers and BatchSize override the defaults (the benchmarks).
	Workers, BatchSize int
	// Validate checks a payload; nil is SENCE's schema and rules
	// (schema.Validator.Check). The benchmark's reference validator
	// replaces it.
	Validate func(*payload.Course) ([]schema.Problem, error)
	// Trace is told of every expression evaluated and query run (engine
	// explain); nil costs nothing.
	Trace assemble.Tracer
	// Progress is told how far the build is: when a batch starts to be
	// read and as each course is built. Nil ignores it.
	Progress func(BuildProgress)

	// spill takes the Summary's students sent, course by course (export
	// --out). Without it none are kept: only resumen.json reads them.
	spill *spill.File
}

// Built is what a build leaves once its courses are handed on: the
// summary of every course (never the payloads), the courses the selection
// left out that the mapping reports, and the build's counts.
type Built struct {
	Plan    *plan.Plan
	Summary *Summary
	Stats   assemble.Stats
	// Selected counts the courses the build yielded.
	Selected int
}

// WhyNothing explains a build that gave no payload (assemble.WhyNothing).
func (b *Built) WhyNothing() string {
	return assemble.WhyNothing(b.Plan, b.Stats, b.Selected, len(b.Summary.Unselected) > 0)
}

// Build reads the database and builds every selected course, validating
// each payload, and hands each course to sink as it is built, in order:
// memory holds a batch's rows and a few courses, whatever the number of
// courses. The token is set in the payloads. A sink error ends the build.
func Build(ctx context.Context, db *source.DB, pl *plan.Plan, o BuildOptions, sink func(*assemble.CourseResult) error) (*Built, error) {
	m := pl.Mapping
	check := o.Validate
	if check == nil {
		v, err := schema.New()
		if err != nil {
			return nil, fail(Failed, err)
		}
		check = v.Check
	}
	b := &Built{Plan: pl, Summary: NewSummary(chile.Date(o.ReportDate))}
	b.Summary.spill, b.Summary.dropSent = o.spill, o.spill == nil
	track := newBuildTracker(o.Now, o.Progress)
	sends := sendKeys{}
	stats, err := assemble.Build(ctx, db, pl, assemble.Options{
		ReportDate:        o.ReportDate,
		Courses:           o.Courses,
		Check:             checker(check, m.Sence.RutOtec, o.Token),
		Sessions:          o.Sessions,
		RecomputeSessions: o.Recompute,
		Now:               o.Now,
		Workers:           o.Workers,
		BatchSize:         o.BatchSize,
		Trace:             o.Trace,
		OnBatch:           track.batch,
		OnUnselected:      func(u assemble.UnselectedCourse) { b.Summary.Unselected = append(b.Summary.Unselected, u) },
		OnSelected: func(sel assemble.Selection) error {
			if msg := unknownCourses(pl, sel, b.Summary.Unselected, o.Courses); msg != "" {
				return fail(Usage, errors.New(msg))
			}
			return nil
		},
	}, func(r *assemble.CourseResult) error {
		if r.Payload != nil {
			r.Payload.RutOtec, r.Payload.Token = m.Sence.RutOtec, o.Token
			sends.check(r)
		}
		b.Selected++
		b.Summary.Add(r)
		track.course(r.CourseID)
		return sink(r)
	})
	b.Stats = stats
	if err != nil {
		var f *Failure
		if errors.As(err, &f) {
			return b, err
		}
		return b, fail(Failed, buildError(err, m.File))
	}
	return b, nil
}

// buildError is a failed build's error, with where to look when the cause
// is usually the configuration.
func buildError(err error, file string) error {
	var qe *source.QueryError
	if errors.As(err, &qe) && (qe.Kind == source.MissingTable || qe.Kind == source.Denied) {
		return fmt.Errorf("%w\nla causa suele estar en la configuración (source.prefix, los permisos del usuario de la base, un plugin que falta): «engine validate --db %s» la dice, con qué hacer", err, file)
	}
	return err
}

// checker validates a payload with its authentication filled in.
func checker(check func(*payload.Course) ([]schema.Problem, error), rutOtec, token string) func(*payload.Course) []assemble.Problem {
	return func(c *payload.Course) []assemble.Problem {
		c.RutOtec, c.Token = rutOtec, token
		ps, err := check(c)
		if err != nil {
			return []assemble.Problem{{Student: -1, Msg: err.Error()}}
		}
		return ps
	}
}

// unknownCourses says which --course values name nothing the build
// selected: no Moodle course has that id, short name or codigoOferta, or
// the course exists but the selection leaves it out and it does not look
// like a SENCE course. "" when every value names a course selected or
// reported.
func unknownCourses(pl *plan.Plan, sel assemble.Selection, unselected []assemble.UnselectedCourse, asked []string) string {
	var lines []string
	for _, c := range asked {
		if slices.ContainsFunc(sel.Courses, func(r assemble.SelectedCourse) bool {
			return r.CodigoOferta == c || r.CourseID == c
		}) || slices.ContainsFunc(unselected, func(u assemble.UnselectedCourse) bool {
			return u.Shortname == c || u.CourseID == c
		}) {
			continue
		}
		if slices.Contains(sel.Matched, c) {
			lines = append(lines, fmt.Sprintf("--course %s: el curso existe en Moodle, pero no es un curso SENCE del mapeo: no %s", c, assemble.SelectionRule(pl)))
			continue
		}
		lines = append(lines, fmt.Sprintf("--course %s: ningún curso de Moodle tiene ese codigoOferta, nombre corto o id", c))
	}
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\nno se hizo nada: corrija --course (engine export MAPEO.yaml muestra los cursos SENCE y los que parecen serlo)"
}

// sendKeys are the SENCE course and section (codigoOferta,
// payload.Section) each course built so far is sent as, and the Moodle
// course that gave it.
type sendKeys map[[2]string]builtFrom

type builtFrom struct{ id, label string }

// check fails a course whose codigoOferta and codigoGrupo an earlier
// course of the build already has: SENCE would get two different lists
// of the same course and section in one night (and the export two
// courses for one file). Moodle's short names are unique, so only a
// mapping that takes the codes from elsewhere (a custom field, the
// idnumber, courses.list) can give two courses the same.
func (k sendKeys) check(r *assemble.CourseResult) {
	oferta, grupo := r.Payload.CodigoOferta, r.Payload.CodigoGrupo
	key := [2]string{oferta, payload.Section(oferta, grupo)}
	prev, seen := k[key]
	if !seen {
		k[key] = builtFrom{id: r.CourseID, label: r.Label}
		return
	}
	r.Err = fmt.Errorf("da el mismo %s que el curso de Moodle «%s» (id %s), ya construido: SENCE recibiría dos listas distintas del mismo curso y sección en la misma noche. No se envía; corrija el código de uno de los dos en Moodle o en el mapeo (courses.fields, courses.list)",
		voice.Codes(oferta, grupo), prev.label, prev.id)
	r.Payload, r.Sent = nil, nil
}
