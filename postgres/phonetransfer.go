package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/transfer"
)

// PhoneTransferStore keeps package transfer's records in PostgreSQL: the
// transfer records, each payer's running daily totals and the payees each
// payer has settled with. It is a transfer.Store that passes
// transfertest.Run, safe for concurrent use by many goroutines and many
// processes.
//
// A creation and a transition are each one transaction of two round
// trips. The first begins and locks the payer's row of the day in
// transfer_daily_totals (creating it if needed), then reads what the
// rules need: for a creation the record with the same ID, the record that
// used the lookup token and whether the payer has settled with the payee;
// for a transition the record itself, locked after the day's row (one lock
// order for every writer). transfer.DecideCreate or
// transfer.ApplyTransition decides against exactly those rows; the second
// round trip writes the record, the total and the settled pair, and
// commits. A payer's transfers of one day therefore queue on one row and
// the daily cap holds to the unit; payers never wait for each other.
// Attempt (transfer.ApplyAttempt: counting the attempts at a record's
// ledger transfer in and out) locks the record's row alone, the last lock
// of a transition, so the two never wait on each other in a cycle.
//
// With the ledger on the same database and schema (PaysOn), it is a
// transfer.PayingStore: CreatePaid and ResolvePaid add the ledger's
// account locks after the record's (in the first round trip) and its
// writes to the second, so that a payment, or a hold's post or void, and
// its record commit together: one commit per payment. With a
// LookupLimiter on the same schema (RefundsOn), a settlement's lookup
// refund is in that transaction too.
//
// Business outcomes are transfer's sentinels; this package's errors
// (ErrUnavailable, ErrRetriesExhausted, ErrIntegrity, context errors)
// mean the database could not do its part. Times are kept to the
// microsecond.
type PhoneTransferStore struct {
	db     *DB
	ledger *LedgerStore // the ledger on db: CreatePaid's transfers
	q      phoneQueries
}

var (
	_ transfer.Store       = (*PhoneTransferStore)(nil)
	_ transfer.PayingStore = (*PhoneTransferStore)(nil)
)

// NewPhoneTransferStore returns the transfer record store on db.
func NewPhoneTransferStore(db *DB) *PhoneTransferStore {
	return &PhoneTransferStore{db: db, ledger: NewLedgerStore(db), q: newPhoneQueries(db)}
}

// PhoneDirectory keeps package transfer's bindings of numbers in
// PostgreSQL: a transfer.Directory that passes transfertest.Run. A bind or
// unbind locks the number's row (SELECT … FOR UPDATE), lets
// transfer.DecideBind or DecideUnbind decide, and writes; binding a free
// number inserts with ON CONFLICT DO NOTHING, so of concurrent first binds
// one inserts and the others decide again against its binding.
type PhoneDirectory struct {
	db *DB
	q  phoneQueries
}

var _ transfer.Directory = (*PhoneDirectory)(nil)

// NewPhoneDirectory returns the directory on db.
func NewPhoneDirectory(db *DB) *PhoneDirectory {
	return &PhoneDirectory{db: db, q: newPhoneQueries(db)}
}

type phoneQueries struct {
	ensureTotal, lockTotal, record, lookupUsedBy, settledBefore, insertRecord, addTotal string
	lockForTransition, lockRecord, updateRecord, insertPayee, total                     string
	scanCreated, scanReleases, scanChats, scanAll, updateAttempts                       string
	binding, lockBinding, insertBinding, updateBinding, deleteBinding                   string
}

const recordCols = `id, idempotency_key, request_hash, payer, from_account, payee_phone, payee_institution,
	payee_holder, payee_account, payee_masked, currency, amount, arrival, memo, coalesce(lookup_id, ` + nilUUID + `),
	refund, day, first_payee, state, reason, created_at, due_at, resolved_at, attempts`

const bindingCols = `phone, holder, account, name, masked_name, verified_at, bound_at, updated_at`

