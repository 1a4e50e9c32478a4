// Package source reads the LMS database: drivers, dialects, the table
// prefix, read-only transactions and the normalisation of values that the
// three supported databases return differently. It knows nothing of
// expressions or SENCE.
package source

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// DB is an open LMS database.
type DB struct {
	*sql.DB
	Driver string // sqlite | postgres | mysql
	DSN    string // as given; print Redacted() instead
	// Timeout bounds each query, from the call to the last row read.
	Timeout time.Duration

	mu       sync.Mutex
	writeFns map[string]string // function name → why it may write; "" if it may not
	tables   map[string]bool   // the database's tables, for optional ones
}

// Config says how to reach the LMS database.
type Config struct {
	Driver, DSN string
	// Timeout of each query (source.timeout); DefaultTimeout when zero.
	Timeout time.Duration
}

// DefaultTimeout bounds a query when the mapping does not say
// (source.timeout; the Moodle preset says 30m).
const DefaultTimeout = 30 * time.Minute

// Open connects with the default query timeout; see OpenConfig.
func Open(ctx context.Context, driver, dsn string) (*DB, error) {
	return OpenConfig(ctx, Config{Driver: driver, DSN: dsn})
}

// OpenConfig connects and pings the database, turning the usual failures
// into one-line Spanish messages that name the DSN without its password.
// The connection is read-only whatever the DSN says: options of the DSN
// that would let a query write or run several statements are refused, and
// the engine adds its own (SQLite read-only mode, query_only and an
// authorizer; PostgreSQL default_transaction_read_only; MySQL without
// multiple statements).
func OpenConfig(ctx context.Context, cfg Config) (*DB, error) {
	driver, dsn := cfg.Driver, cfg.DSN
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	d := &DB{Driver: driver, DSN: dsn, Timeout: cfg.Timeout}
	switch driver {
	case "sqlite", "postgres", "mysql":
	default:
		return nil, fmt.Errorf("driver «%s» no soportado (use sqlite, postgres o mysql)", driver)
	}
	if dsn == "" {
		return nil, fmt.Errorf("source.dsn está vacío: indique la conexión a la base de datos de Moodle")
	}
	var db *sql.DB
	switch driver {
	case "sqlite":
		real, err := sqliteDSN(dsn, cfg.Timeout)
		if err != nil {
			return nil, err
		}
		if db, err = sql.Open(sqliteReadOnly, real); err != nil {
			return nil, fmt.Errorf("no se puede abrir %s: %w", d.Redacted(), err)
		}
		// One connection: SQLite serialises readers of one process anyway.
		db.SetMaxOpenConns(1)
	case "postgres":
		pc, err := postgresConfig(dsn)
		if err != nil {
			return nil, err
		}
		db = stdlib.OpenDB(*pc)
	case "mysql":
		mc, err := mysqlConfig(dsn)
		if err != nil {
			return nil, err
		}
		conn, err := mysql.NewConnector(mc)
		if err != nil {
			return nil, fmt.Errorf("no se puede abrir %s: %s", d.Redacted(), scrub(err.Error(), dsn))
		}
		db = sql.OpenDB(conn)
	}
	d.DB = db
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, d.explain(err)
	}
	return d, nil
}

// dsnError is a DSN that the engine refuses.
func dsnError(format string, args ...any) error {
	return fmt.Errorf("source.dsn: "+format, args...)
}

// sqliteDSN makes a read-only SQLite URI of the DSN: mode=ro and
// query_only whatever the DSN says, deferred transactions (an immediate
// one would block Moodle's writers), a busy timeout no longer than the
// query timeout, and only the PRAGMAs that cannot write or run SQL.
func sqliteDSN(dsn string, timeout time.Duration) (string, error) {
	path, rawQuery, _ := strings.Cut(dsn, "?")
	if strings.HasPrefix(path, "file:") {
		path = strings.TrimPrefix(path, "file:")
	} else {
		// A plain file name: escape what a URI path cannot hold.
		path = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", dsnError("los parámetros del DSN de SQLite no se pueden leer: %v", err)
	}
	busy := 5000
	out := url.Values{}
	for key, vals := range q {
		switch key {
		case "mode", "_query_only", "_txlock", "modeof":
			// Replaced below: the engine opens read-only.
		case "_busy_timeout", "_timeout":
			if n, err := strconv.Atoi(vals[len(vals)-1]); err == nil && n >= 0 {
				busy = n
			}
		case "_pragma":
			for _, v := range vals {
				name, ok := sqlitePragmaName(v)
				if !ok {
					return "", dsnError("_pragma=%s no se permite: el motor solo lee Moodle y acepta en el DSN solo %s", v, strings.Join(sqliteSafePragmas, ", "))
				}
				if name == "busy_timeout" {
					if n, err := strconv.Atoi(strings.Trim(v[len(name):], "()= ")); err == nil && n >= 0 {
						busy = n
					}
					continue
				}
				out.Add(key, v)
			}
		case "vfs":
			return "", dsnError("el parámetro vfs no se permite en el DSN de SQLite: el motor abre la base con el sistema de archivos normal")
		default:
			out[key] = vals
		}
	}
	busy = min(busy, int(timeout.Milliseconds()))
	out.Set("mode", "ro")
	out.Set("_query_only", "1")
	out.Set("_txlock", "deferred")
	out.Set("_busy_timeout", strconv.Itoa(busy))
	return "file:" + path + "?" + out.Encode(), nil
}

