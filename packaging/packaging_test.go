// Package packaging_test checks that the release files agree with each
// other and with the engine: the toolchain and build flags of
// packaging/build.sh, .goreleaser.yaml and the Dockerfile; the paths of the
// systemd units and of the Debian package; the example configuration, which
// must validate once filled in; and the Kubernetes example. CI
// (.ci/release.sh) then builds, installs and runs the real thing.
package packaging_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/otec-tools/sence-engine/engine/cli"
)

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.FromSlash(path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type goreleaser struct {
	Env    []string `yaml:"env"`
	Builds []struct {
		Main    string   `yaml:"main"`
		Env     []string `yaml:"env"`
		Flags   []string `yaml:"flags"`
		Ldflags []string `yaml:"ldflags"`
		Goos    []string `yaml:"goos"`
		Goarch  []string `yaml:"goarch"`
	} `yaml:"builds"`
	Nfpms []struct {
		Bindir       string   `yaml:"bindir"`
		Dependencies []string `yaml:"dependencies"`
		Contents     []struct {
			Src      string `yaml:"src"`
			Dst      string `yaml:"dst"`
			Type     string `yaml:"type"`
			FileInfo struct {
				Mode int `yaml:"mode"`
			} `yaml:"file_info"`
		} `yaml:"contents"`
		Scripts map[string]string `yaml:"scripts"`
	} `yaml:"nfpms"`
}

func loadGoreleaser(t *testing.T) goreleaser {
	t.Helper()
	var g goreleaser
	if err := yaml.Unmarshal([]byte(read(t, "../.goreleaser.yaml")), &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Builds) != 1 || len(g.Nfpms) != 1 {
		t.Fatalf(".goreleaser.yaml: want one build and one nfpm, got %d and %d", len(g.Builds), len(g.Nfpms))
	}
	return g
}

// The container image, CI and the release build the binary the same way:
// one toolchain, the same flags, the same -X variables.
func TestBuildsAgree(t *testing.T) {
	g := loadGoreleaser(t)
	build := read(t, "build.sh")
	release := regexp.MustCompile(`(?m)^RELEASE_GO=(go[0-9.]+)$`).FindStringSubmatch(build)
	if release == nil {
		t.Fatal("packaging/build.sh has no RELEASE_GO=goX.Y.Z line")
	}
	if !slices.Contains(g.Env, "GOTOOLCHAIN="+release[1]) {
		t.Errorf(".goreleaser.yaml env %q lacks GOTOOLCHAIN=%s (packaging/build.sh)", g.Env, release[1])
	}
	docker := regexp.MustCompile(`(?m)^ARG GO_VERSION=([0-9.]+)$`).FindStringSubmatch(read(t, "../Dockerfile"))
	if docker == nil || "go"+docker[1] != release[1] {
		t.Errorf("Dockerfile GO_VERSION %q, want %s (packaging/build.sh)", docker, release[1])
	}
	if !strings.Contains(read(t, "../Dockerfile"), "packaging/build.sh /out/engine") {
		t.Error("the Dockerfile does not build with packaging/build.sh")
	}

	b := g.Builds[0]
	if b.Main != "./cmd/engine" || !slices.Equal(b.Env, []string{"CGO_ENABLED=0"}) || !slices.Equal(b.Flags, []string{"-trimpath", "-buildvcs=false"}) {
		t.Errorf(".goreleaser.yaml build: main %q env %q flags %q", b.Main, b.Env, b.Flags)
	}
	if !strings.Contains(build, "CGO_ENABLED=0 exec go build -trimpath -buildvcs=false") || !strings.Contains(build, "./cmd/engine") {
		t.Error("packaging/build.sh does not build ./cmd/engine with CGO_ENABLED=0 -trimpath -buildvcs=false")
	}
	// The -X variables, in order, and the other linker flags.
	xs := func(s string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`-X \$?(\S+?)\.(Version|Commit|Date)=`).FindAllStringSubmatch(s, -1) {
			out = append(out, m[2])
		}
		return out
	}
	want := []string{"Version", "Commit", "Date"}
	if len(b.Ldflags) != 1 || !slices.Equal(xs(b.Ldflags[0]), want) || !strings.HasPrefix(b.Ldflags[0], "-s -w ") {
		t.Errorf(".goreleaser.yaml ldflags %q: want -s -w and -X for %v", b.Ldflags, want)
	}
	if !slices.Equal(xs(build), want) || !strings.Contains(build, `-ldflags "-s -w -X $pkg.Version=`) ||
		!strings.Contains(build, "pkg=github.com/otec-tools/sence-engine/engine/cli\n") {
		t.Errorf("packaging/build.sh: want -s -w and -X for %v in github.com/otec-tools/sence-engine/engine/cli", want)
	}
	// The release platforms of the issue, and the same list where the
	// third-party licences are gathered.
	if !slices.Equal(b.Goos, []string{"linux", "windows", "darwin"}) || !slices.Equal(b.Goarch, []string{"amd64", "arm64"}) {
		t.Errorf(".goreleaser.yaml platforms: goos %q goarch %q", b.Goos, b.Goarch)
	}
	if !strings.Contains(read(t, "third-party-licenses.sh"), "for target in linux/amd64 linux/arm64 windows/amd64 darwin/arm64; do") {
		t.Error("third-party-licenses.sh does not list the release platforms")
	}
}

