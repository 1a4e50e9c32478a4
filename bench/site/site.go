// Package site builds the benchmark's large synthetic Moodle: the demo
// dataset (engine/moodledb/demo) at a scale, in real Moodle tables with
// Moodle's own indexes (moodledb.CreateSchema), loaded fast enough that the
// reference site (200 courses, 50,000 enrolments, about 20 million log
// rows) takes minutes.
//
// PostgreSQL gets the rows through COPY and MySQL/MariaDB through LOAD DATA
// LOCAL, with the secondary indexes dropped during the load and built again
// afterwards from the same DDL: a sorted build is many times faster than
// maintaining eight indexes on the log row by row. SQLite, used only at
// small scales, goes through demo.Load.
package site

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/otec-tools/sence-engine/engine/moodledb"
	"github.com/otec-tools/sence-engine/engine/moodledb/demo"
)

// Result describes a load.
type Result struct {
	Rows    map[string]int64 // per table, without prefix
	Total   int64
	Load    time.Duration // generating and sending the rows
	Indexes time.Duration // building the secondary indexes again
	Analyze time.Duration
}

// Load creates the Moodle schema in db (whose tables must not exist yet)
// and loads ds into it. logf, when not nil, receives progress lines.
func Load(ctx context.Context, db *sql.DB, dialect, prefix string, ds *demo.Dataset, logf func(format string, args ...any)) (*Result, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if err := moodledb.CreateSchema(ctx, db, dialect, prefix); err != nil {
		return nil, err
	}
	res := &Result{Rows: map[string]int64{}}
	start := time.Now()
	if dialect == moodledb.SQLite {
		if err := ds.Load(ctx, db, dialect, prefix); err != nil {
			return nil, err
		}
		res.Load = time.Since(start)
		counts, err := ds.RowCounts()
		if err != nil {
			return nil, err
		}
		for t, n := range counts {
			res.Rows[t] = n
			res.Total += n
		}
		return res, nil
	}
	idx, err := secondaryIndexes(dialect, prefix)
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	for _, q := range idx.drop {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("drop index: %s: %w", q, err)
		}
	}
	var send func(context.Context, chunk) error
	var finish func(context.Context) error
	switch dialect {
	case moodledb.Postgres:
		send, finish, err = postgresCopy(ctx, conn, prefix)
	case moodledb.MySQL:
		send, finish, err = mysqlLoadData(ctx, conn, prefix)
	default:
		err = fmt.Errorf("unknown dialect %q", dialect)
	}
	if err != nil {
		return nil, err
	}
	// Generate on one goroutine while the database takes the previous
	// chunks on this one.
	chunks := make(chan chunk, 8)
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var genErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(chunks)
		w := &tsvWriter{prefix: prefix, out: func(c chunk) error {
			select {
			case chunks <- c:
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		}}
		if err := ds.WriteSQL(w, moodledb.SQLite, prefix); err != nil {
			genErr = err
			return
		}
		genErr = w.Close()
	}()
	last := time.Now()
	for c := range chunks {
		if err := send(ctx, c); err != nil {
			cancel()
			for range chunks {
			}
			wg.Wait()
			return nil, fmt.Errorf("load %s%s: %w", prefix, c.table, err)
		}
		res.Rows[c.table] += int64(c.n)
		res.Total += int64(c.n)
		if time.Since(last) > 15*time.Second {
			last = time.Now()
			logf("  %d filas (%d del registro) en %s", res.Total, res.Rows["logstore_standard_log"], time.Since(start).Round(time.Second))
		}
	}
	wg.Wait()
	if genErr != nil {
		return nil, genErr
	}
	if err := finish(ctx); err != nil {
		return nil, err
	}
	res.Load = time.Since(start)
	logf("  %d filas cargadas en %s; creando índices", res.Total, res.Load.Round(time.Second))

	start = time.Now()
	if dialect == moodledb.Postgres {
		// A session setting only: sorts for index builds in memory.
		if _, err := conn.ExecContext(ctx, "SET maintenance_work_mem = '512MB'"); err != nil {
			return nil, err
		}
	}
	for _, q := range idx.create {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("create index: %.80s: %w", q, err)
		}
	}
	res.Indexes = time.Since(start)
	start = time.Now()
	if err := analyze(ctx, conn, dialect, prefix); err != nil {
		return nil, err
	}
	res.Analyze = time.Since(start)
	return res, nil
}

