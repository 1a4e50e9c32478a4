package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/dedication"
)

// The ledger keeps, for each incremental sessions query of a mapping (a
// stream) and each course, the dedication states of its keys and the
// watermark they were folded up to, so that the next night reads only the
// log events since (see engine/dedication). A course saved under another
// fingerprint (the query's SQL, its rule or the database changed) is
// ignored: the next run recomputes it from the whole log.

// LoadSessions returns the saved states of the given courses of a stream;
// courses never saved, or saved under another fingerprint, are absent.
func (l *Ledger) LoadSessions(ctx context.Context, stream, fingerprint string, courses []string) (map[string]dedication.Saved, error) {
	out := map[string]dedication.Saved{}
	if len(courses) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(courses)+2)
	args = append(args, stream, fingerprint)
	for _, c := range courses {
		args = append(args, c)
	}
	rows, err := l.db.QueryContext(ctx, `SELECT c.course, c.watermark, s.key, s.seconds, s.sessions, s.events, s.first, s.last, s.start
		FROM session_courses c
		LEFT JOIN session_states s ON s.stream = c.stream AND s.course = c.course
		WHERE c.stream = ? AND c.fingerprint = ? AND c.course IN (`+strings.Repeat(",?", len(courses))[1:]+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("registro %s: no se pudieron leer las sesiones de dedicación guardadas (%w); revise el archivo y sus permisos, o recalcule con engine run --full-dedication", l.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c string
		var mark int64
		var k sql.NullString
		var st struct{ seconds, sessions, events, first, last, start sql.NullInt64 }
		if err := rows.Scan(&c, &mark, &k, &st.seconds, &st.sessions, &st.events, &st.first, &st.last, &st.start); err != nil {
			return nil, err
		}
		sv, ok := out[c]
		if !ok {
			sv = dedication.Saved{Watermark: mark, States: map[string]dedication.State{}}
			out[c] = sv
		}
		if k.Valid { // a course saved with no key has no state row
			sv.States[k.String] = dedication.State{Seconds: st.seconds.Int64, Sessions: st.sessions.Int64, Events: st.events.Int64,
				First: st.first.Int64, Last: st.last.Int64, Start: st.start.Int64}
		}
	}
	return out, rows.Err()
}

// SaveSessions saves the courses of a stream, all or nothing.
func (l *Ledger) SaveSessions(ctx context.Context, stream, fingerprint string, now time.Time, updates []dedication.Update) error {
	if err := l.saveSessions(ctx, stream, fingerprint, now, updates); err != nil {
		return fmt.Errorf("registro %s: no se pudieron guardar las sesiones de dedicación (%w); revise el espacio en disco y los permisos del archivo; lo ya guardado sigue válido y la próxima ejecución vuelve a leer los eventos desde la marca anterior", l.path, err)
	}
	return nil
}

func (l *Ledger) saveSessions(ctx context.Context, stream, fingerprint string, now time.Time, updates []dedication.Update) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO session_states (stream, course, key, seconds, sessions, events, first, last, start)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (stream, course, key) DO UPDATE SET seconds = excluded.seconds, sessions = excluded.sessions,
			events = excluded.events, first = excluded.first, last = excluded.last, start = excluded.start`)
	if err != nil {
		return err
	}
	defer ins.Close()
	for _, u := range updates {
		if u.Replace {
			if _, err := tx.ExecContext(ctx, "DELETE FROM session_states WHERE stream = ? AND course = ?", stream, u.Course); err != nil {
				return err
			}
		}
		for k, st := range u.States {
			if _, err := ins.ExecContext(ctx, stream, u.Course, k, st.Seconds, st.Sessions, st.Events, st.First, st.Last, st.Start); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO session_courses (stream, course, fingerprint, watermark, saved_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (stream, course) DO UPDATE SET fingerprint = excluded.fingerprint, watermark = excluded.watermark,
				saved_at = excluded.saved_at`, stream, u.Course, fingerprint, u.Watermark, ts(now)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// SessionStream sums up what the ledger keeps of one sessions query.
type SessionStream struct {
	Stream  string
	Courses int
	Keys    int
	// Oldest and Newest are the courses' watermarks (Unix seconds).
	Oldest, Newest int64
	SavedAt        time.Time
}

// SessionStreams sums up the saved sessions, by query.
func (l *Ledger) SessionStreams(ctx context.Context) ([]SessionStream, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT c.stream, COUNT(*), MIN(c.watermark), MAX(c.watermark), MAX(c.saved_at),
			(SELECT COUNT(*) FROM session_states s WHERE s.stream = c.stream)
		FROM session_courses c GROUP BY c.stream ORDER BY c.stream`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SessionStream
	for rows.Next() {
		var s SessionStream
		var saved string
		if err := rows.Scan(&s.Stream, &s.Courses, &s.Oldest, &s.Newest, &saved, &s.Keys); err != nil {
			return nil, err
		}
		s.SavedAt, _ = time.Parse(timeFormat, saved)
		out = append(out, s)
	}
	return out, rows.Err()
}
