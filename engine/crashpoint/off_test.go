//go:build !crashtest

package crashpoint

import (
	"context"
	"testing"
)

// TestOffDoesNothing: without -tags crashtest the variable is not even
// read, a wrong value is no error and no point fires (the process would
// die here if one did). engine/cli's TestCrashHookNotShipped shows the
// same of the real binary.
func TestOffDoesNothing(t *testing.T) {
	read := false
	lookup := func(k string) (string, bool) { read = true; return "before-send:1", true }
	if err := Arm(lookup, nil); err != nil || read {
		t.Fatalf("Arm: %v, read the environment: %v", err, read)
	}
	for _, p := range points {
		At(p)
	}
	ctx := context.Background()
	if Trace(ctx) != ctx {
		t.Fatal("Trace changed the context")
	}
	if Enabled {
		t.Fatal("Enabled without the crashtest tag")
	}
}