func newPhoneQueries(db *DB) phoneQueries {
	// scan pages an index by (time, id) after a cursor ($1, $2; NULL time:
	// from the start), up to $3 inclusive, $4 rows; the predicates match
	// the partial indexes of the migration.
	scan := func(col, where string) string {
		return `select ` + recordCols + ` from $S.transfer_records where ` + where + `
			and ` + afterCursor(col, 1) + ` and ` + col + ` <= $3` + orderPage(col, 4)
	}
	q := db.qualify
	return phoneQueries{
		ensureTotal: q(`insert into $S.transfer_daily_totals (payer, day, currency, total) values ($1, $2, $3, 0)
			on conflict do nothing`),
		lockTotal:     q(`select total from $S.transfer_daily_totals where payer = $1 and day = $2 and currency = $3 for update`),
		record:        q(`select ` + recordCols + ` from $S.transfer_records where id = $1`),
		lookupUsedBy:  q(`select id from $S.transfer_records where lookup_id = $1`),
		settledBefore: q(`select exists (select 1 from $S.transfer_payees where payer = $1 and institution = $2 and holder = $3)`),
		insertRecord: q(`insert into $S.transfer_records (id, idempotency_key, request_hash, payer, from_account, payee_phone,
				payee_institution, payee_holder, payee_account, payee_masked, currency, amount, arrival, memo, lookup_id,
				refund, day, first_payee, state, reason, created_at, due_at, resolved_at, attempts)
			values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, nullif($15, ` + nilUUID + `),
				$16, $17, $18, $22, $23, $19, $20, $24, $21)
			on conflict (id) do nothing`),
		addTotal: q(`update $S.transfer_daily_totals set total = total + $4 where payer = $1 and day = $2 and currency = $3`),
		// The day's row first, then the record: the lock order of Create.
		lockForTransition: q(`select total from $S.transfer_daily_totals
			where (payer, day, currency) = (select payer, day, currency from $S.transfer_records where id = $1) for update`),
		lockRecord: q(`select ` + recordCols + ` from $S.transfer_records where id = $1 for update`),
		updateRecord: q(`update $S.transfer_records set state = $2, reason = $3, resolved_at = $4, attempts = $5
			where id = $1 and state = $6`),
		updateAttempts: q(`update $S.transfer_records set attempts = $2 where id = $1 and state = $3`),
		insertPayee: q(`insert into $S.transfer_payees (payer, institution, holder, since) values ($1, $2, $3, $4)
			on conflict do nothing`),
		total:         q(`select total from $S.transfer_daily_totals where payer = $1 and day = $2 and currency = $3`),
		scanCreated:   q(scan("created_at", "state in ("+sqlInts(transfer.StatePending, transfer.StateFailing)+")")),
		scanReleases:  q(scan("due_at", "state = "+sqlInts(transfer.StatePending)+" and arrival in ("+sqlInts(transfer.Arrive2h, transfer.Arrive24h)+")")),
		scanChats:     q(scan("due_at", "state = "+sqlInts(transfer.StatePending)+" and arrival = "+sqlInts(transfer.ArriveOnAccept))),
		scanAll:       q(scan("created_at", "true")),
		binding:       q(`select ` + bindingCols + ` from $S.transfer_bindings where phone = $1`),
		lockBinding:   q(`select ` + bindingCols + ` from $S.transfer_bindings where phone = $1 for update`),
		insertBinding: q(`insert into $S.transfer_bindings (` + bindingCols + `) values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict do nothing`),
		updateBinding: q(`update $S.transfer_bindings set holder = $2, account = $3, name = $4, masked_name = $5,
			verified_at = $6, bound_at = $7, updated_at = $8 where phone = $1`),
		deleteBinding: q(`delete from $S.transfer_bindings where phone = $1`),
	}
}

// recordRow receives the columns recordCols lists.
type recordRow struct {
	id, payer, from, holder, payeeAccount, lookup      [16]byte
	key, phone, institution, masked, cur, memo, reason string
	hash                                               []byte
	amount                                             int64
	arrival, state                                     int16
	attempts                                           int32
	refund, first                                      bool
	day, createdAt, dueAt                              time.Time
	resolvedAt                                         *time.Time
}

func (r *recordRow) dest() []any {
	return []any{&r.id, &r.key, &r.hash, &r.payer, &r.from, &r.phone, &r.institution, &r.holder, &r.payeeAccount,
		&r.masked, &r.cur, &r.amount, &r.arrival, &r.memo, &r.lookup, &r.refund, &r.day, &r.first, &r.state, &r.reason,
		&r.createdAt, &r.dueAt, &r.resolvedAt, &r.attempts}
}

