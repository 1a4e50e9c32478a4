// Command engine reports students' progress from an LMS to SENCE, driven by
// a YAML mapping. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // America/Santiago even where the system has no zoneinfo

	"github.com/otec-tools/sence-engine/engine/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
