// Package mappings embeds the ready presets that site mappings extend with
// `extends: NAME`.
package mappings

import (
	"embed"
	"io/fs"
	"strings"
)

//go:embed *.yaml
var FS embed.FS

// Tests are the preset's own tests (tests/*.test.yaml, the format of
// engine/mappingtest): one file per rule of moodle.yaml, run by
// `engine test --preset` and by go test.
//
//go:embed tests/*.test.yaml
var Tests embed.FS

// TestsDir is where the preset's tests are in the source tree, the name
// under which engine test reports them.
const TestsDir = "mappings/tests"

// Preset returns the bytes of the embedded preset NAME (without .yaml).
func Preset(name string) ([]byte, bool) {
	if strings.ContainsAny(name, `/\.`) {
		return nil, false
	}
	b, err := FS.ReadFile(name + ".yaml")
	return b, err == nil
}

// Names lists the embedded presets.
func Names() []string {
	var out []string
	entries, _ := fs.ReadDir(FS, ".")
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return out
}