// sqliteSafePragmas may appear in a SQLite DSN: none writes or runs SQL.
var sqliteSafePragmas = []string{"busy_timeout", "cache_size", "mmap_size", "temp_store", "foreign_keys", "journal_mode", "synchronous", "case_sensitive_like"}

var pragmaValue = regexp.MustCompile(`^([A-Za-z_]+)\s*(?:\(\s*[A-Za-z0-9_-]*\s*\)|=\s*[A-Za-z0-9_-]*)?$`)

// sqlitePragmaName returns the name of a _pragma value that is one
// allowed PRAGMA with at most a plain argument.
func sqlitePragmaName(v string) (string, bool) {
	m := pragmaValue.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return "", false
	}
	name := asciiLower(m[1])
	return name, slices.Contains(sqliteSafePragmas, name)
}

// postgresConfig parses a PostgreSQL DSN and makes every transaction of
// the connection read-only by default. The simple protocol, which runs
// several statements in one query, is refused.
func postgresConfig(dsn string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, dsnError("no es un DSN de PostgreSQL válido: %s", scrub(err.Error(), dsn))
	}
	if cfg.DefaultQueryExecMode == pgx.QueryExecModeSimpleProtocol {
		return nil, dsnError("default_query_exec_mode=simple_protocol no se permite: ese protocolo ejecuta varias instrucciones en una consulta; quítelo del DSN (con pgbouncer use default_query_exec_mode=exec)")
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["default_transaction_read_only"] = "on"
	return cfg, nil
}

// mysqlConfig parses a MySQL DSN. Options that widen what a query can do
// are refused: multiStatements (several statements in one query, so that
// «COMMIT; DELETE …» would leave the read-only transaction) and
// allowAllFiles (LOAD DATA LOCAL INFILE from any file of this machine).
func mysqlConfig(dsn string) (*mysql.Config, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, dsnError("no es un DSN de MySQL válido: %s", scrub(err.Error(), dsn))
	}
	if cfg.MultiStatements {
		return nil, dsnError("multiStatements=true no se permite: deja ejecutar varias instrucciones en una consulta, y con ellas salir de la transacción de solo lectura; quítelo del DSN")
	}
	if cfg.AllowAllFiles {
		return nil, dsnError("allowAllFiles=true no se permite: el motor solo lee Moodle y no carga archivos; quítelo del DSN")
	}
	// Text comes back as UTF-8 whatever the server's default or the DSN's
	// charset (Moodle's tables are utf8mb4).
	if err := cfg.Apply(mysql.Charset("utf8mb4", cfg.Collation)); err != nil {
		return nil, dsnError("%v", err)
	}
	return cfg, nil
}

var urlPassword = regexp.MustCompile(`(://[^:/@]*:)[^@]*@`)
var kvPassword = regexp.MustCompile(`(?i)(password=)\S*`)
var mysqlPassword = regexp.MustCompile(`^([^:@/]*:)[^@]*@`)

// Redact returns the DSN with any password replaced by ***.
func Redact(driver, dsn string) string {
	s := urlPassword.ReplaceAllString(dsn, "${1}***@")
	s = kvPassword.ReplaceAllString(s, "${1}***")
	if driver == "mysql" && !strings.Contains(s, "://") {
		s = mysqlPassword.ReplaceAllString(s, "${1}***@")
	}
	return s
}

