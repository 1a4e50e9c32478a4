// Package schemas embeds the JSON Schemas the engine publishes and checks
// against, so that the binary, the tests and editors (through the
// yaml-language-server or vscode-json $schema hint) use the same files.
// Every *.json file in this folder is embedded.
package schemas

import "embed"

// FS holds every *.json schema of this folder.
//
//go:embed *.json
var FS embed.FS

// SenceAvanceFile is the name of the schema of SENCE's enviarAvance body.
const SenceAvanceFile = "sence-avance.schema.json"

// ResumenFile is the schema of an export's resumen.json, and
// EjecucionFile the schema of a run's report (reports/run-N.json).
const (
	ResumenFile   = "resumen.schema.json"
	EjecucionFile = "ejecucion.schema.json"
)

// SenceAvance returns the JSON Schema (draft-07) of SENCE's enviarAvance
// body. Each call returns a fresh copy.
func SenceAvance() []byte {
	b, err := FS.ReadFile(SenceAvanceFile)
	if err != nil {
		// The file is embedded at build time: only a broken build gets here.
		panic("schemas: " + err.Error())
	}
	return b
}
