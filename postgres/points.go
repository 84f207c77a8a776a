package postgres

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/points"
)

// PointsStore keeps users' points in PostgreSQL: a points.Store that
// passes pointstest.Run. It is safe for concurrent use by many goroutines
// and many processes.
//
// Every change of a user's points is one transaction of two round trips:
// the first begins, locks the user's row in points_holders (SELECT … FOR
// UPDATE; a user's first operation inserts it), and reads the user's lots
// with points and the lots the operation names, with the operation
// itself; the pure rules of points.Holder (Record, Post, Fail, Expire)
// decide against exactly those rows; the second writes the holder, the
// lots and the operation and commits, with the rows affected checked. A
// user's operations therefore queue on that user's row alone, and a
// redemption and the expiry of the lot it would spend see each other's
// outcome. A rate's new version is one insert under (name, version)
// unique: of concurrent setters one inserts, the others decide again
// against its row.
//
// It is also a points.PostingStore: with the LedgerStore on the same
// database and schema, RecordPosted records an operation and applies its
// transfers in one transaction of three round trips and one commit (the
// user's row and lots; then the ledger's accounts, locked in ID order as
// the LedgerStore locks them; then the writes and the commit). Locks are
// taken user row first, then accounts, and no transaction takes them the
// other way round (the ledger's lock accounts only, the other points
// transactions users only), so they queue and never deadlock.
//
// Business outcomes (points.ErrInsufficientPoints, ErrOpConflict…) are
// returned as the points sentinels; this package's errors
// (ErrUnavailable, ErrRetriesExhausted, ErrIntegrity, context errors) mean
// the database could not do its part, after which the change may or may
// not have committed; every change is idempotent (by operation ID, by
// status, by rate version), so running it again is safe.
type PointsStore struct {
	db     *DB
	q      pointsQueries
	ledger *LedgerStore // the ledger on db: RecordPosted's transfers
	posted *grouper[postCall, postResult]
	life   queueLife
}

var _ points.PostingStore = (*PointsStore)(nil)

// NewPointsStore returns the points store on db.
func NewPointsStore(db *DB) *PointsStore {
	s := &PointsStore{db: db, q: newPointsQueries(db), ledger: NewLedgerStore(db)}
	s.life = newQueueLife(db)
	s.posted = newGrouper(s.life, db.tel, "points.posted", pointsShape, s.postBatch)
	return s
}

type pointsQueries struct {
	ensure, lockHolder, getHolder, liveLots, opLots, op, writeHolder, writeLots, insertOp, setStatus string
	due, pending, rateAt, rateLatest, rateCheck, insertRate                                          string
	ensureMany, lockMany, lotsOfMany, opsMany                                                        string
}

const pointsLotCols = `user_id, month, expires_at, pending, remaining, credited, spent, expired, expiries`

const pointsOpCols = `id, user_id, kind, key, name, requested, points, month, lot_expires_at, take_months,
	take_points, account, counter, rate_name, rate_version, rate_from, rate_to, rate_set_at, other, currency,
	wallet, conversion, status, created_at`

