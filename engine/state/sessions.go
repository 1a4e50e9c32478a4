package state

import (
	"context"
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
	ph := strings.Repeat(",?", len(courses))[1:]
	args := make([]any, 0, len(courses)+2)
	args = append(args, stream, fingerprint)
	for _, c := range courses {
		args = append(args, c)
	}
	rows, err := l.db.QueryContext(ctx, `SELECT course, watermark FROM session_courses
		WHERE stream = ? AND fingerprint = ? AND course IN (`+ph+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("registro %s: no se pudieron leer las sesiones guardadas: %w", l.path, err)
	}
	for rows.Next() {
		var c string
		var s dedication.Saved
		if err := rows.Scan(&c, &s.Watermark); err != nil {
			rows.Close()
			return nil, err
		}
		s.States = map[string]dedication.State{}
		out[c] = s
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	args = args[:1]
	ph = ""
	for c := range out {
		args = append(args, c)
		ph += ",?"
	}
	rows, err = l.db.QueryContext(ctx, `SELECT course, key, seconds, sessions, events, first, last, start
		FROM session_states WHERE stream = ? AND course IN (`+ph[1:]+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("registro %s: no se pudieron leer las sesiones guardadas: %w", l.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c, k string
		var st dedication.State
		if err := rows.Scan(&c, &k, &st.Seconds, &st.Sessions, &st.Events, &st.First, &st.Last, &st.Start); err != nil {
			return nil, err
		}
		out[c].States[k] = st
	}
	return out, rows.Err()
}

// SaveSessions saves the courses of a stream, all or nothing.
func (l *Ledger) SaveSessions(ctx context.Context, stream, fingerprint string, now time.Time, updates []dedication.Update) error {
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
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("registro %s: no se pudieron guardar las sesiones: %w", l.path, err)
	}
	return nil
}

// ForgetSessions drops every saved session, so that the next run
// recomputes dedication from the whole log.
func (l *Ledger) ForgetSessions(ctx context.Context) error {
	_, err := l.db.ExecContext(ctx, "DELETE FROM session_states; DELETE FROM session_courses;")
	return err
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
