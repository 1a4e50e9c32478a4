package doctor

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/source"
)

// CheckDatabase runs every query of the plan that an export would run
// against the live database, as export runs it (the same read-only
// transaction, checks and time limit) but reading no rows, and says what
// is wrong in Spanish, one diagnostic per cause rather than one per
// query: a wrong source.prefix (with the prefix the database's tables
// have), a user without the right to read (with the GRANT to run), a
// plugin's table that this Moodle lacks (with the parameter that avoids
// reading it), a column or table a query needs. A cause that is a
// setting is reported where the user's file sets it (or should), not in
// the embedded preset. It also checks the dedication block's session
// limit (CheckDedicationBlock) when the queries could run.
func CheckDatabase(ctx context.Context, db *source.DB, pl *plan.Plan) diag.List {
	c := &dbCheck{db: db, plan: pl, m: pl.Mapping}
	for _, q := range pl.Queries {
		if ctx.Err() != nil {
			break
		}
		// A query whose `when` is false never runs: it may read a
		// plugin's tables that this Moodle does not have.
		if q.Level < 0 || q.SQL.IsZero() || q.Skipped {
			continue
		}
		c.query(ctx, q)
	}
	if len(c.missing) > 0 {
		c.explainMissing(ctx) // may find the tables in a schema the user may not use
	}
	if len(c.denied) > 0 {
		c.explainDenied(ctx)
	}
	if len(c.missing)+len(c.denied) > 0 {
		// The session limit is read from a table too: its failure would
		// repeat the cause already said.
		return c.ds
	}
	return append(c.ds, CheckDedicationBlock(ctx, db, pl)...)
}

type dbCheck struct {
	db   *source.DB
	plan *plan.Plan
	m    *mapping.Mapping
	ds   diag.List
	// missing and denied are the queries the database refused for a
	// table it does not have, or does not let the user read.
	missing, denied []refused
	// deniedSchema is the schema that holds Moodle's tables when the user
	// may not use it (PostgreSQL).
	deniedSchema string
}

type refused struct {
	q   *plan.Query
	err *source.QueryError
}

func (c *dbCheck) at(p mapping.Pos, format string, args ...any) {
	c.ds.Errorf(p.File, p.Line, p.Col, format, args...)
}

func (c *dbCheck) query(ctx context.Context, q *plan.Query) {
	pos := q.SQL.Pos
	text, args, err := source.Expand(q.SQL.Src, c.m.Source.Prefix, func(name string) (any, bool) {
		if name == "courseids" {
			return []int64{0}, true
		}
		if name == "reportStart" || name == "reportEnd" || name == "since" {
			return int64(0), true
		}
		v, ok := c.plan.Params[name]
		return v, ok
	})
	if err != nil {
		c.at(pos, "consulta «%s»: %v", q.Name, err)
		return
	}
	cols, err := describe(ctx, c.db, text, args)
	var qe *source.QueryError
	switch {
	case errors.Is(err, source.ErrRefused), errors.Is(err, source.ErrTimeout):
		c.at(pos, "consulta «%s»: %v", q.Name, err)
		return
	case errors.As(err, &qe) && qe.Kind == source.MissingTable:
		c.missing = append(c.missing, refused{q, qe})
		return
	case errors.As(err, &qe) && qe.Kind == source.Denied:
		c.denied = append(c.denied, refused{q, qe})
		return
	case errors.As(err, &qe) && (qe.Kind == source.MissingColumn || qe.Kind == source.Syntax):
		c.at(pos, "consulta «%s»: la base de datos la rechaza: %v", q.Name, err)
		return
	case err != nil:
		c.at(pos, "consulta «%s»: %v", q.Name, err)
		return
	}
	for _, col := range q.SQLCols {
		if !slices.Contains(cols, col) {
			c.at(pos, "consulta «%s»: la base de datos no devuelve la columna «%s» (devuelve: %s)", q.Name, col, strings.Join(cols, ", "))
		}
	}
}

