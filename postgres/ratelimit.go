package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/socialpay/socialpay/transfer"
)

// LookupLimiter is transfer's anti-enumeration Limiter on PostgreSQL: the
// token buckets live in one table that every instance of the service
// shares, so a prober gets one budget however many instances (or
// restarts) its lookups reach. The bucket arithmetic is transfer.Bucket's;
// this type locks, loads and writes the states.
//
// The institution's bucket is split into InstitutionShards rows, each with
// its share of the capacity and refill, and a payer draws on the row its
// ID hashes to, so that lookups of different payers rarely queue on one
// row. Time is the RateConfig's clock (time.Now by default) in nanoseconds
// since the Unix epoch: instances' clocks should agree to well within a
// refill interval (NTP does).
//
// ChargeLookup records its charge ID in table lookup_charges in the same
// transaction, first: a concurrent duplicate's insert waits for it and
// then finds the charge (and takes nothing), or finds it gone with a
// refused lookup's rollback and is decided afresh.
//
// Each step (ChargeLookup, PaymentSettled) is one transaction of two
// round trips that commits with synchronous_commit off: it does not wait
// for its WAL flush, which would otherwise cost as much as the payment
// itself, twice per paid lookup. Bucket state is not money,
// and nothing else changes: the rows are locked and read committed as
// before, a step's update is visible to every instance the moment it
// commits, and any later synchronous commit on the server (a payment's)
// flushes it with its own WAL. Only a server crash can lose the updates
// committed after the last flush, at most wal_writer_delay (200 ms by
// default) of them; a prober gains at most the lookups those took.
type LookupLimiter struct {
	db           *DB
	cfg          transfer.RateConfig
	payer, inst  transfer.Bucket
	shards       int
	insert, lock string
	update       string
	lockOne      string // the payer's row alone, for a payment's refund (payerRefund)
	updateOne    string
	charge       string
	prune        string
	pruneCharges string
}

var _ transfer.Limiter = (*LookupLimiter)(nil)

// InstitutionShards is how many rows the institution's bucket is split
// into.
const InstitutionShards = 16

