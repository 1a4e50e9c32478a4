package source

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// Drivers speak English; a user reads Spanish. The errors a mapping's
// query meets most (a table or column that does not exist, a user without
// the right to read, SQL that does not parse) are classified here from
// each engine's own codes, so that callers can explain them, and group
// them by cause, without the driver's text.

// Kinds of QueryError.
const (
	MissingTable  = "tabla-inexistente"
	MissingColumn = "columna-inexistente"
	Denied        = "sin-permiso"
	Syntax        = "sintaxis"
	Other         = "otro"
)

// QueryError is the database's refusal of a query, classified. Object is
// what the database named (a table or column, as it wrote it; "" when it
// named none); Raw is the driver's message, without the DSN.
type QueryError struct {
	Kind   string
	Object string
	// ObjectKind says what Object is when the database said: «tabla»,
	// «esquema», «base de datos»… ("" when it did not).
	ObjectKind string
	Raw        string
	err        error
}

// Named is the object as a person reads it: «el esquema «public»».
func (e *QueryError) Named() string {
	if e.ObjectKind == "" {
		return "«" + e.Object + "»"
	}
	return fmt.Sprintf("%s «%s»", e.ObjectKind, e.Object)
}

func (e *QueryError) Error() string {
	switch e.Kind {
	case MissingTable:
		return fmt.Sprintf("la tabla «%s» no existe en la base de datos", e.Object)
	case MissingColumn:
		return fmt.Sprintf("la columna «%s» no existe en la base de datos", e.Object)
	case Denied:
		if e.Object != "" {
			return "el usuario de la base de datos no tiene permiso para leer " + e.Named()
		}
		return "el usuario de la base de datos no tiene permiso para leer lo que pide la consulta"
	case Syntax:
		if e.Object != "" {
			return fmt.Sprintf("el SQL tiene un error de sintaxis cerca de «%s»", e.Object)
		}
		return "el SQL tiene un error de sintaxis"
	}
	return "la base de datos la rechaza: " + e.Raw
}

func (e *QueryError) Unwrap() error { return e.err }

var (
	pgRelation   = regexp.MustCompile(`relation "([^"]+)" does not exist`)
	pgColumn     = regexp.MustCompile(`column "?([^" ]+)"? (?:of relation "[^"]+" )?does not exist`)
	pgDenied     = regexp.MustCompile(`permission denied for (table|relation|view|schema|sequence|function) "?([^" ]+)"?`)
	pgNear       = regexp.MustCompile(`at or near "([^"]*)"`)
	myTable      = regexp.MustCompile("Table '([^']+)' doesn't exist")
	myColumn     = regexp.MustCompile("Unknown column '([^']+)'")
	myDenied     = regexp.MustCompile("for table [`']?([^`']+)[`']?(?:\\.[`']?([^`']+)[`']?)?")
	myNear       = regexp.MustCompile(`near '([^']*)'`)
	sqliteTable  = regexp.MustCompile(`no such table: ([^ ]+)`)
	sqliteColumn = regexp.MustCompile(`no such column: ([^ ]+)`)
	sqliteNear   = regexp.MustCompile(`near "([^"]*)": syntax error`)
	plainIdent   = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	pgDatabase   = regexp.MustCompile(`permission denied for database "?([^" ]+)"?`)
	myAccessDb   = regexp.MustCompile(`user '([^']*)'@'([^']*)' to database '([^']*)'`)
)

// pgObjectKinds name PostgreSQL's objects in Spanish.
var pgObjectKinds = map[string]string{"table": "la tabla", "relation": "la tabla", "view": "la vista", "schema": "el esquema",
	"sequence": "la secuencia", "function": "la función"}

// classify reads a driver's error of a query. msg is the error's text
// without the DSN.
func classify(driver string, err error, msg string) *QueryError {
	e := &QueryError{Kind: Other, Raw: msg, err: err}
	first := func(re *regexp.Regexp, s string) string {
		if m := re.FindStringSubmatch(s); m != nil {
			return m[1]
		}
		return ""
	}
	var pgErr *pgconn.PgError
	var myErr *mysql.MySQLError
	switch {
	case errors.As(err, &pgErr):
		switch pgErr.Code {
		case "42P01":
			e.Kind, e.Object = MissingTable, first(pgRelation, pgErr.Message)
		case "42703":
			e.Kind, e.Object = MissingColumn, first(pgColumn, pgErr.Message)
		case "42501":
			e.Kind = Denied
			if m := pgDenied.FindStringSubmatch(pgErr.Message); m != nil {
				e.Object, e.ObjectKind = m[2], pgObjectKinds[m[1]]
			}
		case "42601":
			e.Kind, e.Object = Syntax, first(pgNear, pgErr.Message)
		}
	case errors.As(err, &myErr):
		switch myErr.Number {
		case 1146:
			e.Kind, e.Object = MissingTable, first(myTable, myErr.Message)
			if _, t, ok := strings.Cut(e.Object, "."); ok {
				e.Object = t // «database.table»
			}
		case 1054:
			e.Kind, e.Object = MissingColumn, first(myColumn, myErr.Message)
		case 1142, 1143:
			e.Kind, e.ObjectKind = Denied, "la tabla"
			if m := myDenied.FindStringSubmatch(myErr.Message); m != nil {
				e.Object = m[1]
				if m[2] != "" {
					e.Object = m[2]
				}
			}
		case 1044:
			e.Kind, e.ObjectKind = Denied, "la base de datos"
			if m := myAccessDb.FindStringSubmatch(myErr.Message); m != nil {
				e.Object = m[3]
			}
		case 1064:
			e.Kind, e.Object = Syntax, first(myNear, myErr.Message)
		}
	case driver == "sqlite":
		switch {
		case sqliteTable.MatchString(msg):
			e.Kind, e.Object = MissingTable, first(sqliteTable, msg)
		case sqliteColumn.MatchString(msg):
			e.Kind, e.Object = MissingColumn, first(sqliteColumn, msg)
		case sqliteNear.MatchString(msg):
			e.Kind, e.Object = Syntax, first(sqliteNear, msg)
		}
	}
	if e.Object == "" && e.Kind != Other && e.Kind != Denied && e.Kind != Syntax {
		e.Kind = Other // named nothing: say what the database said
	}
	return e
}

