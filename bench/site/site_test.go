package site

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/moodledb"
	"github.com/otec-tools/sence-engine/engine/moodledb/dbtest"
	"github.com/otec-tools/sence-engine/engine/moodledb/demo"
)

func TestValuesToTSV(t *testing.T) {
	var got []chunk
	w := &tsvWriter{prefix: "m_", out: func(c chunk) error { got = append(got, c); return nil }}
	sql := `INSERT INTO "m_t" ("a", "b", "c") VALUES (1,'it''s; ok',NULL),(-2,E'back\\slash	tab',3.50000);` + "\n" +
		`INSERT INTO "m_u" ("x") VALUES ('line` + "\n" + `break'),('');` + "\n"
	// Feed it byte by byte: statements and literals cross writes.
	for i := range len(sql) {
		if _, err := w.Write([]byte{sql[i]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d chunks", len(got))
	}
	want := "1\tit's; ok\t\\N\n-2\tback\\\\slash\\ttab\t3.50000\n"
	if got[0].table != "t" || strings.Join(got[0].columns, ",") != "a,b,c" || string(got[0].rows) != want || got[0].n != 2 {
		t.Errorf("chunk 0: %+v\n%q", got[0], got[0].rows)
	}
	if got[1].table != "u" || string(got[1].rows) != "line\\nbreak\n\n" || got[1].n != 2 {
		t.Errorf("chunk 1: %q", got[1].rows)
	}
}

// TestLoadEqualsDemoLoad loads a small site with Load and with demo.Load
// and requires every table to hold the same rows and the same indexes.
func TestLoadEqualsDemoLoad(t *testing.T) {
	cfg := demo.Scaled(3, 60)
	cfg.LogEventsPerStudent = 40
	ds := demo.Generate(cfg)
	for _, dialect := range moodledb.Dialects {
		t.Run(dbtest.Name(dialect), func(t *testing.T) {
			ctx := context.Background()
			ref := dbtest.Open(t, dialect)
			if err := moodledb.CreateSchema(ctx, ref, dialect, "mdl_"); err != nil {
				t.Fatal(err)
			}
			if err := ds.Load(ctx, ref, dialect, "mdl_"); err != nil {
				t.Fatal(err)
			}
			fast := dbtest.Open(t, dialect)
			res, err := Load(ctx, fast, dialect, "mdl_", ds, t.Logf)
			if err != nil {
				t.Fatal(err)
			}
			counts, _ := ds.RowCounts()
			for table, n := range counts {
				if res.Rows[table] != n {
					t.Errorf("%s: loaded %d rows, the dataset has %d", table, res.Rows[table], n)
				}
			}
			for _, table := range moodledb.Tables() {
				a, b := tableHash(t, ref, dialect, "mdl_"+table), tableHash(t, fast, dialect, "mdl_"+table)
				if a != b {
					t.Errorf("table %s differs from demo.Load", table)
				}
			}
			if a, b := indexes(t, ref, dialect), indexes(t, fast, dialect); a != b {
				t.Errorf("indexes differ from CreateSchema's:\n%s\n---\n%s", a, b)
			}
		})
	}
}

func tableHash(t *testing.T, db *sql.DB, dialect, table string) string {
	t.Helper()
	rows, err := db.Query("SELECT * FROM " + moodledb.QuoteIdent(dialect, table) + " ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	h := sha256.New()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			fmt.Fprintf(h, "%T:%v\x1f", v, v)
		}
		h.Write([]byte{'\n'})
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func indexes(t *testing.T, db *sql.DB, dialect string) string {
	t.Helper()
	var q string
	switch dialect {
	case moodledb.Postgres:
		q = "SELECT indexname, replace(indexdef, current_schema() || '.', '') FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1"
	case moodledb.MySQL:
		q = "SELECT index_name, table_name, non_unique, seq_in_index, column_name FROM information_schema.statistics WHERE table_schema = DATABASE() ORDER BY 2, 1, 4"
	default:
		q = "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY 1"
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var b bytes.Buffer
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			b.WriteString(v.String + " ")
		}
		b.WriteByte('\n')
	}
	return b.String()
}