func newPointsQueries(db *DB) pointsQueries {
	q := db.qualify
	return pointsQueries{
		ensure:     q(`insert into $S.points_holders (user_id, earned, spent, expired) values ($1, 0, 0, 0) on conflict (user_id) do nothing`),
		lockHolder: q(`select user_id, earned, spent, expired from $S.points_holders where user_id = $1 for update`),
		getHolder:  q(`select user_id, earned, spent, expired from $S.points_holders where user_id = $1`),
		// The user's lots with points, and lot $2.
		liveLots: q(`select ` + pointsLotCols + ` from $S.points_lots
			where user_id = $1 and (remaining > 0 or pending > 0 or month = $2) order by month`),
		// The user's lots with points, and the lots operation $2 names.
		opLots: q(`select ` + pointsLotCols + ` from $S.points_lots l
			where l.user_id = $1 and (l.remaining > 0 or l.pending > 0 or l.month in (
				select o.month from $S.points_ops o where o.id = $2
				union all select unnest(o.take_months) from $S.points_ops o where o.id = $2)) order by l.month`),
		op:          q(`select ` + pointsOpCols + ` from $S.points_ops where id = $1`),
		writeHolder: q(`update $S.points_holders set earned = $2, spent = $3, expired = $4 where user_id = $1`),
		writeLots: q(`insert into $S.points_lots (` + pointsLotCols + `)
			select $1, u.* from unnest($2::int4[], $3::timestamptz[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], $8::int8[], $9::int4[])
				as u(month, expires_at, pending, remaining, credited, spent, expired, expiries)
			on conflict (user_id, month) do update set pending = excluded.pending, remaining = excluded.remaining,
				credited = excluded.credited, spent = excluded.spent, expired = excluded.expired, expiries = excluded.expiries`),
		insertOp: q(`insert into $S.points_ops (` + pointsOpCols + `) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
			$11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`),
		setStatus: q(`update $S.points_ops set status = $2 where id = $1 and status = ` + sqlInts(points.StatusPending)),
		// RecordPosted's batches: users in ID order (one lock order).
		ensureMany: q(`insert into $S.points_holders (user_id, earned, spent, expired)
			select u, 0, 0, 0 from unnest($1::uuid[]) with ordinality as x(u, n) order by n on conflict (user_id) do nothing`),
		lockMany: q(`select user_id, earned, spent, expired from $S.points_holders where user_id = any($1::uuid[]) order by user_id for update`),
		lotsOfMany: q(`select ` + pointsLotCols + ` from $S.points_lots
			where user_id = any($1::uuid[]) and (remaining > 0 or pending > 0
				or (user_id, month) in (select * from unnest($2::uuid[], $3::int4[])))
			order by user_id, month`),
		opsMany: q(`select ` + pointsOpCols + ` from $S.points_ops where id = any($1::uuid[])`),
		due: q(`select ` + pointsLotCols + ` from $S.points_lots
			where remaining > 0 and expires_at <= $1
				and ($2::timestamptz is null or (expires_at, user_id, month) > ($2, $3, $4))
			order by expires_at, user_id, month limit $5`),
		pending: q(`select ` + pointsOpCols + ` from $S.points_ops
			where status = ` + sqlInts(points.StatusPending) + ` and ` + afterCursor("created_at", 1) + orderPage("created_at", 3)),
		rateAt:     q(`select name, version, rate_from, rate_to, set_at from $S.points_rates where name = $1 and version = $2`),
		rateLatest: q(`select name, version, rate_from, rate_to, set_at from $S.points_rates where name = $1 order by version desc limit 1`),
		// One statement, so one snapshot: the version asked for and the
		// latest, read apart, could straddle a concurrent setter's insert.
		rateCheck: q(`select name, version, rate_from, rate_to, set_at from $S.points_rates
			where name = $1 and version in ($2, (select max(version) from $S.points_rates where name = $1))`),
		insertRate: q(`insert into $S.points_rates (name, version, rate_from, rate_to, set_at) values ($1, $2, $3, $4, $5)
			on conflict (name, version) do nothing`),
	}
}

func scanPointsLot(row pgx.CollectableRow) (points.Lot, error) {
	var l points.Lot
	var user [16]byte
	var month, expiries int32
	var exp time.Time
	if err := row.Scan(&user, &month, &exp, &l.Pending, &l.Remaining, &l.Credited, &l.Spent, &l.Expired, &expiries); err != nil {
		return l, err
	}
	l.User, l.Month, l.ExpiresAt, l.Expiries = user, points.Month(month), utc(exp), int(expiries)
	return l, nil
}

func scanPointsHolder(row pgx.CollectableRow) (points.Holder, error) {
	var h points.Holder
	var user [16]byte
	err := row.Scan(&user, &h.Earned, &h.Spent, &h.Expired)
	h.User = user
	return h, err
}

