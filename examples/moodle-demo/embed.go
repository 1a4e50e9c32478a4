// Package moodledemo embeds the demo's mapping so that `engine demo` can
// write it next to the demo database it generates.
package moodledemo

import _ "embed"

// Mapping is examples/moodle-demo/mapping.yaml.
//
//go:embed mapping.yaml
var Mapping []byte
