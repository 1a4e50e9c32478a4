package dedication

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // driver "sqlite"
)

// Store keeps the states of each stream (a sessions query of a mapping)
// with its watermark, in a small SQLite file of its own beside the
// ledger. A stream saved under another fingerprint (its SQL, rule or
// database changed) is ignored: the next run recomputes it in full.
type Store struct {
	db *sql.DB
}

// OpenStore opens or creates the store at path.
func OpenStore(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("no se puede crear la carpeta de %s: %w", path, err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	for _, stmt := range []string{
		`CREATE TABLE IF NOT EXISTS streams (
			name TEXT PRIMARY KEY,
			fingerprint TEXT NOT NULL,
			watermark INTEGER NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS states (
			stream TEXT NOT NULL,
			key TEXT NOT NULL,
			seconds INTEGER NOT NULL, sessions INTEGER NOT NULL, events INTEGER NOT NULL,
			first INTEGER NOT NULL, last INTEGER NOT NULL, start INTEGER NOT NULL,
			PRIMARY KEY (stream, key)) WITHOUT ROWID`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			db.Close()
			return nil, fmt.Errorf("no se puede abrir el archivo de sesiones %s: %w", path, err)
		}
	}
	return &Store{db: db}, nil
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// Load returns the watermark and states of a stream, or 0 and none when
// it was never saved or saved under another fingerprint.
func (s *Store) Load(ctx context.Context, stream, fingerprint string) (int64, map[string]State, error) {
	var fp string
	var mark int64
	err := s.db.QueryRowContext(ctx, "SELECT fingerprint, watermark FROM streams WHERE name = ?", stream).Scan(&fp, &mark)
	if err == sql.ErrNoRows || err == nil && fp != fingerprint {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, err
	}
	rows, err := s.db.QueryContext(ctx, "SELECT key, seconds, sessions, events, first, last, start FROM states WHERE stream = ?", stream)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	out := map[string]State{}
	for rows.Next() {
		var k string
		var st State
		if err := rows.Scan(&k, &st.Seconds, &st.Sessions, &st.Events, &st.First, &st.Last, &st.Start); err != nil {
			return 0, nil, err
		}
		out[k] = st
	}
	return mark, out, rows.Err()
}

// Save replaces a stream's states and watermark, all or nothing.
func (s *Store) Save(ctx context.Context, stream, fingerprint string, watermark int64, states map[string]State) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "DELETE FROM states WHERE stream = ?", stream); err != nil {
		return err
	}
	ins, err := tx.PrepareContext(ctx, "INSERT INTO states (stream, key, seconds, sessions, events, first, last, start) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
	if err != nil {
		return err
	}
	defer ins.Close()
	for k, st := range states {
		if _, err := ins.ExecContext(ctx, stream, k, st.Seconds, st.Sessions, st.Events, st.First, st.Last, st.Start); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO streams (name, fingerprint, watermark) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint, watermark = excluded.watermark`, stream, fingerprint, watermark); err != nil {
		return err
	}
	return tx.Commit()
}
