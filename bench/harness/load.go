package harness

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/otec-tools/sence-engine/bench/site"
	"github.com/otec-tools/sence-engine/engine/moodledb"
	"github.com/otec-tools/sence-engine/engine/moodledb/demo"
)

// Scale sizes a benchmark site.
type Scale struct {
	Courses    int
	Enrolments int
	// Events overrides the log rows per enrolment (0: Scaled's 440).
	Events int
}

// Config is the demo configuration of the scale.
func (s Scale) Config() demo.Config {
	cfg := demo.Scaled(s.Courses, s.Enrolments)
	if s.Events > 0 {
		cfg.LogEventsPerStudent = s.Events
	}
	return cfg
}

func (s Scale) String() string {
	return fmt.Sprintf("%d cursos, %d matrículas", s.Courses, s.Enrolments)
}

// LoadSite creates and loads a site into db, after checking the disk.
func LoadSite(ctx context.Context, db *sql.DB, dialect, dsn, prefix string, sc Scale, replace bool, logf func(string, ...any)) (*site.Result, error) {
	cfg := sc.Config()
	if dir := site.DiskDir(ctx, db, dialect, dsn); dir != "" {
		if err := site.CheckDisk(dir, dialect, cfg); err != nil {
			return nil, err
		}
		free, _ := site.FreeBytes(dir)
		logf("espacio: se necesitan unos %s en %s, hay %s libres", site.GiB(site.NeedBytes(dialect, cfg)), dir, site.GiB(free))
	} else {
		logf("aviso: el servidor no está en esta máquina; no se verificó su espacio libre (se necesitan unos %s)", site.GiB(site.NeedBytes(dialect, cfg)))
	}
	if replace {
		if err := moodledb.DropSchema(ctx, db, dialect, prefix); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	ds := demo.Generate(cfg)
	logf("estructura generada en %s: %d cursos, %d usuarios", time.Since(start).Round(time.Millisecond), len(ds.Courses), len(ds.Users))
	return site.Load(ctx, db, dialect, prefix, ds, logf)
}

func cmdLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dialect := fs.String("db", "postgres", "base de datos: sqlite, postgres o mysql")
	dsn := fs.String("dsn", "", "conexión (para sqlite, la ruta del archivo)")
	prefix := fs.String("prefix", "mdl_", "prefijo de las tablas")
	courses := fs.Int("courses", 200, "cursos SENCE")
	enrolments := fs.Int("enrolments", 50000, "matrículas en total")
	events := fs.Int("events", 0, "filas de registro por matrícula (0: 440, como demo.Scaled)")
	replace := fs.Bool("replace", false, "borra antes las tablas Moodle que ya existan")
	create := fs.Bool("create", false, "crea la base de datos si no existe (PostgreSQL, MySQL)")
	keep := fs.Bool("keep", false, "no hace nada si el sitio de esa escala ya está cargado")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dsn == "" {
		fmt.Fprintln(stderr, "falta --dsn")
		return 2
	}
	db, err := site.Open(ctx, *dialect, *dsn, *create)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer db.Close()
	sc := Scale{Courses: *courses, Enrolments: *enrolments, Events: *events}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }
	if *keep && loaded(ctx, db, *dialect, *prefix, sc) {
		fmt.Fprintf(stdout, "%s: el sitio de %s ya está cargado\n", *dialect, sc)
		return 0
	}
	logf("cargando %s en %s", sc, *dialect)
	res, err := LoadSite(ctx, db, *dialect, *dsn, *prefix, sc, *replace, logf)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	total := res.Load + res.Indexes + res.Analyze
	fmt.Fprintf(stdout, "%s: %d filas (%d del registro) en %s: carga %s (%.0f filas/s), índices %s, estadísticas %s\n",
		*dialect, res.Total, res.Rows["logstore_standard_log"], total.Round(time.Second), res.Load.Round(time.Second),
		float64(res.Total)/res.Load.Seconds(), res.Indexes.Round(time.Second), res.Analyze.Round(time.Second))
	if size, err := site.Size(ctx, db, *dialect, *prefix); err == nil {
		fmt.Fprintf(stdout, "%s: tamaño en disco %s (%.0f bytes por fila del registro)\n", *dialect, site.GiB(size), float64(size)/float64(max(res.Rows["logstore_standard_log"], 1)))
	}
	return 0
}

// loaded reports whether db holds a site of the scale: its courses and log
// rows are there (a load that failed half-way holds fewer).
func loaded(ctx context.Context, db *sql.DB, dialect, prefix string, sc Scale) bool {
	var courses, log int64
	q := "SELECT (SELECT COUNT(*) FROM " + moodledb.QuoteIdent(dialect, prefix+"course") + "), (SELECT COUNT(*) FROM " +
		moodledb.QuoteIdent(dialect, prefix+"logstore_standard_log") + ")"
	if err := db.QueryRowContext(ctx, q).Scan(&courses, &log); err != nil {
		return false
	}
	cfg := sc.Config()
	return courses == int64(cfg.Courses)+2 && log > site.LogRows(cfg)*8/10
}
