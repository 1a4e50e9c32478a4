package moodledb_test

import (
	"context"
	"database/sql"
	"reflect"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/moodledb"
	"github.com/otec-tools/sence-engine/engine/moodledb/dbtest"
)

func TestSplitStatements(t *testing.T) {
	script := "-- a comment; with a semicolon\n" +
		"CREATE TABLE \"a;b\" (x TEXT DEFAULT 'it''s; fine');\n" +
		"/* block; comment */ CREATE INDEX i ON `t;` (x);;\n" +
		"  \n" +
		"SELECT 1"
	got := moodledb.SplitStatements(script)
	want := []string{
		"CREATE TABLE \"a;b\" (x TEXT DEFAULT 'it''s; fine')",
		"CREATE INDEX i ON `t;` (x)",
		"SELECT 1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SplitStatements:\n got %q\nwant %q", got, want)
	}
}

func TestTables(t *testing.T) {
	tables := moodledb.Tables()
	if len(tables) != 52 {
		t.Fatalf("Tables() has %d tables, want 52: %v", len(tables), tables)
	}
	for _, want := range []string{"course", "user", "logstore_standard_log", "block_dedication", "bigbluebuttonbn_logs", "course_modules_viewed", "imscp",
		"config", "config_plugins", "zoom", "zoom_meeting_details", "zoom_meeting_participants",
		"groups", "groups_members", "customfield_category", "customfield_field", "customfield_data"} {
		found := false
		for _, tb := range tables {
			found = found || tb == want
		}
		if !found {
			t.Errorf("Tables() lacks %s", want)
		}
	}
	tables[0] = "changed"
	if moodledb.Tables()[0] == "changed" {
		t.Error("Tables() returns the package's own slice")
	}
}

func TestStatementsReplaceOnlyThePrefix(t *testing.T) {
	for _, dialect := range moodledb.Dialects {
		base, err := moodledb.Statements(dialect, moodledb.DefaultPrefix)
		if err != nil {
			t.Fatal(err)
		}
		want := 52 + 132
		if dialect == moodledb.MySQL {
			want = 52 // indexes inside CREATE TABLE
		}
		if len(base) != want {
			t.Errorf("%s: %d statements, want %d", dialect, len(base), want)
		}
		for _, prefix := range []string{"m_", "moodle_", "mdl2024_", "x"} {
			got, err := moodledb.Statements(dialect, prefix)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range got {
				if strings.Contains(s, "mdl_") {
					t.Errorf("%s/%s: statement keeps mdl_: %.80s", dialect, prefix, s)
				}
				// Undoing the replacement must give back the original
				// statement: nothing but the prefix changed.
				undo := strings.ReplaceAll(s, `"`+prefix, `"mdl_`)
				undo = strings.ReplaceAll(undo, "`"+prefix, "`mdl_")
				undo = strings.ReplaceAll(undo, "INDEX "+prefix, "INDEX mdl_")
				if undo != base[i] {
					t.Errorf("%s/%s: statement %d changed beyond the prefix:\n%s\n%s", dialect, prefix, i, s, base[i])
				}
			}
		}
	}
}

