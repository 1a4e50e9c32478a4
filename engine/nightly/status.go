package nightly

import (
	"context"
	"fmt"
	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/voice"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/ledger"
)

// Status is what engine status shows: the last runs, the courses SENCE
// may not have, and every student still in trouble.
type Status struct {
	Ledger string         `json:"registro"`
	Runs   []RunStatus    `json:"ejecuciones"`
	Undone []CourseStatus `json:"cursosSinTerminar"`
	// Students are rejected, held, excluded, pending or not sent in the
	// last run that processed their course.
	Students []StudentStatus `json:"alumnosConProblemas"`
	// Sessions are the dedication sessions kept for incremental runs.
	Sessions []SessionsStatus `json:"dedicacionIncremental"`
	// Notices are what the last run that built its courses left out and
	// why (NoticesRun is its number): they do not make status fail, they
	// keep nothing left out in silence.
	Notices    []ledger.Notice `json:"avisos"`
	NoticesRun int64           `json:"avisosDeEjecucion,omitempty"`
}

// StudentStatus is a student in trouble: the ledger's record and the
// student named as every output does.
type StudentStatus struct {
	Alumno string `json:"alumno"`
	ledger.StudentRecord
}

// SessionsStatus is what the ledger keeps of one sessions query.
type SessionsStatus struct {
	Query   string `json:"consulta"`
	Courses int    `json:"cursos"`
	Keys    int    `json:"claves"`
	Oldest  string `json:"marcaMasAntigua"`
	Newest  string `json:"marcaMasNueva"`
	SavedAt string `json:"guardado"`
}

// RunStatus is one run in a Status.
type RunStatus struct {
	ID       int64  `json:"ejecucion"`
	Started  string `json:"inicio"`
	Finished string `json:"fin,omitempty"`
	Night    string `json:"fechaReporte"`
	Status   string `json:"estado"`
	DryRun   bool   `json:"simulacion,omitempty"`
	Summary  string `json:"resumen,omitempty"`
	Report   string `json:"informe,omitempty"`
}

// CourseStatus is a course whose last run left it unfinished.
type CourseStatus struct {
	CodigoOferta string `json:"codigoOferta"`
	CodigoGrupo  string `json:"codigoGrupo"`
	Status       string `json:"estado"`
	CodigoEnvio  string `json:"codigoEnvio,omitempty"`
	Since        string `json:"desde,omitempty"`
	Message      string `json:"mensaje,omitempty"`
}

// runWords are the Spanish names of run statuses.
var runWords = map[string]string{
	ledger.RunRunning: "en curso", ledger.RunOK: "ok", ledger.RunProblems: "con problemas",
	ledger.RunFailed: "fallida", ledger.RunInterrupted: "interrumpida",
}

// noticeWords introduce each kind of notice.
var noticeWords = map[string]string{
	ledger.NoticeUnselected: "curso de Moodle no seleccionado",
	ledger.NoticeLeftOut:    "no se informa",
	ledger.NoticeLeft:       "alumno retirado",
}