// describe runs a query as an export runs it (a read-only transaction set
// up the same way, the same checks and time limit) but reads no rows. Each
// query has its own transaction, so that one refused query does not hide
// the errors of the next (PostgreSQL aborts a transaction at its first
// error).
func describe(ctx context.Context, db *source.DB, text string, args []any) ([]string, error) {
	tx, err := db.ReadTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	return db.Describe(ctx, tx, text, args)
}

// userPos is p when the user's files set it, else where the user's file
// says source (or the file itself): a setting the preset gives is changed
// in the user's file.
func (c *dbCheck) userPos(p mapping.Pos) mapping.Pos {
	if p.File != "" && !c.m.InPreset(p) {
		return p
	}
	if s := c.m.Source.Pos; s.File != "" && !c.m.InPreset(s) {
		return s
	}
	return mapping.Pos{File: c.m.File}
}

// paramPos is where the user's file sets a parameter, or the user's file.
func (c *dbCheck) paramPos(name string) mapping.Pos {
	for _, p := range c.m.Params {
		if p.Name == name && p.Pos.File != "" && !c.m.InPreset(p.Pos) {
			return p.Pos
		}
	}
	return mapping.Pos{File: c.m.File}
}

// optionalTables are the tables of plugins (or of optional features) the
// preset reads only when a parameter asks for them.
var optionalTables = []struct {
	tables []string
	what   string // what the missing tables mean
	param  string // the parameter whose value makes the preset read them
	avoid  string // how to stop reading them
}{
	{[]string{"block_dedication"}, "el bloque «Dedicación al curso» (block_dedication) no está instalado", "dedicationSource",
		"use params.dedicationSource: log (el tiempo de conexión se calcula del registro de eventos de Moodle) o instale el bloque"},
	{[]string{"zoom", "zoom_meeting_details", "zoom_meeting_participants"}, "el plugin Zoom (mod_zoom) no está instalado", "syncModules",
		"quite zoom de params.syncModules o instale el plugin"},
	{[]string{"bigbluebuttonbn", "bigbluebuttonbn_logs"}, "BigBlueButton (mod_bigbluebuttonbn, parte de Moodle desde la versión 4.0) no está instalado", "syncModules",
		"quite bigbluebuttonbn de params.syncModules o instale BigBlueButton"},
	{[]string{"groups", "groups_members"}, "la base no tiene las tablas de grupos de Moodle", "groupFrom",
		"use otro params.groupFrom (codigoOferta, idnumber o customfield)"},
	{[]string{"customfield_category", "customfield_field", "customfield_data"}, "la base no tiene las tablas de campos personalizados de Moodle", "groupFrom",
		"use otro params.groupFrom (codigoOferta, idnumber o groups)"},
}

var moodlePrefix = regexp.MustCompile(`^[a-z][a-z0-9_]*$|^$`)