// NewLookupLimiter returns a limiter on db's schema with cfg (see
// transfer.DefaultRateConfig). The institution's capacity must be at least
// InstitutionShards × NotFoundCost (each row holds its share).
//
// Errors: transfer.ErrInvalidRateConfig.
func NewLookupLimiter(db *DB, cfg transfer.RateConfig) (*LookupLimiter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	shard := transfer.BucketConfig{
		Capacity: cfg.Institution.Capacity / InstitutionShards,
		Interval: cfg.Institution.Interval * InstitutionShards,
	}
	if shard.Capacity < cfg.NotFoundCost {
		return nil, fmt.Errorf("%w: institution capacity %d split over %d rows is below the not-found cost %d",
			transfer.ErrInvalidRateConfig, cfg.Institution.Capacity, InstitutionShards, cfg.NotFoundCost)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &LookupLimiter{
		db: db, cfg: cfg, payer: transfer.NewBucket(cfg.Payer), inst: transfer.NewBucket(shard), shards: InstitutionShards,
		// The payer's row before its institution shard's ('p:' sorts after
		// 'i:'): a step waiting for a payer's row (held by that payer's
		// payment, PhoneTransferStore.RefundsOn) holds no shard that other
		// payers' lookups need.
		insert: db.qualify(`insert into $S.lookup_buckets (key, empty_at)
			select * from unnest($1::text[], $2::int8[]) order by 1 desc on conflict (key) do nothing`),
		lock: db.qualify(`select key, empty_at from $S.lookup_buckets where key = any($1) order by key desc for update`),
		update: db.qualify(`update $S.lookup_buckets b set empty_at = u.empty_at
			from unnest($1::text[], $2::int8[]) as u(key, empty_at) where b.key = u.key`),
		lockOne:   db.qualify(`select empty_at from $S.lookup_buckets where key = $1 for update`),
		updateOne: db.qualify(`update $S.lookup_buckets set empty_at = $2 where key = $1`),
		// A charge seen within ChargeTTL stays: no row comes back.
		charge: db.qualify(`insert into $S.lookup_charges (id, charged_at) values ($1, $2)
			on conflict (id) do update set charged_at = excluded.charged_at
			where lookup_charges.charged_at <= $3 returning id`),
		prune:        db.qualify(`delete from $S.lookup_buckets where key like 'p:%' and empty_at <= $1`),
		pruneCharges: db.qualify(`delete from $S.lookup_charges where charged_at <= $1`),
	}, nil
}

func (l *LookupLimiter) now() int64 { return l.cfg.Now().UnixNano() }

// keys returns the rows of payer's bucket and of its institution shard.
func (l *LookupLimiter) keys(payer uuid.UUID) (string, string, error) {
	if err := transfer.CheckPayer(payer); err != nil {
		return "", "", err
	}
	h := fnv.New32a()
	h.Write(payer[:])
	return "p:" + payer.String(), fmt.Sprintf("i:%02d", h.Sum32()%uint32(l.shards)), nil
}

// step runs fn on the states of payer's and (unless payerOnly) its
// shard's buckets, locked, and writes what it returns, in one transaction
// committed asynchronously (see LookupLimiter): two round trips. With
// payerOnly, fn gets nil for the shard's state. With a charge ID, the
// transaction first records the charge; if it was charged within
// transfer.ChargeTTL, step returns dup = true and writes nothing.
func (l *LookupLimiter) step(ctx context.Context, op string, payer, charge uuid.UUID, payerOnly bool, fn func(now int64, p, i *int64) error) (dup bool, _ error) {
	pk, ik, err := l.keys(payer)
	if err != nil {
		return false, err
	}
	keys := []string{pk, ik}
	if payerOnly {
		keys = keys[:1]
	}
	var refused error
	err = l.db.run(ctx, op, func(ctx context.Context, conn *pgx.Conn) error {
		refused, dup = nil, false
		now := l.now()
		states := map[string]int64{}
		b := txBatch()
		b.Queue(asyncCommit)
		if charge != uuid.Nil {
			b.Queue(l.charge, charge, now, now-int64(transfer.ChargeTTL)).Query(func(rows pgx.Rows) error {
				dup = !rows.Next()
				rows.Close()
				return rows.Err()
			})
		}
		// A Prune on another instance may delete a full bucket's row
		// between the insert (which takes no lock on a row that exists)
		// and the lock: then insert it again, full as it was.
		for try := 0; ; try++ {
			clear(states)
			b.Queue(l.insert, keys, []int64{l.payer.Full(now), l.inst.Full(now)}[:len(keys)])
			b.Queue(l.lock, keys).Query(func(rows pgx.Rows) error {
				var k string
				var e int64
				_, err := pgx.ForEachRow(rows, []any{&k, &e}, func() error { states[k] = e; return nil })
				return err
			})
			if err := conn.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
			if dup {
				return nil // the duplicate's transaction rolls back
			}
			if len(states) == len(keys) {
				break
			}
			if try == maxPruneRaces {
				return fmt.Errorf("%w: lookup bucket rows missing after insert", ErrIntegrity)
			}
			b = &pgx.Batch{}
		}
		p, i := states[pk], states[ik]
		ip := &i
		if payerOnly {
			ip = nil
		}
		if refused = fn(now, &p, ip); refused != nil {
			return nil // nothing to write; the transaction rolls back
		}
		w := &pgx.Batch{}
		w.Queue(l.update, keys, []int64{p, i}[:len(keys)])
		queueCommit(w)
		return conn.SendBatch(ctx, w).Close()
	})
	if err != nil {
		return false, err
	}
	return dup, refused
}

// ChargeLookup implements transfer.Limiter.
//
// Errors: a *transfer.RateLimitError (transfer.ErrRateLimited),
// transfer.CheckPayer's errors, and the infrastructure errors of this
// package.
func (l *LookupLimiter) ChargeLookup(ctx context.Context, payer, charge uuid.UUID, found bool) (charged bool, err error) {
	admit, cost := l.cfg.NotFoundCost, l.cfg.LookupCost(found)
	dup, err := l.step(ctx, "charge lookup", payer, charge, false, func(now int64, p, i *int64) error {
		np, ok, wait := l.payer.Charge(*p, now, admit, cost)
		if !ok {
			return &transfer.RateLimitError{Scope: transfer.ScopePayer, RetryAfter: wait}
		}
		ni, ok, wait := l.inst.Charge(*i, now, admit, cost)
		if !ok {
			return &transfer.RateLimitError{Scope: transfer.ScopeInstitution, RetryAfter: wait}
		}
		*p, *i = np, ni
		return nil
	})
	return err == nil && !dup, err
}

// PaymentSettled implements transfer.Limiter.
//
// Errors: transfer.CheckPayer's errors, and the infrastructure errors of
// this package.
func (l *LookupLimiter) PaymentSettled(ctx context.Context, payer uuid.UUID) error {
	// The institution's bucket gets nothing back: its row is not locked.
	_, err := l.step(ctx, "payment settled", payer, uuid.Nil, true, func(now int64, p, _ *int64) error {
		*p = l.cfg.Refunded(*p, now)
		return nil
	})
	return err
}

// payerRefund is a payer's bucket in a PhoneTransferStore's payment step
// (PhoneTransferStore.RefundsOn): locked in the step's first round trip,
// after the step's other locks, and given the settled payment's refund
// (transfer.RateConfig.Refunded) in its second, when the payment settles.
type payerRefund struct {
	l     *LookupLimiter
	key   string
	state int64
	found bool // a missing row is a full bucket, which a refund leaves full
}

// lockPayer queues into b the lock of payer's bucket row, for a refund in
// the same transaction; nil when the config refunds nothing.
func (l *LookupLimiter) lockPayer(b *pgx.Batch, payer uuid.UUID) (*payerRefund, error) {
	if l.cfg.SettledRefund == 0 {
		return nil, nil
	}
	pk, _, err := l.keys(payer)
	if err != nil {
		return nil, err
	}
	r := &payerRefund{l: l, key: pk}
	b.Queue(l.lockOne, pk).Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&r.state}, func() error { r.found = true; return nil })
		return err
	})
	return r, nil
}

