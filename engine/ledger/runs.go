package ledger

import (
	"context"
	"fmt"
	"time"
)

// Run statuses.
const (
	RunRunning     = "running"
	RunOK          = "ok"
	RunProblems    = "problems"
	RunFailed      = "failed"
	RunInterrupted = "interrupted" // the process died or was stopped mid-run
)

// Run is one execution of engine run.
type Run struct {
	ID         int64
	StartedAt  time.Time
	FinishedAt time.Time
	// Night is the report date the run sends, YYYY-MM-DD: a course is sent
	// at most once per night with the same payload.
	Night   string
	Mapping string
	Status  string
	DryRun  bool
	PID     int
	// Summary is one line in Spanish; Report the JSON report's path.
	Summary string
	Report  string
}

// StartRun records a run as running and sets its ID.
func (l *Ledger) StartRun(ctx context.Context, r *Run) error {
	r.Status = RunRunning
	res, err := l.db.ExecContext(ctx, `INSERT INTO runs (started_at, night, mapping, status, dry_run, pid) VALUES (?, ?, ?, ?, ?, ?)`,
		ts(r.StartedAt), r.Night, r.Mapping, r.Status, r.DryRun, r.PID)
	if err != nil {
		return fmt.Errorf("no se pudo registrar la ejecución: %w", err)
	}
	r.ID, err = res.LastInsertId()
	return err
}

// FinishRun records the end of a run.
func (l *Ledger) FinishRun(ctx context.Context, r *Run) error {
	_, err := l.db.ExecContext(ctx, `UPDATE runs SET finished_at = ?, status = ?, summary = ?, report = ? WHERE id = ?`,
		ts(r.FinishedAt), r.Status, r.Summary, r.Report, r.ID)
	if err != nil {
		return fmt.Errorf("no se pudo registrar el fin de la ejecución %d: %w", r.ID, err)
	}
	return nil
}

// CloseAbandoned marks runs still "running" as interrupted. Call it
// holding the run lock: then no such run is alive.
func (l *Ledger) CloseAbandoned(ctx context.Context, now time.Time) (int64, error) {
	res, err := l.db.ExecContext(ctx, `UPDATE runs SET status = ?, finished_at = ?, summary = 'la ejecución terminó sin cerrar el registro (proceso detenido o caído)' WHERE status = ?`,
		RunInterrupted, ts(now), RunRunning)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Runs returns the last runs, newest first.
func (l *Ledger) Runs(ctx context.Context, limit int) ([]Run, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT id, started_at, finished_at, night, mapping, status, dry_run, pid, summary, report
		FROM runs ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var r Run
		var started, finished string
		if err := rows.Scan(&r.ID, &started, &finished, &r.Night, &r.Mapping, &r.Status, &r.DryRun, &r.PID, &r.Summary, &r.Report); err != nil {
			return nil, err
		}
		r.StartedAt, r.FinishedAt = parseTS(started), parseTS(finished)
		out = append(out, r)
	}
	return out, rows.Err()
}

// CourseRecord is what one run did with one course.
type CourseRecord struct {
	CodigoOferta string
	CodigoGrupo  string
	Label        string
	Status       string
	CodigoEnvio  string
	Message      string
}

// StudentRecord is the state one run left a student in.
type StudentRecord struct {
	CodigoOferta string `json:"codigoOferta"`
	CodigoGrupo  string `json:"codigoGrupo"`
	// Alumno is the RUT ("12345678-5"), or "moodle:ID" when the student
	// has no usable RUT: the ledger's key, not a name for a person.
	Alumno string `json:"clave"`
	// MoodleID is the student's Moodle id and RUTText what Moodle holds
	// instead of a valid RUT ("" when unknown, as in runs of earlier
	// versions).
	MoodleID string `json:"idMoodle,omitempty"`
	RUTText  string `json:"rutInvalido,omitempty"`
	Label    string `json:"nombre,omitempty"`
	Status   string `json:"estado"`
	Code     string `json:"codigo,omitempty"`
	Message  string `json:"mensaje,omitempty"`
}

