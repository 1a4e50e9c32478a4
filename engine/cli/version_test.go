package cli

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestReadBuildInfo(t *testing.T) {
	vcs := func(rev, time, modified string) *debug.BuildInfo {
		bi := &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Path: "github.com/otec-tools/sence-engine", Version: "(devel)"}}
		for k, v := range map[string]string{"vcs.revision": rev, "vcs.time": time, "vcs.modified": modified} {
			if v != "" {
				bi.Settings = append(bi.Settings, debug.BuildSetting{Key: k, Value: v})
			}
		}
		return bi
	}
	platform := " " + runtime.GOOS + "/" + runtime.GOARCH
	for _, c := range []struct {
		name                  string
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  buildInfo
	}{
		{"release build: the stamped values win over the build information",
			"1.2.0", "1111111111111111111111111111111111111111", "2026-12-01T12:00:00Z",
			vcs("2222222222222222222222222222222222222222", "2025-01-01T00:00:00Z", "true"),
			buildInfo{"1.2.0", "1111111111111111111111111111111111111111", false, "2026-12-01T12:00:00Z", "go1.99.1" + platform}},
		{"go build in a clean checkout",
			"", "", "", vcs("2222222222222222222222222222222222222222", "2025-01-01T00:00:00Z", "false"),
			buildInfo{"dev", "2222222222222222222222222222222222222222", false, "2025-01-01T00:00:00Z", "go1.99.1" + platform}},
		{"go build with uncommitted changes",
			"", "", "", vcs("2222222222222222222222222222222222222222", "2025-01-01T00:00:00Z", "true"),
			buildInfo{"dev", "2222222222222222222222222222222222222222", true, "2025-01-01T00:00:00Z", "go1.99.1" + platform}},
		{"only the version stamped: commit and date still come from Git",
			"1.2.0", "", "", vcs("2222222222222222222222222222222222222222", "2025-01-01T00:00:00Z", "false"),
			buildInfo{"1.2.0", "2222222222222222222222222222222222222222", false, "2025-01-01T00:00:00Z", "go1.99.1" + platform}},
		{"no VCS information (go run, a worktree, -buildvcs=false)",
			"", "", "", vcs("", "", ""),
			buildInfo{"dev", "", false, "", "go1.99.1" + platform}},
		{"a module version from go install or go build (Go 1.24+)",
			"", "", "", &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Version: "v1.3.0"}},
			buildInfo{"v1.3.0", "", false, "", "go1.99.1" + platform}},
		{"no build information at all",
			"", "", "", nil,
			buildInfo{"dev", "", false, "", runtime.Version() + platform}},
	} {
		if got := readBuildInfo(c.version, c.commit, c.date, c.bi); got != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

func TestVersionCommand(t *testing.T) {
	r := run(t, nil, "version")
	// The test binary has no stamped values and no VCS settings.
	want := "engine dev\ncommit: desconocido (compilado sin información de Git: use un binario publicado o compile con go build en una copia del repositorio)\nfecha: desconocida\n"
	if r.code != ExitOK || !strings.HasPrefix(r.stdout, want) || !strings.Contains(r.stdout, "\ngo: go1.") {
		t.Errorf("version: %+v", r)
	}
	if r := run(t, nil, "version", "extra"); r.code != ExitUsage || !strings.Contains(r.stderr, "engine version: no se esperaban argumentos: extra") {
		t.Errorf("version extra: %+v", r)
	}
}

// ldflagsSymbols are the -X flags of the release configuration, read from
// .goreleaser.yaml so that the test breaks if the file and the variables
// drift apart (a -X for a missing variable is silently ignored by the
// linker, and the release would print "engine dev").
func ldflagsSymbols(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../.goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`-X (github\.com/otec-tools/sence-engine/engine/cli\.\w+)=\{\{ *\.(\w+) *\}\}`).FindAllStringSubmatch(string(b), -1)
	var syms []string
	for _, x := range m {
		syms = append(syms, x[1]+"="+x[2])
	}
	want := []string{
		"github.com/otec-tools/sence-engine/engine/cli.Version=Version",
		"github.com/otec-tools/sence-engine/engine/cli.Commit=FullCommit",
		"github.com/otec-tools/sence-engine/engine/cli.Date=CommitDate",
	}
	if strings.Join(syms, " ") != strings.Join(want, " ") {
		t.Fatalf(".goreleaser.yaml stamps %q, want %q", syms, want)
	}
	return syms
}