func (r *recordRow) record() (transfer.Record, error) {
	amount, err := money(r.amount, r.cur)
	if err != nil {
		return transfer.Record{}, err
	}
	if len(r.hash) != 32 {
		return transfer.Record{}, fmt.Errorf("%w: transfer record %x: request hash of %d bytes", ErrIntegrity, r.id, len(r.hash))
	}
	rec := transfer.Record{
		ID: r.id, Key: r.key, Payer: r.payer, From: r.from,
		Payee: transfer.RecordPayee{Phone: transfer.Phone(r.phone), Institution: r.institution, Holder: r.holder,
			Account: r.payeeAccount, MaskedName: r.masked},
		Amount: amount, Arrival: transfer.Arrival(r.arrival), Memo: r.memo, LookupID: r.lookup,
		Refund: r.refund, Day: dayOf(r.day), FirstPayee: r.first, State: transfer.State(r.state), Reason: r.reason,
		CreatedAt: utc(r.createdAt), DueAt: utc(r.dueAt), ResolvedAt: utcOrZero(r.resolvedAt), Attempts: r.attempts,
	}
	copy(rec.RequestHash[:], r.hash)
	return rec, nil
}

func scanRecord(row pgx.CollectableRow) (transfer.Record, error) {
	var r recordRow
	if err := row.Scan(r.dest()...); err != nil {
		return transfer.Record{}, err
	}
	return r.record()
}

// dayOf reads a date column (midnight UTC) as a transfer.Day.
func dayOf(t time.Time) transfer.Day { return transfer.Day(t.Unix() / 86400) }

func recordNotFound(id uuid.UUID) error { return fmt.Errorf("%w: %s", transfer.ErrRecordNotFound, id) }

// storableRecord reports a key no record can have, or the first text
// field of r that PostgreSQL text cannot hold exactly.
func storableRecord(r *transfer.Record) error {
	if err := ledger.CheckKey(r.Key); err != nil {
		// Never storable: ValidateRecord refuses it.
		return fmt.Errorf("%w %s: %w", transfer.ErrInvalidRecord, r.ID, err)
	}
	for _, f := range []struct{ name, s string }{
		{"payee phone", string(r.Payee.Phone)}, {"payee institution", r.Payee.Institution},
		{"masked name", r.Payee.MaskedName}, {"memo", r.Memo},
	} {
		if !ledger.StorableText(f.s) {
			return fmt.Errorf("%w %s: %s PostgreSQL text cannot hold", transfer.ErrInvalidRecord, r.ID, f.name)
		}
	}
	return nil
}

// Create implements transfer.Store.
//
// Errors: transfer.ErrInvalidRecord (also for text PostgreSQL cannot
// hold), ErrIdempotencyConflict, ErrLookupUsed, ErrInvalidLimits,
// ErrCurrencyMismatch, a *transfer.LimitError, and the infrastructure
// errors of this package.
func (s *PhoneTransferStore) Create(ctx context.Context, rec transfer.Record, limits transfer.Limits) (transfer.Record, bool, error) {
	return s.create(ctx, "create transfer record", rec, limits, nil, nil, time.Time{})
}

// PaysOn implements transfer.PayingStore: CreatePaid pays on a
// LedgerStore of this package on the same database and schema as s (the
// same pool and Schema), so that a record and its ledger transfer share
// one transaction.
func (s *PhoneTransferStore) PaysOn(ls ledger.Store) bool {
	st, ok := ls.(*LedgerStore)
	return ok && st.db.pool == s.db.pool && st.db.schema == s.db.schema
}

