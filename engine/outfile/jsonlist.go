package outfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// WriteJSONList writes a large JSON document the way
// json.MarshalIndent(v, "", "  ") writes it, with a final newline,
// without holding it whole: head is that indentation of v with its
// top-level list key empty ([]), and the list's n elements are asked of
// elem and written one at a time (resumen.json, run-N.json).
func WriteJSONList(w io.Writer, head []byte, key string, n int, elem func(k int) (any, error)) error {
	marker := []byte("\n  \"" + key + "\": []")
	i := bytes.Index(head, marker)
	if i < 0 {
		return fmt.Errorf("no se encontró la lista %q del documento", key)
	}
	if _, err := w.Write(head[:i+len(marker)-1]); err != nil { // up to "key": [
		return err
	}
	for k := range n {
		v, err := elem(k)
		if err != nil {
			return err
		}
		b, err := json.MarshalIndent(v, "    ", "  ")
		if err != nil {
			return err
		}
		sep := ",\n    "
		if k == 0 {
			sep = "\n    "
		}
		if _, err := io.WriteString(w, sep); err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	if n > 0 {
		if _, err := io.WriteString(w, "\n  "); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(w, "]"); err != nil {
		return err
	}
	_, err := w.Write(append(head[i+len(marker):], '\n'))
	return err
}