// unit reads the Key=Value lines of a systemd unit.
func unit(t *testing.T, path string) map[string][]string {
	t.Helper()
	m := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(read(t, path)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not Key=Value", path, line)
		}
		m[k] = append(m[k], v)
	}
	return m
}

// The units run what the package installs, where it installs it.
func TestUnitsMatchThePackage(t *testing.T) {
	n := loadGoreleaser(t).Nfpms[0]
	dst := map[string]string{} // source file -> installed path
	kind := map[string]string{}
	mode := map[string]int{}
	for _, c := range n.Contents {
		dst[c.Src] = c.Dst
		kind[c.Dst] = c.Type
		mode[c.Dst] = c.FileInfo.Mode
	}
	mapping, env := dst["packaging/etc/sence-engine/mapping.yaml"], dst["packaging/etc/sence-engine/engine.env"]
	if mapping != "/etc/sence-engine/mapping.yaml" || env != "/etc/sence-engine/engine.env" {
		t.Fatalf("the package installs the mapping at %q and engine.env at %q", mapping, env)
	}
	// Conffiles: an upgrade leaves what the administrator edited.
	for _, f := range []string{mapping, env} {
		if kind[f] != "config|noreplace" {
			t.Errorf("%s is %q in the package, want config|noreplace (a conffile)", f, kind[f])
		}
	}
	if mode[env] != 0o600 || mode[mapping] != 0o644 {
		t.Errorf("modes: engine.env %o (want 600), mapping.yaml %o (want 644)", mode[env], mode[mapping])
	}
	bin := n.Bindir + "/engine"
	for _, name := range []string{"sence-engine.service", "sence-engine.timer", "sence-engine-schedule.service"} {
		src := "packaging/systemd/" + name
		if dst[src] != "/lib/systemd/system/"+name {
			t.Errorf("the package installs %s at %q", src, dst[src])
		}
		u := unit(t, "systemd/"+name)
		if strings.HasSuffix(name, ".timer") {
			if !slices.Equal(u["OnCalendar"], []string{"*-*-* 22:00:00 America/Santiago"}) {
				t.Errorf("%s: OnCalendar %q, want 22:00 Chile time, when SENCE's window opens", name, u["OnCalendar"])
			}
			continue
		}
		cmd := "run"
		if strings.Contains(name, "schedule") {
			cmd = "schedule"
		}
		if want := bin + " " + cmd + " --log-format json " + mapping; !slices.Equal(u["ExecStart"], []string{want}) {
			t.Errorf("%s: ExecStart %q, want %q", name, u["ExecStart"], want)
		}
		if !slices.Equal(u["EnvironmentFile"], []string{env}) || !slices.Equal(u["User"], []string{"sence-engine"}) ||
			!slices.Equal(u["StateDirectory"], []string{"sence-engine"}) || !slices.Equal(u["TimeoutStopSec"], []string{"11min"}) {
			t.Errorf("%s: EnvironmentFile %q User %q StateDirectory %q TimeoutStopSec %q", name,
				u["EnvironmentFile"], u["User"], u["StateDirectory"], u["TimeoutStopSec"])
		}
	}
	// The maintainer scripts exist and create the user the units run as.
	for _, s := range n.Scripts {
		if _, err := os.Stat(filepath.Join("..", s)); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(read(t, "deb/postinst"), "adduser --system --group") || !slices.Contains(n.Dependencies, "adduser") {
		t.Error("postinst does not create the sence-engine user with adduser, or the package does not depend on adduser")
	}
}

// envFile reads NAME='value' lines as systemd's EnvironmentFile= and sh do.
func envFile(t *testing.T, text string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
			t.Fatalf("engine.env: %q is not NAME='value'", line)
		}
		m[k] = v[1 : len(v)-1]
	}
	return m
}

