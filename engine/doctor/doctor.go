// Package doctor says whether a Moodle site is ready to report to SENCE,
// as SENCE's set-up guide lists it, course by course, before a night is
// lost: it runs the mapping's queries as validate --db does, builds every
// course as export does (the same plan, queries and rules: what the build
// excludes, leaves out or warns about is what it reports), and reads with
// a few set-based queries of its own what the build does not: the site's
// time zone and completion setting, each course's completion setting and
// grade categories. It only reads. It also holds the database check of
// validate --db (CheckDatabase) and the Moodle settings SENCE depends on
// (CheckDedicationBlock).
package doctor

import (
	"context"
	"fmt"
	"github.com/otec-tools/sence-engine/engine/voice"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/fn"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/source"
)

// Options of a check.
type Options struct {
	// ReportDate is the day the build reports, as export's --date.
	ReportDate time.Time
	// Check validates a payload as export does (nil: no validation).
	Check func(*payload.Course) []assemble.Problem
	Now   func() time.Time
	// OnBatch (assemble.Options.OnBatch) and OnCourse are told how far
	// the courses' build is; nil ignores them.
	OnBatch  func(batch, batches, before, courses int)
	OnCourse func(courseID string)
}

// Item is one check: passed (OK) or a finding, said in Spanish with what
// to do.
type Item struct {
	OK   bool   `json:"ok"`
	Text string `json:"texto"`
}

// Course is what the check found of one selected course.
type Course struct {
	CourseID     string `json:"idMoodle"`
	CodigoOferta string `json:"codigoOferta"`
	Name         string `json:"nombre,omitempty"`
	Items        []Item `json:"revisiones"`
	// Later counts the students the build leaves out for now for a reason
	// that is no set-up problem (their enrolment starts later, they left).
	Later int `json:"alumnosMasAdelante,omitempty"`
}

// Report is the whole check.
type Report struct {
	ReportDate string    `json:"fechaReporte"`
	Site       []Item    `json:"sitio"`
	Courses    []*Course `json:"cursos"`
	// Checked is false when the courses could not be built (the database
	// refused the mapping's queries): only the site's items count then.
	Checked bool `json:"cursosRevisados"`
}

// Findings counts the items that did not pass.
func (r *Report) Findings() int {
	n := 0
	for _, it := range r.Site {
		if !it.OK {
			n++
		}
	}
	for _, c := range r.Courses {
		for _, it := range c.Items {
			if !it.OK {
				n++
			}
		}
	}
	return n
}

// Ready reports whether the site passed every check.
func (r *Report) Ready() bool { return r.Checked && r.Findings() == 0 }

func (r *Report) ok(format string, args ...any) {
	r.Site = append(r.Site, Item{OK: true, Text: fmt.Sprintf(format, args...)})
}

func (r *Report) finding(format string, args ...any) {
	r.Site = append(r.Site, Item{Text: fmt.Sprintf(format, args...)})
}

func (c *Course) ok(format string, args ...any) {
	c.Items = append(c.Items, Item{OK: true, Text: fmt.Sprintf(format, args...)})
}

func (c *Course) finding(format string, args ...any) {
	c.Items = append(c.Items, Item{Text: fmt.Sprintf(format, args...)})
}

