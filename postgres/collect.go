package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/socialpay/socialpay/collect"
	"github.com/socialpay/socialpay/ledger"
)

// CollectStore keeps bill-splitting requests in PostgreSQL: a
// collect.Store that passes collecttest.Run. It is safe for concurrent
// use by many goroutines and many processes.
//
// A request is one row, its shares in arrays. Every change is one
// transaction of two round trips: the first begins and locks the row
// (SELECT … FOR UPDATE), a pure transition of collect.Request decides, the
// second writes the row and commits. Reminders' times are in the row, so
// the rate limit holds for every instance on the database.
//
// Pay is one transaction with its ledger transfer when the payment's
// ledger is a LedgerStore of this package on the same database and schema: the
// request's row is locked, then the two accounts (in ID order, as the
// LedgerStore locks them), ledger.ApplyBatch decides the transfer, and
// the transfer's rows and the request's row commit together: one commit
// per payment. With a ledger elsewhere, the transfer is made through the
// ledger's API while the row is locked, and the row commits after it; a
// crash between the two is what the member's retry or
// collect.Service.Reconcile repairs (the transfer's ID is derived from
// request and member). Locks are taken request first, then accounts, and
// no transaction takes them the other way round, so payments queue and
// never deadlock.
//
// Business outcomes are returned as the collect sentinels; this
// package's errors (ErrUnavailable, ErrRetriesExhausted, ErrIntegrity,
// context errors) mean the database could not do its part, after which
// the change may or may not have committed; every change is idempotent,
// so running it again is safe.
type CollectStore struct {
	db     *DB
	ledger *LedgerStore // the ledger on db: Pay's transfers, when the payment's ledger is this one
	q      collectQueries
}

var _ collect.Store = (*CollectStore)(nil)

// NewCollectStore returns the bill-splitting store on db.
func NewCollectStore(db *DB) *CollectStore {
	return &CollectStore{db: db, ledger: NewLedgerStore(db), q: newCollectQueries(db)}
}

type collectQueries struct {
	insert, get, lock, update, due, unreconciled string
}

const collectCols = `id, requester, account, group_id, title, currency, total, created_at, expires_at, status,
	paid, declined, collected, ended_at, reminded_at, reconciled,
	members, amounts, share_status, accounts, transfers, share_at`

func newCollectQueries(db *DB) collectQueries {
	q := db.qualify
	return collectQueries{
		insert: q(`insert into $S.collect_requests (` + collectCols + `)
			values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
			on conflict (id) do nothing`),
		get:  q(`select ` + collectCols + ` from $S.collect_requests where id = $1`),
		lock: q(`select ` + collectCols + ` from $S.collect_requests where id = $1 for update`),
		update: q(`update $S.collect_requests set status = $2, paid = $3, declined = $4, collected = $5, ended_at = $6,
			reminded_at = $7, reconciled = $8, share_status = $9, accounts = $10, transfers = $11, share_at = $12
			where id = $1`),
		due: q(`select ` + collectCols + ` from $S.collect_requests
			where status = ` + sqlInts(collect.StatusOpen) + ` and expires_at <= $1 and ` + afterCursor("expires_at", 2) + orderPage("expires_at", 4)),
		unreconciled: q(`select ` + collectCols + ` from $S.collect_requests
			where status <> ` + sqlInts(collect.StatusOpen) + ` and not reconciled and ended_at <= $1 and ` + afterCursor("ended_at", 2) + orderPage("ended_at", 4)),
	}
}

// requestArgs returns the arguments of insert for r.
func requestArgs(r *collect.Request) []any {
	n := len(r.Shares)
	members, accounts, transfers := make([][16]byte, n), make([][16]byte, n), make([][16]byte, n)
	amounts, at := make([]int64, n), make([]int64, n)
	status := make([]int16, n)
	for i, s := range r.Shares {
		members[i], accounts[i], transfers[i] = s.Member, s.Account, s.TransferID
		amounts[i], status[i], at[i] = s.Amount, int16(s.Status), microsOrZero(s.At)
	}
	return []any{[16]byte(r.ID), [16]byte(r.Requester), [16]byte(r.Account), [16]byte(r.Group), r.Title,
		r.Currency.Code(), r.Total, r.CreatedAt, r.ExpiresAt, int16(r.Status),
		int32(r.Paid), int32(r.Declined), r.Collected, nullTime(r.EndedAt), nullTime(r.RemindedAt), r.Reconciled,
		members, amounts, status, accounts, transfers, at}
}

