// Package state is the ledger of nightly runs: an embedded SQLite database
// beside the mapping that records every run, every send to SENCE (as an
// outbox: committed as pending before the request leaves, completed when
// the answer arrives), the outcome of every student and module, and the
// last values SENCE accepted, so that the next run can finish what a
// crashed one left and never contradict what SENCE already has. The token
// is never stored.
package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // driver "sqlite"
)

// Ledger is an open ledger database. It is safe for concurrent use: every
// statement goes through one connection, so writes from concurrent
// courses are serialised in the process, and the busy timeout covers a
// reader in another process (engine status during a run).
type Ledger struct {
	db   *sql.DB
	path string
}

// busyTimeout is how long a statement waits for another process's lock.
const busyTimeout = 10 * time.Second

// DefaultPath is where the ledger of a mapping lives: run.ledger relative
// to the mapping file, or <mapping-name>.ledger.db beside it.
func DefaultPath(mappingFile, configured string) string {
	dir := filepath.Dir(mappingFile)
	if configured == "" {
		base := strings.TrimSuffix(filepath.Base(mappingFile), filepath.Ext(mappingFile))
		return filepath.Join(dir, base+".ledger.db")
	}
	if filepath.IsAbs(configured) {
		return configured
	}
	return filepath.Join(dir, configured)
}

// Open opens the ledger at path, creating it and its folder if needed,
// and brings its schema up to date.
func Open(ctx context.Context, path string) (*Ledger, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("no se puede crear la carpeta del registro %s: %w", filepath.Dir(path), err)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("no se puede abrir el registro %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	l := &Ledger{db: db, path: path}
	if err := l.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("registro %s: %w", path, err)
	}
	os.Chmod(path, 0o600) // it holds students' data
	return l, nil
}

// Path is the file of the ledger.
func (l *Ledger) Path() string { return l.path }

// Close closes the database.
func (l *Ledger) Close() error { return l.db.Close() }

