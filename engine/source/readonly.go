package source

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"modernc.org/sqlite"
)

// sqliteReadOnly is the database/sql driver the engine reads SQLite
// through: modernc's, with a connection hook that turns on query_only and
// installs an authorizer allowing only reads. The authorizer holds even
// where the DSN or a query would not: it refuses ATTACH (which creates a
// file even on a read-only connection), writes, schema changes and
// PRAGMAs that set anything. It is a driver of its own so that the
// ledger, which writes, is not affected.
const sqliteReadOnly = "sqlite-engine-readonly"

func init() {
	drv := &sqlite.Driver{}
	drv.RegisterConnectionHook(func(c sqlite.ExecQuerierContext, _ string) error {
		if _, err := c.ExecContext(context.Background(), "PRAGMA query_only = 1", nil); err != nil {
			return err
		}
		reg, ok := c.(sqlite.AuthorizerRegisterer)
		if !ok {
			return fmt.Errorf("el driver de SQLite no permite limitar la conexión a lecturas")
		}
		return reg.RegisterAuthorizer(readOnlyAuthorizer)
	})
	sql.Register(sqliteReadOnly, drv)
}

// readPragmas may be read by a query (the engine reads query_only to
// check the connection; table_info and the like describe the schema).
var readPragmas = map[string]bool{
	"query_only": true, "table_info": true, "table_xinfo": true, "index_list": true,
	"index_info": true, "index_xinfo": true, "foreign_key_list": true, "data_version": true,
}

func readOnlyAuthorizer(action sqlite.AuthorizerActionCode, arg1, arg2, _, _ string) sqlite.AuthorizerReturnCode {
	switch action {
	case sqlite.AuthSelect, sqlite.AuthRead, sqlite.AuthFunction, sqlite.AuthRecursive:
		return sqlite.AuthorizerOK
	case sqlite.AuthTransaction:
		// BEGIN and ROLLBACK of the read-only transaction.
		return sqlite.AuthorizerOK
	case sqlite.AuthPragma:
		// A pragma with a value sets it, but the schema pragmas take a
		// table name.
		name := strings.ToLower(arg1)
		setting := arg2 != "" && (name == "query_only" || name == "data_version")
		if readPragmas[name] && !setting {
			return sqlite.AuthorizerOK
		}
	}
	return sqlite.AuthorizerDeny
}

// volatileReads are PostgreSQL functions declared VOLATILE that only read.
var volatileReads = map[string]bool{
	"random": true, "random_normal": true, "clock_timestamp": true, "timeofday": true,
	"pg_sleep": true, "pg_sleep_for": true, "pg_sleep_until": true, "gen_random_uuid": true,
}

// mysqlWriters are MySQL and MariaDB built-in functions that change the
// database or take locks other sessions wait on.
var mysqlWriters = map[string]string{
	"nextval": "avanza una secuencia", "setval": "cambia una secuencia",
	"get_lock": "toma un bloqueo", "release_lock": "libera un bloqueo", "release_all_locks": "libera bloqueos",
}

// writingFunctions says, for each name, why a function of that name may
// write ("" when it may not). PostgreSQL: every function declared VOLATILE
// (the default of a user function; nextval, setval, set_config, lo_import…)
// but a few that only read. MySQL/MariaDB: sequences and locks, and stored
// functions not declared READS SQL DATA or NO SQL. SQLite has no SQL
// function that writes (the authorizer covers the rest). A read-only
// transaction would refuse these only when a row makes it call them; the
// catalogue refuses them before, so that `validate --db` and `export`
// refuse the same queries.
func (d *DB) writingFunctions(ctx context.Context, tx *sql.Tx, names []string) (map[string]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.writeFns == nil {
		d.writeFns = map[string]string{}
	}
	var ask []string
	for _, n := range names {
		if _, ok := d.writeFns[n]; !ok {
			ask = append(ask, n)
			d.writeFns[n] = ""
		}
	}
	if len(ask) > 0 {
		var err error
		switch d.Driver {
		case "postgres":
			err = d.pgVolatile(ctx, tx, ask)
		case "mysql":
			err = d.mysqlWriting(ctx, tx, ask)
		}
		if err != nil {
			for _, n := range ask {
				delete(d.writeFns, n)
			}
			return nil, err
		}
	}
	return d.writeFns, nil
}

func (d *DB) pgVolatile(ctx context.Context, tx *sql.Tx, names []string) error {
	rows, err := tx.QueryContext(ctx, `SELECT proname FROM pg_catalog.pg_proc WHERE provolatile = 'v' AND proname = ANY($1) GROUP BY proname`, names)
	if err != nil {
		return fmt.Errorf("no se pudo revisar qué funciones llama la consulta: %s", scrub(err.Error(), d.DSN))
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return err
		}
		if !volatileReads[n] {
			d.writeFns[n] = "puede modificar la base (PostgreSQL la declara VOLATILE)"
		}
	}
	return rows.Err()
}

func (d *DB) mysqlWriting(ctx context.Context, tx *sql.Tx, names []string) error {
	args := make([]any, len(names))
	for i, n := range names {
		args[i] = n
		if w, ok := mysqlWriters[n]; ok {
			d.writeFns[n] = w
		}
	}
	q := `SELECT LOWER(ROUTINE_NAME), SQL_DATA_ACCESS FROM information_schema.ROUTINES
WHERE ROUTINE_TYPE = 'FUNCTION' AND SQL_DATA_ACCESS NOT IN ('READS SQL DATA', 'NO SQL')
AND LOWER(ROUTINE_NAME) IN (?` + strings.Repeat(", ?", len(names)-1) + `)`
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("no se pudo revisar qué funciones llama la consulta: %s", scrub(err.Error(), d.DSN))
	}
	defer rows.Close()
	for rows.Next() {
		var n, access string
		if err := rows.Scan(&n, &access); err != nil {
			return err
		}
		d.writeFns[n] = fmt.Sprintf("es una función almacenada declarada %s, que puede modificar datos (si solo lee, declárela READS SQL DATA)", access)
	}
	return rows.Err()
}
