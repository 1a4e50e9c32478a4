package source

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"time"
)

// MemoryURI is the SQLite URI of the in-memory database name, shared by
// every connection of this process that opens it: engine test loads a
// Moodle schema and a test's rows into it through a writing connection
// and reads it back through OpenMemory. The database lives while a
// connection to it is open.
func MemoryURI(name string) string {
	return "file:" + url.PathEscape(name) + "?mode=memory&cache=shared"
}

// OpenMemory opens the in-memory database name (MemoryURI) as OpenConfig
// opens a file: through the read-only driver, query_only and the
// authorizer, with the query time limit.
func OpenMemory(ctx context.Context, name string, timeout time.Duration) (*DB, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	d := &DB{Driver: "sqlite", DSN: MemoryURI(name), Timeout: timeout}
	db, err := sql.Open(sqliteReadOnly, d.DSN+"&_txlock=deferred")
	if err != nil {
		return nil, fmt.Errorf("no se puede abrir la base en memoria %s: %w", name, err)
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, d.explain(err)
	}
	d.DB = db
	return d, nil
}