// Redacted is the DSN safe to print.
func (d *DB) Redacted() string { return Redact(d.Driver, d.DSN) }

// ErrConnect classes connection failures.
var ErrConnect = errors.New("no se pudo conectar a la base de datos")

// explain turns a driver error into an actionable one-line message.
func (d *DB) explain(err error) error {
	where := fmt.Sprintf("%s (%s)", d.Redacted(), d.Driver)
	msg := err.Error()
	var pgErr *pgconn.PgError
	var myErr *mysql.MySQLError
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case errors.As(err, &pgErr):
		switch pgErr.Code {
		case "28P01", "28000":
			return fmt.Errorf("%w %s: usuario o contraseña rechazados; revise el usuario de solo lectura y su contraseña", ErrConnect, where)
		case "3D000":
			return fmt.Errorf("%w %s: la base de datos no existe; revise el nombre en el DSN", ErrConnect, where)
		case "42501":
			user := "USUARIO"
			if pc, err := pgx.ParseConfig(d.DSN); err == nil && pc.User != "" {
				user = pgIdent(pc.User)
			}
			db := "moodle"
			if m := pgDatabase.FindStringSubmatch(pgErr.Message); m != nil {
				db = pgIdent(m[1])
			}
			return fmt.Errorf("%w %s: el usuario no tiene permiso para conectarse a la base de datos; como administrador de PostgreSQL ejecute: GRANT CONNECT ON DATABASE %s TO %s;", ErrConnect, where, db, user)
		}
		return fmt.Errorf("%w %s: %s (código %s)", ErrConnect, where, pgErr.Message, pgErr.Code)
	case errors.As(err, &myErr):
		switch myErr.Number {
		case 1045:
			return fmt.Errorf("%w %s: usuario o contraseña rechazados; revise el usuario de solo lectura y su contraseña", ErrConnect, where)
		case 1049:
			return fmt.Errorf("%w %s: la base de datos no existe; revise el nombre en el DSN", ErrConnect, where)
		case 1044:
			if m := myAccessDb.FindStringSubmatch(myErr.Message); m != nil {
				return fmt.Errorf("%w %s: el usuario no tiene permiso para leer la base de datos; como administrador de MariaDB/MySQL ejecute: GRANT SELECT ON `%s`.* TO '%s'@'%s';", ErrConnect, where, m[3], m[1], m[2])
			}
			return fmt.Errorf("%w %s: el usuario no tiene permiso para leer la base de datos; como administrador de MariaDB/MySQL dele GRANT SELECT sobre ella", ErrConnect, where)
		case 3159:
			return fmt.Errorf("%w %s: el servidor exige TLS; agregue tls=true al DSN", ErrConnect, where)
		}
		return fmt.Errorf("%w %s: %s (error %d)", ErrConnect, where, myErr.Message, myErr.Number)
	case strings.Contains(msg, "no such host") || strings.Contains(msg, "server misbehaving"):
		return fmt.Errorf("%w %s: el nombre del servidor no existe (DNS); revise el host en el DSN", ErrConnect, where)
	case strings.Contains(msg, "connection refused"):
		return fmt.Errorf("%w %s: el servidor rechazó la conexión; ¿está encendido y escuchando en ese puerto?", ErrConnect, where)
	case strings.Contains(msg, "x509") || strings.Contains(msg, "certificate"):
		return fmt.Errorf("%w %s: el certificado TLS del servidor no es de confianza o no corresponde al host; indique la CA (sslrootcert= en PostgreSQL, una configuración tls registrada en MySQL) o use el nombre de host del certificado", ErrConnect, where)
	case strings.Contains(msg, "server does not support TLS") || strings.Contains(msg, "server refused TLS") || strings.Contains(msg, "SSL is not enabled") || strings.Contains(msg, "server does not support SSL"):
		return fmt.Errorf("%w %s: el DSN exige TLS pero el servidor no acepta conexiones cifradas; active TLS en el servidor o quite sslmode=require / tls=true del DSN", ErrConnect, where)
	case strings.Contains(msg, "pg_hba.conf") || strings.Contains(msg, "SSL") || strings.Contains(msg, "TLS") || strings.Contains(msg, "secure transport"):
		return fmt.Errorf("%w %s: el servidor no acepta esta conexión sin cifrar o desde este equipo; agregue sslmode=require (PostgreSQL) o tls=true (MySQL) al DSN, o pida al administrador revisar pg_hba.conf", ErrConnect, where)
	case errors.As(err, &netErr) && netErr.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w %s: el servidor no respondió a tiempo; revise el host, el puerto y el firewall", ErrConnect, where)
	case errors.As(err, &opErr):
		return fmt.Errorf("%w %s: %v", ErrConnect, where, opErr.Err)
	case d.Driver == "sqlite" && (strings.Contains(msg, "unable to open") || strings.Contains(msg, "out of memory (14)") || strings.Contains(msg, "(14)")):
		return fmt.Errorf("%w %s: no se puede abrir el archivo SQLite; revise la ruta", ErrConnect, where)
	}
	return fmt.Errorf("%w %s: %s", ErrConnect, where, scrub(msg, d.DSN))
}