// CreatePaid implements transfer.PayingStore: Create and the record's
// ledger transfer in one transaction, two round trips and one commit.
//
//  1. It begins, locks the payer's row of the day, reads what
//     transfer.DecideCreate needs (as Create), and — in the same round
//     trip — locks the two accounts of pay in ID order and loads the
//     transfer of its ID, as the LedgerStore does;
//  2. DecideCreate decides; a new record's transfer is decided by
//     ledger.ApplyBatch at the ledger's time now, and the record by
//     transfer.ApplyPaid with the ledger's answer (settled, pending with
//     its hold, or failed with nothing moved); one round trip inserts the
//     record, adds to the daily total, records the settled pair, writes
//     the ledger's rows and commits.
//
// Locks are taken the day's row first, then accounts, and no transaction
// takes them the other way round (the ledger's lock accounts only), so
// payments queue and never deadlock. A duplicate or a refused creation
// rolls back, its account locks held for no longer than the round trip.
//
// Errors: those of Create; the ledger's refusal when it is no failure
// (see transfer.FailureCode; a *ledger.TransferError), with nothing
// stored; and the infrastructure errors of this package, after which the
// record and its transfer may or may not be stored, together.
func (s *PhoneTransferStore) CreatePaid(ctx context.Context, rec transfer.Record, limits transfer.Limits, pay ledger.Transfer, refund transfer.Limiter, now time.Time) (transfer.Record, bool, error) {
	if err := ledger.ValidateTransfer(&pay); err != nil {
		return transfer.Record{}, false, &ledger.TransferError{ID: pay.ID, Err: err}
	}
	// A hold (a pending transfer) settles later, in ResolvePaid: no
	// refund now, so the payer's bucket row is not locked.
	return s.create(ctx, "create and pay transfer record", rec, limits, []ledger.Transfer{pay},
		s.refunder(refund, rec.Refund && pay.Kind != ledger.KindPending), now)
}

// RefundsOn implements transfer.PayingStore: CreatePaid and ResolvePaid
// give a settled payment's lookup refund to a LookupLimiter's buckets on
// the same database and schema in their own transaction, locking the
// payer's bucket row after their other locks (the limiter's own steps
// lock bucket rows alone). It spares the payment the limiter's own
// transaction (PaymentSettled).
func (s *PhoneTransferStore) RefundsOn(lim transfer.Limiter) bool {
	l, ok := lim.(*LookupLimiter)
	return ok && l.db.pool == s.db.pool && l.db.schema == s.db.schema
}

// refunder returns the limiter to refund on in a paying step: refund, if
// RefundsOn accepts it and the record used a lookup; nil otherwise.
func (s *PhoneTransferStore) refunder(refund transfer.Limiter, used bool) *LookupLimiter {
	if !used || !s.RefundsOn(refund) {
		return nil
	}
	return refund.(*LookupLimiter)
}