// Run checks the site. An error means the check could not finish (the
// context ended, the database stopped answering); what the site lacks is
// in the report.
func Run(ctx context.Context, db *source.DB, pl *plan.Plan, opts Options) (*Report, error) {
	d := opts.ReportDate
	if d.IsZero() {
		now := time.Now
		if opts.Now != nil {
			now = opts.Now
		}
		d = now()
	}
	rep := &Report{ReportDate: d.In(chile.Location).Format("2006-01-02"), Courses: []*Course{}}
	m := pl.Mapping

	// The mapping's queries against this database, as validate --db.
	ds := CheckDatabase(ctx, db, pl)
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	for _, x := range ds.Sorted() {
		rep.finding("%s (%s)", x.Msg, where(x))
	}
	if ds.HasErrors() {
		return rep, nil
	}
	n := 0
	for _, q := range pl.Queries {
		if q.Level >= 0 && !q.SQL.IsZero() && !q.Skipped {
			n++
		}
	}
	rep.ok("base de datos: las %d consultas del mapeo corren en %s con el prefijo de tablas «%s», como las ejecuta engine export", n, m.Source.Driver, m.Source.Prefix)
	if len(ds) == 0 { // a warning is the dedication block's limit
		switch {
		case ReadsDedicationBlock(pl):
			rep.ok("bloque «Dedicación al curso»: instalado, y corta las sesiones tras 45 minutos sin clics, como pide SENCE")
		case pl.Params["dedicationSource"] == "log":
			rep.ok("tiempo de conexión: se calcula del registro de eventos de Moodle con la regla de SENCE (params.dedicationSource: log, brecha máxima de %v segundos), sin el bloque «Dedicación al curso»", pl.Params["maxGap"])
		}
	}
	c := &checker{db: db, plan: pl, rep: rep}
	c.site(ctx)

	// Every course, built as export builds it.
	var unselected []assemble.UnselectedCourse
	stats, err := assemble.Build(ctx, db, pl, assemble.Options{
		ReportDate:   d,
		Check:        opts.Check,
		Now:          opts.Now,
		OnUnselected: func(u assemble.UnselectedCourse) { unselected = append(unselected, u) },
		OnBatch:      opts.OnBatch,
	}, func(r *assemble.CourseResult) error {
		if opts.OnCourse != nil {
			opts.OnCourse(r.CourseID)
		}
		return c.add(r)
	})
	if err != nil {
		return rep, err
	}
	rep.Checked = true
	if len(c.order) == 0 {
		rep.finding("%s", assemble.WhyNothing(pl, stats, 0, false))
	} else {
		verb := "quedaron seleccionados"
		if len(c.order) == 1 {
			verb = "quedó seleccionado"
		}
		rep.ok("%d de los %d cursos de Moodle %s como cursos SENCE: un curso lo es si %s", len(c.order), stats.CoursesSeen, verb, assemble.SelectionRule(pl))
	}
	for _, u := range unselected {
		who := "«" + u.Shortname + "»"
		if u.Fullname != "" && u.Fullname != u.Shortname {
			who += " (" + u.Fullname + ")"
		}
		rep.finding("curso %s, id %s: %s", who, u.CourseID, u.Reason)
	}
	if err := c.courses(ctx); err != nil {
		return rep, err
	}
	return rep, nil
}

// where is a diagnostic's place in the mapping, as validate prints it.
func where(d diag.Diagnostic) string {
	s := d.File
	if d.Line > 0 {
		s += ":" + strconv.Itoa(d.Line)
		if d.Col > 0 {
			s += ":" + strconv.Itoa(d.Col)
		}
	}
	return s
}

// checker gathers what the build said of each course, then reads what it
// does not say.
type checker struct {
	db    *source.DB
	plan  *plan.Plan
	rep   *Report
	order []string // course ids in build order
	byID  map[string]*built
}

// built is what the build said of a course, over all its payloads (one
// per section with courses.split), kept small: not the payloads.
type built struct {
	course   *Course
	err      string
	modules  []string        // codes of the modules sent, in order
	noSync   map[string]bool // modules sent without a synchronous class
	students int
	excluded []assemble.Exclusion
	notes    []string
	later    int
	sendable bool
}

func (c *checker) add(r *assemble.CourseResult) error {
	if c.byID == nil {
		c.byID = map[string]*built{}
	}
	b := c.byID[r.CourseID]
	if b == nil {
		b = &built{course: &Course{CourseID: r.CourseID, CodigoOferta: r.CodigoOferta, Name: r.Label}, noSync: map[string]bool{}}
		c.byID[r.CourseID] = b
		c.order = append(c.order, r.CourseID)
	}
	if r.Err != nil && b.err == "" {
		b.err = r.Err.Error()
	}
	if p := r.Payload; p != nil {
		b.sendable = true
		b.students += len(p.ListaAlumnos)
		for _, a := range p.ListaAlumnos {
			for _, mod := range a.ListaModulos {
				if !slices.Contains(b.modules, mod.CodigoModulo) {
					b.modules = append(b.modules, mod.CodigoModulo)
				}
				if mod.CantActividadSincronica == nil || *mod.CantActividadSincronica == 0 {
					b.noSync[mod.CodigoModulo] = true
				}
			}
		}
	}
	b.excluded = append(b.excluded, r.Excluded...)
	for _, n := range r.Notes {
		if n.Level == mapping.Student && !n.Warning {
			b.later++
			continue
		}
		text := n.Msg
		if n.Who != "" {
			text = n.Who + ": " + n.Msg
		}
		if !slices.Contains(b.notes, text) {
			b.notes = append(b.notes, text)
		}
	}
	return nil
}

