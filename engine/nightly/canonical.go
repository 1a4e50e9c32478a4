package nightly

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// canonicalHash is the SHA-256 of v's canonical JSON: v as encoding/json
// writes it, with every object's keys sorted. That is what the ledger's
// hashes were first made from (v's JSON decoded into generic values and
// encoded again); it is written here straight from v into the hash, field
// by field, for a payload's generic values took its size many times over
// while each course waited to be sent.
func canonicalHash(v any) string {
	h := sha256.New()
	w := bufio.NewWriterSize(h, 4096)
	if err := writeCanonical(w, reflect.ValueOf(v)); err != nil {
		panic(err) // payload types always encode
	}
	w.Flush()
	return hex.EncodeToString(h.Sum(nil))
}

// writeCanonical writes v as encoding/json would, with object keys sorted.
// It knows the kinds the payload types use: structs (json tags, omitempty),
// slices, pointers and scalars.
func writeCanonical(w *bufio.Writer, v reflect.Value) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			_, err := w.WriteString("null")
			return err
		}
		return writeCanonical(w, v.Elem())
	case reflect.Struct:
		fields, err := fieldsOf(v.Type())
		if err != nil {
			return err
		}
		w.WriteByte('{')
		first := true
		for _, f := range fields {
			fv := v.Field(f.index)
			if f.omitEmpty && isEmptyValue(fv) {
				continue
			}
			if !first {
				w.WriteByte(',')
			}
			first = false
			w.Write(f.key)
			if err := writeCanonical(w, fv); err != nil {
				return err
			}
		}
		w.WriteByte('}')
		return nil
	case reflect.Slice:
		if v.IsNil() {
			_, err := w.WriteString("null")
			return err
		}
		w.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				w.WriteByte(',')
			}
			if err := writeCanonical(w, v.Index(i)); err != nil {
				return err
			}
		}
		w.WriteByte(']')
		return nil
	case reflect.Map, reflect.Array:
		return fmt.Errorf("canonicalHash: %s is not a payload type", v.Type())
	case reflect.String:
		// encoding/json writes each invalid byte as \ufffd, which reads
		// back as the replacement rune and is then written as itself.
		s := v.String()
		if !utf8.ValidString(s) {
			var b strings.Builder
			for i := 0; i < len(s); {
				r, n := utf8.DecodeRuneInString(s[i:])
				if r == utf8.RuneError && n == 1 {
					b.WriteRune(utf8.RuneError)
				} else {
					b.WriteString(s[i : i+n])
				}
				i += n
			}
			s = b.String()
		}
		b, err := json.Marshal(s)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// isEmptyValue is encoding/json's test for omitempty.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// canonicalField is a struct field as JSON names it, with its quoted key
// and colon ready to write.
type canonicalField struct {
	name      string
	key       []byte
	index     int
	omitEmpty bool
}

var canonicalFields sync.Map // reflect.Type → []canonicalField

// fieldsOf lists a struct's JSON fields sorted by name.
func fieldsOf(t reflect.Type) ([]canonicalField, error) {
	if fs, ok := canonicalFields.Load(t); ok {
		return fs.([]canonicalField), nil
	}
	var fs []canonicalField
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			return nil, fmt.Errorf("canonicalHash: %s embeds %s", t, sf.Type)
		}
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = sf.Name
		}
		key, err := json.Marshal(name)
		if err != nil {
			return nil, err
		}
		fs = append(fs, canonicalField{name: name, key: append(key, ':'), index: i, omitEmpty: slices.Contains(strings.Split(opts, ","), "omitempty")})
	}
	slices.SortFunc(fs, func(a, b canonicalField) int { return strings.Compare(a.name, b.name) })
	canonicalFields.Store(t, fs)
	return fs, nil
}