// scrub removes the raw DSN from a driver message, in case it echoes it.
func scrub(msg, dsn string) string {
	if dsn != "" {
		msg = strings.ReplaceAll(msg, dsn, "<dsn>")
	}
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "***")
		}
	}
	return msg
}

// Errors of a query, for errors.Is.
var (
	// ErrRefused: the engine did not send the query (not a single read,
	// or it calls a function that may write).
	ErrRefused = errors.New("el motor no ejecuta la consulta")
	// ErrTimeout: the query ran longer than source.timeout.
	ErrTimeout = errors.New("la consulta superó source.timeout")
)

// ReadTx starts a read-only transaction: a mapping's SQL can never change
// the LMS, whatever it says. Every query of an export, a run and
// `validate --db` runs in one of these: the transaction is read-only on
// the server (checked, not assumed), and each statement is bounded by the
// server's own statement timeout where it has one.
func (d *DB) ReadTx(ctx context.Context) (*sql.Tx, error) {
	tx, err := d.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("no se pudo iniciar una transacción de solo lectura en %s: %s", d.Redacted(), scrub(err.Error(), d.DSN))
	}
	if err := d.setupTx(ctx, tx); err != nil {
		tx.Rollback()
		return nil, err
	}
	return tx, nil
}

func (d *DB) setupTx(ctx context.Context, tx *sql.Tx) error {
	var readOnly string
	switch d.Driver {
	case "sqlite":
		if err := tx.QueryRowContext(ctx, "PRAGMA query_only").Scan(&readOnly); err != nil {
			return fmt.Errorf("no se pudo comprobar que la conexión a %s es de solo lectura: %s", d.Redacted(), scrub(err.Error(), d.DSN))
		}
		if readOnly != "1" {
			return fmt.Errorf("la conexión a %s no quedó de solo lectura (query_only = %s): el motor no lee una base que podría modificar", d.Redacted(), readOnly)
		}
	case "postgres":
		ms := max(d.Timeout.Milliseconds(), 1)
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("SET LOCAL statement_timeout = %d", ms)); err != nil {
			return fmt.Errorf("no se pudo fijar statement_timeout en %s: %s", d.Redacted(), scrub(err.Error(), d.DSN))
		}
		// A SELECT, not SHOW: it takes the transaction's snapshot, after
		// which PostgreSQL refuses to make the transaction read-write.
		if err := tx.QueryRowContext(ctx, "SELECT current_setting('transaction_read_only')").Scan(&readOnly); err != nil {
			return fmt.Errorf("no se pudo comprobar que la transacción en %s es de solo lectura: %s", d.Redacted(), scrub(err.Error(), d.DSN))
		}
		if readOnly != "on" {
			return fmt.Errorf("la transacción en %s no quedó de solo lectura (transaction_read_only = %s): el motor no lee una base que podría modificar", d.Redacted(), readOnly)
		}
	case "mysql":
		// MariaDB counts seconds (max_statement_time), MySQL
		// milliseconds of a SELECT (max_execution_time).
		secs := strconv.FormatFloat(max(d.Timeout.Seconds(), 0.001), 'f', 3, 64)
		_, err := tx.ExecContext(ctx, "SET SESSION max_statement_time = "+secs)
		var me *mysql.MySQLError
		if errors.As(err, &me) && me.Number == 1193 { // unknown system variable
			_, err = tx.ExecContext(ctx, fmt.Sprintf("SET SESSION max_execution_time = %d", max(d.Timeout.Milliseconds(), 1)))
		}
		if err != nil {
			return fmt.Errorf("no se pudo fijar el tiempo máximo de las consultas en %s: %s", d.Redacted(), scrub(err.Error(), d.DSN))
		}
	}
	return nil
}