// updateArgs returns the arguments of update for r: what transitions change.
func updateArgs(r *collect.Request) []any {
	a := requestArgs(r)
	return []any{a[0], a[9], a[10], a[11], a[12], a[13], a[14], a[15], a[18], a[19], a[20], a[21]}
}

func microsOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func scanRequest(row pgx.CollectableRow) (collect.Request, error) {
	var (
		id, requester, account, group [16]byte
		title, cur                    string
		total, collected              int64
		created, expires              time.Time
		status                        int16
		paid, declined                int32
		ended, reminded               *time.Time
		reconciled                    bool
		members, accounts, transfers  [][16]byte
		amounts, at                   []int64
		shareStatus                   []int16
	)
	if err := row.Scan(&id, &requester, &account, &group, &title, &cur, &total, &created, &expires, &status,
		&paid, &declined, &collected, &ended, &reminded, &reconciled,
		&members, &amounts, &shareStatus, &accounts, &transfers, &at); err != nil {
		return collect.Request{}, err
	}
	c, err := currency(cur)
	if err != nil {
		return collect.Request{}, err
	}
	r := collect.Request{
		ID: id, Requester: requester, Account: account, Group: group, Title: title, Currency: c, Total: total,
		CreatedAt: utc(created), ExpiresAt: utc(expires), Shares: make([]collect.Share, len(members)),
		State: collect.State{Status: collect.Status(status), Paid: int(paid), Declined: int(declined), Collected: collected,
			EndedAt: utcOrZero(ended), RemindedAt: utcOrZero(reminded), Reconciled: reconciled},
	}
	if len(amounts) != len(members) || len(shareStatus) != len(members) || len(accounts) != len(members) ||
		len(transfers) != len(members) || len(at) != len(members) {
		return collect.Request{}, fmt.Errorf("%w: request %s: share arrays of different lengths", ErrIntegrity, r.ID)
	}
	for i := range members {
		s := collect.Share{Member: members[i], Amount: amounts[i], Status: collect.ShareStatus(shareStatus[i]),
			Account: accounts[i], TransferID: transfers[i]}
		if at[i] != 0 {
			s.At = time.UnixMicro(at[i]).UTC()
		}
		r.Shares[i] = s
	}
	return r, nil
}

func requestNotFound(id uuid.UUID) error {
	return fmt.Errorf("request %s: %w", id, collect.ErrRequestNotFound)
}

// CreateRequest implements collect.Store.
//
// Errors: collect.ErrInvalidRequest, collect.ErrRequestExists (with the
// stored request), and the infrastructure errors of this package.
func (s *CollectStore) CreateRequest(ctx context.Context, r collect.Request) (collect.Request, error) {
	if err := r.Validate(); err != nil {
		return collect.Request{}, err
	}
	if r.Status != collect.StatusOpen || r.Paid+r.Declined > 0 || !r.RemindedAt.IsZero() {
		return collect.Request{}, fmt.Errorf("%w: request %s: a new request is open with nothing paid", collect.ErrInvalidRequest, r.ID)
	}
	stored, inserted, err := insertOrGet(ctx, s.db, "create collect request", s.q.insert, requestArgs(&r),
		s.q.get, [16]byte(r.ID), scanRequest)
	switch {
	case err != nil:
		return collect.Request{}, err
	case !inserted:
		return stored, fmt.Errorf("request %s: %w", r.ID, collect.ErrRequestExists)
	}
	return r.Clone(), nil
}

// Request implements collect.Store.
//
// Errors: collect.ErrRequestNotFound, and the infrastructure errors of
// this package.
func (s *CollectStore) Request(ctx context.Context, id uuid.UUID) (collect.Request, error) {
	r, found, err := queryOne(ctx, s.db, "collect request", s.q.get, scanRequest, [16]byte(id))
	if err == nil && !found {
		err = requestNotFound(id)
	}
	return r, err
}

