package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/infile"
	"github.com/otec-tools/sence-engine/engine/outfile"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// An export directory holds exactly one export: a JSON per course and
// resumen.json, which lists them. It is written whole into a hidden
// temporary directory beside the target (readable only by its owner) and
// renamed into place, so that a reader, send --from included, sees the
// previous export or the new one and never a mix; a crash leaves at most
// hidden temporaries, which the next export removes.

const summaryFile = "resumen.json"

// Name patterns of an export's temporaries beside its target DIR:
// .DIR.export-* while it is written, .DIR.old-* while the previous export
// is being replaced.
func exportTemp(dir string) string { return "." + filepath.Base(dir) + ".export-" }
func exportOld(dir string) string  { return "." + filepath.Base(dir) + ".old-" }

// isExportTemporary says whether dir is one of those temporaries.
func isExportTemporary(dir string) bool {
	b := filepath.Base(filepath.Clean(dir))
	return strings.HasPrefix(b, ".") && (strings.Contains(b, ".export-") || strings.Contains(b, ".old-"))
}

func writeExport(dir string, results []*assemble.CourseResult, sum *Summary) error {
	// Absolute, so that «.» or «out/» name the folder itself.
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return fmt.Errorf("no se puede crear la carpeta %s: %v", parent, err)
	}
	if err := checkExportTarget(dir); err != nil {
		return err
	}
	removeExportLeftovers(dir)
	tmp, err := os.MkdirTemp(parent, exportTemp(dir)+"*") // mode 0700
	if err != nil {
		return fmt.Errorf("no se puede escribir en %s: %v", parent, err)
	}
	release := outfile.Hold(tmp)
	defer release()
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	for _, r := range results {
		if r.Payload == nil {
			continue
		}
		b, err := payload.Marshal(r.Payload)
		if err != nil {
			return err
		}
		if err := outfile.WriteNew(filepath.Join(tmp, FileName(r.Payload)), b); err != nil {
			return fmt.Errorf("no se puede escribir el curso %s en %s: %v", r.Payload.CodigoOferta, dir, err)
		}
	}
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	if err := outfile.WriteNew(filepath.Join(tmp, summaryFile), append(b, '\n')); err != nil {
		return fmt.Errorf("no se puede escribir %s en %s: %v", summaryFile, dir, err)
	}
	outfile.SyncDir(tmp)
	// Swap: the previous export steps aside, the new one takes its name.
	var old string
	if _, err := os.Lstat(dir); err == nil {
		old = filepath.Join(parent, exportOld(dir)+filepath.Base(tmp)[len(exportTemp(dir)):])
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("no se puede reemplazar la exportación anterior en %s: %v", dir, err)
		}
		defer outfile.Hold(old)()
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			os.Rename(old, dir)
		}
		return fmt.Errorf("no se puede escribir %s: %v", dir, err)
	}
	done = true
	outfile.SyncDir(parent)
	if old != "" {
		os.RemoveAll(old)
	}
	return nil
}

// checkExportTarget accepts a missing or empty directory, or one that
// holds an export (resumen.json and course files, also an export of an
// earlier version with stale course files beside it); anything else is
// someone's folder, and export will not replace it.
func checkExportTarget(dir string) error {
	st, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("no se puede usar %s: %v", dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s existe y no es una carpeta: indique en --out una carpeta nueva o una exportación anterior", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("no se puede leer %s: %v", dir, err)
	}
	if len(ents) == 0 {
		return nil
	}
	var others []string
	hasSummary := false
	for _, e := range ents {
		n := e.Name()
		switch {
		case n == summaryFile && e.Type().IsRegular():
			hasSummary = true
		case strings.HasSuffix(n, ".json") && e.Type().IsRegular() && isCourseFile(filepath.Join(dir, n)):
		case strings.HasPrefix(n, ".") && strings.Contains(n, ".json.") && e.Type().IsRegular():
			// a temporary of an earlier version's writer
		default:
			others = append(others, n)
		}
	}
	if hasSummary && len(others) == 0 {
		return nil
	}
	why := "no tiene " + summaryFile
	if len(others) > 0 {
		q := quoteAll(others)
		if len(q) > 3 {
			q = append(q[:3], "…")
		}
		why = "tiene " + strings.Join(q, ", ")
	}
	return fmt.Errorf("la carpeta %s no está vacía y no es una exportación anterior (%s): export reemplaza la carpeta entera; indique en --out una carpeta nueva o vacía", dir, why)
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = "«" + s + "»"
	}
	return out
}