// queueGive queues into w the write of the refund, if the bucket is not
// full; r may be nil (nothing to give).
func (r *payerRefund) queueGive(w *pgx.Batch) {
	if r == nil || !r.found {
		return
	}
	w.Queue(r.l.updateOne, r.key, r.l.cfg.Refunded(r.state, r.l.now())).Exec(expectRows(1))
}

// maxPruneRaces is how many times in a row a step inserts its rows again
// after a concurrent Prune deleted them, before it gives up.
const maxPruneRaces = 10

// asyncCommit makes the transaction it is queued in commit without
// waiting for its WAL flush (see LookupLimiter); it ends with the
// transaction.
const asyncCommit = "set local synchronous_commit to off"

// Prune deletes the rows of payers whose buckets have refilled (a missing
// row is a full bucket), and the charges older than transfer.ChargeTTL,
// and returns how many bucket rows it deleted. Run it now and then from
// any instance.
//
// Errors: the infrastructure errors of this package.
func (l *LookupLimiter) Prune(ctx context.Context) (int64, error) {
	now := l.now()
	if _, err := l.db.exec(ctx, "prune lookup charges", l.pruneCharges, now-int64(transfer.ChargeTTL)); err != nil {
		return 0, err
	}
	// Full at now: empty at or before now − span.
	return l.db.exec(ctx, "prune lookup buckets", l.prune, l.payer.Full(now))
}
