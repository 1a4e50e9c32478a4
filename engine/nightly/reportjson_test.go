package nightly

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/assemble"
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
		want, _ := json.MarshalIndent(&r, "", "  ")
		want = append(want, '\n')
		var got bytes.Buffer
		if err := r.WriteJSON(&got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%d courses:\n%s\nwant\n%s", n, got.String(), want)
		}
	}
}
