//go:build crashtest

package crashpoint

import (
	"strings"
	"testing"
)

// TestArm (go test -tags crashtest): a point fires exactly on the N-th
// visit of its point; a wrong value is refused; unset disarms.
func TestArm(t *testing.T) {
	env := func(v string) func(string) (string, bool) {
		return func(k string) (string, bool) { return v, k == Env && v != "" }
	}
	if err := Arm(env(""), nil); err != nil || current() != nil {
		t.Fatal("an empty value armed the hook")
	}
	for _, bad := range []string{"after-lunch:1", "before-send:0", "before-send:x"} {
		if err := Arm(env(bad), nil); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := Arm(env("after-response:2"), &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	defer Arm(env(""), nil)
	var killed []int64
	kill = func() { killed = append(killed, current().seen.Load()); panic("killed") }
	defer func() { kill = killSelf }()
	visit := func(p string) (died bool) {
		defer func() { died = recover() != nil }()
		At(p)
		return false
	}
	if visit(AfterResponse) || visit(BeforeSend) || !visit(AfterResponse) || len(killed) != 1 || killed[0] != 2 {
		t.Fatalf("killed at %v", killed)
	}
}