// SaveCourse records what a run did with a course and the state of its
// students, in one transaction.
func (l *Ledger) SaveCourse(ctx context.Context, runID int64, now time.Time, c CourseRecord, students []StudentRecord) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO run_courses (run_id, codigo_oferta, codigo_grupo, label, status, codigo_envio, message)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (run_id, codigo_oferta, codigo_grupo) DO UPDATE SET label = excluded.label, status = excluded.status,
			codigo_envio = excluded.codigo_envio, message = excluded.message`,
		runID, c.CodigoOferta, c.CodigoGrupo, c.Label, c.Status, c.CodigoEnvio, c.Message); err != nil {
		return fmt.Errorf("no se pudo registrar el curso %s: %w", c.CodigoOferta, err)
	}
	for _, s := range students {
		if _, err := tx.ExecContext(ctx, `INSERT INTO students (codigo_oferta, codigo_grupo, alumno, label, run_id, status, code, message, updated_at, moodle_id, rut_text)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (codigo_oferta, codigo_grupo, alumno) DO UPDATE SET label = excluded.label, run_id = excluded.run_id,
				status = excluded.status, code = excluded.code, message = excluded.message, updated_at = excluded.updated_at,
				moodle_id = excluded.moodle_id, rut_text = excluded.rut_text`,
			s.CodigoOferta, s.CodigoGrupo, s.Alumno, s.Label, runID, s.Status, s.Code, s.Message, ts(now), s.MoodleID, s.RUTText); err != nil {
			return fmt.Errorf("no se pudo registrar el alumno %s del curso %s: %w", s.Alumno, c.CodigoOferta, err)
		}
	}
	return tx.Commit()
}

// RunCourses returns what a run did with each of its courses.
func (l *Ledger) RunCourses(ctx context.Context, runID int64) ([]CourseRecord, error) {
	return l.courses(ctx, `SELECT codigo_oferta, codigo_grupo, label, status, codigo_envio, message
		FROM run_courses WHERE run_id = ? ORDER BY codigo_oferta, codigo_grupo`, runID)
}

// Troubled returns the students whose latest state, as recorded by the
// last run that processed their course (any of its sections), is one of
// statuses.
func (l *Ledger) Troubled(ctx context.Context, statuses ...string) ([]StudentRecord, error) {
	if len(statuses) == 0 {
		return nil, nil
	}
	args := make([]any, len(statuses))
	marks := ""
	for i, s := range statuses {
		args[i] = s
		if i > 0 {
			marks += ", "
		}
		marks += "?"
	}
	rows, err := l.db.QueryContext(ctx, `SELECT s.codigo_oferta, s.codigo_grupo, s.alumno, s.label, s.status, s.code, s.message, s.moodle_id, s.rut_text
		FROM students s
		WHERE s.status IN (`+marks+`)
		  AND s.run_id = (SELECT MAX(o.run_id) FROM students o WHERE o.codigo_oferta = s.codigo_oferta)
		ORDER BY s.codigo_oferta, s.codigo_grupo, s.status, s.alumno`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StudentRecord
	for rows.Next() {
		var s StudentRecord
		if err := rows.Scan(&s.CodigoOferta, &s.CodigoGrupo, &s.Alumno, &s.Label, &s.Status, &s.Code, &s.Message, &s.MoodleID, &s.RUTText); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// LatestCourses returns, per course code, what the last run that
// processed it did with each of its sections: a section that run did not
// send (its codigoGrupo changed, or the course failed before its sections
// were known) is no longer listed.
func (l *Ledger) LatestCourses(ctx context.Context) ([]CourseRecord, error) {
	return l.courses(ctx, `SELECT c.codigo_oferta, c.codigo_grupo, c.label, c.status, c.codigo_envio, c.message
		FROM run_courses c
		WHERE c.run_id = (SELECT MAX(o.run_id) FROM run_courses o WHERE o.codigo_oferta = c.codigo_oferta)
		ORDER BY c.codigo_oferta, c.codigo_grupo`)
}

func (l *Ledger) courses(ctx context.Context, query string, args ...any) ([]CourseRecord, error) {
	rows, err := l.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CourseRecord
	for rows.Next() {
		var c CourseRecord
		if err := rows.Scan(&c.CodigoOferta, &c.CodigoGrupo, &c.Label, &c.Status, &c.CodigoEnvio, &c.Message); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
