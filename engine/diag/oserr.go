package diag

import (
	"errors"
	"io/fs"
	"strings"
	"syscall"
)

// osWords are the operating system's messages a user meets, in Spanish.
var osWords = []struct {
	errno syscall.Errno
	es    string
}{
	{syscall.ENOENT, "no existe"},
	{syscall.EACCES, "permiso denegado (revise el dueño y los permisos del archivo o carpeta)"},
	{syscall.EPERM, "operación no permitida"},
	{syscall.EISDIR, "es una carpeta, no un archivo"},
	{syscall.ENOTDIR, "una parte de la ruta no es una carpeta"},
	{syscall.ENOSPC, "no queda espacio en el disco"},
	{syscall.EROFS, "el sistema de archivos es de solo lectura"},
	{syscall.EEXIST, "ya existe"},
	{syscall.ENOTEMPTY, "la carpeta no está vacía"},
	{syscall.EMFILE, "demasiados archivos abiertos"},
}

// FileError says what went wrong with a file, in Spanish, naming it:
// «no se puede leer «sitio.yaml»: no existe». what is the action
// («leer», «escribir», «crear la carpeta»). Errors that are not about a
// file are returned as they are, after the action.
func FileError(what, path string, err error) error {
	return &fileError{what: what, path: path, err: err}
}

type fileError struct {
	what, path string
	err        error
}

func (e *fileError) Error() string {
	return "no se puede " + e.what + " «" + e.path + "»: " + OSText(e.err)
}

func (e *fileError) Unwrap() error { return e.err }

// OSText is the reason of an operating-system error in Spanish, without
// the operation and path Go's *fs.PathError repeats.
func OSText(err error) string {
	if err == nil {
		return ""
	}
	for _, w := range osWords {
		if errors.Is(err, w.errno) {
			return w.es
		}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return strings.TrimSpace(err.Error())
}