// postgresCopy sends chunks with COPY … FROM STDIN inside one transaction.
func postgresCopy(ctx context.Context, conn *sql.Conn, prefix string) (func(context.Context, chunk) error, func(context.Context) error, error) {
	var pc *pgx.Conn
	if err := conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("not a pgx connection: %T", dc)
		}
		pc = c.Conn()
		return nil
	}); err != nil {
		return nil, nil, err
	}
	if _, err := pc.Exec(ctx, "BEGIN"); err != nil {
		return nil, nil, err
	}
	send := func(ctx context.Context, c chunk) error {
		q := "COPY " + moodledb.QuoteIdent(moodledb.Postgres, prefix+c.table) + " (" + quoteCols(moodledb.Postgres, c.columns) + ") FROM STDIN"
		_, err := pc.PgConn().CopyFrom(ctx, strings.NewReader(string(c.rows)), q)
		return err
	}
	finish := func(ctx context.Context) error {
		// Ids are explicit: move every sequence past them, as demo.Load does.
		for _, t := range moodledb.Tables() {
			name := moodledb.QuoteIdent(moodledb.Postgres, prefix+t)
			q := fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%s', 'id'), COALESCE((SELECT MAX(id) FROM %s), 0) + 1, false)", name, name)
			if _, err := pc.Exec(ctx, q); err != nil {
				return fmt.Errorf("move id sequence of %s: %w", name, err)
			}
		}
		_, err := pc.Exec(ctx, "COMMIT")
		return err
	}
	return send, finish, nil
}

// mysqlLoadData sends chunks with LOAD DATA LOCAL INFILE through a reader
// handler of the driver, each chunk its own transaction (one huge InnoDB
// transaction only grows the undo log).
func mysqlLoadData(ctx context.Context, conn *sql.Conn, prefix string) (func(context.Context, chunk) error, func(context.Context) error, error) {
	for _, q := range []string{"SET SESSION unique_checks = 0", "SET SESSION foreign_key_checks = 0"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return nil, nil, err
		}
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "sencebench_" + hex.EncodeToString(b)
	var current io.Reader
	mysql.RegisterReaderHandler(name, func() io.Reader { return current })
	send := func(ctx context.Context, c chunk) error {
		current = strings.NewReader(string(c.rows))
		q := "LOAD DATA LOCAL INFILE 'Reader::" + name + "' INTO TABLE " + moodledb.QuoteIdent(moodledb.MySQL, prefix+c.table) +
			" CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (" + quoteCols(moodledb.MySQL, c.columns) + ")"
		res, err := conn.ExecContext(ctx, q)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n != int64(c.n) {
			return fmt.Errorf("LOAD DATA took %d of %d rows", n, c.n)
		}
		return nil
	}
	finish := func(context.Context) error {
		mysql.DeregisterReaderHandler(name)
		return nil
	}
	return send, finish, nil
}

func quoteCols(dialect string, cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = moodledb.QuoteIdent(dialect, c)
	}
	return strings.Join(q, ", ")
}

// indexPlan holds the statements that drop the secondary indexes of every
// table and those that create them again exactly as CreateSchema does.
type indexPlan struct {
	drop, create []string
}

var (
	pgIndexRe    = regexp.MustCompile(`^CREATE (?:UNIQUE )?INDEX ([a-z0-9_]+) ON "([a-z0-9_]+)" \(`)
	mysqlTableRe = regexp.MustCompile("^CREATE TABLE `([a-z0-9_]+)`")
	mysqlIndexRe = regexp.MustCompile("(?m)^  ((?:UNIQUE )?INDEX ([a-z0-9_]+) \\(.*?\\))(?:,|\\) ENGINE=)")
)

func secondaryIndexes(dialect, prefix string) (*indexPlan, error) {
	stmts, err := moodledb.Statements(dialect, prefix)
	if err != nil {
		return nil, err
	}
	p := &indexPlan{}
	for _, q := range stmts {
		switch dialect {
		case moodledb.Postgres:
			if m := pgIndexRe.FindStringSubmatch(q); m != nil {
				p.drop = append(p.drop, "DROP INDEX "+m[1])
				p.create = append(p.create, q)
			}
		case moodledb.MySQL:
			t := mysqlTableRe.FindStringSubmatch(q)
			if t == nil {
				continue
			}
			var drops, adds []string
			for _, m := range mysqlIndexRe.FindAllStringSubmatch(q, -1) {
				drops = append(drops, "DROP INDEX "+m[2])
				adds = append(adds, "ADD "+m[1])
			}
			if len(drops) > 0 {
				table := moodledb.QuoteIdent(dialect, t[1])
				p.drop = append(p.drop, "ALTER TABLE "+table+" "+strings.Join(drops, ", "))
				p.create = append(p.create, "ALTER TABLE "+table+" "+strings.Join(adds, ", "))
			}
		}
	}
	if len(p.create) == 0 {
		return nil, fmt.Errorf("no indexes found in the %s schema", dialect)
	}
	return p, nil
}

// analyze refreshes the planner's statistics: after a bulk load they
// describe empty tables, and a plan chosen for an empty log is a bad plan.
func analyze(ctx context.Context, conn *sql.Conn, dialect, prefix string) error {
	var names []string
	for _, t := range moodledb.Tables() {
		names = append(names, moodledb.QuoteIdent(dialect, prefix+t))
	}
	if dialect == moodledb.Postgres {
		_, err := conn.ExecContext(ctx, "ANALYZE "+strings.Join(names, ", "))
		return err
	}
	rows, err := conn.QueryContext(ctx, "ANALYZE TABLE "+strings.Join(names, ", "))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}
