package pipeline

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/outfile"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// spoolPrefix names a run's spool beside its ledger.
const spoolPrefix = ".run-spool-"

// spool keeps the courses a run built until it sends them (run --strict,
// --wait-window): a file beside the ledger, readable only by its owner,
// one JSON line per course, payloads without the token; removed on every
// exit path, and by the next run (under the ledger's lock) after a crash.
type spool struct {
	f       *os.File
	w       *bufio.Writer
	enc     *json.Encoder
	release func()
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
	f, err := os.CreateTemp(dir, spoolPrefix+"*") // mode 0600
	if err != nil {
		return nil, err
	}
	s := &spool{f: f, w: bufio.NewWriterSize(f, 1<<16), release: outfile.Hold(f.Name())}
	s.enc = json.NewEncoder(s.w)
	s.enc.SetEscapeHTML(false)
	return s, nil
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
	return s.enc.Encode(rec)
}

// finish flushes what was added, before replay.
func (s *spool) finish() error { return s.w.Flush() }

// replay hands the courses back, one at a time, in the order they were
// added.
func (s *spool) replay(yield func(*assemble.CourseResult) error) error {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	dec := json.NewDecoder(bufio.NewReaderSize(s.f, 1<<16))
	for {
		var rec spooled
		if err := dec.Decode(&rec); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
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
}

func (s *spool) remove() {
	s.f.Close()
	os.Remove(s.f.Name())
	s.release()
}

// removeSpools removes the spools a crashed run left in dir.
func removeSpools(dir string) {
	old, _ := filepath.Glob(filepath.Join(outfile.GlobEscape(dir), spoolPrefix+"*"))
	for _, p := range old {
		os.Remove(p)
	}
}
