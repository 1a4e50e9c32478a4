package nightly

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/ledger"
)

// TestWriteJSON: the report written course by course is byte for byte
// what encoding/json writes of it whole (reports/run-N.json), with no
// course, one, and several with characters JSON escapes.
func TestWriteJSON(t *testing.T) {
	full := &Report{RunID: 3, Mapping: "m.yaml", Night: night1, Started: time.Date(2026, 11, 20, 22, 0, 0, 0, time.UTC),
		Outcome: OutcomeProblems, Messages: []string{"a <b> & \"c\""}, Courses: []*CourseReport{},
		Unselected: []assemble.UnselectedCourse{{CourseID: "9", Shortname: "BODEGA", Reason: "\"cursos\": []"}}}
	for n := range 4 {
		r := *full
		for i := range n {
			r.Courses = append(r.Courses, &CourseReport{CodigoOferta: "C-" + string(rune('1'+i)), Name: "«Curso» <x>\n\"cursos\": []",
				Status: CourseAccepted, Notes: []string{"aviso"}, Students: []*StudentReport{{RUT: key(ana), Status: StudentAccepted, Regressions: []string{"M1 50 < 60"}}, {RUT: key(bruno)}}})
		}
		r.total()
		var got bytes.Buffer
		if err := r.WriteJSON(&got); err != nil {
			t.Fatal(err)
		}
		want, _ := json.MarshalIndent(&r, "", "  ")
		want = append(want, '\n')
		for _, s := range []string{`"$schema": "` + ReportSchemaID + `"`, `"version": 1`, `"inicio": "2026-11-20T19:00:00-03:00"`} {
			if !bytes.Contains(got.Bytes(), []byte(s)) {
				t.Errorf("%d courses: no %s in\n%s", n, s, got.String())
			}
		}
		if n > 0 && !bytes.Contains(got.Bytes(), []byte(`"alumno": "alumno (RUT `)) {
			t.Errorf("%d courses: students not named:\n%s", n, got.String())
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%d courses:\n%s\nwant\n%s", n, got.String(), want)
		}
	}
}

// TestStudentOfRecord: engine status names a student as the run did,
// and a student recorded by an earlier version (no Moodle id kept) by
// name and RUT.
func TestStudentOfRecord(t *testing.T) {
	for _, tc := range []struct {
		rec  ledger.StudentRecord
		want string
	}{
		{ledger.StudentRecord{Alumno: "20111222-2", MoodleID: "16", Label: "Benjamín Araya"}, "Benjamín Araya (RUT 20.111.222-2, Moodle id 16)"},
		{ledger.StudentRecord{Alumno: "moodle:10", MoodleID: "10", RUTText: "11111111-2", Label: "Luis Silva"}, `Luis Silva (RUT inválido "11111111-2", Moodle id 10)`},
		// Rows of earlier versions.
		{ledger.StudentRecord{Alumno: "20111222-2", Label: "Benjamín Araya"}, "Benjamín Araya (RUT 20.111.222-2)"},
		{ledger.StudentRecord{Alumno: "moodle:9", Label: "Juan Pérez"}, "Juan Pérez (sin RUT válido, Moodle id 9)"},
	} {
		if got := StudentOfRecord(tc.rec); got != tc.want {
			t.Errorf("StudentOfRecord(%+v) = %q, want %q", tc.rec, got, tc.want)
		}
	}
}