// isCourseFile says whether a file holds a SENCE course payload.
func isCourseFile(path string) bool {
	b, err := infile.Read(path, infile.CourseLimit)
	if err != nil {
		return false
	}
	_, err = decodeCourse(b)
	return err == nil
}

// removeExportLeftovers removes what an interrupted export of dir left
// beside it.
func removeExportLeftovers(dir string) {
	parent := filepath.Dir(dir)
	for _, prefix := range []string{exportTemp(dir), exportOld(dir)} {
		matches, _ := filepath.Glob(filepath.Join(parent, outfile.GlobEscape(prefix)+"*"))
		for _, m := range matches {
			os.RemoveAll(m)
		}
	}
}

// decodeCourse reads a course payload strictly.
func decodeCourse(b []byte) (payload.Course, error) {
	var c payload.Course
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, err
	}
	if c.CodigoOferta == "" {
		return c, errors.New("falta codigoOferta")
	}
	return c, nil
}

// readExport reads the courses of an export directory for send --from. The
// directory must hold exactly what its resumen.json lists, each course
// file matching its entry: a folder with files from two exports, or a
// temporary left by an interrupted export, is refused.
func readExport(dir string, only []string) ([]payload.Course, error) {
	if isExportTemporary(dir) {
		return nil, fmt.Errorf("%s es un resto temporal de una exportación interrumpida, no una exportación: use la carpeta que indicó en --out (la próxima exportación borra este resto)", dir)
	}
	b, err := infile.Read(filepath.Join(dir, summaryFile), infile.CourseLimit)
	if err != nil {
		return nil, fmt.Errorf("%s no es una exportación completa: no se puede leer %s (%v); genérela con engine export --out %s", dir, summaryFile, err, dir)
	}
	var sum Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		return nil, fmt.Errorf("%s/%s está dañado (%v): vuelva a exportar con engine export --out %s", dir, summaryFile, err, dir)
	}
	listed := map[string]CourseSummary{}
	for _, c := range sum.Courses {
		if c.Archivo != "" {
			listed[c.Archivo] = c
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("no se puede leer %s: %v", dir, err)
	}
	var files, extra []string
	for _, e := range ents {
		n := e.Name()
		switch {
		case n == summaryFile:
		case listed[n].Archivo != "" && e.Type().IsRegular():
			files = append(files, n)
		default:
			extra = append(extra, n)
		}
	}
	redo := fmt.Sprintf("vuelva a exportar con engine export --out %s", dir)
	if len(extra) > 0 {
		return nil, fmt.Errorf("%s tiene archivos que su %s no lista (%s): no es una sola exportación; %s", dir, summaryFile, strings.Join(quoteAll(extra), ", "), redo)
	}
	if len(files) != len(listed) || len(listed) != sum.Sendable {
		var missing []string
		for n := range listed {
			if !slices.Contains(files, n) {
				missing = append(missing, n)
			}
		}
		sort.Strings(missing)
		return nil, fmt.Errorf("a %s le faltan cursos que su %s lista (%s): %s", dir, summaryFile, strings.Join(quoteAll(missing), ", "), redo)
	}
	sort.Strings(files)
	var out []payload.Course
	for _, n := range files {
		f := filepath.Join(dir, n)
		b, err := infile.Read(f, infile.CourseLimit)
		if err != nil {
			return nil, fmt.Errorf("no se puede leer %s: %v", f, err)
		}
		c, err := decodeCourse(b)
		if err != nil {
			return nil, fmt.Errorf("%s no es un envío de SENCE válido: %v", f, err)
		}
		want := listed[n]
		if c.CodigoOferta != want.CodigoOferta || c.CodigoGrupo != want.CodigoGrupo || len(c.ListaAlumnos) != want.Incluidos {
			return nil, fmt.Errorf("%s no corresponde a su %s (curso %s grupo %s con %d alumnos; el resumen dice %s grupo %s con %d): no es una sola exportación; %s",
				f, summaryFile, c.CodigoOferta, c.CodigoGrupo, len(c.ListaAlumnos), want.CodigoOferta, want.CodigoGrupo, want.Incluidos, redo)
		}
		if len(only) > 0 && !slices.Contains(only, c.CodigoOferta) {
			continue
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no hay cursos para enviar en %s", dir)
	}
	return out, nil
}
