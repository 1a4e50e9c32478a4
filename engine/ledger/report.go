package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ErrNoRun: the ledger has no run with that number.
var ErrNoRun = errors.New("ejecución desconocida")

// RunByID returns one run.
func (l *Ledger) RunByID(ctx context.Context, id int64) (Run, error) {
	var r Run
	var started, finished string
	err := l.db.QueryRowContext(ctx, `SELECT id, started_at, finished_at, night, mapping, status, dry_run, pid, summary, report
		FROM runs WHERE id = ?`, id).Scan(&r.ID, &started, &finished, &r.Night, &r.Mapping, &r.Status, &r.DryRun, &r.PID, &r.Summary, &r.Report)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("%w: el registro no tiene la ejecución %d (engine status lista las últimas)", ErrNoRun, id)
	}
	r.StartedAt, r.FinishedAt = parseTS(started), parseTS(finished)
	return r, err
}

// SendByCode returns the send with a codigoEnvio, nil when there is none.
func (l *Ledger) SendByCode(ctx context.Context, codigoEnvio string) (*Send, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT `+sendColumns+` FROM sends WHERE codigo_envio = ?`, codigoEnvio)
	if err != nil {
		return nil, err
	}
	sends, err := scanSends(rows)
	if err != nil || len(sends) == 0 {
		return nil, err
	}
	return &sends[0], nil
}

// Point is the value of a student (module "") in one send SENCE answered.
type Point struct {
	SendID             int64
	RunID              int64
	Night              string
	RUT                string
	PorcentajeAvance   int
	Estado             int
	TiempoConectividad int64
	Outcome            string
}

// History returns every student-level item of a course's sends, oldest
// first: the progress SENCE was sent night after night, and what it did
// with it.
func (l *Ledger) History(ctx context.Context, oferta, grupo string) ([]Point, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT s.id, s.run_id, s.night, i.rut, i.porcentaje_avance, i.estado, i.tiempo_conectividad, i.outcome
		FROM send_items i JOIN sends s ON s.id = i.send_id
		WHERE s.codigo_oferta = ? AND s.codigo_grupo = ? AND i.modulo = ''
		ORDER BY s.id, i.rut`, oferta, grupo)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Point
	for rows.Next() {
		var p Point
		if err := rows.Scan(&p.SendID, &p.RunID, &p.Night, &p.RUT, &p.PorcentajeAvance, &p.Estado, &p.TiempoConectividad, &p.Outcome); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