// explainMissing says, once per cause, why tables the queries read do
// not exist: another table prefix, a plugin not installed, or a table this
// Moodle lacks.
func (c *dbCheck) explainMissing(ctx context.Context) {
	prefix := c.m.Source.Prefix
	var catalogue map[string]bool
	hidden := "" // a schema holding Moodle's tables that the user may not use
	if tx, err := c.db.ReadTx(ctx); err == nil {
		if tables, err := c.db.TableNames(ctx, tx); err == nil {
			catalogue = map[string]bool{}
			for _, t := range tables {
				catalogue[t.Name] = true
				if !t.Usable && t.Name == prefix+"course" && hidden == "" {
					hidden = t.Schema
				}
			}
		}
		tx.Rollback()
	}
	if hidden != "" {
		// PostgreSQL shows no table of a schema the user may not use:
		// the tables are there, the permission is not.
		for _, r := range c.missing {
			c.denied = append(c.denied, refused{r.q, &source.QueryError{Kind: source.Denied, Object: hidden, ObjectKind: "el esquema"}})
		}
		c.deniedSchema = hidden
		return
	}
	// The tables each refused query lacks (without the prefix), and the
	// queries that read each.
	readers := map[string][]*plan.Query{}
	var order []string
	add := func(t string, q *plan.Query) {
		if _, ok := readers[t]; !ok {
			order = append(order, t)
		}
		if !slices.Contains(readers[t], q) {
			readers[t] = append(readers[t], q)
		}
	}
	for _, r := range c.missing {
		found := false
		if catalogue != nil {
			for _, ref := range source.Tables(r.q.SQL.Src) {
				if !ref.Optional && !catalogue[prefix+ref.Name] { // a missing optional table is read as empty
					add(ref.Name, r.q)
					found = true
				}
			}
		}
		if !found {
			add(strings.TrimPrefix(r.err.Object, prefix), r.q)
		}
	}
	// Another prefix: the tables of a Moodle are under one prefix, which
	// has course and user among them.
	var others []string
	for n := range catalogue {
		p, ok := strings.CutSuffix(n, "course")
		if ok && p != prefix && catalogue[p+"user"] && moodlePrefix.MatchString(p) {
			others = append(others, p)
		}
	}
	sort.Strings(others)
	if catalogue != nil && !catalogue[prefix+"course"] {
		c.wrongPrefix(order, others)
		return
	}
	// One line per plugin, then one per other table.
	done := map[string]bool{}
	for _, opt := range optionalTables {
		var tables []string
		for _, t := range order {
			if slices.Contains(opt.tables, t) {
				tables = append(tables, t)
				done[t] = true
			}
		}
		if len(tables) == 0 {
			continue
		}
		qs := c.readersOf(tables, readers)
		msg := fmt.Sprintf("%s: la base de datos no tiene %s", opt.what, c.tableList(tables))
		if c.conditional(qs) {
			msg += fmt.Sprintf(", que %s porque %s; %s", readBy(qs), c.whenList(qs), opt.avoid)
			c.at(c.paramPos(opt.param), "%s", msg)
			continue
		}
		msg += fmt.Sprintf(", que lee %s; instálelo, o reemplace en su archivo las consultas que lo leen", c.alwaysList(qs))
		c.at(c.userPos(mapping.Pos{}), "%s", msg)
	}
	for _, t := range order {
		if done[t] {
			continue
		}
		qs := readers[t]
		msg := fmt.Sprintf("la base de datos no tiene la tabla «%s%s»", prefix, t)
		for _, o := range others {
			if catalogue[o+t] {
				msg += fmt.Sprintf(" (tiene «%s%s», de otra instalación con el prefijo «%s»)", o, t, o)
				break
			}
		}
		pos := c.userPos(mapping.Pos{})
		if len(qs) == 1 && !c.m.InPreset(qs[0].SQL.Pos) {
			pos = qs[0].SQL.Pos
		}
		if c.conditional(qs) {
			msg += fmt.Sprintf(", que %s porque %s: instale lo que la crea, o cambie esos parámetros", readBy(qs), c.whenList(qs))
		} else {
			msg += fmt.Sprintf(", que lee %s: su Moodle no tiene ese componente, o la tabla tiene otro nombre; reemplace en su archivo las consultas que la leen", c.alwaysList(qs))
		}
		c.at(pos, "%s", msg)
	}
}

// wrongPrefix is the diagnostic of a prefix under which the database has
// no Moodle: at source.prefix in the user's file, with the prefixes it
// has.
func (c *dbCheck) wrongPrefix(missing []string, others []string) {
	prefix := c.m.Source.Prefix
	n := len(missing)
	if slices.Contains(missing, "course") {
		n--
	}
	msg := fmt.Sprintf("source.prefix es «%s», pero la base de datos no tiene tablas de Moodle con ese prefijo: no tiene «%scourse»", prefix, prefix)
	queries := diag.Plural(len(c.missing), "consulta", "consultas")
	switch {
	case n == 1:
		msg += fmt.Sprintf(" ni otra tabla que leen las consultas (%s del mapeo no pueden correr)", queries)
	case n > 1:
		msg += fmt.Sprintf(" ni las otras %d tablas que leen las consultas (%s del mapeo no pueden correr)", n, queries)
	}
	switch len(others) {
	case 0:
		msg += "; tampoco las tiene con otro prefijo: revise que source.dsn sea la base de datos de Moodle (en PostgreSQL, también el esquema: search_path)"
		c.at(c.userPos(c.m.Source.DSNPos), "%s", msg)
		return
	case 1:
		msg += fmt.Sprintf("; la base tiene «%scourse»: ¿prefix: %s?", others[0], others[0])
	default:
		var names, alts []string
		for _, o := range others {
			names = append(names, "«"+o+"course»")
			alts = append(alts, o)
		}
		msg += fmt.Sprintf("; la base tiene %s: ¿prefix: %s?", strings.Join(names, ", "), strings.Join(alts, " o "))
	}
	c.at(c.userPos(c.m.Source.PrefixPos), "%s", msg)
}

