package plan

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/infile"
	"github.com/otec-tools/sence-engine/engine/ledger"
	"github.com/otec-tools/sence-engine/engine/mapping"
)

// CheckFiles checks, without a database or the network, the files a
// mapping names, as the commands that use them will find them:
// sence.tokenFile is a readable regular file (within infile's bounds, as
// the commands read it) with a token of the right shape (never printed); the folder of the ledger (run.ledger, or the
// default beside the mapping) exists or can be created, and can be
// written; sence.simulator.roster is a readable regular file. It writes
// nothing but a probe file in the ledger's folder, removed at once.
// engine validate runs it: a night must not be lost to a missing file.
func CheckFiles(m *mapping.Mapping) diag.List {
	var ds diag.List
	s := m.Sence
	if s.TokenFile != "" && !m.Unresolved["sence.tokenFile"] {
		checkTokenFile(&ds, s.TokenFile, s.TokenFilePos)
	}
	if s.Simulator && s.SimRoster != "" {
		if _, err := infile.Read(s.SimRoster, infile.RosterLimit); err != nil {
			at := s.RosterPos
			ds.Errorf(at.File, at.Line, at.Col, "sence.simulator.roster: no se puede leer «%s»: %v", s.SimRoster, err)
		}
	}
	checkLedger(&ds, m)
	return ds
}

// checkTokenFile reads sence.tokenFile as the commands that send read it
// (infile: a regular file, bounded) and checks the token's shape.
func checkTokenFile(ds *diag.List, path string, at mapping.Pos) {
	errorf := func(format string, args ...any) {
		ds.Errorf(at.File, at.Line, at.Col, "sence.tokenFile: "+format, args...)
	}
	b, err := infile.Read(path, infile.TokenLimit)
	switch {
	case err != nil:
		errorf("no se puede leer «%s»: %v", path, err)
		return
	case strings.TrimSpace(string(b)) == "":
		errorf("«%s» está vacío: escriba en él el token de SENCE (XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX)", path)
		return
	}
	if msg := mapping.TokenProblem(string(b)); msg != "" {
		errorf("«%s»: %s", path, msg)
		return
	}
	if fi, err := os.Stat(path); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		ds.Warnf(at.File, at.Line, at.Col, "sence.tokenFile: otros usuarios pueden leer «%s» (permisos %04o) y el token es secreto: chmod 600 «%s»", path, fi.Mode().Perm(), path)
	}
}

// checkLedger checks that engine run can create or open its ledger.
func checkLedger(ds *diag.List, m *mapping.Mapping) {
	path := ledger.DefaultPath(m.File, m.Run.Ledger)
	at := m.Run.LedgerPos
	what := "run.ledger"
	if m.Run.Ledger == "" {
		at = mapping.Pos{File: m.File}
		what = "el registro de engine run (por omisión junto al mapeo; run.ledger lo cambia)"
	}
	errorf := func(format string, args ...any) {
		ds.Errorf(at.File, at.Line, at.Col, what+": "+format, args...)
	}
	if fi, err := os.Stat(path); err == nil {
		if !fi.Mode().IsRegular() {
			errorf("«%s» no es un archivo común", path)
			return
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			errorf("%v%s", diag.FileError("escribir", path, err), asUser(err))
			return
		}
		f.Close()
		return
	} else if !errors.Is(err, iofs.ErrNotExist) {
		errorf("%v", diag.FileError("abrir", path, err))
		return
	}
	// The ledger does not exist yet: engine run creates it, and its
	// folders, in the nearest folder that exists.
	dir := filepath.Dir(path)
	for {
		fi, err := os.Stat(dir)
		if err == nil {
			if !fi.IsDir() {
				errorf("no se puede crear «%s»: «%s» no es una carpeta", path, dir)
				return
			}
			break
		}
		if !errors.Is(err, iofs.ErrNotExist) {
			errorf("%v", diag.FileError("abrir la carpeta", dir, err))
			return
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			errorf("no se puede crear «%s»: no existe ninguna de sus carpetas", path)
			return
		}
		dir = parent
	}
	probe, err := os.CreateTemp(dir, ".engine-validate-*")
	if err != nil {
		errorf("no se puede crear «%s»: %v%s", path, diag.FileError("escribir en la carpeta", dir, err), asUser(err))
		return
	}
	probe.Close()
	os.Remove(probe.Name())
}

// asUser names who validate ran as when permission was denied: the
// nightly run may be another user (the Debian package's sence-engine).
func asUser(err error) string {
	if !errors.Is(err, iofs.ErrPermission) {
		return ""
	}
	u, uerr := user.Current()
	if uerr != nil || u.Username == "" {
		return ""
	}
	return fmt.Sprintf(" (revisado como el usuario «%s»: la ejecución nocturna debe poder escribirlo con el suyo)", u.Username)
}
