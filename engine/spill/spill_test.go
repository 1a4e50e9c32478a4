package spill

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/otec-tools/sence-engine/engine/outfile"
)

type record struct {
	Name   string
	Values []int
}

// TestSpill: records come back by their Ref in any order, also while
// more are written from several goroutines, from an owner-only file that
// Remove takes away (twice is harmless), and that a forced stop
// (outfile.RemoveHeld) or the next command (RemoveLeftovers) removes.
func TestSpill(t *testing.T) {
	dir := t.TempDir()
	s, err := New(dir, ".run-spool-report-")
	if err != nil {
		t.Fatal(err)
	}
	refs := make([]Ref, 50)
	var wg sync.WaitGroup
	for i := range refs {
		wg.Go(func() {
			r, err := s.Put(record{Name: fmt.Sprintf("curso «%d» <b>", i), Values: make([]int, i)})
			if err != nil {
				t.Error(err)
			}
			refs[i] = r
		})
	}
	wg.Wait()
	for i := len(refs) - 1; i >= 0; i-- {
		var got record
		if err := s.Get(refs[i], &got); err != nil {
			t.Fatal(err)
		}
		if got.Name != fmt.Sprintf("curso «%d» <b>", i) || len(got.Values) != i {
			t.Fatalf("record %d: %+v", i, got)
		}
	}
	st, err := os.Stat(s.Name())
	if err != nil || st.Mode().Perm() != 0o600 || filepath.Dir(s.Name()) != dir {
		t.Fatalf("spill %s: %v %v", s.Name(), st, err)
	}
	s.Remove()
	s.Remove()
	if _, err := s.Put(record{}); err == nil {
		t.Error("Put after Remove: no error")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}

	// A forced stop removes a spill still in use.
	held, _ := New(dir, ".out.export-spill-")
	held.Put(record{Name: "x"})
	outfile.RemoveHeld()
	if _, err := os.Stat(held.Name()); !os.IsNotExist(err) {
		t.Errorf("a forced stop left %s: %v", held.Name(), err)
	}

	// A crashed command's spill goes at the next one.
	New(dir, ".run-spool-report-")
	RemoveLeftovers(dir, ".run-spool-")
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("a crashed command's spill stays: %v", ents)
	}
}