func validate(t *testing.T, path string, env map[string]string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := cli.RunEnv(context.Background(), []string{"validate", path}, &cli.Env{
		Stdout: &out, Stderr: &out,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok && v != "" },
		Now:       time.Now,
	})
	return code, out.String()
}

var filled = map[string]string{
	"SENCE_RUT_OTEC": "76543210-3",
	"SENCE_TOKEN":    "5EEBF607-25A9-4DB2-A4DD-5D31BDAE3220",
	"MOODLE_DSN":     "postgres://sence_ro:cl@ve&x@db.otec.cl:5432/moodle?sslmode=require",
}

// The example configuration, as shipped and once filled in.
func TestExampleConfiguration(t *testing.T) {
	shipped := envFile(t, read(t, "etc/sence-engine/engine.env"))
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range shipped {
			if !yield(k) {
				return
			}
		}
	})
	if !slices.Equal(names, []string{"MOODLE_DSN", "SENCE_RUT_OTEC", "SENCE_TOKEN"}) {
		t.Fatalf("engine.env defines %q", names)
	}
	for k, v := range shipped {
		if v != "" {
			t.Errorf("engine.env ships a value for %s: it must come empty", k)
		}
	}
	// Every variable the mapping uses is one engine.env defines.
	mapping := read(t, "etc/sence-engine/mapping.yaml")
	for _, m := range regexp.MustCompile(`\$\{(\w+)\}`).FindAllStringSubmatch(mapping, -1) {
		if _, ok := shipped[m[1]]; !ok {
			t.Errorf("mapping.yaml uses ${%s}, which engine.env does not define", m[1])
		}
	}
	if !strings.Contains(mapping, "\nextends: moodle\n") || !strings.Contains(mapping, "\n  ledger: /var/lib/sence-engine/ledger.db\n") {
		t.Error("mapping.yaml must extend the moodle preset and keep the ledger in /var/lib/sence-engine (the units' StateDirectory)")
	}

	// As shipped, validate says what is missing and fails.
	code, out := validate(t, "etc/sence-engine/mapping.yaml", shipped)
	if code != cli.ExitProblems || !strings.Contains(out, "MOODLE_DSN") || !strings.Contains(out, "SENCE_RUT_OTEC") {
		t.Errorf("the empty example: exit %d, want %d naming MOODLE_DSN and SENCE_RUT_OTEC:\n%s", code, cli.ExitProblems, out)
	}
	// Filled in, it is a valid mapping.
	if code, out := validate(t, "etc/sence-engine/mapping.yaml", filled); code != cli.ExitOK {
		t.Errorf("the filled-in example: exit %d:\n%s", code, out)
	}
}

