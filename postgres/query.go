package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The shapes every store's statements share. Reads and single statements
// run in db.run (so they are retried); a transaction is a batch that
// begins (txBatch), reads under row locks, and a second batch that writes
// and commits (queueCommit). Rows are read by pgx.RowToFunc scanners.

// sqlInts writes Go constants (statuses, kinds) into a statement's text
// as integer literals, comma-separated: `status in (` + sqlInts(a, b) +
// `)`. Literals, not parameters: a partial index (… WHERE status = 1)
// serves a statement only if the planner sees that the statement's
// predicate implies the index's, which a parameter of a generic plan does
// not show. Stores build their statements once, so each is still prepared
// once. TestSQLNumbersAreConstants keeps numbers written by hand out of
// statements and checks the migrations' numbers against the constants.
func sqlInts[T ~int8 | ~int16 | ~int32 | ~int | ~uint8 | ~uint16 | ~uint32](vs ...T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.FormatInt(int64(v), 10)
	}
	return strings.Join(s, ", ")
}

// queryOne runs a query of at most one row in db.run and scans the row
// with scan. found is false when there is none: an answer, not a failure
// to retry.
//
// Errors: the infrastructure errors of this package.
func queryOne[T any](ctx context.Context, db *DB, op, query string, scan pgx.RowToFunc[T], args ...any) (v T, found bool, err error) {
	err = db.run(ctx, op, func(ctx context.Context, conn *pgx.Conn) error {
		var err error
		v, found, err = one(ctx, conn, query, scan, args...)
		return err
	})
	if err != nil {
		var zero T
		return zero, false, err
	}
	return v, found, nil
}

// queryAll runs a query in db.run and scans every row with scan.
//
// Errors: the infrastructure errors of this package.
func queryAll[T any](ctx context.Context, db *DB, op, query string, scan pgx.RowToFunc[T], args ...any) ([]T, error) {
	var out []T
	err := db.run(ctx, op, func(ctx context.Context, conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scan)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// one runs a query of at most one row on conn; found is false when there
// is none.
func one[T any](ctx context.Context, conn *pgx.Conn, query string, scan pgx.RowToFunc[T], args ...any) (v T, found bool, err error) {
	rows, err := conn.Query(ctx, query, args...)
	if err == nil {
		v, err = pgx.CollectOneRow(rows, scan)
	}
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		var zero T
		return zero, false, nil
	case err != nil:
		var zero T
		return zero, false, err
	}
	return v, true, nil
}

// exec runs one statement in db.run and returns the number of rows it
// affected.
//
// Errors: the infrastructure errors of this package.
func (db *DB) exec(ctx context.Context, op, query string, args ...any) (int64, error) {
	var n int64
	err := db.run(ctx, op, func(ctx context.Context, conn *pgx.Conn) error {
		ct, err := conn.Exec(ctx, query, args...)
		n = ct.RowsAffected()
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// insertOrGet runs insert, an INSERT … ON CONFLICT DO NOTHING, in db.run
// and, when it inserted nothing, reads the row in its way with get (whose
// one argument is key): what an idempotent create needs to compare the
// request with what is stored.
//
// Errors: the infrastructure errors of this package.
func insertOrGet[T any](ctx context.Context, db *DB, op, insert string, args []any,
	get string, key any, scan pgx.RowToFunc[T]) (stored T, inserted bool, err error) {
	err = db.run(ctx, op, func(ctx context.Context, conn *pgx.Conn) error {
		ct, err := conn.Exec(ctx, insert, args...)
		if err != nil {
			return err
		}
		if inserted = ct.RowsAffected() == 1; inserted {
			return nil
		}
		var found bool
		if stored, found, err = one(ctx, conn, get, scan, key); err == nil && !found {
			return errRerun // the row in the way is gone: insert again
		}
		return err
	})
	if err != nil {
		var zero T
		return zero, false, err
	}
	return stored, inserted, nil
}

// eachRow returns a batch callback that scans every row with scan and
// hands it to use.
func eachRow[T any](scan pgx.RowToFunc[T], use func(T)) func(pgx.Rows) error {
	return func(rows pgx.Rows) error {
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return err
			}
			use(v)
		}
		return rows.Err()
	}
}

// txBatch returns a batch that begins a read-committed transaction. Row
// locks do the work; read committed lets each statement see what
// committed while the transaction waited for a lock.
func txBatch() *pgx.Batch {
	b := &pgx.Batch{}
	b.Queue("begin isolation level read committed")
	return b
}

// queueCommit queues the commit of the transaction, checking that it
// committed (a transaction that failed answers ROLLBACK to a commit).
func queueCommit(b *pgx.Batch) {
	b.Queue("commit").Exec(func(ct pgconn.CommandTag) error {
		if ct.String() != "COMMIT" {
			return fmt.Errorf("postgres: commit answered %q", ct.String())
		}
		return nil
	})
}

// expectRows checks a write's rows affected: the rows are locked, so any
// other count is an integrity failure.
func expectRows(n int) func(pgconn.CommandTag) error {
	return func(ct pgconn.CommandTag) error {
		if ct.RowsAffected() != int64(n) {
			return fmt.Errorf("%w: %q affected %d rows, want %d", ErrIntegrity, ct.String(), ct.RowsAffected(), n)
		}
		return nil
	}
}

// insertedOrRerun checks that an insert without a lock on its key (ON
// CONFLICT DO NOTHING) inserted its row. If a concurrent transaction
// inserted one first, the operation rolls back and decides again against
// that row.
func insertedOrRerun(ct pgconn.CommandTag) error {
	if ct.RowsAffected() != 1 {
		return errRerun
	}
	return nil
}

// Listings page through an index by (time column, id) after a cursor, the
// last row of the page before. afterCursor is the condition on the cursor
// in $n (its time; NULL: from the start) and $n+1 (its ID), orderPage the
// order and the limit in $n.
func afterCursor(col string, n int) string {
	return fmt.Sprintf("($%d::timestamptz is null or (%s, id) > ($%d, $%d))", n, col, n, n+1)
}

func orderPage(col string, n int) string {
	return fmt.Sprintf(" order by %s, id limit $%d", col, n)
}

// cursorArgs returns the arguments of afterCursor for a cursor at (at, id);
// the zero cursor starts from the beginning.
func cursorArgs(at time.Time, id uuid.UUID) (*time.Time, [16]byte) {
	if at.IsZero() && id == uuid.Nil {
		return nil, id
	}
	return &at, id
}
