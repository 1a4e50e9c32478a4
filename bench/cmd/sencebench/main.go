// Command sencebench builds the large synthetic Moodle of GitHub issue 6
// and measures the engine on it against two baselines written by hand.
//
//	sencebench load --db postgres --dsn DSN --courses 200 --enrolments 50000
//	sencebench run  --runner engine|handwritten|perstudent --db postgres --dsn DSN --out FILE
//	sencebench compare --db postgres --dsn DSN --out DIR
//
// load creates the Moodle tables with Moodle's indexes and loads the demo
// dataset at that scale (refusing when the disk is too small); run builds
// every SENCE course with one runner and writes the payloads, one line per
// course; compare runs each runner as a child process, reads its wall time,
// CPU time and peak memory from the operating system, checks that the three
// wrote the same payloads and prints the figures and their ratios.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/otec-tools/sence-engine/bench/harness"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(harness.Main(ctx, os.Args[1:], os.Stdout, os.Stderr))
}