// ReadStatus reads a Status from the ledger.
func ReadStatus(ctx context.Context, l *ledger.Ledger, runs int) (*Status, error) {
	st := &Status{Ledger: l.Path(), Runs: []RunStatus{}, Undone: []CourseStatus{}, Students: []StudentStatus{}}
	rs, err := l.Runs(ctx, runs)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		x := RunStatus{ID: r.ID, Started: voice.Clock(r.StartedAt), Night: r.Night, Status: runWords[r.Status],
			DryRun: r.DryRun, Summary: r.Summary, Report: r.Report}
		if !r.FinishedAt.IsZero() {
			x.Finished = voice.Clock(r.FinishedAt)
		}
		st.Runs = append(st.Runs, x)
	}
	sends, err := l.PendingSends(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range sends {
		// A pending send that may have reached SENCE is «sin confirmar»
		// until the history says what became of it.
		status := CoursePending
		if !s.PostedAt.IsZero() {
			status = CourseUnconfirmed
		}
		st.Undone = append(st.Undone, CourseStatus{CodigoOferta: s.CodigoOferta, CodigoGrupo: s.CodigoGrupo, Status: status,
			CodigoEnvio: s.CodigoEnvio, Since: voice.Clock(s.CreatedAt), Message: s.Error})
	}
	courses, err := l.LatestCourses(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range courses {
		if c.Status != CourseNotSent && c.Status != CourseError && c.Status != CourseFailed && c.Status != CoursePending && c.Status != CourseUnconfirmed {
			continue
		}
		if slices.ContainsFunc(st.Undone, func(u CourseStatus) bool { return u.CodigoOferta == c.CodigoOferta && u.CodigoGrupo == c.CodigoGrupo }) {
			continue
		}
		st.Undone = append(st.Undone, CourseStatus{CodigoOferta: c.CodigoOferta, CodigoGrupo: c.CodigoGrupo, Status: c.Status,
			CodigoEnvio: c.CodigoEnvio, Message: c.Message})
	}
	students, err := l.Troubled(ctx, Troubled...)
	if err != nil {
		return nil, err
	}
	for _, s := range students {
		st.Students = append(st.Students, StudentStatus{Alumno: StudentOfRecord(s), StudentRecord: s})
	}
	streams, err := l.SessionStreams(ctx)
	if err != nil {
		return nil, err
	}
	notices, runID, err := l.LatestNotices(ctx)
	if err != nil {
		return nil, err
	}
	st.Notices, st.NoticesRun = notices, runID
	if st.Notices == nil {
		st.Notices = []ledger.Notice{}
	}
	st.Sessions = []SessionsStatus{}
	for _, s := range streams {
		st.Sessions = append(st.Sessions, SessionsStatus{Query: s.Stream, Courses: s.Courses, Keys: s.Keys,
			Oldest: voice.Clock(time.Unix(s.Oldest, 0)), Newest: voice.Clock(time.Unix(s.Newest, 0)),
			SavedAt: voice.Clock(s.SavedAt)})
	}
	return st, nil
}

// Clean reports whether nothing needs attention: no course left undone,
// no student in trouble, and the last run that finished (a dry run
// aside) ended ok: a night that failed before recording any course (the
// database down, the mapping broken) or had nothing to send is not clean.
func (st *Status) Clean() bool {
	return len(st.Undone) == 0 && len(st.Students) == 0 && !st.lastRunFailed()
}

func (st *Status) lastRunFailed() bool {
	for _, r := range st.Runs {
		if r.DryRun || r.Status == runWords[ledger.RunRunning] {
			continue
		}
		return r.Status != runWords[ledger.RunOK]
	}
	return false
}

// StudentOfRecord names a student the ledger keeps (by RUT, or
// «moodle:ID» without a valid RUT) as every output does.
func StudentOfRecord(s ledger.StudentRecord) string {
	if id, ok := strings.CutPrefix(s.Alumno, "moodle:"); ok {
		return voice.Student(s.Label, "", s.RUTText, id)
	}
	return voice.Student(s.Label, s.Alumno, "", s.MoodleID)
}

// WriteText writes the status for a person.
func (st *Status) WriteText(w io.Writer) {
	fmt.Fprintf(w, "Registro: %s\n\nÚltimas ejecuciones:\n", st.Ledger)
	if len(st.Runs) == 0 {
		fmt.Fprintln(w, "  (ninguna todavía)")
	}
	for _, r := range st.Runs {
		kind := ""
		if r.DryRun {
			kind = " (simulación)"
		}
		fmt.Fprintf(w, "  #%d  %s  noche %s  %s%s\n", r.ID, r.Started, r.Night, r.Status, kind)
		if r.Summary != "" {
			fmt.Fprintf(w, "       %s\n", r.Summary)
		}
		if r.Report != "" {
			fmt.Fprintf(w, "       informe: %s\n", r.Report)
		}
	}
	fmt.Fprintln(w, "\nCursos con envíos pendientes, sin confirmar, fallidos o sin enviar:")
	if len(st.Undone) == 0 {
		fmt.Fprintln(w, "  (ninguno)")
	}
	for _, c := range st.Undone {
		fmt.Fprintf(w, "  %s", voice.Course(c.CodigoOferta, c.CodigoGrupo))
		fmt.Fprintf(w, ": %s", c.Status)
		if c.CodigoEnvio != "" {
			fmt.Fprintf(w, " (codigoEnvio %s", c.CodigoEnvio)
			if c.Since != "" {
				fmt.Fprintf(w, ", desde %s", c.Since)
			}
			fmt.Fprint(w, ")")
		}
		fmt.Fprintln(w)
		if c.Message != "" {
			fmt.Fprintf(w, "    %s\n", c.Message)
		}
	}
	if len(st.Sessions) > 0 {
		fmt.Fprintln(w, "\nDedicación incremental (sesiones guardadas; la próxima ejecución lee el registro de Moodle desde la marca):")
		for _, s := range st.Sessions {
			mark := s.Newest
			if s.Oldest != s.Newest {
				mark = s.Oldest + " a " + s.Newest
			}
			fmt.Fprintf(w, "  %s: %s, %s, marca %s (guardado %s)\n", s.Query, diag.Plural(s.Courses, "curso", "cursos"), diag.Plural(s.Keys, "alumno o módulo", "alumnos o módulos"), mark, s.SavedAt)
		}
	}
	if len(st.Notices) > 0 {
		fmt.Fprintf(w, "\nAvisos de la ejecución %d (lo que no se informó a SENCE y por qué):\n", st.NoticesRun)
		for _, n := range st.Notices {
			fmt.Fprintf(w, "  %s", noticeWords[n.Kind])
			if n.CodigoOferta != "" {
				fmt.Fprintf(w, " en el curso %s", voice.Course(n.CodigoOferta, n.CodigoGrupo))
			}
			if n.Subject != "" {
				fmt.Fprintf(w, ", %s", n.Subject)
			}
			fmt.Fprintf(w, ": %s\n", n.Message)
		}
	}
	fmt.Fprintln(w, "\nAlumnos con problemas:")
	if len(st.Students) == 0 {
		fmt.Fprintln(w, "  (ninguno)")
	}
	for _, s := range st.Students {
		fmt.Fprintf(w, "  curso %s: %s %s", s.CodigoOferta, s.Status, s.Alumno)
		if why := voice.Coded(s.Code, s.Message); why != "" {
			fmt.Fprintf(w, ": %s", why)
		}
		fmt.Fprintln(w)
	}
}
