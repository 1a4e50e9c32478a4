// Package pipeline is the engine's one pipeline, as named steps that every
// command and the benchmark harness compose the same way:
//
//	Load      the mapping, compiled into a plan once per command
//	Open      the Moodle database, read-only, with the query time limit
//	Build     extract → assemble → validate, course by course (engine/assemble),
//	          handing each course to the caller as it is built
//	Summarize what a build left in and out, kept course by course (Summary)
//	Export    the atomic export folder, written as the courses are built
//	Connect   SENCE, or the in-process simulator a mapping asks for
//	Send      the courses of engine send, one after another
//	Nightly   reconcile → outbox → send → record, through engine/nightly,
//	          with each course sent while the next ones are built
//	Explain   one course built with a tracer: why one student's payload
//	          is what it is (engine explain)
//
// The command line (engine/cli) parses flags, calls these steps and prints
// what they return; nothing here prints to a person.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/infile"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/source"
)

// Kind classifies a step's failure for the command's exit code.
type Kind int

const (
	// Problems: the step refused what it was given (a mapping with
	// errors, --strict with students left out): exit 1.
	Problems Kind = iota + 1
	// Usage: the command line names something that does not exist
	// (--course): exit 2.
	Usage
	// Failed: the step could not do its job (database, files, network):
	// exit 3.
	Failed
)

// Failure is a step's error with its kind. Its message is for a person.
type Failure struct {
	Kind Kind
	Err  error
}

func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

func fail(k Kind, err error) error { return &Failure{Kind: k, Err: err} }

func failf(k Kind, format string, args ...any) error {
	return &Failure{Kind: k, Err: fmt.Errorf(format, args...)}
}

// KindOf is the kind of err: Failed unless it is a Failure.
func KindOf(err error) Kind {
	var f *Failure
	if errors.As(err, &f) {
		return f.Kind
	}
	return Failed
}

// Load loads and compiles a mapping, once per command. The diagnostics
// include warnings even when the plan is usable; the plan is nil when the
// mapping cannot be read.
func Load(path string, lookupEnv func(string) (string, bool)) (*plan.Plan, diag.List) {
	m, ds := mapping.Load(path, mapping.Options{LookupEnv: lookupEnv})
	if m == nil {
		return nil, ds
	}
	pl, cds := plan.Compile(m)
	return pl, append(ds, cds...)
}

// Open connects to the mapping's database, read-only, with its query time
// limit: every command reads Moodle through here.
func Open(ctx context.Context, m *mapping.Mapping) (*source.DB, error) {
	return source.OpenConfig(ctx, source.Config{Driver: m.Source.Driver, DSN: m.Source.DSN, Timeout: m.Source.Timeout})
}

// ReadToken returns the SENCE token from the mapping or its file.
func ReadToken(pl *plan.Plan) (string, error) {
	if pl == nil {
		return "", fmt.Errorf("el mapeo tiene errores")
	}
	s := pl.Mapping.Sence
	if s.Token != "" {
		return s.Token, nil
	}
	if s.TokenFile != "" {
		b, err := infile.Read(s.TokenFile, infile.TokenLimit)
		if err != nil {
			return "", fmt.Errorf("no se puede leer sence.tokenFile «%s»: %v", s.TokenFile, err)
		}
		t := strings.TrimSpace(string(b))
		if strings.ToUpper(t) != t {
			return "", fmt.Errorf("el token de %s está en minúsculas y SENCE lo rechaza: escríbalo en MAYÚSCULAS", s.TokenFile)
		}
		return t, nil
	}
	return "", fmt.Errorf("falta el token de SENCE: defina sence.token (por ejemplo ${SENCE_TOKEN}) o sence.tokenFile")
}
