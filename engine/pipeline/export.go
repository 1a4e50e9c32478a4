package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/infile"
	"github.com/otec-tools/sence-engine/engine/outfile"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/report"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/spill"
)

// An export directory holds exactly one export: a JSON per course and
// resumen.json, which lists them. It is written whole into a hidden
// temporary directory beside the target (readable only by its owner) and
// renamed into place, so that a reader, send --from included, sees the
// previous export or the new one and never a mix; a crash leaves at most
// hidden temporaries, which the next export removes.

const summaryFile = "resumen.json"

// StudentsFile is the export's spreadsheet: one row per student, the
// values to send or why the student is left out (engine/report's CSV).
const StudentsFile = "alumnos.csv"

// PageFile is the export's page for the coordinator (engine/report).
const PageFile = "reporte.html"

// Name patterns of an export's temporaries beside its target DIR:
// .DIR.export-* while it is written, .DIR.old-* while the previous export
// is being replaced.
func exportTemp(dir string) string { return "." + filepath.Base(dir) + ".export-" }
func exportOld(dir string) string  { return "." + filepath.Base(dir) + ".old-" }

// IsExportTemporary says whether dir is one of those temporaries.
func IsExportTemporary(dir string) bool {
	b := filepath.Base(filepath.Clean(dir))
	return strings.HasPrefix(b, ".") && (strings.Contains(b, ".export-") || strings.Contains(b, ".old-"))
}

// ExportWriter writes one export folder as its courses are built: each
// course file into the hidden temporary folder at once, resumen.json and
// the swap into place at Commit. Discard leaves the target as it was.
type ExportWriter struct {
	dir, parent, tmp string
	release          func()
	done             bool
	enc              *json.Encoder
	to               *toWriter
}

// toWriter writes to w, which changes from file to file.
type toWriter struct{ w io.Writer }

func (t *toWriter) Write(p []byte) (int, error) { return t.w.Write(p) }

// NewExport checks that dir may be replaced (missing, empty or an earlier
// export), removes what an interrupted export left beside it and creates
// the temporary folder.
func NewExport(dir string) (*ExportWriter, error) {
	// Absolute, so that «.» or «out/» name the folder itself.
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, fmt.Errorf("no se puede crear la carpeta %s: %v", parent, err)
	}
	if err := checkExportTarget(dir); err != nil {
		return nil, err
	}
	removeExportLeftovers(dir)
	tmp, err := os.MkdirTemp(parent, exportTemp(dir)+"*") // mode 0700
	if err != nil {
		return nil, fmt.Errorf("no se puede escribir en %s: %v", parent, err)
	}
	return &ExportWriter{dir: dir, parent: parent, tmp: tmp, release: outfile.Hold(tmp)}, nil
}

// Add writes a course's file into the export, as payload.Marshal writes
// it, straight to the file through one encoder for every course (its
// buffers are reused, not a course's size of garbage each time).
func (w *ExportWriter) Add(c *payload.Course) error {
	if w.enc == nil {
		w.to = &toWriter{}
		w.enc = json.NewEncoder(w.to)
		w.enc.SetEscapeHTML(false)
		w.enc.SetIndent("", "  ")
	}
	if err := outfile.WriteNewFunc(filepath.Join(w.tmp, FileName(c)), func(f io.Writer) error {
		w.to.w = f
		defer func() { w.to.w = nil }()
		return w.enc.Encode(c)
	}); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// FileName gives different courses different names; only a
			// file system that ignores case can make two of them one.
			return fmt.Errorf("no se puede escribir el curso %s en %s: otro curso ya escribió «%s»: este sistema de archivos no distingue mayúsculas de minúsculas y los códigos de los dos cursos solo difieren en ellas; corrija el código de uno de ellos en Moodle o en el mapeo", c.CodigoOferta, w.dir, FileName(c))
		}
		return fmt.Errorf("no se puede escribir el curso %s en %s: %v", c.CodigoOferta, w.dir, err)
	}
	return nil
}

// AddFile writes one more file of the export (the spreadsheet).
// It is written as write writes it, never whole in memory.
func (w *ExportWriter) AddFile(name string, write func(io.Writer) error) error {
	if err := outfile.WriteNewFunc(filepath.Join(w.tmp, name), write); err != nil {
		return fmt.Errorf("no se puede escribir %s en %s: %v", name, w.dir, err)
	}
	return nil
}

// newSpill is the export's spill beside the folder (.DIR.export-spill-*,
// which removeExportLeftovers removes after a crash): the students of
// every course until resumen.json, alumnos.csv and reporte.html are
// written.
func (w *ExportWriter) newSpill() (*spill.File, error) {
	sp, err := spill.New(w.parent, exportTemp(w.dir)+"spill-")
	if err != nil {
		return nil, fmt.Errorf("no se puede escribir en %s: %v", w.parent, err)
	}
	return sp, nil
}

