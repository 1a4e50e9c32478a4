package baseline

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/otec-tools/sence-engine/engine/source"
)

// reader runs the baselines' SQL in one read-only transaction.
type reader struct {
	db      *source.DB
	tx      *sql.Tx
	prefix  string
	queries int
	rows    int64
}

func newReader(ctx context.Context, db *source.DB, prefix string) (*reader, error) {
	tx, err := db.ReadTx(ctx)
	if err != nil {
		return nil, err
	}
	return &reader{db: db, tx: tx, prefix: prefix}, nil
}

func (r *reader) close() { r.tx.Rollback() }

// text puts the prefix in the table names (written mdl_…) and the
// dialect's placeholders in place of ?.
func (r *reader) text(q string) string {
	if r.prefix != "mdl_" {
		q = strings.ReplaceAll(q, "mdl_", r.prefix)
	}
	if r.db.Driver != "postgres" || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

func (r *reader) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	r.queries++
	return r.tx.QueryContext(ctx, r.text(q), args...)
}

// each runs q and calls scan for every row; scan reads the row with
// rows.Scan.
func (r *reader) each(ctx context.Context, q string, args []any, scan func(*sql.Rows) error) error {
	rows, err := r.query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		r.rows++
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// idList writes course ids for an IN (…) list: integers, so inlined.
func idList(ids []int64) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}

// The courses of the site; SENCE courses are those whose short name
// matches the course code pattern.
const qCourses = `SELECT c.id, c.shortname, NULLIF(c.startdate, 0), NULLIF(c.enddate, 0)
  FROM mdl_course c WHERE c.format <> 'site' ORDER BY c.id`

func (r *reader) courses(ctx context.Context, p *Params) ([]*courseRow, error) {
	var out []*courseRow
	err := r.each(ctx, qCourses, nil, func(rows *sql.Rows) error {
		c := &courseRow{}
		if err := rows.Scan(&c.id, &c.shortname, &c.start, &c.end); err != nil {
			return err
		}
		c.code = strings.TrimSpace(c.shortname)
		if p.CourseCode.MatchString(c.code) {
			out = append(out, c)
		}
		return nil
	})
	return out, err
}