// Placeholders rewrites ? placeholders for the dialect.
func (d *DB) Placeholders(sql string) (string, error) {
	if d.Driver == "postgres" {
		return sq.Dollar.ReplacePlaceholders(sql)
	}
	return sql, nil
}

// Rows iterates normalised rows of a query.
type Rows struct {
	d       *DB
	parent  context.Context // the caller's: cancelled by a signal
	ctx     context.Context // parent with the query's deadline
	cancel  context.CancelFunc
	rows    *sql.Rows
	Columns []string
	conv    []func(any) (any, error)
	buf     []any
	ptrs    []any
}

// Query runs a query in tx (from ReadTx), bounded by d.Timeout. types
// optionally forces a column's type ("int", "float", "string", "bool").
// The text is checked first (CheckStatement, and the functions it calls):
// what the engine refuses never reaches the database.
func (d *DB) Query(ctx context.Context, tx *sql.Tx, query string, args []any, types map[string]string) (*Rows, error) {
	text, err := d.check(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return d.run(ctx, tx, text, args, types)
}

// Describe returns the columns a query produces without fetching rows, so
// `engine validate --db` can check them against the live database. The
// query goes through the same checks, transaction and timeout as Query.
func (d *DB) Describe(ctx context.Context, tx *sql.Tx, query string, args []any) ([]string, error) {
	text, err := d.check(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	rows, err := d.run(ctx, tx, "SELECT * FROM (\n"+text+"\n) engine_describe WHERE 1 = 0", args, nil)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Columns, rows.Err()
}

// check refuses what is not a single read, or calls a function that may
// write, and returns the text to send.
func (d *DB) check(ctx context.Context, tx *sql.Tx, query string) (string, error) {
	query, err := d.resolveOptional(ctx, tx, query)
	if err != nil {
		return "", err
	}
	text, err := CheckStatement(d.Driver, query)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrRefused, err)
	}
	fns := Functions(d.Driver, text)
	if len(fns) == 0 {
		return text, nil
	}
	why, err := d.writingFunctions(ctx, tx, fns)
	if err != nil {
		return "", err
	}
	for _, f := range fns {
		if w := why[f]; w != "" {
			return "", fmt.Errorf("%w: llama a la función «%s», que %s: el motor solo lee Moodle; quite esa llamada", ErrRefused, f, w)
		}
	}
	return text, nil
}

func (d *DB) run(ctx context.Context, tx *sql.Tx, text string, args []any, types map[string]string) (*Rows, error) {
	q, err := d.Placeholders(text)
	if err != nil {
		return nil, err
	}
	qctx, cancel := context.WithTimeout(ctx, d.Timeout)
	r := &Rows{d: d, parent: ctx, ctx: qctx, cancel: cancel}
	rows, err := tx.QueryContext(qctx, q, args...)
	if err != nil {
		err = r.explain(err)
		cancel()
		return nil, err
	}
	r.rows = rows
	cols, err := rows.Columns()
	if err != nil {
		err = r.explain(err)
		r.Close()
		return nil, err
	}
	cts, _ := rows.ColumnTypes()
	r.Columns, r.buf, r.ptrs = cols, make([]any, len(cols)), make([]any, len(cols))
	for i := range cols {
		r.ptrs[i] = &r.buf[i]
		dbType := ""
		if i < len(cts) {
			dbType = strings.ToUpper(cts[i].DatabaseTypeName())
		}
		r.conv = append(r.conv, converter(types[cols[i]], dbType))
	}
	return r, nil
}

// explain turns the error of a query into a message that says what
// happened and what to do: over the time limit, interrupted, refused by
// the read-only guards, or the database's own message.
func (r *Rows) explain(err error) error {
	d := r.d
	msg := scrub(err.Error(), d.DSN)
	low := strings.ToLower(msg)
	var pgErr *pgconn.PgError
	var myErr *mysql.MySQLError
	timedOut := errors.Is(r.ctx.Err(), context.DeadlineExceeded) ||
		errors.As(err, &pgErr) && pgErr.Code == "57014" && strings.Contains(low, "statement timeout") ||
		errors.As(err, &myErr) && (myErr.Number == 1969 || myErr.Number == 3024)
	switch {
	case timedOut:
		return fmt.Errorf("%w: se detuvo después de %s sin terminar; revise si alguna tabla está bloqueada o la base está sobrecargada (y agregue índices), o aumente source.timeout en el mapeo", ErrTimeout, d.Timeout)
	case d.Driver == "sqlite" && strings.Contains(low, "database is locked"):
		return fmt.Errorf("la base SQLite siguió bloqueada por otro proceso que escribe en ella: vuelva a intentarlo cuando termine (o aumente _busy_timeout en el DSN, hasta source.timeout): %s", msg)
	case r.parent.Err() != nil:
		return fmt.Errorf("la consulta se interrumpió antes de terminar: %w", context.Cause(r.parent))
	case strings.Contains(low, "read-only") || strings.Contains(low, "read only") || strings.Contains(low, "readonly") || strings.Contains(low, "attempt to write") || strings.Contains(low, "not authorized"):
		return fmt.Errorf("%w: la consulta intenta modificar la base de datos, y el motor solo lee (transacción de solo lectura): %s", ErrRefused, msg)
	}
	return classify(d.Driver, err, msg)
}