// Discard removes the temporary folder: nothing of this export is
// written. It does nothing after Commit.
func (w *ExportWriter) Discard() {
	if w.done {
		return
	}
	w.done = true
	os.RemoveAll(w.tmp)
	w.release()
}

// Commit writes resumen.json and puts the export in place of the
// previous one, whole. On error nothing changes.
func (w *ExportWriter) Commit(sum *Summary) error {
	if w.done {
		return fmt.Errorf("la exportación a %s ya terminó", w.dir)
	}
	defer w.Discard() // after a failure; a no-op once committed
	if err := outfile.WriteNewFunc(filepath.Join(w.tmp, summaryFile), sum.WriteJSON); err != nil {
		return fmt.Errorf("no se puede escribir %s en %s: %v", summaryFile, w.dir, err)
	}
	outfile.SyncDir(w.tmp)
	// Swap: the previous export steps aside, the new one takes its name.
	dir, parent, tmp := w.dir, w.parent, w.tmp
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
	w.done = true
	w.release()
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
		case (n == StudentsFile || n == PageFile) && e.Type().IsRegular():
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

// ReadExport reads the courses of an export directory for send --from. The
// directory must hold exactly what its resumen.json lists, each course
// file matching its entry: a folder with files from two exports, or a
// temporary left by an interrupted export, is refused.
func ReadExport(dir string, only []string) ([]payload.Course, error) {
	ex, err := OpenExport(dir, only)
	if err != nil {
		return nil, err
	}
	return ex.Courses, nil
}

// Exported is an export read back: its courses, and who each student sent
// is (Names: by RUT as sent, the name every output gives; empty for an
// export of an earlier version, whose resumen.json does not list them).
type Exported struct {
	Courses []payload.Course
	Names   map[string]string
}

// OpenExport is ReadExport with the students' names.
func OpenExport(dir string, only []string) (*Exported, error) {
	if IsExportTemporary(dir) {
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
		case n == summaryFile, n == StudentsFile, n == PageFile:
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
	names := map[string]string{}
	for _, c := range sum.Courses {
		for _, st := range c.Enviados {
			if st.RUT != "" && st.Alumno != "" {
				names[st.RUT] = st.Alumno
			}
		}
	}
	return &Exported{Courses: out, Names: names}, nil
}

// ExportOptions are the options of engine export.
type ExportOptions struct {
	Build BuildOptions
	// Dir is the export folder; "" builds and summarizes only.
	Dir string
	// Strict writes nothing when a student is excluded or a course
	// fails.
	Strict bool
}

// ErrStrict is Export's and Nightly's error when --strict finds students
// excluded or courses in error: nothing was written or sent.
var ErrStrict = errors.New("--strict: hay problemas")

// Export builds every course and, with a folder, writes each course file
// as it is built and the export whole at the end: the courses are not
// kept in memory. The summary is returned even when the export fails.
func Export(ctx context.Context, pl *plan.Plan, o ExportOptions) (*Built, error) {
	m := pl.Mapping
	if m.Sence.RutOtec == "" {
		return nil, failf(Problems, "%s: falta sence.rutOtec (el RUT de la OTEC, como 76543210-3)", m.File)
	}
	db, err := Open(ctx, m)
	if err != nil {
		return nil, fail(Failed, err)
	}
	defer db.Close()
	var w *ExportWriter
	sheet := report.NewExport(m.File, chile.Date(o.Build.ReportDate))
	if o.Dir != "" {
		if w, err = NewExport(o.Dir); err != nil {
			return nil, fail(Failed, err)
		}
		defer w.Discard()
		sp, err := w.newSpill()
		if err != nil {
			return nil, fail(Failed, err)
		}
		defer sp.Remove()
		o.Build.spill = sp
		sheet.Spill(sp)
	}
	b, err := Build(ctx, db, pl, o.Build, func(r *assemble.CourseResult) error {
		if w == nil {
			return nil
		}
		sheet.Add(r)
		if r.Payload == nil {
			return nil
		}
		return w.Add(r.Payload)
	})
	if err != nil {
		return b, err
	}
	if o.Strict && !b.Summary.Clean() {
		return b, fail(Problems, ErrStrict)
	}
	if w != nil {
		sheet.Unselected(b.Summary.Unselected)
		page := sheet.Model()
		if err := w.AddFile(StudentsFile, page.WriteCSV); err != nil {
			return b, fail(Failed, err)
		}
		if err := w.AddFile(PageFile, page.WriteHTML); err != nil {
			return b, fail(Failed, err)
		}
		if err := w.Commit(b.Summary); err != nil {
			return b, fail(Failed, err)
		}
	}
	return b, nil
}