// The Kubernetes example: a nightly CronJob at 22:00 Chile time, the secrets
// from a Secret, the ledger on a persistent volume, and a mapping that
// validates.
func TestKubernetesCronJob(t *testing.T) {
	dec := yaml.NewDecoder(strings.NewReader(read(t, "kubernetes/cronjob.yaml")))
	docs := map[string]map[string]any{}
	for {
		var d map[string]any
		if err := dec.Decode(&d); err != nil {
			break
		}
		docs[d["kind"].(string)] = d
	}
	get := func(v any, path ...any) any {
		for _, p := range path {
			switch k := p.(type) {
			case string:
				m, _ := v.(map[string]any)
				v = m[k]
			case int:
				l, _ := v.([]any)
				if k >= len(l) {
					return nil
				}
				v = l[k]
			}
		}
		return v
	}
	cj := docs["CronJob"]
	if cj == nil || docs["ConfigMap"] == nil || docs["PersistentVolumeClaim"] == nil {
		t.Fatalf("cronjob.yaml has %d documents, want a ConfigMap, a PersistentVolumeClaim and a CronJob", len(docs))
	}
	spec := get(cj, "spec").(map[string]any)
	if spec["schedule"] != "0 22 * * *" || spec["timeZone"] != "America/Santiago" || spec["concurrencyPolicy"] != "Forbid" {
		t.Errorf("CronJob: schedule %v timeZone %v concurrencyPolicy %v", spec["schedule"], spec["timeZone"], spec["concurrencyPolicy"])
	}
	pod := get(spec, "jobTemplate", "spec", "template", "spec")
	if g, _ := get(pod, "terminationGracePeriodSeconds").(int); g < 600 {
		t.Errorf("terminationGracePeriodSeconds %d: SENCE may take 10 minutes to answer the send in flight", g)
	}
	c := get(pod, "containers", 0)
	secrets := map[string]bool{}
	for _, e := range get(c, "env").([]any) {
		if get(e, "valueFrom", "secretKeyRef", "name") == "sence-engine" {
			secrets[get(e, "name").(string)] = true
		}
	}
	for k := range filled {
		if !secrets[k] {
			t.Errorf("the CronJob does not take %s from the Secret", k)
		}
	}
	mounts := map[string]string{}
	for _, m := range get(c, "volumeMounts").([]any) {
		mounts[get(m, "mountPath").(string)] = get(m, "name").(string)
	}
	claims := map[string]bool{}
	for _, v := range get(pod, "volumes").([]any) {
		if get(v, "persistentVolumeClaim") != nil {
			claims[get(v, "name").(string)] = true
		}
	}
	if !claims[mounts["/var/lib/sence-engine"]] {
		t.Error("the ledger folder /var/lib/sence-engine is not on a persistent volume")
	}
	args := get(c, "args").([]any)
	if len(args) == 0 || args[len(args)-1] != "/etc/sence-engine/mapping.yaml" || mounts["/etc/sence-engine"] == "" {
		t.Errorf("the container runs %v with /etc/sence-engine mounted from %q", args, mounts["/etc/sence-engine"])
	}
	m := t.TempDir() + "/mapping.yaml"
	os.WriteFile(m, []byte(get(docs["ConfigMap"], "data", "mapping.yaml").(string)), 0o600)
	if code, out := validate(t, m, filled); code != cli.ExitOK {
		t.Errorf("the ConfigMap's mapping: exit %d:\n%s", code, out)
	}
}

// The README points at the files instead of repeating them.
func TestREADMEPointsAtTheFiles(t *testing.T) {
	readme := read(t, "../README.md")
	for _, f := range []string{"packaging/systemd/sence-engine.service", "packaging/systemd/sence-engine.timer",
		"packaging/systemd/sence-engine-schedule.service", "packaging/kubernetes/cronjob.yaml", "packaging/release.sh",
		".goreleaser.yaml", "Dockerfile", "LICENSE", "SECURITY.md", "CHANGELOG.md"} {
		if _, err := os.Stat(filepath.Join("..", f)); err != nil {
			t.Error(err)
		}
		if !strings.Contains(readme, f) && !strings.Contains(readme, "("+f+")") {
			t.Errorf("README does not mention %s", f)
		}
	}
	if strings.Contains(readme, "[Service]") {
		t.Error("README repeats a unit's text: point at packaging/systemd/ instead")
	}
	if !strings.Contains(read(t, "../CHANGELOG.md"), "\n## [Unreleased]\n") {
		t.Error("CHANGELOG.md has no [Unreleased] section")
	}
}
