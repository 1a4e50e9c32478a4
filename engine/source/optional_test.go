package source

import (
	"context"
	"strings"
	"testing"

	"github.com/otec-tools/sence-engine/engine/moodledb"
	"github.com/otec-tools/sence-engine/engine/moodledb/dbtest"
)

// TestOptionalTables: {chat?} reads the table where the site has it and an
// empty table with its columns where it does not (Moodle 5.0 removed chat
// and survey from the standard distribution), on each engine; the query
// is the same, and the join on the missing table matches nothing.
func TestOptionalTables(t *testing.T) {
	ctx := context.Background()
	query := `SELECT cm.id AS cmid, COALESCE(a.name, s.name, '') AS name
	            FROM {course_modules} cm
	            LEFT JOIN {chat?} a ON a.id = cm.instance AND cm.module = 1
	            LEFT JOIN {survey?} s ON s.id = cm.instance AND cm.module = 2
	           WHERE cm.course IN (:courseids)
	           ORDER BY cm.id`
	for _, dialect := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(dbtest.Name(dialect), func(t *testing.T) {
			admin, dsn := dbtest.OpenDSN(t, dialect)
			if err := moodledb.CreateSchema(ctx, admin, dialect, "m_"); err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{
				"INSERT INTO m_course_modules (id, course, module, instance, section) VALUES (10, 5, 1, 7, 1), (11, 5, 2, 8, 1), (12, 6, 1, 7, 1)",
				"INSERT INTO m_chat (id, course, name, intro) VALUES (7, 5, 'Chat de dudas', '')",
				"INSERT INTO m_survey (id, course, name, intro, questions) VALUES (8, 5, 'Encuesta COLLES', '', '')",
			} {
				if _, err := admin.Exec(s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			read := func() []string {
				t.Helper()
				db, err := Open(ctx, dialect, dsn)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				text, args, err := Expand(query, "m_", func(string) (any, bool) { return []int64{5}, true })
				if err != nil {
					t.Fatal(err)
				}
				tx, err := db.ReadTx(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback()
				cols, err := db.Describe(ctx, tx, text, args)
				if err != nil || strings.Join(cols, ",") != "cmid,name" {
					t.Fatalf("describe: %v %v", cols, err)
				}
				rows, err := db.Query(ctx, tx, text, args, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var out []string
				for rows.Next() {
					v, err := rows.Values()
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, strings.TrimSpace(v[1].(string)))
				}
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
				return out
			}
			if got := strings.Join(read(), "|"); got != "Chat de dudas|Encuesta COLLES" {
				t.Errorf("with the tables: %q", got)
			}
			for _, s := range []string{"DROP TABLE m_chat", "DROP TABLE m_survey"} {
				if _, err := admin.Exec(s); err != nil {
					t.Fatal(err)
				}
			}
			if got := strings.Join(read(), "|"); got != "|" {
				t.Errorf("without the tables: %q, want two unnamed rows", got)
			}
		})
	}
}

func TestOptionalTableRefs(t *testing.T) {
	refs := Tables("SELECT 1 FROM {course} c LEFT JOIN {chat?} a ON a.id = c.id WHERE x = '{survey?}'")
	if len(refs) != 2 || refs[0].Name != "course" || refs[0].Optional || refs[1].Name != "chat" || !refs[1].Optional {
		t.Errorf("refs: %+v", refs)
	}
	text, _, err := Expand("SELECT a.name FROM {chat?} a", "mdl_", nil)
	if err != nil || text != "SELECT a.name FROM {?chat|mdl_chat} a" {
		t.Errorf("expand: %q %v", text, err)
	}
	if _, err := emptyTable("sqlite", "not_a_moodle_table"); err == nil || !strings.Contains(err.Error(), "«{not_a_moodle_table?}»") {
		t.Errorf("unknown optional table: %v", err)
	}
}
