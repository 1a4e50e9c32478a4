package schemas

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestEmbedsEveryJSON guards the embed pattern: a schema dropped into this
// folder must reach the binary without touching Go code.
func TestEmbedsEveryJSON(t *testing.T) {
	onDisk, err := filepath.Glob("*.json")
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := fs.Glob(FS, "*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(onDisk) == 0 || len(onDisk) != len(embedded) {
		t.Fatalf("on disk %v, embedded %v", onDisk, embedded)
	}
	for _, name := range onDisk {
		want, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := FS.ReadFile(name)
		if err != nil {
			t.Fatalf("%s not embedded: %v", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: embedded copy differs from the file", name)
		}
		var v map[string]any
		if err := json.Unmarshal(got, &v); err != nil {
			t.Errorf("%s is not valid JSON: %v", name, err)
		}
		if v["$schema"] == nil || v["$id"] == nil {
			t.Errorf("%s lacks $schema or $id", name)
		}
	}
}

func TestSenceAvanceIsACopy(t *testing.T) {
	a := SenceAvance()
	a[0] = 'x'
	if SenceAvance()[0] == 'x' {
		t.Fatal("SenceAvance shares its bytes with callers")
	}
}