// Next advances; it returns false at the end or on error (see Err).
func (r *Rows) Next() bool { return r.rows.Next() }

// Values scans the current row into normalised values: nil, int64,
// float64, string or bool.
func (r *Rows) Values() ([]any, error) {
	if err := r.rows.Scan(r.ptrs...); err != nil {
		return nil, err
	}
	out := make([]any, len(r.buf))
	for i, v := range r.buf {
		c, err := r.conv[i](v)
		if err != nil {
			return nil, fmt.Errorf("columna «%s»: %w", r.Columns[i], err)
		}
		out[i] = c
	}
	return out, nil
}

// Err returns the iteration error, explained like the query's.
func (r *Rows) Err() error {
	if err := r.rows.Err(); err != nil {
		return r.explain(err)
	}
	return nil
}

// Close releases the rows and the query's deadline.
func (r *Rows) Close() error {
	defer r.cancel()
	if r.rows == nil {
		return nil
	}
	return r.rows.Close()
}

func converter(declared, dbType string) func(any) (any, error) {
	switch declared {
	case "int":
		return toInt
	case "float":
		return toFloat
	case "string":
		return toString
	case "bool":
		return toBool
	}
	if strings.Contains(dbType, "DECIMAL") || strings.Contains(dbType, "NUMERIC") {
		return toNumber
	}
	return auto
}

// auto normalises driver values: []byte to string, time to epoch seconds,
// all integer kinds to int64.
func auto(v any) (any, error) {
	switch x := v.(type) {
	case nil, int64, float64, string, bool:
		return x, nil
	case []byte:
		return string(x), nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint64:
		return int64(x), nil
	case float32:
		return float64(x), nil
	case time.Time:
		return x.Unix(), nil
	}
	return fmt.Sprint(v), nil
}

// toNumber reads DECIMAL/NUMERIC values, which PostgreSQL and MariaDB send
// as text and SQLite as float, into int64 when integral, else float64, so
// that the three databases give equal values.
func toNumber(v any) (any, error) {
	f, err := toFloat(v)
	if err != nil || f == nil {
		return f, err
	}
	x := f.(float64)
	if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
		return int64(x), nil
	}
	return x, nil
}

func toInt(v any) (any, error) {
	v, _ = auto(v)
	switch x := v.(type) {
	case nil:
		return nil, nil
	case int64:
		return x, nil
	case float64:
		return int64(math.Floor(x)), nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case string:
		s := strings.TrimSpace(x)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return int64(math.Floor(f)), nil
		}
		return nil, fmt.Errorf("«%s» no es un número entero", x)
	}
	return nil, fmt.Errorf("valor %v no es un número entero", v)
}

func toFloat(v any) (any, error) {
	v, _ = auto(v)
	switch x := v.(type) {
	case nil:
		return nil, nil
	case int64:
		return float64(x), nil
	case float64:
		return x, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return nil, fmt.Errorf("«%s» no es un número", x)
		}
		return f, nil
	}
	return nil, fmt.Errorf("valor %v no es un número", v)
}

func toString(v any) (any, error) {
	v, _ = auto(v)
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return x, nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	}
	return fmt.Sprint(v), nil
}

func toBool(v any) (any, error) {
	v, _ = auto(v)
	switch x := v.(type) {
	case nil:
		return nil, nil
	case bool:
		return x, nil
	case int64:
		return x != 0, nil
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		if err != nil {
			return nil, fmt.Errorf("«%s» no es verdadero/falso", x)
		}
		return b, nil
	}
	return nil, fmt.Errorf("valor %v no es verdadero/falso", v)
}