// create is Create, and CreatePaid when pay holds the record's transfer
// (and, with refund, gives a settlement's lookup refund).
func (s *PhoneTransferStore) create(ctx context.Context, op string, rec transfer.Record, limits transfer.Limits, pay []ledger.Transfer, refund *LookupLimiter, now time.Time) (transfer.Record, bool, error) {
	if err := storableRecord(&rec); err != nil {
		return transfer.Record{}, false, err
	}
	if rec.Payer == uuid.Nil || rec.Amount.Currency().IsZero() {
		// Without them the row to lock is unknown; DecideCreate says why.
		_, err := transfer.DecideCreate(&rec, transfer.CreateFacts{}, limits)
		return transfer.Record{}, false, err
	}
	day, cur := rec.Day.Date(), rec.Amount.Currency().Code()
	var keys *lockKeys
	if pay != nil {
		keys = lockKeysOf(pay)
	}
	var out transfer.Record
	var created bool
	var business error
	err := s.db.run(ctx, op, func(ctx context.Context, conn *pgx.Conn) error {
		out, created, business = transfer.Record{}, false, nil
		var facts transfer.CreateFacts
		var existing transfer.Record
		b := txBatch()
		b.Queue(s.q.ensureTotal, [16]byte(rec.Payer), day, cur)
		b.Queue(s.q.lockTotal, [16]byte(rec.Payer), day, cur).QueryRow(func(row pgx.Row) error { return row.Scan(&facts.SentToday) })
		b.Queue(s.q.record, [16]byte(rec.ID)).
			Query(eachRow(scanRecord, func(r transfer.Record) { existing, facts.Existing = r, &existing }))
		if rec.LookupID != uuid.Nil {
			b.Queue(s.q.lookupUsedBy, [16]byte(rec.LookupID)).
				Query(eachRow(pgx.RowTo[[16]byte], func(id [16]byte) { facts.LookupUsedBy = id }))
		}
		b.Queue(s.q.settledBefore, [16]byte(rec.Payer), rec.Payee.Institution, [16]byte(rec.Payee.Holder)).QueryRow(func(row pgx.Row) error {
			return row.Scan(&facts.SettledBefore)
		})
		var v *view
		var bucket *payerRefund
		if pay != nil {
			// The accounts after the day's row, and the payer's lookup
			// bucket last, in the same round trip.
			v = s.ledger.queueLock(b, keys)
			if refund != nil {
				var err error
				if bucket, err = refund.lockPayer(b, rec.Payer); err != nil {
					return err
				}
			}
		}
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if pay != nil {
			if err := keys.check(v); err != nil {
				return err
			}
		}
		r := rec
		dup, err := transfer.DecideCreate(&r, facts, limits)
		switch {
		case err != nil:
			business = err
			return nil // rolls back
		case dup:
			out = existing
			return nil
		}
		fx := transfer.TransitionEffects{DailyDelta: r.Amount.Units()}
		var res ledger.BatchOutcome
		if pay != nil {
			res = ledger.ApplyBatch(v, pay, false, now)
			if fx, err = transfer.ApplyPaid(&r, res.Results[0].Err, now); err != nil {
				business = err
				return nil // rolls back: nothing stored, nothing moved
			}
		}
		var resolved *time.Time
		if !r.ResolvedAt.IsZero() {
			resolved = &r.ResolvedAt
		}
		w := &pgx.Batch{}
		// The record may have been created concurrently under another day's
		// lock: then decide again.
		w.Queue(s.q.insertRecord, [16]byte(r.ID), r.Key, r.RequestHash[:], [16]byte(r.Payer), [16]byte(r.From),
			string(r.Payee.Phone), r.Payee.Institution, [16]byte(r.Payee.Holder), [16]byte(r.Payee.Account), r.Payee.MaskedName,
			cur, r.Amount.Units(), int16(r.Arrival), r.Memo, [16]byte(r.LookupID), r.Refund, day, r.FirstPayee,
			r.CreatedAt, r.DueAt, r.Attempts, int16(r.State), r.Reason, resolved).Exec(insertedOrRerun)
		if fx.DailyDelta != 0 {
			w.Queue(s.q.addTotal, [16]byte(r.Payer), day, cur, fx.DailyDelta).Exec(expectRows(1))
		}
		if fx.SettledPair {
			w.Queue(s.q.insertPayee, [16]byte(r.Payer), r.Payee.Institution, [16]byte(r.Payee.Holder), r.ResolvedAt)
		}
		if pay != nil && changes(&res) {
			s.ledger.queueOutcome(w, &res)
		}
		if fx.LookupRefund {
			bucket.queueGive(w) // nil when the record used no lookup: nothing
		}
		queueCommit(w)
		if err := conn.SendBatch(ctx, w).Close(); err != nil {
			if isUniqueViolation(err, "transfer_records_lookup_id_key") {
				return errRerun // the token was used concurrently under another day's lock: decide again
			}
			return err
		}
		out, created = r, true
		return nil
	})
	if err != nil {
		return transfer.Record{}, false, err
	}
	if business != nil {
		return transfer.Record{}, false, business
	}
	return out, created, nil
}

// Get implements transfer.Store.
//
// Errors: transfer.ErrRecordNotFound, and the infrastructure errors of
// this package.
func (s *PhoneTransferStore) Get(ctx context.Context, id uuid.UUID) (transfer.Record, error) {
	r, found, err := queryOne(ctx, s.db, "transfer record", s.q.record, scanRecord, [16]byte(id))
	if err == nil && !found {
		err = recordNotFound(id)
	}
	return r, err
}

