//go:build !unix

package site

import "errors"

// FreeBytes is not measured on this system.
func FreeBytes(string) (int64, error) {
	return 0, errors.New("no se puede medir el espacio libre en este sistema")
}
