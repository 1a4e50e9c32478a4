package dedication_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/dedication"
	"github.com/otec-tools/sence-engine/engine/ledger"
)

// full is the recomputation the increments must equal, written out from
// the rule's definition: split the events where the gap exceeds Gap, and
// count the sessions longer than MinLen.
func full(r dedication.Rule, times []int64) dedication.Totals {
	if len(times) == 0 {
		return dedication.Totals{}
	}
	tot := dedication.Totals{Events: int64(len(times)), First: times[0], Last: times[len(times)-1]}
	start := 0
	for i := 1; i <= len(times); i++ {
		if i == len(times) || times[i]-times[i-1] > r.Gap {
			if l := times[i-1] - times[start]; l > r.MinLen {
				tot.Seconds += l
				tot.Sessions++
			}
			start = i
		}
	}
	return tot
}

// eventLog is a Moodle log seen by several nightly runs: each key's event
// times, ascending.
type eventLog map[string][]int64

// randomLog makes streams with the edges of the rule: equal times, gaps of
// exactly Gap and Gap+1, sessions of exactly MinLen.
func randomLog(r *rand.Rand, rule dedication.Rule, keys int, span int64) eventLog {
	log := eventLog{}
	for k := range keys {
		key := fmt.Sprintf("c%d\x1fu%d", k%3, k)
		t := r.Int64N(span / 4)
		n := r.IntN(200)
		for range n {
			switch r.IntN(8) {
			case 0:
				// same second
			case 1:
				t += rule.Gap
			case 2:
				t += rule.Gap + 1
			case 3:
				t += rule.MinLen
			case 4:
				t += r.Int64N(3 * rule.Gap)
			default:
				t += r.Int64N(rule.Gap / 3)
			}
			if t >= span {
				break
			}
			log[key] = append(log[key], t)
		}
	}
	return log
}

// before returns the key's events in [from, to).
func (l eventLog) between(key string, from, to int64) []int64 {
	var out []int64
	for _, t := range l[key] {
		if t >= from && t < to {
			out = append(out, t)
		}
	}
	return out
}