// site reads the site's configuration: the time zone Moodle's dates are
// entered in, and whether completion tracking is enabled.
func (c *checker) site(ctx context.Context) {
	rows, err := c.read(ctx, "SELECT c.name AS name, c.value AS value FROM {config} c WHERE c.name IN ('timezone', 'enablecompletion')", nil)
	if err != nil {
		c.rep.finding("no se pudo leer la configuración del sitio (tabla «%sconfig»): %v; revise a mano la zona horaria (America/Santiago) y que la finalización de actividades esté habilitada", c.plan.Mapping.Source.Prefix, err)
		return
	}
	cfg := map[string]string{}
	for _, r := range rows {
		cfg[fmt.Sprint(r[0])] = strings.TrimSpace(fmt.Sprint(r[1]))
	}
	const where = "Administración del sitio > General > Ubicación > Configuración de ubicación, «Zona horaria por defecto»"
	switch tz, ok := cfg["timezone"]; {
	case ok && (tz == "America/Santiago" || tz == "Chile/Continental"):
		c.rep.ok("zona horaria de Moodle: %s, la de Chile continental, en la que el motor lee las fechas de Moodle", tz)
	case !ok || tz == "99" || tz == "":
		c.rep.finding("zona horaria de Moodle: la del servidor (timezone = 99), que la base de datos no dice: el motor lee las fechas de Moodle (inicio y fin de cursos y matrículas) en hora de Chile continental (America/Santiago), y si el servidor tiene otra zona, una fecha puesta a medianoche puede informarse como del día anterior o del siguiente. Fíjela en %s: America/Santiago", where)
	default:
		c.rep.finding("zona horaria de Moodle: %s, pero el motor lee las fechas de Moodle (inicio y fin de cursos y matrículas) en hora de Chile continental (America/Santiago): una fecha puesta a medianoche en %s puede informarse como del día anterior o del siguiente. Use America/Santiago en %s", tz, tz, where)
	}
	switch v := cfg["enablecompletion"]; v {
	case "1":
		c.rep.ok("finalización de actividades habilitada en el sitio")
	default:
		c.rep.finding("la finalización de actividades no está habilitada en el sitio (enablecompletion = %q): sin ella Moodle no registra qué completa cada alumno y el avance que se informa es 0. Habilítela en Administración del sitio > Funcionalidades avanzadas, «Habilitar el seguimiento de la finalización»", v)
	}
}