// Transition implements transfer.Store.
//
// Errors: transfer.ErrRecordNotFound, ErrStateConflict (a
// *transfer.StateError, with the record as it is), ErrInvalidTransition,
// and the infrastructure errors of this package.
func (s *PhoneTransferStore) Transition(ctx context.Context, id uuid.UUID, to transfer.State, reason string, at time.Time) (transfer.Record, error) {
	if !ledger.StorableText(reason) {
		return transfer.Record{}, fmt.Errorf("%w: reason PostgreSQL text cannot hold", transfer.ErrInvalidTransition)
	}
	var out transfer.Record
	var business error
	err := s.db.run(ctx, "transition transfer record", func(ctx context.Context, conn *pgx.Conn) error {
		out, business = transfer.Record{}, nil
		found := false
		b := txBatch()
		b.Queue(s.q.lockForTransition, [16]byte(id))
		b.Queue(s.q.lockRecord, [16]byte(id)).Query(eachRow(scanRecord, func(r transfer.Record) { out, found = r, true }))
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if !found {
			business = recordNotFound(id)
			return nil
		}
		next := out
		fx, err := transfer.ApplyTransition(&next, to, reason, at)
		if err != nil {
			business = err
			return nil // rolls back; out is the record as it is
		}
		w := &pgx.Batch{}
		s.queueTransition(w, &out, &next, fx)
		queueCommit(w)
		if err := conn.SendBatch(ctx, w).Close(); err != nil {
			return err
		}
		out = next
		return nil
	})
	if err != nil {
		return transfer.Record{}, err
	}
	return out, business
}

// ResolvePaid implements transfer.PayingStore: Transition and the post or
// void t of the record's hold in one transaction, two round trips and one
// commit. The first begins, locks the record's day row and the record
// (the lock order of Transition) and then the accounts of the hold in ID
// order, loading the hold and t's ID, as the LedgerStore does;
// transfer.ApplyTransition decides, then ledger.ApplyBatch at the ledger's
// time now; the second writes the record, the totals, the settled pair
// and the ledger's rows and commits. A refusal of either rolls back. A
// settlement that gives the lookup refund (RefundsOn) locks the payer's
// bucket row in a round trip between the two, once the record named the
// payer.
//
// Errors: those of Transition; the ledger's refusal (a
// *ledger.TransferError), with the record as it is; and the
// infrastructure errors of this package.
func (s *PhoneTransferStore) ResolvePaid(ctx context.Context, id uuid.UUID, t ledger.Transfer, to transfer.State, reason string, refund transfer.Limiter, now time.Time) (transfer.Record, bool, error) {
	if !ledger.StorableText(reason) {
		return transfer.Record{}, false, fmt.Errorf("%w: reason PostgreSQL text cannot hold", transfer.ErrInvalidTransition)
	}
	if err := ledger.ValidateTransfer(&t); err != nil {
		return transfer.Record{}, false, &ledger.TransferError{ID: t.ID, Err: err}
	}
	ts := []ledger.Transfer{t}
	keys := lockKeysOf(ts)
	var out transfer.Record
	var applied bool
	var business error
	err := s.db.run(ctx, "resolve and pay transfer record", func(ctx context.Context, conn *pgx.Conn) error {
		out, applied, business = transfer.Record{}, false, nil
		found := false
		b := txBatch()
		b.Queue(s.q.lockForTransition, [16]byte(id))
		b.Queue(s.q.lockRecord, [16]byte(id)).Query(eachRow(scanRecord, func(r transfer.Record) { out, found = r, true }))
		v, err := s.ledger.lock(ctx, conn, b, keys)
		if err != nil {
			return err
		}
		if !found {
			business = recordNotFound(id)
			return nil
		}
		next := out
		fx, err := transfer.ApplyTransition(&next, to, reason, now)
		if err != nil {
			business = err
			return nil // rolls back; out is the record as it is
		}
		res := ledger.ApplyBatch(v, ts, false, now)
		if err := res.Results[0].Err; err != nil {
			business = err
			return nil // rolls back: nothing moved, the record as it is
		}
		w := &pgx.Batch{}
		s.queueTransition(w, &out, &next, fx)
		if changes(&res) {
			s.ledger.queueOutcome(w, &res)
		}
		if l := s.refunder(refund, fx.LookupRefund); l != nil {
			// The payer is known only now: its bucket is locked in a
			// round trip of its own, the last lock.
			lb := &pgx.Batch{}
			bucket, err := l.lockPayer(lb, next.Payer)
			if err != nil {
				return err
			}
			if bucket != nil {
				if err := conn.SendBatch(ctx, lb).Close(); err != nil {
					return err
				}
				bucket.queueGive(w)
			}
		}
		queueCommit(w)
		if err := conn.SendBatch(ctx, w).Close(); err != nil {
			return err
		}
		out, applied = next, !res.Results[0].Duplicate
		return nil
	})
	if err != nil {
		return transfer.Record{}, false, err
	}
	return out, applied, business
}

