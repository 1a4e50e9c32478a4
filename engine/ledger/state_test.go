package ledger

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 21, 1, 30, 0, 0, time.UTC) // 22:30 in Santiago

func open(t *testing.T) *Ledger {
	t.Helper()
	l, err := Open(context.Background(), filepath.Join(t.TempDir(), "sub", "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestDefaultPath(t *testing.T) {
	for _, c := range []struct{ mapping, configured, want string }{
		{"/etc/engine/mapping.yaml", "", "/etc/engine/mapping.ledger.db"},
		{"/etc/engine/otec.yml", "", "/etc/engine/otec.ledger.db"},
		{"/etc/engine/mapping.yaml", "state/ledger.db", "/etc/engine/state/ledger.db"},
		{"/etc/engine/mapping.yaml", "/var/lib/engine/l.db", "/var/lib/engine/l.db"},
		{"mapping.yaml", "", "mapping.ledger.db"},
	} {
		if got := DefaultPath(c.mapping, c.configured); got != c.want {
			t.Errorf("%s %q: %s, want %s", c.mapping, c.configured, got, c.want)
		}
	}
}

func TestOpenMigratesOnceWithWAL(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	for range 2 { // the second open finds the schema current
		l, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		var v int
		if err := l.db.QueryRow(`SELECT version FROM schema_version`).Scan(&v); err != nil || v != SchemaVersion() {
			t.Fatalf("version %d (%v), want %d", v, err, SchemaVersion())
		}
		var n int
		l.db.QueryRow(`SELECT COUNT(*) FROM schema_version`).Scan(&n)
		if n != 1 {
			t.Fatalf("%d rows in schema_version", n)
		}
		var mode string
		var busy int
		l.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode)
		l.db.QueryRow(`PRAGMA busy_timeout`).Scan(&busy)
		if mode != "wal" || busy != int(busyTimeout.Milliseconds()) {
			t.Errorf("journal_mode %q, busy_timeout %d", mode, busy)
		}
		l.Close()
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("ledger mode: %v %v", fi.Mode(), err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	l.db.Exec(`UPDATE schema_version SET version = 99`)
	l.Close()
	_, err = Open(ctx, path)
	if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "actualice el motor") {
		t.Fatalf("got %v", err)
	}
}

func TestOutbox(t *testing.T) {
	ctx := context.Background()
	l := open(t)
	run := &Run{StartedAt: t0, Night: "2026-11-20", Mapping: "m.yaml", PID: 1}
	if err := l.StartRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	n, err := l.NextAttempt(ctx, "2026-11-20", "C1", "G1")
	if err != nil || n != 1 {
		t.Fatalf("attempt %d %v", n, err)
	}
	s := &Send{RunID: run.ID, Night: "2026-11-20", CodigoOferta: "C1", CodigoGrupo: "G1", Attempt: n, CodigoEnvio: "C1-G1-20261120-1",
		PayloadHash: "h1", Request: []byte(`{"token":"<TOKEN>"}`), CreatedAt: t0}
	if err := l.AddPending(ctx, s); err != nil {
		t.Fatal(err)
	}
	// The same codigoEnvio twice is refused: the outbox never holds two.
	dup := *s
	if err := l.AddPending(ctx, &dup); err == nil {
		t.Fatal("duplicate codigoEnvio accepted")
	}
	pend, _ := l.PendingSends(ctx)
	if len(pend) != 1 || pend[0].CodigoEnvio != s.CodigoEnvio || string(pend[0].Request) != `{"token":"<TOKEN>"}` || !pend[0].CreatedAt.Equal(t0) {
		t.Fatalf("pending: %+v", pend)
	}
	// Not posted yet: nothing can have reached SENCE.
	if !pend[0].PostedAt.IsZero() {
		t.Fatalf("posted at %s before any POST", pend[0].PostedAt)
	}
	if err := l.Posting(ctx, s.ID, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if pend, _ := l.PendingSends(ctx); !pend[0].PostedAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("posted at %s", pend[0].PostedAt)
	}
	if err := l.Unposted(ctx, s.ID, "SENCE no lo recibió"); err != nil {
		t.Fatal(err)
	}
	if pend, _ := l.PendingSends(ctx); !pend[0].PostedAt.IsZero() || pend[0].Error != "SENCE no lo recibió" {
		t.Fatalf("unposted: %+v", pend[0])
	}
	l.Posting(ctx, s.ID, t0.Add(2*time.Second))
	err = l.Complete(ctx, Completion{SendID: s.ID, Status: SendPartial, At: t0.Add(time.Minute), Response: []byte(`{"id_proceso":7}`), IDProceso: "7",
		Accepted: 1, Rejected: 1,
		Items: []Item{
			{RUT: "11111111-1", PorcentajeAvance: 50, Estado: 1, Outcome: "accepted"},
			{RUT: "11111111-1", Modulo: "M1", PorcentajeAvance: 40, Estado: 1, Outcome: "accepted"},
			{RUT: "22222222-2", PorcentajeAvance: 10, Estado: 1, Outcome: "rejected", Code: "012", Message: "no registrado"},
		},
		Values: []Value{
			{CodigoOferta: "C1", CodigoGrupo: "G1", RUT: "11111111-1", PorcentajeAvance: 50, Estado: 1, Fingerprint: "f", At: t0, SendID: s.ID, Source: FromSend},
			{CodigoOferta: "C1", CodigoGrupo: "G1", RUT: "11111111-1", Modulo: "M1", PorcentajeAvance: 40, Estado: 1, At: t0, SendID: s.ID, Source: FromSend},
		}})
	if err != nil {
		t.Fatalf("complete: %v", err)
	}
	if pend, _ := l.PendingSends(ctx); len(pend) != 0 {
		t.Fatalf("still pending: %+v", pend)
	}
	sends, _ := l.SendsOf(ctx, "2026-11-20", "C1", "G1")
	if len(sends) != 1 || sends[0].Status != SendPartial || sends[0].IDProceso != "7" || sends[0].Accepted != 1 || sends[0].Rejected != 1 {
		t.Fatalf("sends: %+v", sends)
	}
	items, _ := l.Items(ctx, s.ID)
	if len(items) != 3 || items[2].Code != "012" {
		t.Fatalf("items: %+v", items)
	}
	acc, _ := l.AcceptedOf(ctx, "C1", "G1")
	a := acc["11111111-1"]
	if a == nil || a.Student.PorcentajeAvance != 50 || a.Student.Fingerprint != "f" || a.Modules["M1"].PorcentajeAvance != 40 || a.Modules["M1"].SendID != s.ID {
		t.Fatalf("accepted: %+v", a)
	}
	if _, ok := acc["22222222-2"]; ok {
		t.Fatal("a rejected student counted as accepted")
	}
	if n, _ := l.NextAttempt(ctx, "2026-11-20", "C1", "G1"); n != 2 {
		t.Fatalf("next attempt %d", n)
	}
	// A send no longer pending is not marked posted: its POST would not leave.
	if err := l.Posting(ctx, s.ID, t0.Add(time.Hour)); err == nil {
		t.Fatal("a completed send recorded as posted again")
	}
}

// TestMigrationPostedAt: a ledger of the previous schema keeps its pending
// sends «sin confirmar» from when they were created, so the upgraded
// engine waits for SENCE as if they had just been posted then.
func TestMigrationPostedAt(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	// Back to schema 2, with one pending and one accepted send.
	for _, q := range []string{
		`ALTER TABLE students DROP COLUMN moodle_id`,
		`ALTER TABLE students DROP COLUMN rut_text`,
		`DROP TABLE run_notices`,
		`ALTER TABLE runs DROP COLUMN built`,
		`ALTER TABLE sends DROP COLUMN posted_at`,
		`UPDATE schema_version SET version = 2`,
		`INSERT INTO runs (started_at, night, mapping, status) VALUES ('x', '2026-11-20', 'm', 'interrupted')`,
		`INSERT INTO sends (run_id, night, codigo_oferta, codigo_grupo, attempt, codigo_envio, payload_hash, request, status, created_at)
		 VALUES (1, '2026-11-20', 'C1', 'C1', 1, 'C1-20261120-i1', 'h', '{}', 'pending', '` + ts(t0) + `'),
		        (1, '2026-11-20', 'C2', 'C2', 1, 'C2-20261120-i1', 'h', '{}', 'accepted', '` + ts(t0) + `')`,
	} {
		if _, err := l.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	l.Close()
	l, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sends, _ := l.Sends(ctx)
	if len(sends) != 2 || !sends[0].PostedAt.Equal(t0) || !sends[1].PostedAt.IsZero() {
		t.Fatalf("migrated: %+v", sends)
	}
}

// TestMigrationStudentIdentity: a ledger of schema 4 keeps its students;
// they read back without a Moodle id (engine status names them by name
// and RUT), and the next run's rows carry it.
func TestMigrationStudentIdentity(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`ALTER TABLE students DROP COLUMN moodle_id`,
		`ALTER TABLE students DROP COLUMN rut_text`,
		`UPDATE schema_version SET version = 4`,
		`INSERT INTO runs (started_at, night, mapping, status) VALUES ('x', '2026-11-20', 'm', 'problems')`,
		`INSERT INTO students (codigo_oferta, codigo_grupo, alumno, label, run_id, status, code, message, updated_at)
		 VALUES ('C1', 'C1', 'moodle:9', 'Juan Pérez', 1, 'excluido', '', 'sin RUT', '` + ts(t0) + `')`,
	} {
		if _, err := l.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	l.Close()
	l, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got, err := l.Troubled(ctx, "excluido")
	if err != nil || len(got) != 1 || got[0].Alumno != "moodle:9" || got[0].Label != "Juan Pérez" || got[0].MoodleID != "" || got[0].RUTText != "" {
		t.Fatalf("old row: %v %+v", err, got)
	}
	rec := StudentRecord{CodigoOferta: "C1", CodigoGrupo: "C1", Alumno: "moodle:10", MoodleID: "10", RUTText: "11111111-2", Label: "Luis Silva", Status: "excluido"}
	if err := l.SaveCourse(ctx, 1, t0, CourseRecord{CodigoOferta: "C1", CodigoGrupo: "C1", Status: "parcial"}, []StudentRecord{rec}); err != nil {
		t.Fatal(err)
	}
	got, _ = l.Troubled(ctx, "excluido")
	if len(got) != 2 || got[0] != rec {
		t.Fatalf("new row: %+v", got)
	}
}

func TestSeedKeepsTheNewest(t *testing.T) {
	ctx := context.Background()
	l := open(t)
	v := Value{CodigoOferta: "C1", CodigoGrupo: "G1", RUT: "11111111-1", Modulo: "M1", PorcentajeAvance: 60, Estado: 1, At: t0, Source: FromSend}
	if err := l.Seed(ctx, []Value{v}); err != nil {
		t.Fatal(err)
	}
	older := v
	older.PorcentajeAvance, older.At, older.Source = 30, t0.Add(-24*time.Hour), FromHistory
	newer := v
	newer.PorcentajeAvance, newer.At, newer.Source = 70, t0.Add(time.Hour), FromHistory
	l.Seed(ctx, []Value{older})
	acc, _ := l.AcceptedOf(ctx, "C1", "G1")
	if got := acc["11111111-1"].Modules["M1"]; got.PorcentajeAvance != 60 || got.Source != FromSend {
		t.Fatalf("an older history value replaced a newer one: %+v", got)
	}
	l.Seed(ctx, []Value{newer})
	acc, _ = l.AcceptedOf(ctx, "C1", "G1")
	if got := acc["11111111-1"].Modules["M1"]; got.PorcentajeAvance != 70 || got.Source != FromHistory {
		t.Fatalf("newer value not recorded: %+v", got)
	}
}

func TestRunsAndTroubled(t *testing.T) {
	ctx := context.Background()
	l := open(t)
	r1 := &Run{StartedAt: t0, Night: "2026-11-20", Mapping: "m.yaml"}
	l.StartRun(ctx, r1)
	l.SaveCourse(ctx, r1.ID, t0, CourseRecord{CodigoOferta: "C1", CodigoGrupo: "G1", Status: "accepted"}, []StudentRecord{
		{CodigoOferta: "C1", CodigoGrupo: "G1", Alumno: "11111111-1", Status: "rejected", Code: "012"},
		{CodigoOferta: "C1", CodigoGrupo: "G1", Alumno: "moodle:9", Status: "excluded"},
		{CodigoOferta: "C1", CodigoGrupo: "G1", Alumno: "33333333-3", Status: "accepted"},
	})
	// A second run dies: CloseAbandoned marks it.
	r2 := &Run{StartedAt: t0.Add(time.Hour), Night: "2026-11-20", Mapping: "m.yaml"}
	l.StartRun(ctx, r2)
	if n, err := l.CloseAbandoned(ctx, t0.Add(2*time.Hour)); err != nil || n != 2 {
		t.Fatalf("abandoned %d %v", n, err)
	}
	runs, _ := l.Runs(ctx, 10)
	if len(runs) != 2 || runs[0].ID != r2.ID || runs[0].Status != RunInterrupted {
		t.Fatalf("runs: %+v", runs)
	}
	tr, _ := l.Troubled(ctx, "rejected", "excluded", "held")
	if len(tr) != 2 || tr[0].Status != "excluded" || tr[1].Code != "012" {
		t.Fatalf("troubled: %+v", tr)
	}
	// A later run processes the course again: the student was fixed.
	r3 := &Run{StartedAt: t0.Add(3 * time.Hour), Night: "2026-11-21", Mapping: "m.yaml"}
	l.StartRun(ctx, r3)
	l.SaveCourse(ctx, r3.ID, t0, CourseRecord{CodigoOferta: "C1", CodigoGrupo: "G1", Status: "accepted"}, []StudentRecord{
		{CodigoOferta: "C1", CodigoGrupo: "G1", Alumno: "11111111-1", Status: "accepted"},
	})
	if tr, _ := l.Troubled(ctx, "rejected", "excluded", "held"); len(tr) != 0 {
		t.Fatalf("stale trouble: %+v", tr)
	}
	cs, _ := l.RunCourses(ctx, r3.ID)
	if len(cs) != 1 || cs[0].Status != "accepted" {
		t.Fatalf("courses: %+v", cs)
	}
}

// TestConcurrentReaderWaits: another process's reader (engine status) and
// a writer share the ledger through WAL and the busy timeout.
func TestConcurrentReaderWaits(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	w, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tx, _ := w.db.BeginTx(ctx, nil)
	tx.Exec(`INSERT INTO runs (started_at, night, mapping, status) VALUES ('x', 'n', 'm', 'running')`)
	if _, err := r.Runs(ctx, 5); err != nil { // WAL: readers do not wait for writers
		t.Fatalf("reader blocked by a writer: %v", err)
	}
	tx.Commit()
	if runs, _ := r.Runs(ctx, 5); len(runs) != 1 {
		t.Fatalf("runs %+v", runs)
	}
}

func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "ledger.db") // its folder does not exist yet
	a, err := AcquireLock(path, t0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = AcquireLock(path, t0)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "proceso ") {
		t.Fatalf("second lock: %v", err)
	}
	a.Release()
	b, err := AcquireLock(path, t0)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	b.Release()
}

// TestLockReleasedWhenHolderIsKilled: a run killed with SIGKILL does not
// leave the lock stuck.
func TestLockReleasedWhenHolderIsKilled(t *testing.T) {
	if os.Getenv("STATE_LOCK_HELPER") != "" {
		if _, err := AcquireLock(os.Getenv("STATE_LOCK_HELPER"), time.Now()); err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("bloqueado\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "ledger.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockReleasedWhenHolderIsKilled$")
	cmd.Env = append(os.Environ(), "STATE_LOCK_HELPER="+path)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "bloqueado\n" {
		cmd.Process.Kill()
		t.Fatalf("helper: %q", line)
	}
	if _, err := AcquireLock(path, t0); !errors.Is(err, ErrLocked) {
		t.Fatalf("lock held by another process not seen: %v", err)
	}
	cmd.Process.Kill() // SIGKILL
	cmd.Wait()
	l, err := AcquireLock(path, t0)
	if err != nil {
		t.Fatalf("lock stuck after the holder died: %v", err)
	}
	l.Release()
}

// TestNoticesAndSections: engine status shows the notices of the last run
// that built its courses (not of a later run refused before building), and
// a course's latest state is that of the last run that processed its
// course code: a section whose codigoGrupo changed since does not linger.
func TestNoticesAndSections(t *testing.T) {
	ctx := context.Background()
	l := open(t)
	if ns, id, err := l.LatestNotices(ctx); err != nil || id != 0 || len(ns) != 0 {
		t.Fatalf("empty ledger: %v %d %v", ns, id, err)
	}
	r1 := &Run{StartedAt: t0, Night: "2026-11-20", Mapping: "m.yaml"}
	l.StartRun(ctx, r1)
	want := []Notice{
		{Kind: NoticeUnselected, Subject: "BODEGA 2026", Message: "parece un curso SENCE"},
		{Kind: NoticeLeft, CodigoOferta: "C1", CodigoGrupo: "C1", Subject: "11111111-1", Message: "SENCE aceptó su avance"},
	}
	if err := l.SaveNotices(ctx, r1.ID, want); err != nil {
		t.Fatal(err)
	}
	// The course failed before its sections were known (no codigoGrupo).
	l.SaveCourse(ctx, r1.ID, t0, CourseRecord{CodigoOferta: "C1", Status: "error", Message: "sin grupos"},
		[]StudentRecord{{CodigoOferta: "C1", Alumno: "22222222-2", Status: "excluded"}})
	r2 := &Run{StartedAt: t0.Add(time.Hour), Night: "2026-11-20", Mapping: "m.yaml"}
	l.StartRun(ctx, r2) // refused before building: no notices
	ns, id, err := l.LatestNotices(ctx)
	if err != nil || id != r1.ID || !slices.Equal(ns, want) {
		t.Fatalf("notices %+v of run %d (%v), want run %d's %+v", ns, id, err, r1.ID, want)
	}
	// The next run sends the course in two sections.
	r3 := &Run{StartedAt: t0.Add(2 * time.Hour), Night: "2026-11-21", Mapping: "m.yaml"}
	l.StartRun(ctx, r3)
	l.SaveNotices(ctx, r3.ID, nil)
	for _, g := range []string{"S1", "S2"} {
		l.SaveCourse(ctx, r3.ID, t0, CourseRecord{CodigoOferta: "C1", CodigoGrupo: g, Status: "accepted"},
			[]StudentRecord{{CodigoOferta: "C1", CodigoGrupo: g, Alumno: "3333333" + g[1:] + "-3", Status: "accepted"}})
	}
	cs, _ := l.LatestCourses(ctx)
	if len(cs) != 2 || cs[0].CodigoGrupo != "S1" || cs[1].CodigoGrupo != "S2" {
		t.Fatalf("latest courses: %+v", cs)
	}
	if tr, _ := l.Troubled(ctx, "excluded"); len(tr) != 0 {
		t.Fatalf("stale trouble of the failed course: %+v", tr)
	}
	if ns, id, _ := l.LatestNotices(ctx); id != r3.ID || len(ns) != 0 {
		t.Fatalf("notices after a clean build: %+v of run %d", ns, id)
	}
}
