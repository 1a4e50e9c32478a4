package nightly

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/ledger"
	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// failingStore is the real ledger failing the first call of one method:
// a disk that filled up, a locked or damaged database.
type failingStore struct {
	*ledger.Ledger
	method string
	mu     sync.Mutex
	failed int
}

var errLedger = errors.New("disco lleno (falla inyectada por la prueba)")

func (f *failingStore) fail(method string) error {
	if method != f.method {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed++
	if f.failed == 1 {
		return errLedger
	}
	return nil
}

func (f *failingStore) CloseAbandoned(ctx context.Context, now time.Time) (int64, error) {
	if err := f.fail("CloseAbandoned"); err != nil {
		return 0, err
	}
	return f.Ledger.CloseAbandoned(ctx, now)
}
func (f *failingStore) StartRun(ctx context.Context, r *ledger.Run) error {
	if err := f.fail("StartRun"); err != nil {
		return err
	}
	return f.Ledger.StartRun(ctx, r)
}
func (f *failingStore) FinishRun(ctx context.Context, r *ledger.Run) error {
	if err := f.fail("FinishRun"); err != nil {
		return err
	}
	return f.Ledger.FinishRun(ctx, r)
}
func (f *failingStore) PendingSends(ctx context.Context) ([]ledger.Send, error) {
	if err := f.fail("PendingSends"); err != nil {
		return nil, err
	}
	return f.Ledger.PendingSends(ctx)
}
func (f *failingStore) SendsOf(ctx context.Context, night, oferta, grupo string) ([]ledger.Send, error) {
	if err := f.fail("SendsOf"); err != nil {
		return nil, err
	}
	return f.Ledger.SendsOf(ctx, night, oferta, grupo)
}
func (f *failingStore) AcceptedOf(ctx context.Context, oferta, grupo string) (map[string]*ledger.Accepted, error) {
	if err := f.fail("AcceptedOf"); err != nil {
		return nil, err
	}
	return f.Ledger.AcceptedOf(ctx, oferta, grupo)
}
func (f *failingStore) NextAttempt(ctx context.Context, night, oferta, grupo string) (int, error) {
	if err := f.fail("NextAttempt"); err != nil {
		return 0, err
	}
	return f.Ledger.NextAttempt(ctx, night, oferta, grupo)
}
func (f *failingStore) AddPending(ctx context.Context, s *ledger.Send) error {
	if err := f.fail("AddPending"); err != nil {
		return err
	}
	return f.Ledger.AddPending(ctx, s)
}
func (f *failingStore) Adopt(ctx context.Context, id, runID int64) error {
	if err := f.fail("Adopt"); err != nil {
		return err
	}
	return f.Ledger.Adopt(ctx, id, runID)
}
func (f *failingStore) Posting(ctx context.Context, id int64, at time.Time) error {
	if err := f.fail("Posting"); err != nil {
		return err
	}
	return f.Ledger.Posting(ctx, id, at)
}
func (f *failingStore) Note(ctx context.Context, id int64, msg string) error {
	if err := f.fail("Note"); err != nil {
		return err
	}
	return f.Ledger.Note(ctx, id, msg)
}
func (f *failingStore) Unposted(ctx context.Context, id int64, msg string) error {
	if err := f.fail("Unposted"); err != nil {
		return err
	}
	return f.Ledger.Unposted(ctx, id, msg)
}
func (f *failingStore) Fail(ctx context.Context, id int64, at time.Time, response []byte, msg string) error {
	if err := f.fail("Fail"); err != nil {
		return err
	}
	return f.Ledger.Fail(ctx, id, at, response, msg)
}
func (f *failingStore) Complete(ctx context.Context, c ledger.Completion) error {
	if err := f.fail("Complete"); err != nil {
		return err
	}
	return f.Ledger.Complete(ctx, c)
}
func (f *failingStore) Items(ctx context.Context, sendID int64) ([]ledger.Item, error) {
	if err := f.fail("Items"); err != nil {
		return nil, err
	}
	return f.Ledger.Items(ctx, sendID)
}
func (f *failingStore) AcceptedStudents(ctx context.Context, oferta string) ([]ledger.AcceptedStudent, error) {
	if err := f.fail("AcceptedStudents"); err != nil {
		return nil, err
	}
	return f.Ledger.AcceptedStudents(ctx, oferta)
}
func (f *failingStore) SaveCourse(ctx context.Context, runID int64, now time.Time, c ledger.CourseRecord, students []ledger.StudentRecord) error {
	if err := f.fail("SaveCourse"); err != nil {
		return err
	}
	return f.Ledger.SaveCourse(ctx, runID, now, c, students)
}
func (f *failingStore) SaveNotices(ctx context.Context, runID int64, notices []ledger.Notice) error {
	if err := f.fail("SaveNotices"); err != nil {
		return err
	}
	return f.Ledger.SaveNotices(ctx, runID, notices)
}

// unavailable answers 503 without SENCE storing anything: the send stays
// pending, «SENCE no lo recibió».
type unavailable struct{ *sence.Client }

func (unavailable) SendWith(ctx context.Context, c payload.Course, o sence.SendOptions) (*sence.SendResult, error) {
	return nil, &sence.Error{Kind: sence.ErrHTTPStatus, Op: "enviarAvance", StatusCode: 503, What: "SENCE respondió 503"}
}

// TestLedgerFailsClosed makes the ledger fail at each write and at each
// read that decides a send, in every state a night can start from, and
// proves from the simulator's own record that no course is sent twice
// and none is lost: after the failing run and a healthy one the same
// night, SENCE received each course exactly once and nothing is left
// pending. A run whose ledger failed does not end «ok».
func TestLedgerFailsClosed(t *testing.T) {
	c1 := func() *assemble.CourseResult {
		return course("C-1", alumno(ana, 50, 50, 50), alumno(bruno, 40, 40, 40))
	}
	c2 := func() *assemble.CourseResult { return course("C-2", alumno(carla, 30, 30, 30)) }
	changed := func() *assemble.CourseResult {
		return course("C-1", alumno(ana, 60, 60, 60), alumno(bruno, 40, 40, 40))
	}
	type scenario struct {
		name string
		// before leaves the night's state the failing run starts from;
		// night and courses are the failing and healthy runs'.
		before  func(f *fixture)
		night   string
		courses func() []*assemble.CourseResult
		// methods the failing run calls in this state.
		methods []string
		// sender is the failing run's SENCE, f.client when nil.
		sender func(f *fixture) Sender
	}
	both := func() []*assemble.CourseResult { return []*assemble.CourseResult{c1(), c2()} }
	scenarios := []scenario{
		{"noche nueva", nil, night1, both,
			[]string{"CloseAbandoned", "StartRun", "PendingSends", "AcceptedOf", "SendsOf", "NextAttempt", "AddPending", "Posting", "Complete",
				"SaveCourse", "AcceptedStudents", "SaveNotices", "FinishRun"}, nil},
		{"respuesta perdida", func(f *fixture) {
			f.run(context.Background(), night1, both(), func(c *Config) { c.Sender = lostAnswer{f.client} })
		}, night1, both, []string{"PendingSends", "Complete", "SendsOf", "Items"}, nil},
		{"respuesta perdida esta noche", nil, night1, both, []string{"Note", "AddPending", "Posting"},
			func(f *fixture) Sender { return lostAnswer{f.client} }},
		{"no recibido esta noche", func(f *fixture) {
			f.run(context.Background(), night1, both(), func(c *Config) { c.Sender = unavailable{f.client} })
		}, night1, both, []string{"PendingSends", "Unposted", "Adopt", "Posting", "Complete"}, nil},
		{"no recibido, datos cambiados", func(f *fixture) {
			f.run(context.Background(), night1, both(), func(c *Config) { c.Sender = unavailable{f.client} })
		}, night1, func() []*assemble.CourseResult { return []*assemble.CourseResult{changed(), c2()} }, []string{"Fail", "NextAttempt", "AddPending"}, nil},
		{"no recibido una noche anterior", func(f *fixture) {
			f.run(context.Background(), night1, both(), func(c *Config) { c.Sender = unavailable{f.client} })
			f.advance(24 * time.Hour)
		}, night2, both, []string{"PendingSends", "Fail", "NextAttempt", "AddPending"}, nil},
	}
	for _, sc := range scenarios {
		for _, m := range sc.methods {
			t.Run(sc.name+"/"+m, func(t *testing.T) {
				f := newFixture(t)
				ctx := context.Background()
				if sc.before != nil {
					sc.before(f)
				}
				store := &failingStore{Ledger: f.ledger, method: m}
				var sender Sender = f.client
				if sc.sender != nil {
					sender = sc.sender(f)
				}
				cfg := Config{Ledger: store, Sender: sender, Mapping: "mapeo.yaml", Night: sc.night, Now: f.clock, Concurrency: 2}
				s, err := Start(ctx, cfg)
				var rep *Report
				if err == nil {
					rep = s.Execute(ctx, sc.courses())
				}
				if store.failed == 0 {
					t.Fatalf("the run never called %s", m)
				}
				if err == nil && rep.Outcome != OutcomeFailed {
					t.Errorf("the ledger failed at %s and the run ended %s: %v", m, rep.Outcome, rep.Messages)
				}
				// The next run, with a healthy ledger, finishes the night.
				f.advance(time.Minute)
				again := f.run(ctx, sc.night, sc.courses(), nil)
				// Before the failing run, SENCE received nothing, or (a
				// lost answer) each course once.
				if sent, want := f.sim.Counts().Sends, len(sc.courses()); sent != want {
					t.Errorf("SENCE received %d sends of %d courses: %s", sent, want, describe(rep, again))
				}
				if pend, _ := f.ledger.PendingSends(ctx); len(pend) != 0 {
					t.Errorf("left pending: %+v", pend)
				}
				for _, c := range again.Courses {
					if c.Status != CourseDone && c.Status != CourseAccepted && c.Status != CoursePartial {
						t.Errorf("%s after the healthy run: %s %s", c.CodigoOferta, c.Status, c.Message)
					}
				}
			})
		}
	}
}

func describe(reps ...*Report) string {
	var out string
	for _, r := range reps {
		if r == nil {
			out += "[no run] "
			continue
		}
		for _, c := range r.Courses {
			out += fmt.Sprintf("[%s %s %s] ", c.CodigoOferta, c.Status, c.CodigoEnvio)
		}
		out += fmt.Sprint(r.Messages, "; ")
	}
	return out
}
