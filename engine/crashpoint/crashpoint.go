// Package crashpoint kills the engine at a chosen point of a send, so that
// the crash tests prove a run resumes what a crash left. It works only in
// a binary built with -tags crashtest (the crash tests build one); in any
// other build At and Trace do nothing, Arm ignores the environment and the
// variable Env has no effect.
package crashpoint

// Env names the variable that arms a crash point in a crashtest build:
// "POINT:N" dies the N-th time POINT is reached.
const Env = "SENCE_ENGINE_TEST_CRASH_AT"

// Crash points, in the order a send reaches them.
const (
	BeforeSend    = "before-send"    // the send is committed as pending; no request yet
	AfterRequest  = "after-request"  // the request was written; no answer read
	AfterResponse = "after-response" // SENCE's answer arrived; nothing recorded
	BeforeRecord  = "before-record"  // recording the answer, transaction not committed
)

var points = []string{BeforeSend, AfterRequest, AfterResponse, BeforeRecord}
