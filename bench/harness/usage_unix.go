//go:build unix

package harness

import (
	"os"
	"runtime"
	"syscall"
)

// usage returns the CPU time (user + system) and the peak resident memory
// of a finished process.
func usage(ps *os.ProcessState) (cpu float64, maxRSS int64) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return ps.UserTime().Seconds() + ps.SystemTime().Seconds(), 0
	}
	cpu = float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
	maxRSS = int64(ru.Maxrss)
	if runtime.GOOS != "darwin" {
		maxRSS *= 1024 // kilobytes on Linux and the BSDs, bytes on macOS
	}
	return cpu, maxRSS
}
