package assemble

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/source"
)

// index holds the rows of one batch, per query, grouped by key. The rows
// of the levels' From queries are maps: each becomes an entity's scope. The
// others keep their bare values and become maps only when attached to their
// entity, so that a batch's rows weigh about half as much, and the maps of
// a course go with the course.
type index struct {
	maps map[*plan.Query]map[string][]map[string]any
	vals map[*plan.Query]map[string][][]any
	cols map[*plan.Query][]string // the names of vals' columns
}

// extract runs every query of the levels below the course (and the other
// course queries) once for the batch.
func (b *builder) extract(ctx context.Context, batch []*courseEntity) (index, error) {
	b.stats.Batches++
	ids := make([]int64, 0, len(batch))
	for _, c := range batch {
		if n, err := strconv.ParseInt(c.id, 10, 64); err == nil {
			ids = append(ids, n)
		}
	}
	idx := index{maps: map[*plan.Query]map[string][]map[string]any{}, vals: map[*plan.Query]map[string][][]any{}, cols: map[*plan.Query][]string{}}
	for _, q := range b.plan.Queries {
		if q.Skipped || q.Level < 0 {
			continue
		}
		if q.Level == mapping.Course && q == b.plan.Levels[mapping.Course].From {
			continue
		}
		switch {
		case q.Sessions != nil:
			groups := map[string][][]any{}
			if err := b.sessions(ctx, q, batch, ids, groups); err != nil {
				return idx, err
			}
			idx.vals[q], idx.cols[q] = groups, q.Columns
		case q.IsFrom:
			rows, err := b.query(ctx, q, ids)
			if err != nil {
				return idx, err
			}
			// Entities are listed under their parent, in SQL order.
			keys := q.Keys[:max(len(q.Keys)-1, 0)]
			groups := map[string][]map[string]any{}
			for _, r := range rows {
				k := keyOf(r, keys)
				groups[k] = append(groups[k], r)
			}
			idx.maps[q] = groups
		default:
			groups, cols, err := b.queryVals(ctx, q, ids)
			if err != nil {
				return idx, err
			}
			idx.vals[q], idx.cols[q] = groups, cols
		}
	}
	return idx, nil
}

// queryVals runs a query whose rows are attached to entities and groups
// its rows' values by the query's keys.
func (b *builder) queryVals(ctx context.Context, q *plan.Query, ids []int64) (map[string][][]any, []string, error) {
	rows, err := b.open(ctx, q, ids)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	keyCols := make([]int, len(q.Keys))
	for i, k := range q.Keys {
		keyCols[i] = slices.Index(rows.Columns, k)
	}
	groups := map[string][][]any{}
	var sb strings.Builder
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, nil, &QueryError{q.Name, q.SQL.Pos, err}
		}
		b.stats.Rows++
		k := compositeKey(&sb, len(keyCols), func(i int) string { return canonAt(vals, keyCols[i]) })
		groups[k] = append(groups[k], vals)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, &QueryError{q.Name, q.SQL.Pos, err}
	}
	return groups, rows.Columns, nil
}

// canonAt is canon of vals[i], or of nil when the column is missing.
func canonAt(vals []any, i int) string {
	if i < 0 {
		return ""
	}
	return canon(vals[i])
}

// rowMap makes a row of bare values a map, as expressions read rows.
func rowMap(cols []string, vals []any) map[string]any {
	m := make(map[string]any, len(cols))
	for i, c := range cols {
		m[c] = vals[i]
	}
	return m
}

// QueryError is a query that the database refused.
type QueryError struct {
	Query string
	Pos   mapping.Pos
	Err   error
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("%s:%d:%d: la consulta «%s» falló: %v", e.Pos.File, e.Pos.Line, e.Pos.Col, e.Query, e.Err)
}

func (e *QueryError) Unwrap() error { return e.Err }

func (b *builder) sqlArg(ids []int64) func(string) (any, bool) {
	return func(name string) (any, bool) {
		switch name {
		case "courseids":
			return ids, true
		case "reportStart":
			return b.repT0, true
		case "reportEnd":
			return b.repT1, true
		case "since":
			return b.since, true
		}
		v, ok := b.plan.Params[name]
		return v, ok
	}
}

func (b *builder) open(ctx context.Context, q *plan.Query, ids []int64) (*source.Rows, error) {
	text, args, err := source.Expand(q.SQL.Src, b.plan.Mapping.Source.Prefix, b.sqlArg(ids))
	if err != nil {
		return nil, &QueryError{q.Name, q.SQL.Pos, err}
	}
	b.stats.Queries++
	if b.tr != nil {
		if lit, err := source.Literal(q.SQL.Src, b.plan.Mapping.Source.Prefix, b.sqlArg(ids)); err == nil {
			b.tr.Query(q, lit)
		}
	}
	rows, err := b.db.Query(ctx, b.tx, text, args, q.Types)
	if err != nil {
		return nil, &QueryError{q.Name, q.SQL.Pos, err}
	}
	return rows, nil
}

func (b *builder) query(ctx context.Context, q *plan.Query, ids []int64) ([]map[string]any, error) {
	rows, err := b.open(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []map[string]any
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, &QueryError{q.Name, q.SQL.Pos, err}
		}
		r := make(map[string]any, len(vals))
		for i, c := range rows.Columns {
			r[c] = vals[i]
		}
		out = append(out, r)
		b.stats.Rows++
	}
	if err := rows.Err(); err != nil {
		return nil, &QueryError{q.Name, q.SQL.Pos, err}
	}
	return out, nil
}

// fingerprint identifies what a sessions query's saved sessions depend
// on: the database, the SQL, the rule and the parameters the SQL reads.
// Sessions saved under another fingerprint are recomputed.
func (b *builder) fingerprint(q *plan.Query) string {
	src := b.plan.Mapping.Source
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%d\x00%d", src.Driver, source.Redact(src.Driver, src.DSN), src.Prefix, q.SQL.Src, q.Gap, q.MinLen)
	for _, r := range source.Params(q.SQL.Src) {
		if v, ok := b.plan.Params[r.Name]; ok {
			fmt.Fprintf(h, "\x00%s=%v", r.Name, v)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:20]
}

// keyValues are the key columns' values of a key text (see keyOf), as a
// row of the database would hold them: integers as int64.
func keyValues(k string, n int) []any {
	parts := splitKey(k, n)
	out := make([]any, 0, n+len(plan.SessionColumns))
	for _, p := range parts {
		if v, err := strconv.ParseInt(p, 10, 64); err == nil {
			out = append(out, v)
		} else {
			out = append(out, p)
		}
	}
	return out
}

// canon is the text of a key value, equal across drivers.
func canon(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		if x == math.Trunc(x) {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func keyOf(r map[string]any, keys []string) string {
	return compositeKey(nil, len(keys), func(i int) string { return canon(r[keys[i]]) })
}
