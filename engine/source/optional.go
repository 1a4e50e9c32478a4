package source

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"

	"github.com/otec-tools/sence-engine/engine/moodledb"
)

// An optional table, {chat?} in a mapping's SQL, is a Moodle table that a
// site may not have: a plugin it never installed or uninstalled (Moodle
// 5.0 took chat and survey out of the standard distribution). Expand
// leaves a marker naming it; when a query runs, the marker becomes the
// prefixed table where the database has it, and otherwise an empty table
// with the same columns, so that a LEFT JOIN on it matches nothing and the
// query runs unchanged on every site. The columns come from the Moodle
// schema the engine carries, so only those tables can be optional.

// optionalRe finds the markers Expand writes: {?base|prefixed}.
var optionalRe = regexp.MustCompile(`\{\?([A-Za-z0-9_]+)\|([A-Za-z0-9_]+)\}`)

func optionalMarker(base, prefixed string) string {
	return "{?" + base + "|" + prefixed + "}"
}

// resolveOptional replaces the optional-table markers of an expanded query.
func (d *DB) resolveOptional(ctx context.Context, tx *sql.Tx, text string) (string, error) {
	if !strings.Contains(text, "{?") {
		return text, nil
	}
	have, err := d.tableSet(ctx, tx)
	if err != nil {
		return "", err
	}
	var failed error
	out := optionalRe.ReplaceAllStringFunc(text, func(m string) string {
		parts := optionalRe.FindStringSubmatch(m)
		base, prefixed := parts[1], parts[2]
		if have[strings.ToLower(prefixed)] {
			return prefixed
		}
		empty, err := emptyTable(d.Driver, base)
		if err != nil && failed == nil {
			failed = err
		}
		return empty
	})
	return out, failed
}

// tableSet is the set of the database's tables (lower case), read once
// per connection pool from the engine's catalogue.
func (d *DB) tableSet(ctx context.Context, tx *sql.Tx) (map[string]bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tables != nil {
		return d.tables, nil
	}
	list, err := d.TableNames(ctx, tx)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, t := range list {
		if t.Usable {
			set[strings.ToLower(t.Name)] = true
		}
	}
	d.tables = set
	return set, nil
}

// emptyTable is a derived table with the columns of a Moodle table and no
// rows, typed as the dialect declares them so that joins compare alike.
func emptyTable(driver, table string) (string, error) {
	dialect := moodledb.SQLite
	switch driver {
	case "postgres":
		dialect = moodledb.Postgres
	case "mysql":
		dialect = moodledb.MySQL
	}
	cols, err := moodledb.Columns(dialect, table)
	if err != nil {
		return "", fmt.Errorf("la tabla opcional «{%s?}» no es una de las tablas de Moodle que conoce el motor: solo esas pueden ser opcionales; escríbala como {%s}", table, table)
	}
	var b strings.Builder
	b.WriteString("(SELECT ")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "CAST(NULL AS %s) AS %s", castType(driver, c.Type), c.Name)
	}
	b.WriteString(" LIMIT 0)")
	return b.String(), nil
}

// castType is the type to CAST a NULL to for a column declared as ddl:
// PostgreSQL and SQLite take the declared type; MySQL's CAST takes only a
// few type names.
func castType(driver, ddl string) string {
	t := strings.ToUpper(ddl)
	switch driver {
	case "postgres":
		switch t { // serials are integers with a default, not types
		case "BIGSERIAL":
			return "BIGINT"
		case "SERIAL":
			return "INTEGER"
		}
		return t
	case "mysql":
	default:
		return t
	}
	switch {
	case strings.HasPrefix(t, "DECIMAL") || strings.HasPrefix(t, "NUMERIC"):
		return strings.Replace(t, "NUMERIC", "DECIMAL", 1)
	case strings.Contains(t, "INT"):
		return "SIGNED"
	case strings.HasPrefix(t, "DOUBLE") || strings.HasPrefix(t, "FLOAT") || strings.HasPrefix(t, "REAL"):
		return "DECIMAL(38,10)"
	}
	return "CHAR"
}
