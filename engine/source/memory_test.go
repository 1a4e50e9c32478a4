package source_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/otec-tools/sence-engine/engine/source"
)

// TestOpenMemory: the in-memory database another connection loaded is
// read through the same read-only guards as a file, and lives while that
// connection is open.
func TestOpenMemory(t *testing.T) {
	ctx := context.Background()
	w, err := sql.Open("sqlite", source.MemoryURI("memory-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.SetMaxOpenConns(1)
	if _, err := w.Exec("CREATE TABLE x (a INTEGER); INSERT INTO x VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	d, err := source.OpenMemory(ctx, "memory-test", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tx, err := d.ReadTx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var a int
	if err := tx.QueryRow("SELECT a FROM x").Scan(&a); err != nil || a != 7 {
		t.Fatalf("read %d, %v", a, err)
	}
	if _, err := tx.Exec("INSERT INTO x VALUES (8)"); err == nil {
		t.Fatal("the in-memory database was written through the engine's connection")
	}
	// Another name is another, empty, database.
	o, err := source.OpenMemory(ctx, "memory-test-other", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.QueryRow("SELECT a FROM x").Scan(&a); err == nil {
		t.Fatal("two names share one database")
	}
}
