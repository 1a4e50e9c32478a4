// Command engine reports students' progress from an LMS to SENCE, driven by
// a YAML mapping. See README.md.
package main

import (
	"os"
	_ "time/tzdata" // America/Santiago even where the system has no zoneinfo

	"github.com/otec-tools/sence-engine/engine/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