// transition locks request id, lets f decide (f may add statements to the
// write batch before the request's update, and reports whether the
// request changed), and writes and commits when it did. A business error
// of f rolls back and is returned as is.
func (s *CollectStore) transition(ctx context.Context, op string, id uuid.UUID,
	f func(ctx context.Context, conn *pgx.Conn, r *collect.Request, w *pgx.Batch) (bool, error)) (collect.Request, error) {
	var r collect.Request
	var business error
	err := s.db.run(ctx, op, func(ctx context.Context, conn *pgx.Conn) error {
		r, business = collect.Request{}, nil
		found := false
		b := txBatch()
		b.Queue(s.q.lock, [16]byte(id)).Query(eachRow(scanRequest, func(v collect.Request) { r, found = v, true }))
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if !found {
			business = requestNotFound(id)
			return nil // rolls back
		}
		w := &pgx.Batch{}
		changed, err := f(ctx, conn, &r, w)
		if err != nil || !changed {
			business = err
			return nil
		}
		w.Queue(s.q.update, updateArgs(&r)...).Exec(expectRows(1))
		queueCommit(w)
		return conn.SendBatch(ctx, w).Close()
	})
	if err != nil {
		return collect.Request{}, err
	}
	return r, business
}

// pure adapts a transition that needs nothing but the request.
func pure(f func(r *collect.Request) (bool, error)) func(context.Context, *pgx.Conn, *collect.Request, *pgx.Batch) (bool, error) {
	return func(_ context.Context, _ *pgx.Conn, r *collect.Request, _ *pgx.Batch) (bool, error) { return f(r) }
}

// sameLedger reports whether l's store is s's ledger: this database and
// schema.
func (s *CollectStore) sameLedger(l *ledger.Ledger) bool {
	if l == nil {
		return false
	}
	st, ok := l.Store().(*LedgerStore)
	return ok && st.db.pool == s.db.pool && st.db.schema == s.db.schema
}

// Pay implements collect.Store: collect.Request.Pay under the request's
// row lock, its transfer made in the same transaction when step.Ledger is
// on this database and schema (then the request's row and the ledger's
// rows commit together), else through step.Ledger before the row
// commits.
//
// Errors: collect.ErrRequestNotFound, those of collect.Request.Pay, the
// ledger's refusal (a *ledger.TransferError) with nothing recorded,
// collect.ErrPaymentUnknown (a ledger elsewhere failed), and the
// infrastructure errors of this package.
func (s *CollectStore) Pay(ctx context.Context, id uuid.UUID, step collect.PayStep) (collect.PayResult, error) {
	var res collect.PayResult
	one := s.sameLedger(step.Ledger)
	_, err := s.transition(ctx, "pay collect request", id, func(ctx context.Context, conn *pgx.Conn, r *collect.Request, w *pgx.Batch) (bool, error) {
		var changed bool
		var err error
		res, changed, err = r.Pay(&step, func() error {
			if !one {
				return collect.MoveThrough(ctx, r, &step)
			}
			ts := []ledger.Transfer{step.Transfer}
			if err := ledger.ValidateTransfer(&ts[0]); err != nil {
				return &ledger.TransferError{ID: ts[0].ID, Err: err}
			}
			v, err := s.ledger.lock(ctx, conn, &pgx.Batch{}, lockKeysOf(ts))
			if err != nil {
				return infra{err}
			}
			out := ledger.ApplyBatch(v, ts, false, step.Ledger.Now())
			if err := out.Results[0].Err; err != nil {
				return err
			}
			if changes(&out) {
				s.ledger.queueOutcome(w, &out)
			}
			return nil
		})
		return changed, err
	})
	if ie, ok := err.(infra); ok {
		err = ie.err
	}
	if err != nil {
		return collect.PayResult{}, err
	}
	return res, nil
}

// infra carries an infrastructure error out of a transition's pure
// decision, to be returned (and retried) as such.
type infra struct{ err error }

func (e infra) Error() string { return e.err.Error() }
func (e infra) Unwrap() error { return e.err }