func scanPointsOp(row pgx.CollectableRow) (points.Op, error) {
	var o points.Op
	var id, user, account, counter, wallet, conversion [16]byte
	var kind, status int16
	var month, version int32
	var lotExp, setAt *time.Time
	var created time.Time
	var months []int32
	var pts []int64
	var cur string
	if err := row.Scan(&id, &user, &kind, &o.Key, &o.Name, &o.Requested, &o.Points, &month, &lotExp, &months, &pts,
		&account, &counter, &o.Rate.Name, &version, &o.Rate.From, &o.Rate.To, &setAt, &o.Other, &cur,
		&wallet, &conversion, &status, &created); err != nil {
		return o, err
	}
	if cur != "" {
		c, err := currency(cur)
		if err != nil {
			return o, err
		}
		o.Currency = c
	}
	if len(months) != len(pts) {
		return o, fmt.Errorf("%w: op %x: %d take months, %d take points", ErrIntegrity, id, len(months), len(pts))
	}
	for i := range months {
		o.Takes = append(o.Takes, points.Take{Month: points.Month(months[i]), Points: pts[i]})
	}
	o.ID, o.User, o.Kind, o.Month, o.LotExpiresAt = id, user, points.Kind(kind), points.Month(month), utcOrZero(lotExp)
	o.Account, o.Counter, o.Wallet, o.Conversion = account, counter, wallet, conversion
	o.Rate.Version, o.Rate.SetAt, o.Status, o.CreatedAt = int(version), utcOrZero(setAt), points.Status(status), utc(created)
	return o, nil
}

func scanPointsRate(row pgx.CollectableRow) (points.Rate, error) {
	var r points.Rate
	var version int32
	var at time.Time
	err := row.Scan(&r.Name, &version, &r.From, &r.To, &at)
	r.Version, r.SetAt = int(version), utc(at)
	return r, err
}

func opArgs(o *points.Op) []any {
	months := make([]int32, len(o.Takes))
	pts := make([]int64, len(o.Takes))
	for i, t := range o.Takes {
		months[i], pts[i] = int32(t.Month), t.Points
	}
	cur := ""
	if !o.Currency.IsZero() {
		cur = o.Currency.Code()
	}
	return []any{[16]byte(o.ID), [16]byte(o.User), int16(o.Kind), o.Key, o.Name, o.Requested, o.Points, int32(o.Month),
		nullTime(o.LotExpiresAt), months, pts, [16]byte(o.Account), [16]byte(o.Counter), o.Rate.Name, int32(o.Rate.Version),
		o.Rate.From, o.Rate.To, nullTime(o.Rate.SetAt), o.Other, cur, [16]byte(o.Wallet), [16]byte(o.Conversion),
		int16(o.Status), o.CreatedAt}
}

// queueLots queues the upsert of every lot of h.
func (s *PointsStore) queueLots(b *pgx.Batch, h *points.Holder) {
	n := len(h.Lots)
	if n == 0 {
		return
	}
	months, exps, expiries := make([]int32, n), make([]time.Time, n), make([]int32, n)
	pend, rem, cred, spent, expd := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, l := range h.Lots {
		months[i], exps[i], expiries[i] = int32(l.Month), l.ExpiresAt, int32(l.Expiries)
		pend[i], rem[i], cred[i], spent[i], expd[i] = l.Pending, l.Remaining, l.Credited, l.Spent, l.Expired
	}
	b.Queue(s.q.writeLots, [16]byte(h.User), months, exps, pend, rem, cred, spent, expd, expiries).Exec(expectRows(n))
}

// locked runs one transaction on user's points: it locks the user's row
// (inserting it first when ensure is set), reads the lots lotsQuery
// selects (with lotsArg as $2) and, when opID is set, that operation; then
// decide says what to write (nil: nothing, roll back) and the writes
// commit. found is false when the user has no row (and ensure is unset).
func (s *PointsStore) locked(ctx context.Context, op string, user uuid.UUID, ensure bool, lotsQuery string, lotsArg any, opID uuid.UUID,
	decide func(h *points.Holder, stored *points.Op, found bool) (*pgx.Batch, error)) error {
	var business error
	err := s.db.run(ctx, op, func(ctx context.Context, conn *pgx.Conn) error {
		business = nil
		var h points.Holder
		var stored *points.Op
		found := false
		b := txBatch()
		if ensure {
			b.Queue(s.q.ensure, [16]byte(user))
		}
		b.Queue(s.q.lockHolder, [16]byte(user)).Query(eachRow(scanPointsHolder, func(v points.Holder) { h, found = v, true }))
		b.Queue(lotsQuery, [16]byte(user), lotsArg).Query(eachRow(scanPointsLot, func(l points.Lot) { h.Lots = append(h.Lots, l) }))
		if opID != uuid.Nil {
			b.Queue(s.q.op, [16]byte(opID)).Query(eachRow(scanPointsOp, func(o points.Op) { stored = &o }))
		}
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		h.User = user
		w, err := decide(&h, stored, found)
		if err != nil || w == nil {
			business = err
			return nil // rolls back
		}
		queueCommit(w)
		return conn.SendBatch(ctx, w).Close()
	})
	if err != nil {
		return err
	}
	return business
}

