package cli

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// Release builds stamp these with -ldflags (packaging/build.sh and
// .goreleaser.yaml pass the same three -X flags):
//
//	-X github.com/otec-tools/sence-engine/engine/cli.Version=1.2.0
//	-X github.com/otec-tools/sence-engine/engine/cli.Commit=<full hash>
//	-X github.com/otec-tools/sence-engine/engine/cli.Date=<commit date, RFC 3339>
//
// Any other build leaves them empty, and the version command reads what the
// Go toolchain recorded instead (debug.ReadBuildInfo: the module version and
// the vcs.* settings that `go build` stamps in a Git checkout).
var (
	Version string
	Commit  string
	Date    string
)

// buildInfo is what `engine version` prints.
type buildInfo struct {
	Version  string // release version, module version, or "dev"
	Commit   string // full commit hash; "" when unknown
	Modified bool   // built from a checkout with uncommitted changes
	Date     string // commit date (RFC 3339); "" when unknown
	Go       string // toolchain and platform
}

// readBuildInfo combines the -ldflags values with the Go build information:
// a stamped value wins, field by field, so a build that stamps only the
// version still reports its commit.
func readBuildInfo(version, commit, date string, bi *debug.BuildInfo) buildInfo {
	info := buildInfo{Version: version, Commit: commit, Date: date,
		Go: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		if bi.GoVersion != "" {
			info.Go = bi.GoVersion + " " + runtime.GOOS + "/" + runtime.GOARCH
		}
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		settings := map[string]string{}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
		if info.Commit == "" {
			info.Commit = settings["vcs.revision"]
			info.Modified = info.Commit != "" && settings["vcs.modified"] == "true"
		}
		if info.Date == "" {
			info.Date = settings["vcs.time"]
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	return info
}

func cmdVersion(_ context.Context, e *Env, args []string) int {
	if _, code, done := newFlags(e, "version", "").parseN(args, 0, 0); done {
		return code
	}
	bi, _ := debug.ReadBuildInfo()
	info := readBuildInfo(Version, Commit, Date, bi)
	fmt.Fprintf(e.Stdout, "engine %s\n", info.Version)
	switch {
	case info.Commit == "":
		fmt.Fprintln(e.Stdout, "commit: desconocido (compilado sin información de Git: use un binario publicado o compile con go build en una copia del repositorio)")
	case info.Modified:
		fmt.Fprintf(e.Stdout, "commit: %s (con cambios sin confirmar)\n", info.Commit)
	default:
		fmt.Fprintf(e.Stdout, "commit: %s\n", info.Commit)
	}
	if info.Date == "" {
		fmt.Fprintln(e.Stdout, "fecha: desconocida")
	} else {
		fmt.Fprintf(e.Stdout, "fecha: %s\n", info.Date)
	}
	fmt.Fprintf(e.Stdout, "go: %s\n", info.Go)
	return ExitOK
}