// RecordPaid implements collect.Store (collect.Request.RecordPaid).
//
// Errors: collect.ErrRequestNotFound, ErrNotMember, ErrOwnShare,
// ErrDeclined, ErrInvalidRequest, and the infrastructure errors of this
// package.
func (s *CollectStore) RecordPaid(ctx context.Context, id, member, account, transferID uuid.UUID, at time.Time) (collect.Request, error) {
	return s.transition(ctx, "record collect payment", id, pure(func(r *collect.Request) (bool, error) {
		return r.RecordPaid(member, account, transferID, at)
	}))
}

// Decline implements collect.Store (collect.Request.Decline).
//
// Errors: collect.ErrRequestNotFound, ErrNotMember, ErrOwnShare,
// ErrAlreadyPaid, ErrClosed, ErrExpired, and the infrastructure errors of
// this package.
func (s *CollectStore) Decline(ctx context.Context, id, member uuid.UUID, now time.Time) (collect.Request, error) {
	return s.transition(ctx, "decline collect request", id, pure(func(r *collect.Request) (bool, error) {
		return r.Decline(member, now)
	}))
}

// Close implements collect.Store (collect.Request.Close).
//
// Errors: collect.ErrRequestNotFound, and the infrastructure errors of
// this package.
func (s *CollectStore) Close(ctx context.Context, id uuid.UUID, now time.Time) (collect.Request, error) {
	return s.transition(ctx, "close collect request", id, pure(func(r *collect.Request) (bool, error) {
		return r.Close(now), nil
	}))
}

// Expire implements collect.Store (collect.Request.Expire).
//
// Errors: collect.ErrRequestNotFound, collect.ErrNotExpired, and the
// infrastructure errors of this package.
func (s *CollectStore) Expire(ctx context.Context, id uuid.UUID, now time.Time) (collect.Request, bool, error) {
	var expired bool
	r, err := s.transition(ctx, "expire collect request", id, pure(func(r *collect.Request) (bool, error) {
		var err error
		expired, err = r.Expire(now)
		return expired, err
	}))
	return r, expired && err == nil, err
}

// Remind implements collect.Store (collect.Request.Remind): the time of
// the reminder is written to the request's row.
//
// Errors: collect.ErrRequestNotFound, ErrNothingToRemind,
// ErrRemindTooSoon, and the infrastructure errors of this package.
func (s *CollectStore) Remind(ctx context.Context, id uuid.UUID, now time.Time, every time.Duration) (collect.Request, []uuid.UUID, error) {
	var members []uuid.UUID
	r, err := s.transition(ctx, "remind collect request", id, pure(func(r *collect.Request) (bool, error) {
		var err error
		members, err = r.Remind(now, every)
		return err == nil, err
	}))
	return r, members, err
}

// MarkReconciled implements collect.Store (collect.Request.MarkReconciled).
//
// Errors: collect.ErrRequestNotFound, and the infrastructure errors of
// this package.
func (s *CollectStore) MarkReconciled(ctx context.Context, id uuid.UUID) (collect.Request, error) {
	return s.transition(ctx, "reconcile collect request", id, pure(func(r *collect.Request) (bool, error) {
		return r.MarkReconciled(), nil
	}))
}

// Due implements collect.Store, from a partial index of open requests by
// (expiry, ID).
//
// Errors: the infrastructure errors of this package.
func (s *CollectStore) Due(ctx context.Context, now time.Time, after collect.Cursor, limit int) ([]collect.Request, error) {
	return s.list(ctx, "due collect requests", s.q.due, after, limit, now)
}

// Unreconciled implements collect.Store, from a partial index of ended,
// unreconciled requests by (end, ID).
//
// Errors: the infrastructure errors of this package.
func (s *CollectStore) Unreconciled(ctx context.Context, endedBefore time.Time, after collect.Cursor, limit int) ([]collect.Request, error) {
	return s.list(ctx, "unreconciled collect requests", s.q.unreconciled, after, limit, endedBefore)
}

func (s *CollectStore) list(ctx context.Context, op, query string, after collect.Cursor, limit int, bound time.Time) ([]collect.Request, error) {
	if limit <= 0 {
		return nil, nil
	}
	at, id := cursorArgs(after.At, after.ID)
	return queryAll(ctx, s.db, op, query, scanRequest, bound, at, id, limit)
}
