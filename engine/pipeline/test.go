package pipeline

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/assemble"
	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/infile"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/mappingtest"
	"github.com/otec-tools/sence-engine/engine/moodledb"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/source"
	"github.com/otec-tools/sence-engine/mappings"
)

// TestOptions are the options of engine test.
type TestOptions struct {
	// Mapping, when set, is the mapping under test in every file instead
	// of the one the file names: a path (a site runs the preset's tests
	// against its own mapping) or a preset's name.
	Mapping string
	// Run keeps the tests whose name it matches; nil runs every test.
	Run       *regexp.Regexp
	LookupEnv func(string) (string, bool)
}

// TestFileResult is what running one test file gave. When Diags has
// errors the file could not run (a mistake in it or in its mapping) and
// Tests is empty.
type TestFileResult struct {
	Path  string
	Diags diag.List
	// Warnings are the mapping's own warnings (as validate shows them),
	// when the file has no errors: they do not fail a test.
	Warnings diag.List
	Tests    []TestResult
	// Filtered counts the tests --run left out.
	Filtered int
}

// TestResult is one test's outcome: passed when Err is nil and there are
// no failures. Err is a test that could not run (its rows do not fit the
// schema, its mapping does not compile, the build failed).
type TestResult struct {
	Name     string
	Pos      mapping.Pos
	Failures []mappingtest.Failure
	Err      error
	Elapsed  time.Duration
	// Built is what the test's build gave (engine test --verbose).
	Built mappingtest.Built
}

// Passed says whether the test ran and every expectation held.
func (r TestResult) Passed() bool { return r.Err == nil && len(r.Failures) == 0 }

// testRutOtec stands in for the OTEC's RUT: a test builds and validates
// payloads as export does, and the RUT of the OTEC is not Moodle's.
const testRutOtec = "76543210-3"

// TestFile runs the tests of one test file: each test loads its rows into
// a new in-memory SQLite database with the embedded Moodle schema (the
// mapping's table prefix), builds every course as export does (Build,
// with SENCE's schema and rules) and compares what it built with what the
// test expects.
func TestFile(ctx context.Context, path string, data []byte, o TestOptions) *TestFileResult {
	res := &TestFileResult{Path: path}
	f, ds := mappingtest.Decode(path, data)
	res.Diags = ds
	if f == nil || f.Mapping == "" && o.Mapping == "" {
		return res
	}
	// The mapping is loaded even when the file has errors, to report them
	// all at once.
	m, base, ds, warns := loadTestMapping(f, o)
	res.Diags = append(res.Diags, ds...)
	if m == nil || res.Diags.HasErrors() {
		return res
	}
	res.Warnings = warns
	for _, t := range f.Tests {
		if o.Run != nil && !o.Run.MatchString(t.Name) {
			res.Filtered++
			continue
		}
		if ctx.Err() != nil {
			break
		}
		start := time.Now()
		r := TestResult{Name: t.Name, Pos: t.Pos}
		r.Built, r.Failures, r.Err = runTest(ctx, f, t, m, base)
		r.Elapsed = time.Since(start)
		res.Tests = append(res.Tests, r)
	}
	return res
}

// loadTestMapping loads the mapping under test with the file's params and
// queries over it: the file's own lines are the overlay (every other line
// blank), so a problem in them is reported at the test file's line.
func loadTestMapping(f *mappingtest.File, o TestOptions) (_ *mapping.Mapping, _ *plan.Plan, errs, warns diag.List) {
	target := f.Mapping
	if o.Mapping != "" {
		target = o.Mapping
		if _, preset := mappings.Preset(target); !preset {
			if abs, err := filepath.Abs(target); err == nil {
				target = abs
			}
		}
	}
	over := string(f.Overlay)
	over += fmt.Sprintf("\nextends: %q\nsource:\n  driver: sqlite\n  dsn: memoria\nsence:\n  rutOtec: %q\n", target, testRutOtec)
	m, ds := mapping.LoadBytes(f.Path, []byte(over), mapping.Options{
		LookupEnv: o.LookupEnv,
		// A test reads no database and sends nothing.
		Unneeded: []string{"source.dsn", "sence.token", "sence.tokenFile", "sence.rutOtec", "sence.baseUrl", "sence.simulator.roster", "run.ledger"},
	})
	var pl *plan.Plan
	if m != nil && !ds.HasErrors() {
		// Compiled once here for its diagnostics and its queries'
		// columns; each test compiles again with its own query rows.
		var cds diag.List
		pl, cds = plan.Compile(m)
		ds = append(ds, cds...)
	}
	for _, d := range ds {
		if d.Severity == diag.Error {
			errs = append(errs, d)
		} else {
			warns = append(warns, d)
		}
	}
	return m, pl, errs, warns
}