// Record implements points.Store (points.Holder.Record under the user's
// row lock).
//
// Errors: points.ErrInvalidOp, ErrOpConflict, ErrInsufficientPoints,
// ErrOverflow, and the infrastructure errors of this package.
func (s *PointsStore) Record(ctx context.Context, op points.Op, now time.Time) (points.Op, bool, error) {
	if err := op.Validate(); err != nil {
		return points.Op{}, false, err
	}
	var out points.Op
	var existing bool
	err := s.locked(ctx, "record points", op.User, true, s.q.liveLots, int32(op.Month), op.ID,
		func(h *points.Holder, stored *points.Op, _ bool) (*pgx.Batch, error) {
			if stored != nil {
				if err := points.SameRequest(&op, stored); err != nil {
					return nil, err
				}
				out, existing = *stored, true
				return nil, nil
			}
			rec := op
			rec.Takes = nil
			if err := h.Record(&rec, now); err != nil {
				return nil, err
			}
			out, existing = rec, false
			w := &pgx.Batch{}
			w.Queue(s.q.writeHolder, [16]byte(h.User), h.Earned, h.Spent, h.Expired).Exec(expectRows(1))
			s.queueLots(w, h)
			w.Queue(s.q.insertOp, opArgs(&rec)...).Exec(expectRows(1))
			return w, nil
		})
	if err != nil {
		return points.Op{}, false, err
	}
	return out, existing, nil
}

// Post implements points.Store (points.Holder.Post).
//
// Errors: points.ErrOpNotFound, ErrOpResolved, and the infrastructure
// errors of this package.
func (s *PointsStore) Post(ctx context.Context, user, id uuid.UUID) (points.Op, error) {
	return s.resolve(ctx, "post points", user, id, (*points.Holder).Post)
}

// Fail implements points.Store (points.Holder.Fail).
//
// Errors: points.ErrOpNotFound, ErrOpResolved, and the infrastructure
// errors of this package.
func (s *PointsStore) Fail(ctx context.Context, user, id uuid.UUID) (points.Op, error) {
	return s.resolve(ctx, "fail points", user, id, (*points.Holder).Fail)
}

func (s *PointsStore) resolve(ctx context.Context, what string, user, id uuid.UUID, f func(*points.Holder, *points.Op) (bool, error)) (points.Op, error) {
	var out points.Op
	err := s.locked(ctx, what, user, false, s.q.opLots, [16]byte(id), id,
		func(h *points.Holder, stored *points.Op, found bool) (*pgx.Batch, error) {
			if !found || stored == nil || stored.User != user {
				return nil, fmt.Errorf("op %s of user %s: %w", id, user, points.ErrOpNotFound)
			}
			op := *stored
			changed, err := f(h, &op)
			if err != nil {
				return nil, err
			}
			out = op
			if !changed {
				return nil, nil
			}
			w := &pgx.Batch{}
			w.Queue(s.q.writeHolder, [16]byte(h.User), h.Earned, h.Spent, h.Expired).Exec(expectRows(1))
			s.queueLots(w, h)
			w.Queue(s.q.setStatus, [16]byte(op.ID), int16(op.Status)).Exec(expectRows(1))
			return w, nil
		})
	if err != nil {
		return points.Op{}, err
	}
	return out, nil
}

// Expire implements points.Store (points.Holder.Expire under the user's
// row lock).
//
// Errors: points.ErrInvalidOp, ErrOverflow, and the infrastructure errors
// of this package.
func (s *PointsStore) Expire(ctx context.Context, user uuid.UUID, m points.Month, now time.Time, req points.ExpireRequest) (points.Op, bool, error) {
	var out points.Op
	var ok bool
	err := s.locked(ctx, "expire points", user, false, s.q.liveLots, int32(m), uuid.Nil,
		func(h *points.Holder, _ *points.Op, found bool) (*pgx.Batch, error) {
			if !found {
				return nil, nil
			}
			op, due, err := h.Expire(m, now, req)
			if err != nil || !due {
				return nil, err
			}
			out, ok = op, true
			w := &pgx.Batch{}
			w.Queue(s.q.writeHolder, [16]byte(h.User), h.Earned, h.Spent, h.Expired).Exec(expectRows(1))
			s.queueLots(w, h)
			w.Queue(s.q.insertOp, opArgs(&op)...).Exec(expectRows(1))
			return w, nil
		})
	if err != nil || !ok {
		return points.Op{}, false, err
	}
	return out, true, nil
}

