package pipeline

import (
	"context"
	"path/filepath"
	"time"

	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/nightly"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/simulator"
)

// Conn is a SENCE client for a mapping: the real service, or an in-process
// simulator when the mapping says `sence.simulator`.
type Conn struct {
	Client    *sence.Client
	Simulated bool
	sim       *simulator.Server
}

// Close stops the in-process simulator, if any.
func (c *Conn) Close() {
	if c != nil && c.sim != nil {
		c.sim.Close()
	}
}

// SimulatorState is where an in-process simulator keeps what it accepted,
// so that successive runs of a mapping see SENCE's memory.
func SimulatorState(m *mapping.Mapping) string {
	return filepath.Join(filepath.Dir(m.File), ".sence-simulator.json")
}

// Connect builds the SENCE client of a mapping; opts adjust the client's
// configuration (run sets its logger and an interruptible retry sleep).
func Connect(ctx context.Context, pl *plan.Plan, now func() time.Time, opts ...func(*sence.Config)) (*Conn, error) {
	m := pl.Mapping
	token, err := ReadToken(pl)
	if err != nil {
		return nil, err
	}
	// After a few requests in a row fail for want of SENCE, none more is
	// made: a run then stops starting courses, and send stops sending.
	cfg := sence.Config{BaseURL: m.Sence.BaseURL, RutOtec: m.Sence.RutOtec, Token: token, Timeout: m.Sence.Timeout, Settle: m.Sence.Settle, Now: now,
		DownAfter: sence.DefaultDownAfter}
	conn := &Conn{}
	if m.Sence.Simulator {
		opts := simulator.Options{
			Credentials: []simulator.Credential{{RutOtec: m.Sence.RutOtec, Token: token}},
			StatePath:   SimulatorState(m),
		}
		if m.Sence.SimRoster != "" {
			r, err := simulator.LoadRoster(m.Sence.SimRoster)
			if err != nil {
				return nil, err
			}
			opts.Roster = r
		}
		srv, err := simulator.Start(ctx, "127.0.0.1:0", opts)
		if err != nil {
			return nil, err
		}
		conn.sim, conn.Simulated = srv, true
		cfg.BaseURL = srv.BaseURL()
		cfg.Timeout = 30 * time.Second
		if cfg.Settle == 0 || cfg.Settle < cfg.Timeout {
			cfg.Settle = cfg.Timeout // the in-process simulator stores before it answers
		}
	}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := sence.New(cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.Client = c
	return conn, nil
}

// InWindow reports whether t lies in the mapping's daily send window.
func InWindow(m *mapping.Mapping, t time.Time) bool {
	return nightly.NewWindow(m.Sence.Window).Contains(t)
}