func runTest(ctx context.Context, f *mappingtest.File, t mappingtest.Test, m *mapping.Mapping, base *plan.Plan) (got mappingtest.Built, _ []mappingtest.Failure, _ error) {
	// The test's query rows replace those queries in a copy of the mapping.
	mc := *m
	mc.Queries = slices.Clone(m.Queries)
	var names []string
	for _, q := range mc.Queries {
		names = append(names, q.Name)
	}
	var problems []string
	for _, qr := range t.Rows {
		q := mc.Query(qr.Query)
		if q == nil {
			msg := fmt.Sprintf("%s:%d:%d: el mapeo no tiene la consulta «%s» (consultas: %s)", f.Path, qr.Pos.Line, qr.Pos.Col, qr.Query, strings.Join(names, ", "))
			if s := diag.Suggest(qr.Query, names); s != "" {
				msg += fmt.Sprintf("; ¿quiso decir «%s»?", s)
			}
			problems = append(problems, msg)
			continue
		}
		var compiled *plan.Query
		for _, c := range base.Queries {
			if c.Name == qr.Query {
				compiled = c
			}
		}
		if compiled.Skipped {
			problems = append(problems, fmt.Sprintf("%s:%d:%d: la consulta «%s» no se ejecuta con los parámetros de este archivo (when: %s): sus filas no se usarían; quítelas o cambie params", f.Path, qr.Pos.Line, qr.Pos.Col, qr.Query, strings.TrimSpace(q.When.Src)))
			continue
		}
		src, ds := mappingtest.RowsSQL(f.Path, qr, compiled.SQLCols, strings.Contains(q.SQL.Src, ":courseids"))
		problems = append(problems, lines(ds)...)
		q.SQL = mapping.Text{Src: src, Pos: qr.Pos}
	}
	inserts, ds := mappingtest.Inserts(f.Path, m.Source.Prefix, f.Tables, t.Tables)
	problems = append(problems, lines(ds)...)
	if len(problems) > 0 {
		return got, nil, fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	pl, cds := plan.Compile(&mc)
	if cds.HasErrors() {
		return got, nil, fmt.Errorf("el mapeo con las filas de la prueba no compila:\n%s", cds.Error())
	}
	name := "engine-test-" + randomName()
	w, err := sql.Open("sqlite", source.MemoryURI(name))
	if err != nil {
		return got, nil, err
	}
	defer w.Close()
	w.SetMaxOpenConns(1)
	if err := moodledb.CreateSchema(ctx, w, moodledb.SQLite, m.Source.Prefix); err != nil {
		return got, nil, fmt.Errorf("no se pudo crear el esquema de Moodle en memoria: %v", err)
	}
	if err := load(ctx, w, f.Path, inserts); err != nil {
		return got, nil, err
	}
	db, err := source.OpenMemory(ctx, name, m.Source.Timeout)
	if err != nil {
		return got, nil, err
	}
	defer db.Close()
	b, err := Build(ctx, db, pl, BuildOptions{
		ReportDate: t.ReportDate,
		Token:      payload.RedactedToken,
		// The log is read as on the morning after the report date.
		Now:     func() time.Time { return t.ReportDate.AddDate(0, 0, 1) },
		Workers: 1,
	}, func(r *assemble.CourseResult) error {
		got.Courses = append(got.Courses, r)
		return nil
	})
	if err != nil {
		return got, nil, fmt.Errorf("la construcción falló: %v", err)
	}
	got.Unselected = b.Summary.Unselected
	return got, mappingtest.Compare(t, got), nil
}

// lines are diagnostics as file:line:col: message.
func lines(ds diag.List) []string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%s:%d:%d: %s", d.File, d.Line, d.Col, d.Msg))
	}
	return out
}

// load inserts a test's rows, in one transaction.
func load(ctx context.Context, db *sql.DB, file string, inserts []mappingtest.Statement) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, s := range inserts {
		if _, err := tx.ExecContext(ctx, s.SQL, s.Args...); err != nil {
			return fmt.Errorf("%s:%d:%d: la fila no se puede cargar en Moodle: %v", file, s.Row.Pos.Line, s.Row.Pos.Col, err)
		}
	}
	return tx.Commit()
}

func randomName() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// TestSource is a test file to run: its name as reported and its text.
type TestSource struct {
	Path string
	Data []byte
}

// FindTests reads the test files named: a file as given, a folder's
// files ending in mappingtest.Suffix (its subfolders too, in order) and,
// with preset, the preset's own tests (embedded, reported under
// mappings.TestsDir). A name that is missing, or a folder without test
// files, is a Usage failure; a file that cannot be read, Failed.
func FindTests(paths []string, preset bool) ([]TestSource, error) {
	var out []TestSource
	if preset {
		ents, err := fs.ReadDir(mappings.Tests, "tests")
		if err != nil {
			return nil, fail(Failed, err)
		}
		for _, e := range ents {
			b, err := fs.ReadFile(mappings.Tests, "tests/"+e.Name())
			if err != nil {
				return nil, fail(Failed, err)
			}
			out = append(out, TestSource{Path: mappings.TestsDir + "/" + e.Name(), Data: b})
		}
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, failf(Usage, "%s no existe", p)
			}
			return nil, fail(Failed, diag.FileError("leer", p, err))
		}
		files := []string{p}
		if st.IsDir() {
			files = nil
			err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if !d.IsDir() && strings.HasSuffix(d.Name(), mappingtest.Suffix) {
					files = append(files, path)
				}
				return nil
			})
			if err != nil {
				return nil, fail(Failed, diag.FileError("leer la carpeta", p, err))
			}
			if len(files) == 0 {
				return nil, failf(Usage, "la carpeta %s no tiene archivos de pruebas (*%s)", p, mappingtest.Suffix)
			}
		}
		for _, f := range files {
			b, err := infile.Read(f, infile.MappingLimit)
			if err != nil {
				return nil, fail(Failed, diag.FileError("leer el archivo de pruebas", f, err))
			}
			out = append(out, TestSource{Path: f, Data: b})
		}
	}
	return out, nil
}
