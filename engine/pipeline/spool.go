package pipeline

import (
	"errors"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/spill"
)

// spoolPrefix names a run's spool beside its ledger.
const spoolPrefix = ".run-spool-"

// spool keeps the courses a run built until it sends them (run --strict,
// --wait-window): a spill beside the ledger (engine/spill), readable only
// by its owner, one JSON record per course, payloads without the token;
// removed on every exit path, and by the next run (under the ledger's
// lock) after a crash.
type spool struct {
	file *spill.File
	refs []spill.Ref
}

// spooled is one course in the spool: a CourseResult with what its JSON
// form leaves out (the students' names, the notes' RUTs, the error).
type spooled struct {
	CourseID, CodigoOferta, CodigoGrupo, Label string
	Payload                                    *payload.Course
	Excluded, Sent                             []assemble.Exclusion
	Notes                                      []spooledNote
	Err                                        string
}

type spooledNote struct {
	assemble.Note
	RUT, UserID string
}

func newSpool(dir string) (*spool, error) {
	f, err := spill.New(dir, spoolPrefix)
	if err != nil {
		return nil, err
	}
	return &spool{file: f}, nil
}

func (s *spool) add(r *assemble.CourseResult) error {
	rec := spooled{CourseID: r.CourseID, CodigoOferta: r.CodigoOferta, CodigoGrupo: r.CodigoGrupo, Label: r.Label,
		Payload: r.Payload, Excluded: r.Excluded, Sent: r.Sent}
	for _, n := range r.Notes {
		rec.Notes = append(rec.Notes, spooledNote{Note: n, RUT: n.RUT, UserID: n.UserID})
	}
	if r.Err != nil {
		rec.Err = r.Err.Error()
	}
	ref, err := s.file.Put(rec)
	if err != nil {
		return err
	}
	s.refs = append(s.refs, ref)
	return nil
}

// finish ends the adding, before replay.
func (s *spool) finish() error { return nil }

// replay hands the courses back, one at a time, in the order they were
// added.
func (s *spool) replay(yield func(*assemble.CourseResult) error) error {
	for _, ref := range s.refs {
		var rec spooled
		if err := s.file.Get(ref, &rec); err != nil {
			return err
		}
		r := &assemble.CourseResult{CourseID: rec.CourseID, CodigoOferta: rec.CodigoOferta, CodigoGrupo: rec.CodigoGrupo,
			Label: rec.Label, Payload: rec.Payload, Excluded: rec.Excluded, Sent: rec.Sent}
		for _, n := range rec.Notes {
			note := n.Note
			note.RUT, note.UserID = n.RUT, n.UserID
			r.Notes = append(r.Notes, note)
		}
		if rec.Err != "" {
			r.Err = errors.New(rec.Err)
		}
		if err := yield(r); err != nil {
			return err
		}
	}
	return nil
}

func (s *spool) remove() { s.file.Remove() }

// removeSpools removes the spools (and the run's spilled report) a crashed
// run left in dir.
func removeSpools(dir string) { spill.RemoveLeftovers(dir, spoolPrefix) }