// TestVersionOfRealBinaries builds cmd/engine twice, as a release does
// (the -X flags of .goreleaser.yaml) and as a developer does (go build in a
// Git checkout, which records the commit), and runs `engine version` on each.
func TestVersionOfRealBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the engine binary")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: the build-information path needs a Git checkout")
	}
	syms := ldflagsSymbols(t)
	values := map[string]string{"Version": "9.8.7", "FullCommit": "0123456789abcdef0123456789abcdef01234567", "CommitDate": "2026-12-01T12:34:56Z"}
	var ldflags []string
	for _, s := range syms {
		name, field, _ := strings.Cut(s, "=")
		ldflags = append(ldflags, "-X "+name+"="+values[field])
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "engine-release")
	goBuild(t, "..", "-ldflags", strings.Join(ldflags, " "), "-o", bin, "github.com/otec-tools/sence-engine/cmd/engine")
	out := runVersion(t, bin)
	for _, want := range []string{"engine 9.8.7\n", "commit: 0123456789abcdef0123456789abcdef01234567\n", "fecha: 2026-12-01T12:34:56Z\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("release build: %q missing in\n%s", want, out)
		}
	}

	// A developer's build: go build in a Git checkout records the commit.
	// The checkout is a copy of this source tree (the code under test, with
	// whatever is not committed yet) made into a repository of its own with
	// a known commit and date; Go does not read a worktree's .git file, and
	// the test must know whether the tree has uncommitted changes.
	src := filepath.Join(dir, "src")
	files, err := exec.Command("git", "-C", "../..", "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Skipf("not a Git checkout (a source archive?): %v", err)
	}
	for _, f := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join("../..", f))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted, not yet committed
		} else if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(src, f)), 0o755)
		if err := os.WriteFile(filepath.Join(src, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, src, "init", "--quiet")
	git(t, src, "add", "--all")
	git(t, src, "-c", "user.name=test", "-c", "user.email=test@example.invalid", "commit", "--quiet", "--no-gpg-sign", "-m", "test")
	head := git(t, src, "rev-parse", "HEAD")
	devBin := filepath.Join(dir, "engine-dev")
	goBuild(t, src, "-buildvcs=true", "-o", devBin, "./cmd/engine")
	out = runVersion(t, devBin)
	// Go 1.24 and later also derive a module pseudo-version from the commit.
	pseudo := "v0.0.0-20261120013000-" + head[:12]
	if want := "engine " + pseudo + "\ncommit: " + head + "\nfecha: 2026-11-20T01:30:00Z\n"; !strings.HasPrefix(out, want) {
		t.Errorf("build in a clean checkout:\n%s\nwant it to start with\n%s", out, want)
	}
	os.WriteFile(filepath.Join(src, "cambio.txt"), []byte("sin confirmar\n"), 0o644)
	goBuild(t, src, "-buildvcs=true", "-o", devBin, "./cmd/engine")
	if out := runVersion(t, devBin); !strings.HasPrefix(out, "engine "+pseudo+"+dirty\ncommit: "+head+" (con cambios sin confirmar)\n") {
		t.Errorf("build with uncommitted changes does not say so:\n%s", out)
	}
}

func goBuild(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// git runs git in dir with a fixed commit date (2026-11-19 22:30 in Chile).
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_COMMITTER_DATE=2026-11-19T22:30:00-03:00", "GIT_AUTHOR_DATE=2026-11-19T22:30:00-03:00")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

func runVersion(t *testing.T, bin string) string {
	t.Helper()
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s version: %v\n%s", bin, err, out)
	}
	return string(out)
}
