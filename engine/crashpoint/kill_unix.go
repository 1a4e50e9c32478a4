//go:build crashtest && unix

package crashpoint

import "syscall"

// killSelf dies as a crash or an OOM kill would: SIGKILL, no deferred
// function, no flush.
func killSelf() { syscall.Kill(syscall.Getpid(), syscall.SIGKILL) }