func TestCheckPrefix(t *testing.T) {
	for _, ok := range []string{"mdl_", "m_", "moodle_", "a", "mdl2_"} {
		if err := moodledb.CheckPrefix(ok); err != nil {
			t.Errorf("CheckPrefix(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "MDL_", "1mdl_", "mdl-", `m"`, "m`", "m_; DROP", strings.Repeat("p", 20)} {
		if err := moodledb.CheckPrefix(bad); err == nil {
			t.Errorf("CheckPrefix(%q) accepted a bad prefix", bad)
		}
	}
	if _, err := moodledb.Statements("oracle", "mdl_"); err == nil {
		t.Error("Statements accepted an unknown dialect")
	}
}

func TestCreateSchema(t *testing.T) {
	for _, dialect := range moodledb.Dialects {
		t.Run(dbtest.Name(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := dbtest.Open(t, dialect)
			// Two installs in one database, as Moodle allows: the
			// prefixes keep their tables and indexes apart.
			for _, prefix := range []string{"mdl_", "m_"} {
				if err := moodledb.CreateSchema(ctx, db, dialect, prefix); err != nil {
					t.Fatalf("CreateSchema(%s): %v", prefix, err)
				}
				for _, tb := range moodledb.Tables() {
					var n int
					if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+moodledb.QuoteIdent(dialect, prefix+tb)).Scan(&n); err != nil {
						t.Errorf("table %s%s: %v", prefix, tb, err)
					}
				}
				want := 132
				if dialect == moodledb.Postgres {
					want += 52 // the primary keys' <table>_pkey indexes
				}
				if n := countIndexes(t, db, dialect, prefix); n != want {
					t.Errorf("%d indexes named %s*, want %d", n, prefix, want)
				}
			}
			if err := moodledb.CreateSchema(ctx, db, dialect, "m_"); err == nil {
				t.Error("CreateSchema over an existing schema succeeded")
			}
			// Start over: drop (twice, the second time over nothing) and
			// create again.
			for range 2 {
				if err := moodledb.DropSchema(ctx, db, dialect, "m_"); err != nil {
					t.Fatalf("DropSchema: %v", err)
				}
			}
			if n := countIndexes(t, db, dialect, "m_"); n != 0 {
				t.Errorf("%d indexes left after DropSchema", n)
			}
			if err := moodledb.CreateSchema(ctx, db, dialect, "m_"); err != nil {
				t.Fatalf("CreateSchema after DropSchema: %v", err)
			}
			// Accented text survives the round trip (utf8mb4 on MySQL).
			name := "Evaluación diagnóstica — ñandú"
			if _, err := db.ExecContext(ctx, "INSERT INTO "+moodledb.QuoteIdent(dialect, "m_quiz")+" (course, name) VALUES (2, '"+name+"')"); err != nil {
				t.Fatal(err)
			}
			var got string
			if err := db.QueryRowContext(ctx, "SELECT name FROM m_quiz").Scan(&got); err != nil || got != name {
				t.Errorf("read back %q, %v; want %q", got, err, name)
			}
		})
	}
}

func countIndexes(t *testing.T, db *sql.DB, dialect, prefix string) int {
	t.Helper()
	var q string
	switch dialect {
	case moodledb.SQLite:
		q = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND substr(name, 1, length(?)) = ?"
	case moodledb.Postgres:
		q = "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND substr(indexname, 1, length($1)) = $2"
	case moodledb.MySQL:
		q = "SELECT COUNT(DISTINCT index_name) FROM information_schema.statistics WHERE table_schema = DATABASE() AND BINARY substr(index_name, 1, char_length(?)) = ?"
	}
	var n int
	if err := db.QueryRowContext(context.Background(), q, prefix, prefix).Scan(&n); err != nil {
		t.Fatalf("count indexes: %v", err)
	}
	return n
}

func TestColumns(t *testing.T) {
	for _, dialect := range moodledb.Dialects {
		cols, err := moodledb.Columns(dialect, "grade_grades")
		if err != nil {
			t.Fatal(err)
		}
		if len(cols) != 23 || cols[0].Name != "id" || cols[8].Name != "finalgrade" || !strings.HasSuffix(cols[8].Type, "(10,5)") {
			t.Errorf("%s: grade_grades columns %v", dialect, cols)
		}
		for _, tb := range moodledb.Tables() {
			if cols, err := moodledb.Columns(dialect, tb); err != nil || len(cols) < 3 {
				t.Errorf("%s: %s: %d columns, %v", dialect, tb, len(cols), err)
			}
		}
	}
	if _, err := moodledb.Columns("sqlite", "nonexistent"); err == nil {
		t.Error("Columns of an unknown table")
	}
	scorm, _ := moodledb.Columns("postgres", "scorm")
	for _, c := range scorm {
		if c.Name == "maxgrade" && c.Type != "DOUBLE PRECISION" {
			t.Errorf("scorm.maxgrade is %q", c.Type)
		}
	}
}