// queueTransition queues the writes of a transition of cur to next with
// its effects on the totals and the settled pairs.
func (s *PhoneTransferStore) queueTransition(w *pgx.Batch, cur, next *transfer.Record, fx transfer.TransitionEffects) {
	w.Queue(s.q.updateRecord, [16]byte(next.ID), int16(next.State), next.Reason, next.ResolvedAt, next.Attempts, int16(cur.State)).
		Exec(expectRows(1))
	if fx.DailyDelta != 0 {
		w.Queue(s.q.addTotal, [16]byte(next.Payer), next.Day.Date(), next.Amount.Currency().Code(), fx.DailyDelta).Exec(expectRows(1))
	}
	if fx.SettledPair {
		w.Queue(s.q.insertPayee, [16]byte(next.Payer), next.Payee.Institution, [16]byte(next.Payee.Holder), next.ResolvedAt)
	}
}

// Attempt implements transfer.Store: one transaction that locks the
// record, lets transfer.ApplyAttempt decide and writes the count.
//
// Errors: transfer.ErrRecordNotFound, ErrStateConflict (a
// *transfer.StateError, with the record as it is), ErrInvalidTransition,
// and the infrastructure errors of this package.
func (s *PhoneTransferStore) Attempt(ctx context.Context, id uuid.UUID, delta int32) (transfer.Record, error) {
	var out transfer.Record
	var business error
	err := s.db.run(ctx, "count transfer attempt", func(ctx context.Context, conn *pgx.Conn) error {
		out, business = transfer.Record{}, nil
		found := false
		b := txBatch()
		b.Queue(s.q.lockRecord, [16]byte(id)).Query(eachRow(scanRecord, func(r transfer.Record) { out, found = r, true }))
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if !found {
			business = recordNotFound(id)
			return nil
		}
		next := out
		if business = transfer.ApplyAttempt(&next, delta); business != nil {
			return nil // rolls back; out is the record as it is
		}
		w := &pgx.Batch{}
		w.Queue(s.q.updateAttempts, [16]byte(id), next.Attempts, int16(next.State)).Exec(expectRows(1))
		queueCommit(w)
		if err := conn.SendBatch(ctx, w).Close(); err != nil {
			return err
		}
		out = next
		return nil
	})
	if err != nil {
		return transfer.Record{}, err
	}
	return out, business
}

// Scan implements transfer.Store.
//
// Errors: transfer.ErrInvalidRecord for a limit below 1 or an unknown
// index, and the infrastructure errors of this package.
func (s *PhoneTransferStore) Scan(ctx context.Context, q transfer.ScanQuery) ([]transfer.Record, error) {
	var query string
	switch q.Index {
	case transfer.IndexCreated:
		query = s.q.scanCreated
	case transfer.IndexReleases:
		query = s.q.scanReleases
	case transfer.IndexChats:
		query = s.q.scanChats
	case transfer.IndexAll:
		query = s.q.scanAll
	}
	if query == "" || q.Limit <= 0 {
		return nil, fmt.Errorf("%w: scan of index %d with limit %d", transfer.ErrInvalidRecord, q.Index, q.Limit)
	}
	at, id := cursorArgs(q.After.At, q.After.ID)
	return queryAll(ctx, s.db, "scan transfer records", query, scanRecord, at, id, q.Before, q.Limit)
}

// DailyTotal implements transfer.Store.
//
// Errors: the infrastructure errors of this package.
func (s *PhoneTransferStore) DailyTotal(ctx context.Context, payer uuid.UUID, day transfer.Day, c ledger.Currency) (ledger.Money, error) {
	total, _, err := queryOne(ctx, s.db, "transfer daily total", s.q.total, pgx.RowTo[int64], [16]byte(payer), day.Date(), c.Code())
	return ledger.NewMoney(total, c), err
}

// SettledBefore implements transfer.Store.
//
// Errors: the infrastructure errors of this package.
func (s *PhoneTransferStore) SettledBefore(ctx context.Context, payer uuid.UUID, institution string, holder uuid.UUID) (bool, error) {
	ok, _, err := queryOne(ctx, s.db, "transfer payee settled before", s.q.settledBefore, pgx.RowTo[bool], [16]byte(payer), institution, [16]byte(holder))
	return ok, err
}

