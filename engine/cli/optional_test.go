package cli

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
)

// TestMoodleWithoutChatAndSurvey: a Moodle 5.0 site, whose standard
// distribution no longer has the chat and survey activities (their tables
// are gone), runs the preset as shipped: validate --db finds nothing more
// to say, doctor the same findings, and the export is the same, byte for
// byte, as on a Moodle that has the tables.
func TestMoodleWithoutChatAndSurvey(t *testing.T) {
	with := demoDir(t)
	without := demoDir(t)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(without, "moodle.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"DROP TABLE mdl_chat", "DROP TABLE mdl_survey"} {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	db.Close()
	env := map[string]string{"SENCE_TOKEN": secretToken}
	for _, cmd := range [][]string{{"validate", "--db"}, {"doctor", "--date", "2026-11-20"}} {
		a := run(t, env, append(cmd, filepath.Join(with, "mapping.yaml"))...)
		b := run(t, env, append(cmd, filepath.Join(without, "mapping.yaml"))...)
		if a.code != b.code || replaceDir(a.stdout, with) != replaceDir(b.stdout, without) {
			t.Errorf("%v differs without chat and survey: exit %d vs %d\n--- with\n%s%s\n--- without\n%s%s", cmd, a.code, b.code, a.stdout, a.stderr, b.stdout, b.stderr)
		}
	}
	outA, outB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	ra := run(t, env, "export", filepath.Join(with, "mapping.yaml"), "--date", "2026-11-20", "--out", outA)
	rb := run(t, env, "export", filepath.Join(without, "mapping.yaml"), "--date", "2026-11-20", "--out", outB)
	if ra.code != rb.code || ra.code == ExitFailed {
		t.Fatalf("export: exit %d vs %d\n%s\n%s", ra.code, rb.code, ra.stderr, rb.stderr)
	}
	files, _ := os.ReadDir(outA)
	if len(files) < 2 {
		t.Fatalf("export wrote %d files", len(files))
	}
	for _, f := range files {
		a, _ := os.ReadFile(filepath.Join(outA, f.Name()))
		b, err := os.ReadFile(filepath.Join(outB, f.Name()))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs without chat and survey (%v)", f.Name(), err)
		}
	}
}

func replaceDir(s, dir string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte(dir), []byte("DIR")))
}