// TestIncrementalEqualsFull runs a random log through several nightly runs
// — each reading only the events since the last watermark, with the report
// day ending after the run reads (the events of its last hours arrive
// later) and the states saved to and loaded from the store — and requires
// every night's totals to equal a full recomputation over the events the
// full run would see.
func TestIncrementalEqualsFull(t *testing.T) {
	ctx := context.Background()
	for seed := range uint64(60) {
		r := rand.New(rand.NewPCG(seed, 11))
		rule := dedication.Rule{Gap: 2700, MinLen: 120}
		if seed%5 == 0 {
			rule = dedication.Rule{Gap: 60, MinLen: 0}
		}
		const day = 86400
		nights := 2 + r.IntN(8)
		log := randomLog(r, rule, 1+r.IntN(12), int64(nights+1)*day)
		store, err := ledger.Open(ctx, filepath.Join(t.TempDir(), "ledger.db"))
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for k := range log {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for night := 1; night <= nights; night++ {
			read := int64(night)*day - 2*3600 + r.Int64N(3600) // the run reads at about 22:00
			reportEnd := int64(night) * day                    // midnight: the end of the report day
			upto := read - r.Int64N(600)                       // the watermark: the log is complete before it
			switch r.IntN(6) {
			case 0:
				upto = reportEnd + 10 // a run after the day ended
				read = reportEnd + 20
			case 1, 2:
				// The watermark on an event: it belongs to the next run.
				if ev := log.between(keys[r.IntN(len(keys))], read-3*3600, read); len(ev) > 0 {
					upto = ev[r.IntN(len(ev))]
				}
			}
			visible := min(reportEnd, read) // what a full run can read tonight
			loaded, err := store.LoadSessions(ctx, "module_log", "fp", []string{"c"})
			if err != nil {
				t.Fatal(err)
			}
			saved := loaded["c"]
			since := saved.Watermark
			inc := dedication.NewIncrement(rule, saved.States, since, upto)
			got := map[string]dedication.Totals{}
			for _, k := range keys {
				events := log.between(k, since, visible)
				if len(events) == 0 {
					continue
				}
				st := inc.Key(k)
				for _, e := range events {
					if err := st.Add(e); err != nil {
						t.Fatal(err)
					}
				}
				got[k] = st.Totals()
			}
			inc.Untouched(func(k string, tot dedication.Totals) { got[k] = tot })
			for _, k := range keys {
				want := full(rule, log.between(k, 0, visible))
				if got[k] != want {
					t.Fatalf("seed %d night %d key %q: incremental %+v, full %+v (since %d, upto %d, visible %d)",
						seed, night, k, got[k], want, since, upto, visible)
				}
			}
			// Saved whole on even nights, only the keys that changed on
			// odd ones, as the engine does once a course was saved.
			u := dedication.Update{Course: "c", Watermark: inc.Upto, Replace: night%2 == 0, States: inc.Next()}
			if !u.Replace {
				u.States = inc.Changed()
			}
			if err := store.SaveSessions(ctx, "module_log", "fp", time.Unix(read, 0), []dedication.Update{u}); err != nil {
				t.Fatal(err)
			}
		}
		store.Close()
	}
}

// TestStoreFingerprint: a course saved under another fingerprint (the SQL
// or the rule changed) starts over; a replacement drops the old keys.
func TestStoreFingerprint(t *testing.T) {
	ctx := context.Background()
	store, err := ledger.Open(ctx, filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	states := map[string]dedication.State{"a": {Seconds: 10, Events: 3, First: 1, Last: 30, Start: 20}, "b": {Events: 1, First: 5, Last: 5, Start: 5}}
	now := time.Now()
	if err := store.SaveSessions(ctx, "q", "v1", now, []dedication.Update{{Course: "7", Watermark: 100, Replace: true, States: states}}); err != nil {
		t.Fatal(err)
	}
	got, err := store.LoadSessions(ctx, "q", "v1", []string{"7", "8"})
	if err != nil || len(got) != 1 || got["7"].Watermark != 100 || got["7"].States["a"] != states["a"] || len(got["7"].States) != 2 {
		t.Fatalf("%v %v", got, err)
	}
	if got, _ := store.LoadSessions(ctx, "q", "v2", []string{"7"}); len(got) != 0 {
		t.Errorf("another fingerprint loaded: %v", got)
	}
	if err := store.SaveSessions(ctx, "q", "v2", now, []dedication.Update{{Course: "7", Watermark: 50, Replace: true, States: map[string]dedication.State{"c": {Events: 1}}}}); err != nil {
		t.Fatal(err)
	}
	got, _ = store.LoadSessions(ctx, "q", "v2", []string{"7"})
	if len(got["7"].States) != 1 || got["7"].Watermark != 50 {
		t.Errorf("replacement kept old keys: %v", got)
	}
	// A course with no event yet is saved with its watermark alone.
	if err := store.SaveSessions(ctx, "q", "v2", now, []dedication.Update{{Course: "9", Watermark: 60, Replace: true}}); err != nil {
		t.Fatal(err)
	}
	got, _ = store.LoadSessions(ctx, "q", "v2", []string{"7", "9"})
	if s, ok := got["9"]; !ok || s.Watermark != 60 || len(s.States) != 0 || len(got["7"].States) != 1 {
		t.Errorf("a course without events: %+v", got)
	}
}

// TestEventsBeforeWatermarkRefused: a query that reads before the
// watermark would count events twice; the stream refuses them.
func TestEventsBeforeWatermarkRefused(t *testing.T) {
	inc := dedication.NewIncrement(dedication.Rule{Gap: 10}, nil, 100, 200)
	if err := inc.Key("k").Add(99); err == nil {
		t.Error("an event before the watermark was accepted")
	}
}