// scanBinding reads the columns bindingCols lists.
func scanBinding(row pgx.CollectableRow) (transfer.Binding, error) {
	var b transfer.Binding
	var phone string
	var holder, account [16]byte
	if err := row.Scan(&phone, &holder, &account, &b.Name, &b.MaskedName, &b.VerifiedAt, &b.BoundAt, &b.UpdatedAt); err != nil {
		return transfer.Binding{}, err
	}
	b.Phone, b.Holder, b.Account = transfer.Phone(phone), holder, account
	b.VerifiedAt, b.BoundAt, b.UpdatedAt = utc(b.VerifiedAt), utc(b.BoundAt), utc(b.UpdatedAt)
	return b, nil
}

// lockBinding begins and locks the number's row, returning its binding
// (nil if none).
func (d *PhoneDirectory) lockBinding(ctx context.Context, conn *pgx.Conn, phone transfer.Phone) (*transfer.Binding, error) {
	var existing *transfer.Binding
	b := txBatch()
	b.Queue(d.q.lockBinding, string(phone)).Query(eachRow(scanBinding, func(bd transfer.Binding) { existing = &bd }))
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	return existing, nil
}

// Bind implements transfer.Directory.
//
// Errors: transfer.ErrInvalidBinding (also for text PostgreSQL cannot
// hold), ErrBoundToOtherHolder, and the infrastructure errors of this
// package.
func (d *PhoneDirectory) Bind(ctx context.Context, b transfer.Binding, rebind bool) (transfer.Binding, error) {
	if !ledger.StorableText(string(b.Phone)) || !ledger.StorableText(b.Name) {
		return transfer.Binding{}, fmt.Errorf("%w: %s: text PostgreSQL cannot hold", transfer.ErrInvalidBinding, b.Phone)
	}
	b.VerifiedAt, b.UpdatedAt = ledger.Timestamp(b.VerifiedAt), ledger.Timestamp(b.UpdatedAt)
	var out transfer.Binding
	var business error
	err := d.db.run(ctx, "bind phone", func(ctx context.Context, conn *pgx.Conn) error {
		business = nil
		existing, err := d.lockBinding(ctx, conn, b.Phone)
		if err != nil {
			return err
		}
		out = b
		if business = transfer.DecideBind(existing, &out, rebind); business != nil {
			return nil // rolls back
		}
		args := []any{string(out.Phone), [16]byte(out.Holder), [16]byte(out.Account), out.Name, out.MaskedName, out.VerifiedAt, out.BoundAt, out.UpdatedAt}
		w := &pgx.Batch{}
		if existing == nil {
			// Bound concurrently: decide again against that binding.
			w.Queue(d.q.insertBinding, args...).Exec(insertedOrRerun)
		} else {
			w.Queue(d.q.updateBinding, args...).Exec(expectRows(1))
		}
		queueCommit(w)
		return conn.SendBatch(ctx, w).Close()
	})
	if err != nil {
		return transfer.Binding{}, err
	}
	if business != nil {
		return transfer.Binding{}, business
	}
	return out, nil
}

// Unbind implements transfer.Directory.
//
// Errors: transfer.ErrNotBound, ErrNotHolder, and the infrastructure
// errors of this package.
func (d *PhoneDirectory) Unbind(ctx context.Context, phone transfer.Phone, holder uuid.UUID) error {
	var business error
	err := d.db.run(ctx, "unbind phone", func(ctx context.Context, conn *pgx.Conn) error {
		business = nil
		existing, err := d.lockBinding(ctx, conn, phone)
		if err != nil {
			return err
		}
		if business = transfer.DecideUnbind(existing, phone, holder); business != nil {
			return nil // rolls back
		}
		w := &pgx.Batch{}
		w.Queue(d.q.deleteBinding, string(phone)).Exec(expectRows(1))
		queueCommit(w)
		return conn.SendBatch(ctx, w).Close()
	})
	if err != nil {
		return err
	}
	return business
}

// Lookup implements transfer.Directory.
//
// Errors: the infrastructure errors of this package.
func (d *PhoneDirectory) Lookup(ctx context.Context, phone transfer.Phone) (transfer.Binding, bool, error) {
	return queryOne(ctx, d.db, "look up phone", d.q.binding, scanBinding, string(phone))
}
