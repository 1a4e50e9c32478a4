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
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return out
}