// courses writes each course's items: what the build said, and each
// course's completion setting and its modules' grade categories, read in
// batches.
func (c *checker) courses(ctx context.Context) error {
	completion := map[string]string{}
	categories := map[string][]string{}
	var failed []string
	const batch = 500
	for start := 0; start < len(c.order); start += batch {
		var ids []int64
		for _, id := range c.order[start:min(start+batch, len(c.order))] {
			if n, err := strconv.ParseInt(id, 10, 64); err == nil {
				ids = append(ids, n)
			}
		}
		rows, err := c.read(ctx, "SELECT c.id AS courseid, c.enablecompletion AS enablecompletion FROM {course} c WHERE c.id IN (:courseids)", ids)
		if err != nil {
			failed = append(failed, fmt.Sprintf("la finalización de cada curso ({course}: %v)", err))
		}
		for _, r := range rows {
			completion[fmt.Sprint(r[0])] = fmt.Sprint(r[1])
		}
		rows, err = c.read(ctx, "SELECT gc.courseid AS courseid, gc.fullname AS fullname FROM {grade_categories} gc WHERE gc.courseid IN (:courseids) AND gc.parent IS NOT NULL ORDER BY gc.courseid, gc.id", ids)
		if err != nil {
			failed = append(failed, fmt.Sprintf("las categorías de calificación ({grade_categories}: %v)", err))
		}
		for _, r := range rows {
			k := fmt.Sprint(r[0])
			categories[k] = append(categories[k], fmt.Sprint(r[1]))
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	for _, f := range failed {
		c.rep.finding("no se pudo leer %s: revíselo a mano en Moodle", f)
	}
	pattern, _ := c.plan.Params["moduleCodePattern"].(string)
	re, _ := fn.Pattern(pattern)
	if pattern == "" {
		re = nil
	}
	for _, id := range c.order {
		b := c.byID[id]
		crs := b.course
		crs.ok("seleccionado como curso SENCE: codigoOferta «%s»", crs.CodigoOferta)
		switch v, ok := completion[id]; {
		case !ok:
		case v == "1":
			crs.ok("finalización de actividades habilitada en el curso")
		default:
			crs.finding("la finalización de actividades está deshabilitada en el curso: Moodle no registra qué completa cada alumno y su avance se informa 0. Habilítela en la configuración del curso, «Finalización», «Habilitar el seguimiento de la finalización»: Sí")
		}
		if b.err != "" {
			crs.finding("%s", b.err)
		}
		if len(b.modules) > 0 {
			crs.ok("%s con código y actividades obligatorias (con finalización): %s", diag.Plural(len(b.modules), "módulo", "módulos"), strings.Join(b.modules, ", "))
			if len(b.noSync) == 0 {
				crs.ok("cada módulo tiene al menos una clase sincrónica (params.syncModules)")
			}
		}
		if re != nil && len(b.modules) > 0 {
			var lacking []string
			for _, code := range b.modules {
				if !slices.ContainsFunc(categories[id], func(name string) bool { return extract(re, name) == code }) {
					lacking = append(lacking, code)
				}
			}
			if len(lacking) == 0 {
				crs.ok("cada módulo tiene su categoría de calificación, con su código en el nombre")
			}
			for _, code := range lacking {
				crs.finding("módulo %s: ninguna categoría de calificación del curso lleva su código en el nombre, así que su notaModulo se informa 0 y el módulo nunca queda aprobado. En Calificaciones > Configuración del libro de calificaciones, cree una categoría llamada «%s …» con las actividades evaluadas del módulo", code, code)
			}
		}
		// What the build leaves out of the course or warns about.
		for _, n := range b.notes {
			crs.finding("%s", n)
		}
		if b.students > 0 {
			crs.ok("%s para informar, con RUT válido y fechas", diag.Plural(b.students, "alumno", "alumnos"))
		} else if b.err == "" && !b.sendable && len(b.excluded) == 0 {
			crs.ok("todavía ningún alumno para informar")
		}
		for _, x := range b.excluded {
			crs.finding("alumno %s: %s", x.Who(), voice.Reasons(x.Reasons))
		}
		crs.Later = b.later
		c.rep.Courses = append(c.rep.Courses, crs)
	}
	return nil
}

// extract is the preset's extract(): the text of the code group, the
// first group, or the whole match.
func extract(re *regexp.Regexp, s string) string {
	m := re.FindStringSubmatchIndex(s)
	if m == nil {
		return ""
	}
	g := fn.ExtractGroup(re)
	if m[2*g] < 0 {
		return ""
	}
	return s[m[2*g]:m[2*g+1]]
}

// read runs one of the check's own queries ({table} gets the prefix,
// :courseids the ids) as the build runs the mapping's: read-only, with
// the same checks and time limit. Values come back as text or numbers.
func (c *checker) read(ctx context.Context, sql string, ids []int64) ([][]any, error) {
	text, args, err := source.Expand(sql, c.plan.Mapping.Source.Prefix, func(name string) (any, bool) {
		if name == "courseids" {
			return ids, true
		}
		return nil, false
	})
	if err != nil {
		return nil, err
	}
	tx, err := c.db.ReadTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := c.db.Query(ctx, tx, text, args, nil)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// WriteText writes the report for a person: the site, then each course,
// each check passed (ok) or to fix (PROBLEMA), and the verdict.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "¿Está su Moodle listo para informar a SENCE? (fecha de reporte %s, America/Santiago)\n\nSitio\n", r.ReportDate)
	line := func(it Item) {
		mark := "ok      "
		if !it.OK {
			mark = "PROBLEMA"
		}
		fmt.Fprintf(w, "  %s  %s\n", mark, it.Text)
	}
	for _, it := range r.Site {
		line(it)
	}
	for _, c := range r.Courses {
		fmt.Fprintf(w, "\nCurso %s", c.CodigoOferta)
		if c.Name != "" {
			fmt.Fprintf(w, " (%s)", c.Name)
		}
		fmt.Fprintf(w, ", id %s\n", c.CourseID)
		for _, it := range c.Items {
			line(it)
		}
		if c.Later > 0 {
			fmt.Fprintf(w, "  (además, %s por ahora por un motivo que no es de configuración, como una matrícula que aún no comienza o un alumno que se retiró: engine export dice cuál)\n",
				diag.Plural(c.Later, "alumno no se informa", "alumnos no se informan"))
		}
	}
	n := r.Findings()
	switch {
	case !r.Checked:
		fmt.Fprintf(w, "\nResultado: %s; los cursos no se revisaron porque la base de datos rechaza las consultas del mapeo: corrija eso primero y vuelva a ejecutar engine doctor.\n",
			diag.Plural(n, "problema que corregir", "problemas que corregir"))
	case n == 0:
		fmt.Fprintln(w, "\nResultado: listo para informar a SENCE. Siga con engine ping (credenciales de SENCE) y engine run --dry-run.")
	default:
		fmt.Fprintf(w, "\nResultado: %s antes de informar a SENCE (lo que no se corrija no se informa, o se informa mal).\n",
			diag.Plural(n, "problema que corregir", "problemas que corregir"))
	}
}