// Table is a table or view of the catalogue: its schema (PostgreSQL),
// its name, and whether the user may use its schema (PostgreSQL: without
// USAGE on the schema its tables are invisible, as if they did not
// exist).
type Table struct {
	Schema, Name string
	Usable       bool
}

// TableNames lists the tables and views of the connection's schema
// (PostgreSQL: the schemas of its search_path, usable or not; MySQL: the
// DSN's database; SQLite: the file), in one read of the engine's
// catalogue. It tells a wrong table prefix, or a schema the user may not
// use, from a missing table.
func (d *DB) TableNames(ctx context.Context, tx *sql.Tx) ([]Table, error) {
	var rows *sql.Rows
	var err error
	switch d.Driver {
	case "postgres":
		var path, user string
		if err := tx.QueryRowContext(ctx, "SELECT current_setting('search_path'), current_user").Scan(&path, &user); err != nil {
			return nil, fmt.Errorf("no se pudo leer el search_path de la conexión: %s", scrub(err.Error(), d.DSN))
		}
		// pg_class, not information_schema or current_schemas(): those
		// hide what the user may not use.
		rows, err = tx.QueryContext(ctx, `SELECT n.nspname, c.relname, has_schema_privilege(n.oid, 'USAGE')
		      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		     WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND n.nspname = ANY ($1)`, searchPath(path, user))
	case "mysql":
		rows, err = tx.QueryContext(ctx, `SELECT '', table_name, 1 FROM information_schema.tables WHERE table_schema = DATABASE()`)
	default:
		rows, err = tx.QueryContext(ctx, `SELECT '', name, 1 FROM sqlite_master WHERE type IN ('table', 'view')`)
	}
	if err != nil {
		return nil, fmt.Errorf("no se pudo leer la lista de tablas de la base: %s", scrub(err.Error(), d.DSN))
	}
	defer rows.Close()
	var out []Table
	for rows.Next() {
		var t Table
		if err := rows.Scan(&t.Schema, &t.Name, &t.Usable); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// searchPath reads PostgreSQL's search_path setting: its schema names,
// unquoted, with $user for the user.
func searchPath(setting, user string) []string {
	var out []string
	for _, p := range strings.Split(setting, ",") {
		p = strings.TrimSpace(p)
		switch {
		case p == "$user" || p == `"$user"`:
			p = user
		case strings.HasPrefix(p, `"`) && strings.HasSuffix(p, `"`) && len(p) >= 2:
			p = strings.ReplaceAll(p[1:len(p)-1], `""`, `"`)
		}
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Grant is the statement an administrator runs so that the connection's
// user may read every table of the schema (PostgreSQL: schema, or the
// connection's current schema when "") or database (MySQL), named as the
// server knows them; "" for SQLite, whose reads depend on the file's
// permissions.
func (d *DB) Grant(ctx context.Context, tx *sql.Tx, schema string) (string, error) {
	switch d.Driver {
	case "postgres":
		var user, current sql.NullString
		if err := tx.QueryRowContext(ctx, "SELECT current_user, current_schema()").Scan(&user, &current); err != nil {
			return "", fmt.Errorf("no se pudo leer el usuario de la conexión: %s", scrub(err.Error(), d.DSN))
		}
		s, u := pgIdent(orDefault(schema, orDefault(current.String, "public"))), pgIdent(user.String)
		return fmt.Sprintf("GRANT USAGE ON SCHEMA %s TO %s; GRANT SELECT ON ALL TABLES IN SCHEMA %s TO %s;", s, u, s, u), nil
	case "mysql":
		var account, db sql.NullString
		if err := tx.QueryRowContext(ctx, "SELECT CURRENT_USER(), DATABASE()").Scan(&account, &db); err != nil {
			return "", fmt.Errorf("no se pudo leer el usuario de la conexión: %s", scrub(err.Error(), d.DSN))
		}
		user, host := account.String, "%"
		if i := strings.LastIndex(user, "@"); i >= 0 {
			user, host = user[:i], user[i+1:]
		}
		return fmt.Sprintf("GRANT SELECT ON `%s`.* TO '%s'@'%s';", strings.ReplaceAll(db.String, "`", "``"), strings.ReplaceAll(user, "'", "''"), strings.ReplaceAll(host, "'", "''")), nil
	}
	return "", nil
}

// pgIdent quotes a PostgreSQL identifier when it is not a plain lower-case
// name.
func pgIdent(s string) string {
	if plainIdent.MatchString(s) {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
