package nightly

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/spill"
)

// TestSpilledReport: with Config.Spill, once a course is done nothing of
// its students stays in the report (Students holds only the leavers found
// at the end) and the spill holds them; run-N.json, the text report and
// the totals are what the same report with every student in memory
// gives.
func TestSpilledReport(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.run(ctx, night1, []*assemble.CourseResult{
		course("C-1", alumno(ana, 50, 50, 50), alumno(bruno, 40, 40, 40)),
		course("C-3", alumno(carla, 20, 20, 20)),
	}, nil)
	f.advance(24 * 3600e9)
	dir := t.TempDir()
	sp, err := spill.New(dir, ".run-spool-report-")
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Remove()
	rep := f.run(ctx, night2, []*assemble.CourseResult{
		course("C-1", alumno(ana, 30, 30, 30)), // bruno left; ana goes back
		course("C-2", alumno(ana, 50, 50, 50), alumno(ghost, 10, 10, 10)),
		{CodigoOferta: "C-3", CodigoGrupo: "C-3", Payload: course("C-3", alumno(carla, 25, 25, 25)).Payload,
			Excluded: []assemble.Exclusion{{UserID: "9", Label: "Juan <Pérez>", Reasons: []string{"sin RUT"}}}},
	}, func(c *Config) { c.Spill = sp })

	// Nothing of a done course's students stays in memory but the leavers.
	left := 0
	for _, c := range rep.Courses {
		if !c.spilled {
			t.Fatalf("course %s not spilled", c.CodigoOferta)
		}
		for _, s := range c.Students {
			if s.Status != StudentLeft {
				t.Errorf("course %s keeps %s (%s) in memory", c.CodigoOferta, s.Who(), s.Status)
			}
			left++
		}
	}
	if left != 1 || rep.Totals.Left != 1 || rep.Totals.Rejected != 1 || rep.Totals.Excluded != 1 {
		t.Fatalf("%d leavers in memory, totals %+v", left, rep.Totals)
	}
	if st, err := os.Stat(sp.Name()); err != nil || st.Mode().Perm() != 0o600 || st.Size() == 0 || filepath.Dir(sp.Name()) != dir {
		t.Fatalf("spill %s: %v %v", sp.Name(), st, err)
	}

	var got, want bytes.Buffer
	if err := rep.WriteJSON(&got); err != nil {
		t.Fatal(err)
	}
	// The same report with every student in memory.
	whole := *rep
	whole.spill = nil
	whole.Courses = nil
	for _, c := range rep.Courses {
		students, err := rep.CourseStudents(c)
		if err != nil {
			t.Fatal(err)
		}
		cc := *c
		cc.spilled, cc.counted, cc.shown, cc.Students = false, Totals{}, nil, students
		whole.Courses = append(whole.Courses, &cc)
	}
	whole.total()
	whole.prepare()
	if whole.Totals != rep.Totals || whole.Outcome != rep.Outcome {
		t.Errorf("totals %+v %s, in memory %+v %s", rep.Totals, rep.Outcome, whole.Totals, whole.Outcome)
	}
	b, _ := json.MarshalIndent(&whole, "", "  ")
	want.Write(append(b, '\n'))
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("run-N.json:\n%s\nin memory:\n%s", got.String(), want.String())
	}
	for _, s := range []string{`"estado": "retirado"`, `"estado": "excluido"`, `"alumno": "Juan \u003cPérez\u003e`} {
		if !bytes.Contains(got.Bytes(), []byte(s)) {
			t.Errorf("run-N.json lacks %s", s)
		}
	}
	// engine report reads it back course by course into a spill: the
	// same report.
	sp2, err := spill.New(dir, ".run-spool-page-")
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadReport(bytes.NewReader(got.Bytes()), sp2)
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := back.WriteJSON(&again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), got.Bytes()) {
		t.Errorf("read back and written again:\n%s", again.String())
	}
	for _, c := range back.Courses {
		if !c.spilled || len(c.Students) != 0 {
			t.Errorf("read back, course %s keeps %d students in memory", c.CodigoOferta, len(c.Students))
		}
	}
	sp2.Remove()
	var unmarshalled Report
	if err := json.Unmarshal(got.Bytes(), &unmarshalled); err != nil {
		t.Fatal(err)
	}
	if back, err := ReadReport(bytes.NewReader(got.Bytes()), nil); err != nil || len(back.Courses) != len(unmarshalled.Courses) ||
		back.Totals != unmarshalled.Totals || len(back.Courses[0].Students) != len(unmarshalled.Courses[0].Students) {
		t.Errorf("read back without a spill: %v", err)
	}
	got.Reset()
	want.Reset()
	rep.WriteText(&got)
	whole.WriteText(&want)
	if got.String() != want.String() {
		t.Errorf("text:\n%s\nin memory:\n%s", got.String(), want.String())
	}

	// Removed, also the leftovers of a crashed run.
	sp.Remove()
	crashed, _ := spill.New(dir, ".run-spool-report-")
	_ = crashed
	spill.RemoveLeftovers(dir, ".run-spool-")
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}
