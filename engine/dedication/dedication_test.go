package dedication_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/otec-tools/sence-engine/engine/build"
	"github.com/otec-tools/sence-engine/engine/dedication"
)

// full is the recomputation the increments must equal: the engine's own
// accumulator over every event of a key.
func full(r dedication.Rule, times []int64) dedication.Totals {
	acc := build.NewSessionAcc(r.Gap, r.MinLen)
	for _, t := range times {
		acc.Add(t)
	}
	row := acc.Row()
	if len(times) == 0 {
		return dedication.Totals{}
	}
	return dedication.Totals{Seconds: row["seconds"].(int64), Sessions: row["sessions"].(int64), Events: row["events"].(int64),
		First: row["first"].(int64), Last: row["last"].(int64)}
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
		store, err := dedication.OpenStore(ctx, filepath.Join(t.TempDir(), "sessions.db"))
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
			since, saved, err := store.Load(ctx, "module_log", "fp")
			if err != nil {
				t.Fatal(err)
			}
			inc := dedication.NewIncrement(rule, saved, since, upto)
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
			if err := store.Save(ctx, "module_log", "fp", inc.Upto, inc.Next()); err != nil {
				t.Fatal(err)
			}
		}
		store.Close()
	}
}

// TestStoreFingerprint: a stream saved under another fingerprint (the SQL
// or the rule changed) starts over.
func TestStoreFingerprint(t *testing.T) {
	ctx := context.Background()
	store, err := dedication.OpenStore(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	states := map[string]dedication.State{"a": {Seconds: 10, Events: 3, First: 1, Last: 30, Start: 20}}
	if err := store.Save(ctx, "q", "v1", 100, states); err != nil {
		t.Fatal(err)
	}
	mark, got, err := store.Load(ctx, "q", "v1")
	if err != nil || mark != 100 || got["a"] != states["a"] {
		t.Fatalf("%d %v %v", mark, got, err)
	}
	if mark, got, _ := store.Load(ctx, "q", "v2"); mark != 0 || got != nil {
		t.Errorf("another fingerprint loaded: %d %v", mark, got)
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
