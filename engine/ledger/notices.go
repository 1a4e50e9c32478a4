package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Kinds of notices.
const (
	// NoticeUnselected: a Moodle course the selection left out that looks
	// like a SENCE course.
	NoticeUnselected = "curso-no-seleccionado"
	// NoticeLeftOut: a section, module or student the build did not
	// report, with its reason.
	NoticeLeftOut = "no-informado"
	// NoticeLeft: a student SENCE accepted before who is no longer among
	// the course's students in Moodle.
	NoticeLeft = "retirado"
)

// Notice is something a run did not report, and why. Notices do not make
// a run fail: they say what is left out so that nothing is left out in
// silence.
type Notice struct {
	Kind         string `json:"tipo"`
	CodigoOferta string `json:"codigoOferta,omitempty"`
	CodigoGrupo  string `json:"codigoGrupo,omitempty"`
	Subject      string `json:"quien,omitempty"`
	Message      string `json:"motivo"`
}

// SaveNotices records that a run built its courses, and what it left out.
func (l *Ledger) SaveNotices(ctx context.Context, runID int64, notices []Notice) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE runs SET built = 1 WHERE id = ?`, runID); err != nil {
		return fmt.Errorf("no se pudo registrar la ejecución %d: %w", runID, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM run_notices WHERE run_id = ?`, runID); err != nil {
		return err
	}
	for i, n := range notices {
		if _, err := tx.ExecContext(ctx, `INSERT INTO run_notices (run_id, seq, kind, codigo_oferta, codigo_grupo, subject, message)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, runID, i, n.Kind, n.CodigoOferta, n.CodigoGrupo, n.Subject, n.Message); err != nil {
			return fmt.Errorf("no se pudieron registrar los avisos de la ejecución %d: %w", runID, err)
		}
	}
	return tx.Commit()
}

// LatestNotices returns the notices of the last run that built its
// courses, and that run's number (0 when none did).
func (l *Ledger) LatestNotices(ctx context.Context) ([]Notice, int64, error) {
	var id int64
	err := l.db.QueryRowContext(ctx, `SELECT id FROM runs WHERE built = 1 ORDER BY id DESC LIMIT 1`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	rows, err := l.db.QueryContext(ctx, `SELECT kind, codigo_oferta, codigo_grupo, subject, message
		FROM run_notices WHERE run_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Notice
	for rows.Next() {
		var n Notice
		if err := rows.Scan(&n.Kind, &n.CodigoOferta, &n.CodigoGrupo, &n.Subject, &n.Message); err != nil {
			return nil, 0, err
		}
		out = append(out, n)
	}
	return out, id, rows.Err()
}

// AcceptedStudent is what SENCE last accepted for a student of a course
// (one section of it), with the name a run last knew them by.
type AcceptedStudent struct {
	Value
	Label string
}

// AcceptedStudents returns what SENCE accepted for the students (not the
// modules) of every section of a course code, by section and RUT.
func (l *Ledger) AcceptedStudents(ctx context.Context, oferta string) ([]AcceptedStudent, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT a.codigo_grupo, a.rut, a.porcentaje_avance, a.estado, a.tiempo_conectividad, a.accepted_at, a.source,
			COALESCE((SELECT s.label FROM students s WHERE s.codigo_oferta = a.codigo_oferta AND s.alumno = a.rut AND s.label <> ''
				ORDER BY s.run_id DESC LIMIT 1), '')
		FROM accepted a WHERE a.codigo_oferta = ? AND a.modulo = ''
		ORDER BY a.codigo_grupo, a.rut`, oferta)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AcceptedStudent
	for rows.Next() {
		a := AcceptedStudent{Value: Value{CodigoOferta: oferta}}
		var at string
		if err := rows.Scan(&a.CodigoGrupo, &a.RUT, &a.PorcentajeAvance, &a.Estado, &a.TiempoConectividad, &at, &a.Source, &a.Label); err != nil {
			return nil, err
		}
		a.At = parseTS(at)
		out = append(out, a)
	}
	return out, rows.Err()
}
