//go:build !unix

package ledger

import (
	"errors"
	"os"
)

// errWouldBlock is never returned here: without flock, the lock only
// guards against the same process (engine runs on Unix servers).
var errWouldBlock = errors.New("bloqueado")

func lockFile(*os.File) error   { return nil }
func unlockFile(*os.File) error { return nil }