// explainDenied says once that the user may not read what the queries
// read, with the statement that lets it.
func (c *dbCheck) explainDenied(ctx context.Context) {
	var objects []string
	var qs []*plan.Query
	for _, r := range c.denied {
		if n := r.err.Named(); r.err.Object != "" && !slices.Contains(objects, n) {
			objects = append(objects, n)
		}
		qs = append(qs, r.q)
	}
	msg := fmt.Sprintf("el usuario de la base de datos no tiene permiso para leer lo que leen %s", diag.Plural(len(qs), "consulta", "consultas"))
	switch {
	case len(objects) > 3:
		msg += fmt.Sprintf(" (la base de datos niega %s y %d más)", strings.Join(objects[:3], ", "), len(objects)-3)
	case len(objects) > 0:
		msg += fmt.Sprintf(" (la base de datos niega %s)", strings.Join(objects, ", "))
	}
	grant := ""
	if tx, err := c.db.ReadTx(ctx); err == nil {
		grant, _ = c.db.Grant(ctx, tx, c.deniedSchema)
		tx.Rollback()
	}
	if grant != "" {
		msg += ": como administrador de la base de datos, ejecute " + grant + " (el usuario solo lee: el motor nunca escribe en Moodle)"
	} else {
		msg += ": dé al usuario de source.dsn permiso de lectura (SELECT) sobre las tablas de Moodle"
	}
	c.at(c.userPos(c.m.Source.DSNPos), "%s", msg)
}

// readersOf are the queries that read any of tables.
func (c *dbCheck) readersOf(tables []string, readers map[string][]*plan.Query) []*plan.Query {
	var out []*plan.Query
	for _, t := range tables {
		for _, q := range readers[t] {
			if !slices.Contains(out, q) {
				out = append(out, q)
			}
		}
	}
	return out
}

// conditional reports whether every query runs only because its `when`
// is true: a parameter can then stop reading the table.
func (c *dbCheck) conditional(qs []*plan.Query) bool {
	for _, q := range qs {
		if q.When.IsZero() {
			return false
		}
	}
	return len(qs) > 0
}

func (c *dbCheck) whenList(qs []*plan.Query) string {
	var out []string
	for _, q := range qs {
		w := "«" + strings.TrimSpace(q.When.Src) + "»"
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return strings.Join(out, " y ")
}

// alwaysList names the queries that read a table whatever the
// parameters, saying which come from the preset.
func (c *dbCheck) alwaysList(qs []*plan.Query) string {
	var out []string
	for _, q := range qs {
		s := "la consulta «" + q.Name + "»"
		if c.m.InPreset(q.SQL.Pos) {
			s += " del preset"
		}
		if !q.When.IsZero() {
			s += " (cuando «" + strings.TrimSpace(q.When.Src) + "»)"
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

func (c *dbCheck) tableList(tables []string) string {
	out := make([]string, len(tables))
	for i, t := range tables {
		out[i] = "«" + c.m.Source.Prefix + t + "»"
	}
	if len(out) > 6 {
		return strings.Join(out[:6], ", ") + fmt.Sprintf(" y %d más", len(out)-6)
	}
	return strings.Join(out, ", ")
}

// readBy is «lee la consulta «x»» or «leen las consultas «x», «y»».
func readBy(qs []*plan.Query) string {
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = "«" + q.Name + "»"
	}
	if len(out) == 1 {
		return "lee la consulta " + out[0]
	}
	return "leen las consultas " + strings.Join(out, ", ")
}