// Op implements points.Store.
//
// Errors: points.ErrOpNotFound, and the infrastructure errors of this
// package.
func (s *PointsStore) Op(ctx context.Context, id uuid.UUID) (points.Op, error) {
	o, found, err := queryOne(ctx, s.db, "points op", s.q.op, scanPointsOp, [16]byte(id))
	if err == nil && !found {
		err = fmt.Errorf("op %s: %w", id, points.ErrOpNotFound)
	}
	return o, err
}

// Holder implements points.Store.
//
// Errors: the infrastructure errors of this package.
func (s *PointsStore) Holder(ctx context.Context, user uuid.UUID) (points.Holder, error) {
	var h points.Holder
	err := s.db.run(ctx, "points holder", func(ctx context.Context, conn *pgx.Conn) error {
		h = points.Holder{User: user}
		b := &pgx.Batch{}
		b.Queue(s.q.getHolder, [16]byte(user)).Query(eachRow(scanPointsHolder, func(v points.Holder) { h = v }))
		b.Queue(s.q.liveLots, [16]byte(user), int32(-1)).Query(eachRow(scanPointsLot, func(l points.Lot) {
			if l.Remaining > 0 || l.Pending > 0 {
				h.Lots = append(h.Lots, l)
			}
		}))
		return conn.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return points.Holder{}, err
	}
	h.User = user
	return h, nil
}

// Due implements points.Store.
//
// Errors: the infrastructure errors of this package.
func (s *PointsStore) Due(ctx context.Context, now time.Time, after points.LotCursor, limit int) ([]points.Lot, error) {
	at, user := cursorArgs(after.ExpiresAt, after.User)
	return queryAll(ctx, s.db, "due points lots", s.q.due, scanPointsLot, now, at, user, int32(after.Month), limit)
}

// Pending implements points.Store.
//
// Errors: the infrastructure errors of this package.
func (s *PointsStore) Pending(ctx context.Context, after points.OpCursor, limit int) ([]points.Op, error) {
	at, id := cursorArgs(after.CreatedAt, after.ID)
	return queryAll(ctx, s.db, "pending points ops", s.q.pending, scanPointsOp, at, id, limit)
}

// SetRate implements points.Store (points.CheckNewRate against the
// stored version and the latest).
//
// Errors: points.ErrInvalidRate, ErrRateConflict, and the infrastructure
// errors of this package.
func (s *PointsStore) SetRate(ctx context.Context, r points.Rate) (points.Rate, bool, error) {
	if err := r.Validate(); err != nil {
		return points.Rate{}, false, err
	}
	if !ledger.StorableText(r.Name) {
		return points.Rate{}, false, fmt.Errorf("%w: name %q", points.ErrInvalidRate, r.Name)
	}
	var out points.Rate
	var existing bool
	var business error
	err := s.db.run(ctx, "set points rate", func(ctx context.Context, conn *pgx.Conn) error {
		business = nil
		var stored *points.Rate
		latest := 0
		rows, err := conn.Query(ctx, s.q.rateCheck, r.Name, int32(r.Version))
		if err != nil {
			return err
		}
		rates, err := pgx.CollectRows(rows, scanPointsRate)
		if err != nil {
			return err
		}
		for _, v := range rates {
			if v.Version == r.Version {
				stored = &v
			}
			latest = max(latest, v.Version)
		}
		ex, err := points.CheckNewRate(r, stored, latest)
		switch {
		case err != nil:
			business = err
			return nil
		case ex:
			out, existing = *stored, true
			return nil
		}
		ct, err := conn.Exec(ctx, s.q.insertRate, r.Name, int32(r.Version), r.From, r.To, r.SetAt)
		if err != nil {
			return err
		}
		out = r
		return insertedOrRerun(ct) // a concurrent setter inserted it: decide again
	})
	if err != nil {
		return points.Rate{}, false, err
	}
	return out, existing, business
}

// Rate implements points.Store.
//
// Errors: points.ErrNoRate, and the infrastructure errors of this package.
func (s *PointsStore) Rate(ctx context.Context, name string, version int) (points.Rate, error) {
	q, args := s.q.rateAt, []any{name, int32(version)}
	if version == 0 {
		q, args = s.q.rateLatest, []any{name}
	}
	r, found, err := queryOne(ctx, s.db, "points rate", q, scanPointsRate, args...)
	if err == nil && !found {
		err = fmt.Errorf("rate %q version %d: %w", name, version, points.ErrNoRate)
	}
	return r, err
}

// PaysOn implements points.PostingStore: RecordPosted writes to a ledger
// LedgerStore of this package on the same database and schema (the same pool and
// Schema).
func (s *PointsStore) PaysOn(ls ledger.Store) bool {
	st, ok := ls.(*LedgerStore)
	return ok && st.db.pool == s.db.pool && st.db.schema == s.db.schema
}

// RecordPosted implements points.PostingStore: Record and the linked
// transfers in one transaction, three round trips and one commit (see
// PointsStore). Concurrent calls are gathered into one transaction (group
// commit, as ledger.GroupCommit does for transfers):
//
//  1. it begins, inserts the rows of users it has not seen, locks the
//     users' rows (in ID order), and reads their lots with points, the
//     lots the operations credit, and the operations of the calls' IDs;
//  2. points.Holder.Record decides each call in arrival order (a call
//     whose operation exists, or was recorded by an earlier call of the
//     batch, is answered with it), and the accounts of every call's
//     transfers are locked (in ID order, as the LedgerStore locks them)
//     with the transfers of their IDs loaded;
//  3. ledger.ApplyBatch decides the recorded calls' transfers. If it
//     refuses one, the users go back to the state read under the lock and
//     the batch is decided again without that call, which gets the
//     refusal (nothing recorded), until none is refused; then
//     points.Holder.Post marks each operation posted, and one round trip
//     writes the users, lots and operations, the ledger's rows, and
//     commits.
//
// Errors: those of Record; the ledger's refusal (a *ledger.TransferError
// wrapping its reason, Index within the call's transfers), with nothing
// recorded; and the infrastructure errors of this package, after which the
// operation may or may not be recorded and posted.
func (s *PointsStore) RecordPosted(ctx context.Context, op points.Op, now, postAt time.Time, ts []ledger.Transfer) (points.Op, bool, error) {
	if err := op.Validate(); err != nil {
		return points.Op{}, false, err
	}
	if len(ts) == 0 {
		return points.Op{}, false, fmt.Errorf("%w: op %s without transfers", points.ErrInvalidOp, op.ID)
	}
	for i := range ts {
		if err := ledger.ValidateTransfer(&ts[i]); err != nil {
			return points.Op{}, false, &ledger.TransferError{Index: i, ID: ts[i].ID, Err: err}
		}
	}
	r, err := s.posted.Do(ctx, postCall{op: op, now: now, postAt: postAt, ts: ts})
	if err != nil {
		return points.Op{}, false, err
	}
	return r.op, r.existing, nil
}

type postCall struct {
	op          points.Op
	now, postAt time.Time
	ts          []ledger.Transfer
}

type postResult struct {
	op       points.Op
	existing bool
}

func cloneHolders(hs map[uuid.UUID]*points.Holder) map[uuid.UUID]*points.Holder {
	out := make(map[uuid.UUID]*points.Holder, len(hs))
	for id, h := range hs {
		c := *h
		c.Lots = append([]points.Lot(nil), h.Lots...)
		out[id] = &c
	}
	return out
}

// postBatch records and posts a batch of operations in one transaction.
func (s *PointsStore) postBatch(ctx context.Context, calls []*groupCall[postCall, postResult]) error {
	seen := map[uuid.UUID]bool{}
	var users, ids, lotUsers []uuid.UUID
	var lotMonths []int32
	var all []ledger.Transfer
	var postAt time.Time
	for _, c := range calls {
		if !seen[c.Req.op.User] {
			seen[c.Req.op.User] = true
			users = append(users, c.Req.op.User)
		}
		ids = append(ids, c.Req.op.ID)
		lotUsers, lotMonths = append(lotUsers, c.Req.op.User), append(lotMonths, int32(c.Req.op.Month))
		all = append(all, c.Req.ts...)
		if c.Req.postAt.After(postAt) {
			postAt = c.Req.postAt
		}
	}
	slices.SortFunc(users, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	lk := lockKeysOf(all)
	return s.db.run(ctx, "record and post points", func(ctx context.Context, conn *pgx.Conn) error {
		locked := map[uuid.UUID]*points.Holder{}
		stored := map[uuid.UUID]points.Op{}
		b := txBatch()
		b.Queue(s.q.ensureMany, uuids(users))
		b.Queue(s.q.lockMany, uuids(users)).Query(eachRow(scanPointsHolder, func(h points.Holder) { locked[h.User] = &h }))
		b.Queue(s.q.lotsOfMany, uuids(users), uuids(lotUsers), lotMonths).Query(eachRow(scanPointsLot, func(l points.Lot) {
			if h := locked[l.User]; h != nil {
				h.Lots = append(h.Lots, l)
			}
		}))
		b.Queue(s.q.opsMany, uuids(ids)).Query(eachRow(scanPointsOp, func(o points.Op) { stored[o.ID] = o }))
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		for _, u := range users {
			if locked[u] == nil {
				return fmt.Errorf("%w: points holder %s neither inserted nor found", ErrIntegrity, u)
			}
		}
		refused := make([]error, len(calls))
		var v *view
		for {
			holders := cloneHolders(locked)
			var recs []points.Op
			var owner []int              // the call of each recorded operation
			var ts []ledger.Transfer     // the recorded operations' transfers
			var tsOf, tsAt []int         // each transfer's operation and index within its call
			first := map[uuid.UUID]int{} // operations recorded in this batch, by ID
			later := map[int]int{}       // calls answered with an operation an earlier call recorded
			for i, c := range calls {
				c.Res, c.Err = postResult{}, refused[i]
				if c.Err != nil {
					continue
				}
				op := c.Req.op
				if st, ok := stored[op.ID]; ok {
					if c.Err = points.SameRequest(&op, &st); c.Err == nil {
						c.Res = postResult{op: st, existing: true}
					}
					continue
				}
				if j, ok := first[op.ID]; ok {
					if c.Err = points.SameRequest(&op, &recs[j]); c.Err == nil {
						later[i] = j
					}
					continue
				}
				op.Takes = nil
				if c.Err = holders[op.User].Record(&op, c.Req.now); c.Err != nil {
					continue
				}
				first[op.ID] = len(recs)
				for k, t := range c.Req.ts {
					ts, tsOf, tsAt = append(ts, t), append(tsOf, len(recs)), append(tsAt, k)
				}
				recs, owner = append(recs, op), append(owner, i)
			}
			if len(recs) == 0 {
				return nil // nothing to record; the transaction rolls back
			}
			if v == nil {
				var err error
				if v, err = s.ledger.lock(ctx, conn, &pgx.Batch{}, lk); err != nil {
					return err
				}
			}
			out := ledger.ApplyBatch(v, ts, false, postAt)
			again := false
			for j, r := range out.Results {
				if r.Err == nil {
					continue
				}
				again = true
				if i := owner[tsOf[j]]; refused[i] == nil {
					refused[i] = ledger.Reindexed(r.Err, tsAt[j])
				}
			}
			if again {
				continue // decide again without the refused calls
			}
			changed := map[uuid.UUID]bool{}
			for j := range recs {
				if _, err := holders[recs[j].User].Post(&recs[j]); err != nil {
					return fmt.Errorf("%w: posting a recorded operation: %w", ErrIntegrity, err)
				}
				changed[recs[j].User] = true
				calls[owner[j]].Res = postResult{op: recs[j]}
			}
			for i, j := range later {
				calls[i].Res = postResult{op: recs[j], existing: true}
			}
			w := &pgx.Batch{}
			for _, u := range users {
				if changed[u] {
					h := holders[u]
					w.Queue(s.q.writeHolder, [16]byte(h.User), h.Earned, h.Spent, h.Expired).Exec(expectRows(1))
					s.queueLots(w, h)
				}
			}
			for j := range recs {
				w.Queue(s.q.insertOp, opArgs(&recs[j])...).Exec(expectRows(1))
			}
			if changes(&out) {
				s.ledger.queueOutcome(w, &out)
			}
			queueCommit(w)
			return conn.SendBatch(ctx, w).Close()
		}
	})
}
