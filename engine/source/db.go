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
	"strconv"
	"strings"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"
)

// DB is an open LMS database.
type DB struct {
	*sql.DB
	Driver string // sqlite | postgres | mysql
	DSN    string // as given; print Redacted() instead
}

// Open connects and pings the database, turning the usual failures into
// one-line Spanish messages that name the DSN without its password.
func Open(ctx context.Context, driver, dsn string) (*DB, error) {
	var name, real string
	switch driver {
	case "sqlite":
		name, real = "sqlite", sqliteDSN(dsn)
	case "postgres":
		name, real = "pgx", dsn
	case "mysql":
		name, real = "mysql", mysqlDSN(dsn)
	default:
		return nil, fmt.Errorf("driver «%s» no soportado (use sqlite, postgres o mysql)", driver)
	}
	if dsn == "" {
		return nil, fmt.Errorf("source.dsn está vacío: indique la conexión a la base de datos de Moodle")
	}
	db, err := sql.Open(name, real)
	if err != nil {
		return nil, fmt.Errorf("no se puede abrir %s: %w", Redact(driver, dsn), err)
	}
	d := &DB{DB: db, Driver: driver, DSN: dsn}
	if driver == "sqlite" {
		// One connection keeps the read-only pragma and avoids SQLITE_BUSY.
		db.SetMaxOpenConns(1)
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, d.explain(err)
	}
	return d, nil
}

func sqliteDSN(dsn string) string {
	if strings.HasPrefix(dsn, "file:") {
		if !strings.Contains(dsn, "mode=") {
			sep := "?"
			if strings.Contains(dsn, "?") {
				sep = "&"
			}
			dsn += sep + "mode=ro"
		}
		return dsn
	}
	return "file:" + dsn + "?mode=ro&_pragma=query_only(1)&_pragma=busy_timeout(5000)"
}

func mysqlDSN(dsn string) string {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return dsn
	}
	// Text columns must come back as text whatever the server's default.
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	if _, ok := cfg.Params["charset"]; !ok {
		cfg.Params["charset"] = "utf8mb4"
	}
	return cfg.FormatDSN()
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
		}
		return fmt.Errorf("%w %s: %s (código %s)", ErrConnect, where, pgErr.Message, pgErr.Code)
	case errors.As(err, &myErr):
		switch myErr.Number {
		case 1045:
			return fmt.Errorf("%w %s: usuario o contraseña rechazados; revise el usuario de solo lectura y su contraseña", ErrConnect, where)
		case 1049:
			return fmt.Errorf("%w %s: la base de datos no existe; revise el nombre en el DSN", ErrConnect, where)
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

// ReadTx starts a read-only transaction: a mapping's SQL can never change
// the LMS, whatever it says.
func (d *DB) ReadTx(ctx context.Context) (*sql.Tx, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if d.Driver == "sqlite" {
		// The connection itself is read-only (mode=ro, query_only).
		opts = nil
	}
	tx, err := d.BeginTx(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("no se pudo iniciar una transacción de solo lectura en %s: %w", d.Redacted(), err)
	}
	return tx, nil
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
	rows    *sql.Rows
	Columns []string
	conv    []func(any) (any, error)
	buf     []any
	ptrs    []any
}

// Query runs a query in tx. types optionally forces a column's type
// ("int", "float", "string", "bool").
func (d *DB) Query(ctx context.Context, tx *sql.Tx, query string, args []any, types map[string]string) (*Rows, error) {
	q, err := d.Placeholders(query)
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, d.queryError(err)
	}
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		return nil, err
	}
	cts, _ := rows.ColumnTypes()
	r := &Rows{rows: rows, Columns: cols, buf: make([]any, len(cols)), ptrs: make([]any, len(cols))}
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

// queryError explains errors that a read-only transaction produces.
func (d *DB) queryError(err error) error {
	msg := err.Error()
	low := strings.ToLower(msg)
	if strings.Contains(low, "read-only") || strings.Contains(low, "read only") || strings.Contains(low, "readonly") || strings.Contains(low, "attempt to write") {
		return fmt.Errorf("la consulta intenta modificar la base de datos, y el motor solo lee (transacción de solo lectura): %s", scrub(msg, d.DSN))
	}
	return fmt.Errorf("%s", scrub(msg, d.DSN))
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

// Err returns the iteration error.
func (r *Rows) Err() error { return r.rows.Err() }

// Close releases the rows.
func (r *Rows) Close() error { return r.rows.Close() }

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

// Describe returns the columns a query produces without fetching rows, so
// `engine validate --db` can check them against the live database.
func (d *DB) Describe(ctx context.Context, query string, args []any) ([]string, error) {
	tx, err := d.ReadTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	wrapped := "SELECT * FROM (" + query + "\n) engine_describe WHERE 1 = 0"
	rows, err := d.Query(ctx, tx, wrapped, args, nil)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Columns, rows.Err()
}
