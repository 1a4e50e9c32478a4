package cli

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/otec-tools/sence-engine/engine/moodledb"
	"github.com/otec-tools/sence-engine/engine/moodledb/demo"
	"github.com/otec-tools/sence-engine/engine/outfile"
	"github.com/otec-tools/sence-engine/engine/sence/simulator"
	moodledemo "github.com/otec-tools/sence-engine/examples/moodle-demo"
	yaml "go.yaml.in/yaml/v3"
)

// cmdDemo generates the demo Moodle database, writes the demo mapping and
// the simulator's roster beside it, exports the payloads and sends them to
// an in-process SENCE simulator: the whole product with no server.
func cmdDemo(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "demo", "")
	dir := fs.String("dir", "sence-demo", "`carpeta` donde dejar la base de demostración, el mapeo, los JSON y el estado del simulador")
	date := fs.String("date", demo.DefaultReportDate.Format("2006-01-02"), "fecha de reporte `AAAA-MM-DD` de la demostración")
	if _, code, done := fs.parseN(args, 0, 0); done {
		return code
	}
	rd, err := reportDate(e, *date)
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return ExitUsage
	}
	if err := prepareDemo(ctx, *dir, rd); err != nil {
		fmt.Fprintln(e.Stderr, err)
		return ExitFailed
	}
	mappingPath := filepath.Join(*dir, "mapping.yaml")
	fmt.Fprintf(e.Stdout, "Base Moodle de demostración: %s (SQLite, fecha de reporte %s)\n", filepath.Join(*dir, "moodle.db"), *date)
	fmt.Fprintf(e.Stdout, "Mapeo: %s (extiende el preset moodle)\n\n", mappingPath)

	fmt.Fprintln(e.Stdout, "== engine export")
	code := cmdExport(ctx, e, []string{mappingPath, "--date", *date, "--out", filepath.Join(*dir, "envios")})
	if code == ExitFailed || code == ExitUsage {
		return code
	}
	fmt.Fprintln(e.Stdout, "\n== engine send (al simulador local de SENCE)")
	code = cmdSend(ctx, e, []string{mappingPath, "--from", filepath.Join(*dir, "envios")})
	if code == ExitFailed || code == ExitUsage {
		return code
	}
	fmt.Fprintf(e.Stdout, "\nListo. La base de demostración trae a propósito alumnos con datos rotos: así se ven las exclusiones y los rechazos.\nRevise los JSON, la planilla alumnos.csv y la página reporte.html en %s, y pruebe:\n  go run ./cmd/engine doctor %s    (¿qué le falta a esta base para informar a SENCE?)\n  go run ./cmd/engine explain %s --course AYSEN-26-03-11-0102 --student 16987654-1 --date %s    (¿por qué este alumno tiene estado 3?)\n  go run ./cmd/engine test --preset --mapping %s    (las pruebas del preset contra este mapeo)\n  go run ./cmd/engine validate %s\n  go run ./cmd/engine history %s\n",
		filepath.Join(*dir, "envios"), mappingPath, mappingPath, *date, mappingPath, mappingPath, mappingPath)
	return ExitOK
}

// prepareDemo writes a fresh demo database, mapping and roster into dir.
func prepareDemo(ctx context.Context, dir string, reportDate time.Time) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("no se puede crear %s: %v", dir, err)
	}
	dbPath := filepath.Join(dir, "moodle.db")
	for _, f := range []string{dbPath, dbPath + "-journal", dbPath + "-wal", filepath.Join(dir, ".sence-simulator.json")} {
		os.Remove(f)
	}
	cfg := demo.DemoConfig()
	cfg.ReportDate = reportDate
	ds := demo.Generate(cfg)
	db, err := sql.Open("sqlite", "file:"+dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := moodledb.CreateSchema(ctx, db, "sqlite", "mdl_"); err != nil {
		return fmt.Errorf("no se pudo crear la base de demostración: %v", err)
	}
	if err := ds.Load(ctx, db, "sqlite", "mdl_"); err != nil {
		return fmt.Errorf("no se pudo cargar la base de demostración: %v", err)
	}
	var roster simulator.Roster
	for _, c := range ds.Roster() {
		roster.Courses = append(roster.Courses, simulator.RosterCourse{CodigoOferta: c.CodigoOferta, CodigoGrupo: c.CodigoGrupo, Students: c.Students, Modules: c.Modules})
	}
	rb, err := yaml.Marshal(roster)
	if err != nil {
		return err
	}
	if err := outfile.WriteAtomic(filepath.Join(dir, "roster.yaml"), append([]byte("# Lo que el simulador de SENCE tiene inscrito: cursos, alumnos y módulos.\n"), rb...)); err != nil {
		return err
	}
	return outfile.WriteAtomic(filepath.Join(dir, "mapping.yaml"), moodledemo.Mapping)
}
