package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Where an accepted value was learnt.
const (
	FromSend    = "send"    // SENCE's answer to one of our sends
	FromHistory = "history" // historialEnvios, when seeding
)

// Value is what SENCE has for a student (Modulo "") or one of its modules.
type Value struct {
	CodigoOferta       string
	CodigoGrupo        string
	RUT                string
	Modulo             string
	PorcentajeAvance   int
	Estado             int
	TiempoConectividad int64
	// Fingerprint identifies the whole student as sent (student rows
	// only; "" when learnt from the history), to tell unchanged students.
	Fingerprint string
	At          time.Time
	SendID      int64 // 0 when learnt from the history
	Source      string
}

// Accepted is what SENCE has for one student of a course.
type Accepted struct {
	Student Value
	Modules map[string]Value
}

// upsertValues stores values unless a newer one is already known.
func upsertValues(ctx context.Context, tx *sql.Tx, vs []Value) error {
	for _, v := range vs {
		var sendID any
		if v.SendID != 0 {
			sendID = v.SendID
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO accepted (codigo_oferta, codigo_grupo, rut, modulo, porcentaje_avance, estado, tiempo_conectividad, fingerprint, accepted_at, send_id, source)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (codigo_oferta, codigo_grupo, rut, modulo) DO UPDATE SET
				porcentaje_avance = excluded.porcentaje_avance, estado = excluded.estado,
				tiempo_conectividad = excluded.tiempo_conectividad, fingerprint = excluded.fingerprint,
				accepted_at = excluded.accepted_at, send_id = excluded.send_id, source = excluded.source
			WHERE excluded.accepted_at >= accepted.accepted_at`,
			v.CodigoOferta, v.CodigoGrupo, v.RUT, v.Modulo, v.PorcentajeAvance, v.Estado, v.TiempoConectividad,
			v.Fingerprint, ts(v.At), sendID, v.Source); err != nil {
			return fmt.Errorf("no se pudo registrar lo aceptado para %s: %w", v.RUT, err)
		}
	}
	return nil
}

// Seed records values read from SENCE's history. A value older than one
// already known is ignored.
func (l *Ledger) Seed(ctx context.Context, vs []Value) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := upsertValues(ctx, tx, vs); err != nil {
		return err
	}
	return tx.Commit()
}

// AcceptedOf returns what SENCE has for the students of a course, by RUT.
func (l *Ledger) AcceptedOf(ctx context.Context, oferta, grupo string) (map[string]*Accepted, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT rut, modulo, porcentaje_avance, estado, tiempo_conectividad, fingerprint, accepted_at, COALESCE(send_id, 0), source
		FROM accepted WHERE codigo_oferta = ? AND codigo_grupo = ?`, oferta, grupo)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*Accepted{}
	for rows.Next() {
		v := Value{CodigoOferta: oferta, CodigoGrupo: grupo}
		var at string
		if err := rows.Scan(&v.RUT, &v.Modulo, &v.PorcentajeAvance, &v.Estado, &v.TiempoConectividad, &v.Fingerprint, &at, &v.SendID, &v.Source); err != nil {
			return nil, err
		}
		v.At = parseTS(at)
		a := out[v.RUT]
		if a == nil {
			a = &Accepted{Modules: map[string]Value{}}
			out[v.RUT] = a
		}
		if v.Modulo == "" {
			a.Student = v
		} else {
			a.Modules[v.Modulo] = v
		}
	}
	return out, rows.Err()
}