// migrations are the schema, in order: migration i brings the schema to
// version i+1. Never edit one that was released; append a new one.
var migrations = []string{
	// 1: runs, the outbox of sends with per-student-module outcomes, the
	// values SENCE accepted, and the latest state of every student.
	`
CREATE TABLE runs (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	started_at  TEXT NOT NULL,
	finished_at TEXT NOT NULL DEFAULT '',
	night       TEXT NOT NULL,
	mapping     TEXT NOT NULL,
	status      TEXT NOT NULL,
	dry_run     INTEGER NOT NULL DEFAULT 0,
	pid         INTEGER NOT NULL DEFAULT 0,
	summary     TEXT NOT NULL DEFAULT '',
	report      TEXT NOT NULL DEFAULT ''
);
CREATE TABLE run_courses (
	run_id        INTEGER NOT NULL REFERENCES runs(id),
	codigo_oferta TEXT NOT NULL,
	codigo_grupo  TEXT NOT NULL,
	label         TEXT NOT NULL DEFAULT '',
	status        TEXT NOT NULL,
	codigo_envio  TEXT NOT NULL DEFAULT '',
	message       TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (run_id, codigo_oferta, codigo_grupo)
);
CREATE TABLE sends (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	run_id        INTEGER NOT NULL REFERENCES runs(id),
	night         TEXT NOT NULL,
	codigo_oferta TEXT NOT NULL,
	codigo_grupo  TEXT NOT NULL,
	attempt       INTEGER NOT NULL,
	codigo_envio  TEXT NOT NULL UNIQUE,
	payload_hash  TEXT NOT NULL,
	request       TEXT NOT NULL,
	status        TEXT NOT NULL,
	created_at    TEXT NOT NULL,
	finished_at   TEXT NOT NULL DEFAULT '',
	response      TEXT NOT NULL DEFAULT '',
	id_proceso    TEXT NOT NULL DEFAULT '',
	from_history  INTEGER NOT NULL DEFAULT 0,
	error         TEXT NOT NULL DEFAULT '',
	accepted      INTEGER NOT NULL DEFAULT 0,
	rejected      INTEGER NOT NULL DEFAULT 0,
	unchanged     INTEGER NOT NULL DEFAULT 0,
	UNIQUE (night, codigo_oferta, codigo_grupo, attempt)
);
CREATE INDEX sends_by_status ON sends(status);
CREATE TABLE send_items (
	send_id             INTEGER NOT NULL REFERENCES sends(id),
	rut                 TEXT NOT NULL,
	modulo              TEXT NOT NULL,
	porcentaje_avance   INTEGER NOT NULL,
	estado              INTEGER NOT NULL,
	tiempo_conectividad INTEGER NOT NULL,
	outcome             TEXT NOT NULL,
	code                TEXT NOT NULL DEFAULT '',
	message             TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (send_id, rut, modulo)
);
CREATE TABLE accepted (
	codigo_oferta       TEXT NOT NULL,
	codigo_grupo        TEXT NOT NULL,
	rut                 TEXT NOT NULL,
	modulo              TEXT NOT NULL,
	porcentaje_avance   INTEGER NOT NULL,
	estado              INTEGER NOT NULL,
	tiempo_conectividad INTEGER NOT NULL,
	fingerprint         TEXT NOT NULL DEFAULT '',
	accepted_at         TEXT NOT NULL,
	send_id             INTEGER,
	source              TEXT NOT NULL,
	PRIMARY KEY (codigo_oferta, codigo_grupo, rut, modulo)
);
CREATE TABLE students (
	codigo_oferta TEXT NOT NULL,
	codigo_grupo  TEXT NOT NULL,
	alumno        TEXT NOT NULL,
	label         TEXT NOT NULL DEFAULT '',
	run_id        INTEGER NOT NULL,
	status        TEXT NOT NULL,
	code          TEXT NOT NULL DEFAULT '',
	message       TEXT NOT NULL DEFAULT '',
	updated_at    TEXT NOT NULL,
	PRIMARY KEY (codigo_oferta, codigo_grupo, alumno)
);
`,
	// 2: the dedication sessions of incremental sessions queries, per
	// course, with the watermark they were folded up to (see sessions.go).
	`
CREATE TABLE session_courses (
	stream      TEXT NOT NULL,
	course      TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	watermark   INTEGER NOT NULL,
	saved_at    TEXT NOT NULL,
	PRIMARY KEY (stream, course)
) WITHOUT ROWID;
CREATE TABLE session_states (
	stream   TEXT NOT NULL,
	course   TEXT NOT NULL,
	key      TEXT NOT NULL,
	seconds  INTEGER NOT NULL,
	sessions INTEGER NOT NULL,
	events   INTEGER NOT NULL,
	first    INTEGER NOT NULL,
	last     INTEGER NOT NULL,
	start    INTEGER NOT NULL,
	PRIMARY KEY (stream, course, key)
) WITHOUT ROWID;
`,
	// 3: when the last POST of a send may have left ('' when none can
	// have reached SENCE), so that a send whose outcome is unknown is not
	// taken as lost before SENCE can have recorded it. A pending send of
	// an earlier version may have been posted when it was created.
	`
ALTER TABLE sends ADD COLUMN posted_at TEXT NOT NULL DEFAULT '';
UPDATE sends SET posted_at = created_at WHERE status = 'pending';
`,
	// 4: what a run left out and why (notices: Moodle courses that look
	// like SENCE courses but are not selected, sections and students not
	// reported, students who left), and which runs got as far as
	// building, so that engine status shows the notices of the last build.
	`
ALTER TABLE runs ADD COLUMN built INTEGER NOT NULL DEFAULT 0;
CREATE TABLE run_notices (
	run_id        INTEGER NOT NULL REFERENCES runs(id),
	seq           INTEGER NOT NULL,
	kind          TEXT NOT NULL,
	codigo_oferta TEXT NOT NULL DEFAULT '',
	codigo_grupo  TEXT NOT NULL DEFAULT '',
	subject       TEXT NOT NULL DEFAULT '',
	message       TEXT NOT NULL,
	PRIMARY KEY (run_id, seq)
);
`,
	// 5: a student's Moodle id and, without a valid RUT, what Moodle
	// holds instead, so that engine status names a student as the run's
	// report does (rows of earlier runs keep them empty).
	`
ALTER TABLE students ADD COLUMN moodle_id TEXT NOT NULL DEFAULT '';
ALTER TABLE students ADD COLUMN rut_text TEXT NOT NULL DEFAULT '';
`,
}

// SchemaVersion is the schema version this engine writes.
func SchemaVersion() int { return len(migrations) }

// ErrNewerSchema: the ledger was written by a newer engine.
var ErrNewerSchema = errors.New("el registro fue creado por una versión más nueva del motor")

func (l *Ledger) migrate(ctx context.Context) error {
	if _, err := l.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("no se puede preparar el esquema: %w", err)
	}
	for {
		done, err := l.migrateOne(ctx)
		if err != nil || done {
			return err
		}
	}
}

// migrateOne applies the next migration in its own transaction; done is
// true when the schema is current.
func (l *Ledger) migrateOne(ctx context.Context) (done bool, err error) {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var v int
	err = tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return false, err
		}
	case err != nil:
		return false, err
	}
	if v > len(migrations) {
		return false, fmt.Errorf("%w (esquema %d, este motor conoce hasta el %d): actualice el motor", ErrNewerSchema, v, len(migrations))
	}
	if v == len(migrations) {
		return true, tx.Commit()
	}
	if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
		return false, fmt.Errorf("migración %d: %w", v+1, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, v+1); err != nil {
		return false, err
	}
	return false, tx.Commit()
}

// timeFormat keeps every timestamp in UTC with a fixed width, so that text
// order is time order.
const timeFormat = "2006-01-02T15:04:05.000000Z"

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

func parseTS(s string) time.Time {
	t, _ := time.Parse(timeFormat, s)
	return t
}
