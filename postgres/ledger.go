package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/socialpay/socialpay/ledger"
)

// LedgerStore is the ledger on PostgreSQL: a ledger.Store that locks rows, loads
// them, lets the ledger's pure rules decide, and persists the outcome. It
// is safe for concurrent use by many goroutines and many processes.
type LedgerStore struct {
	db *DB
	q  queries
}

var _ ledger.Store = (*LedgerStore)(nil)

// NewLedgerStore returns the ledger store on db.
func NewLedgerStore(db *DB) *LedgerStore {
	return &LedgerStore{db: db, q: newQueries(db)}
}

// DB returns the store's database.
func (s *LedgerStore) DB() *DB { return s.db }

// queries holds the ledger's statements, qualified with the schema once.
type queries struct {
	insertAccount, account, lockAccounts, lockWithTargets, transfers, transfer string
	insertTransfers, insertEntries, updateAccounts, updateTransfers            string
	accountExists, entries, balanceAt, lockDue, due                            string
	verifyAccounts, verifyOrphans, verifyOrphanTransfers, verifyTransfers      string
	verifyLinks                                                                string
}

func newQueries(db *DB) queries {
	q := db.qualify
	expire := sqlInts(ledger.EntryExpire)
	return queries{
		insertAccount: q(`insert into $S.accounts (` + accountCols + `)
			values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
			on conflict (id) do nothing`),
		account:      q(`select ` + accountCols + ` from $S.accounts where id = $1`),
		lockAccounts: q(`select ` + accountCols + ` from $S.accounts where id = any($1::uuid[]) order by id for update`),
		// The accounts of the transfers referred to (posts, voids,
		// reversals) never change, so reading them in the locking statement
		// is safe.
		lockWithTargets: q(`select ` + accountCols + ` from $S.accounts where id in (
				select unnest($1::uuid[])
				union select debit_account_id from $S.transfers where id = any($2::uuid[])
				union select credit_account_id from $S.transfers where id = any($2::uuid[]))
			order by id for update`),
		transfers: q(`select ` + transferCols + ` from $S.transfers where id = any($1::uuid[])`),
		transfer:  q(`select ` + transferCols + ` from $S.transfers where id = $1`),
		insertTransfers: q(`insert into $S.transfers (id, kind, debit_account_id, credit_account_id, amount, currency,
				pending_id, reverses_id, timeout_ns, code, reference, metadata, ts, expires_at, status, resolved_by, reversed_by)
			select id, kind, debit, credit, amount, currency, nullif(pending, ` + nilUUID + `), nullif(reverses, ` + nilUUID + `),
				timeout, code, ref, meta, ts, expires, status, nullif(resolved, ` + nilUUID + `), nullif(reversed, ` + nilUUID + `)
			from unnest($1::uuid[], $2::int2[], $3::uuid[], $4::uuid[], $5::int8[], $6::text[], $7::uuid[], $8::uuid[],
				$9::int8[], $10::int4[], $11::text[], $12::jsonb[], $13::timestamptz[], $14::timestamptz[], $15::int2[],
				$16::uuid[], $17::uuid[])
			as u(id, kind, debit, credit, amount, currency, pending, reverses, timeout, code, ref, meta, ts, expires, status,
				resolved, reversed)`),
		insertEntries: q(`insert into $S.entries (account_id, seq, transfer_id, kind, side, posted_delta, pending_delta, at,
				debits_pending, debits_posted, credits_pending, credits_posted, hash, seal_key, seal)
			select account, seq, nullif(transfer, ` + nilUUID + `), kind, side, posted, pending, at, dp, dpo, cp, cpo, hash,
				nullif(seal_key, 0), seal
			from unnest($1::uuid[], $2::int8[], $3::uuid[], $4::int2[], $5::int2[], $6::int8[], $7::int8[],
				$8::timestamptz[], $9::int8[], $10::int8[], $11::int8[], $12::int8[], $13::bytea[], $14::int2[], $15::bytea[])
			as u(account, seq, transfer, kind, side, posted, pending, at, dp, dpo, cp, cpo, hash, seal_key, seal)`),
		updateAccounts: q(`update $S.accounts a set status = u.status, closed_at = u.closed_at,
				debits_pending = u.dp, debits_posted = u.dpo, credits_pending = u.cp, credits_posted = u.cpo,
				seq = u.seq, head = u.head, last_time = u.last_time
			from unnest($1::uuid[], $2::int2[], $3::timestamptz[], $4::int8[], $5::int8[], $6::int8[], $7::int8[],
				$8::int8[], $9::bytea[], $10::timestamptz[])
			as u(id, status, closed_at, dp, dpo, cp, cpo, seq, head, last_time)
			where a.id = u.id`),
		updateTransfers: q(`update $S.transfers t set status = u.status,
				resolved_by = nullif(u.resolved, ` + nilUUID + `), reversed_by = nullif(u.reversed, ` + nilUUID + `)
			from unnest($1::uuid[], $2::int2[], $3::uuid[], $4::uuid[]) as u(id, status, resolved, reversed)
			where t.id = u.id`),
		accountExists: q(`select exists (select 1 from $S.accounts where id = $1)`),
		entries:       q(`select ` + entryCols + ` from $S.entries where account_id = $1 and seq > $2 order by seq limit $3`),
		// Entry times never go back within an account, so the last entry at
		// or before $2 is found by binary search over seq in the primary
		// key: lo is the answer so far (0: before the first entry).
		balanceAt: q(`with recursive s(lo, hi) as (
				select 0::int8, seq from $S.accounts where id = $1
				union all
				select case when e.at <= $2 then (s.lo + s.hi + 1) / 2 else s.lo end,
					case when e.at <= $2 then s.hi else (s.lo + s.hi + 1) / 2 - 1 end
				from s join $S.entries e on e.account_id = $1 and e.seq = (s.lo + s.hi + 1) / 2
				where s.lo < s.hi)
			select coalesce(e.debits_pending, 0), coalesce(e.debits_posted, 0),
				coalesce(e.credits_pending, 0), coalesce(e.credits_posted, 0)
			from s left join $S.entries e on e.account_id = $1 and e.seq = s.lo
			where s.lo >= s.hi`),
		lockDue: q(`select ` + accountCols + ` from $S.accounts where id in (
				select unnest(array[debit_account_id, credit_account_id]) from (
					select debit_account_id, credit_account_id from $S.transfers
					where status = ` + sqlInts(ledger.StatusPending) + ` and expires_at <= $1 order by expires_at, id limit $2) d)
			order by id for update`),
		due: q(`select ` + transferCols + ` from $S.transfers
			where status = ` + sqlInts(ledger.StatusPending) + ` and expires_at <= $1 order by expires_at, id limit $2`),
		verifyAccounts: q(`select ` + prefixed("a", accountCols) + `,
				coalesce(e.seq, 0), coalesce(e.transfer_id, ` + nilUUID + `), coalesce(e.kind, 0), coalesce(e.side, 0),
				coalesce(e.posted_delta, 0), coalesce(e.pending_delta, 0), coalesce(e.at, 'epoch'),
				coalesce(e.debits_pending, 0), coalesce(e.debits_posted, 0), coalesce(e.credits_pending, 0),
				coalesce(e.credits_posted, 0), coalesce(e.hash, ''::bytea), coalesce(e.seal_key, 0), e.seal
			from $S.accounts a left join $S.entries e on e.account_id = a.id
			order by a.id, e.seq`),
		// Entries of accounts or transfers that do not exist (the schema
		// has no foreign keys on entries: see the migration).
		verifyOrphans: q(`select e.account_id, count(*) from $S.entries e
			where not exists (select 1 from $S.accounts a where a.id = e.account_id)
			group by e.account_id limit 100`),
		verifyOrphanTransfers: q(`select e.account_id, e.seq, e.transfer_id from $S.entries e
			where e.transfer_id is not null and not exists (select 1 from $S.transfers t where t.id = e.transfer_id)
			limit 100`),
		// The transfers ledger.Verifier checks the links of: holds, posts,
		// voids, reversals and reversed transfers.
		verifyLinks: q(`select ` + transferCols + ` from $S.transfers where kind <> ` + sqlInts(ledger.KindImmediate) + ` or reversed_by is not null`),
		// Every transfer has its two entries — a debit of its debit account
		// and a credit of its credit account, each moving its amount (pending
		// for holds and voids) — and two more exactly when it expired.
		verifyTransfers: q(`select t.id from $S.transfers t left join $S.entries e on e.transfer_id = t.id
			group by t.id, t.kind, t.amount, t.status, t.debit_account_id, t.credit_account_id
			having count(*) filter (where e.kind <> ` + expire + `) <> 2
				or count(*) filter (where e.kind <> ` + expire + ` and e.side = ` + sqlInts(ledger.SideDebit) + ` and e.account_id = t.debit_account_id) <> 1
				or count(*) filter (where e.kind <> ` + expire + ` and e.side = ` + sqlInts(ledger.SideCredit) + ` and e.account_id = t.credit_account_id) <> 1
				or count(*) filter (where e.kind <> ` + expire + ` and case t.kind
					when ` + sqlInts(ledger.KindPending) + ` then e.pending_delta = t.amount and e.posted_delta = 0
					when ` + sqlInts(ledger.KindVoidPending) + ` then e.pending_delta = -t.amount and e.posted_delta = 0
					else e.posted_delta = t.amount end) <> 2
				or count(*) filter (where e.kind = ` + expire + `) <> (case when t.status = ` + sqlInts(ledger.StatusExpired) + ` then 2 else 0 end)
			limit 100`),
	}
}

// CreateAccount implements ledger.Store: it inserts the account (as
// ledger.NewAccountState describes it), or returns the stored one when an
// identical request created it before. The account must pass
// ledger.ValidateAccount (ledger.Ledger checks it first); this store checks
// again, so that metadata it could not keep exactly is never stored.
//
// Errors: ledger.ErrIdempotencyConflict (same ID, different content), the
// errors of ledger.ValidateAccount (ledger.ErrInvalidAccount…), and the
// infrastructure errors of this package (ErrUnavailable,
// ErrRetriesExhausted, ErrIntegrity, context errors).
func (s *LedgerStore) CreateAccount(ctx context.Context, a ledger.Account, now time.Time) (ledger.Account, error) {
	if err := ledger.ValidateAccount(&a); err != nil {
		return ledger.Account{}, err
	}
	st := ledger.NewAccountState(a, now)
	stored, inserted, err := insertOrGet(ctx, s.db, "create account", s.q.insertAccount, newAccountArgs(&st),
		s.q.account, [16]byte(a.ID), scanAccount)
	switch {
	case err != nil:
		return ledger.Account{}, err
	case inserted:
		return st.Account, nil
	}
	if err := ledger.SameAccount(&a, &stored.Account); err != nil {
		return ledger.Account{}, err
	}
	return stored.Account, nil
}

// newAccountArgs are the arguments of insertAccount for a new account's
// state (ledger.NewAccountState).
func newAccountArgs(st *ledger.AccountState) []any {
	na := &st.Account
	return []any{[16]byte(na.ID), na.Currency.Code(), int32(na.Code), int32(na.Flags), encodeMetadata(na.Metadata),
		int16(na.Status), na.CreatedAt, nil, int64(0), int64(0), int64(0), int64(0), int64(0), st.Head[:], st.LastTime}
}

// ChangeAccount implements ledger.Store: it locks the account, applies
// ledger.ApplyAccountEvent and persists the event's entry.
//
// Errors: ledger.ErrAccountNotFound, ledger.ErrAccountClosed,
// ledger.ErrAccountNotEmpty, ledger.ErrAccountStateChange, and the
// infrastructure errors of this package.
func (s *LedgerStore) ChangeAccount(ctx context.Context, id uuid.UUID, ev ledger.AccountEvent, now time.Time) (ledger.Account, error) {
	var out ledger.Account
	var rejected error
	err := s.db.run(ctx, "change account", func(ctx context.Context, conn *pgx.Conn) error {
		out, rejected = ledger.Account{}, nil
		view, err := s.lock(ctx, conn, txBatch(), &lockKeys{accounts: []uuid.UUID{id}})
		if err != nil {
			return err
		}
		st, ok := view.accounts[id]
		if !ok {
			rejected = &ledger.AccountError{ID: id, Err: ledger.ErrAccountNotFound}
			return nil
		}
		e, changed, err := ledger.ApplyAccountEvent(st, ev, now)
		if err != nil || !changed {
			out, rejected = st.Account, err
			return nil
		}
		if err := s.commit(ctx, conn, &writes{accounts: []ledger.AccountState{*st}, entries: []ledger.Entry{e}}); err != nil {
			return err
		}
		out = st.Account
		return nil
	})
	if err != nil {
		return ledger.Account{}, err
	}
	if rejected != nil {
		return ledger.Account{}, rejected
	}
	return out, nil
}

// Account implements ledger.Store.
//
// Errors: ledger.ErrAccountNotFound, and the infrastructure errors of this
// package.
func (s *LedgerStore) Account(ctx context.Context, id uuid.UUID) (ledger.AccountState, error) {
	st, found, err := queryOne(ctx, s.db, "account", s.q.account, scanAccount, [16]byte(id))
	if err == nil && !found {
		err = &ledger.AccountError{ID: id, Err: ledger.ErrAccountNotFound}
	}
	return st, err
}

// Transfer implements ledger.Store.
//
// Errors: ledger.ErrTransferNotFound (in a *ledger.TransferError), and the
// infrastructure errors of this package.
func (s *LedgerStore) Transfer(ctx context.Context, id uuid.UUID) (ledger.Transfer, error) {
	t, found, err := queryOne(ctx, s.db, "transfer", s.q.transfer, scanTransfer, [16]byte(id))
	if err == nil && !found {
		err = &ledger.TransferError{ID: id, Err: ledger.ErrTransferNotFound}
	}
	return t, err
}

// Entries implements ledger.Store.
//
// Errors: ledger.ErrAccountNotFound, and the infrastructure errors of this
// package.
func (s *LedgerStore) Entries(ctx context.Context, account uuid.UUID, after uint64, limit int) ([]ledger.Entry, error) {
	var out []ledger.Entry
	found := false
	err := s.db.run(ctx, "entries", func(ctx context.Context, conn *pgx.Conn) error {
		out = []ledger.Entry{}
		b := &pgx.Batch{}
		b.Queue(s.q.accountExists, [16]byte(account)).QueryRow(func(row pgx.Row) error { return row.Scan(&found) })
		b.Queue(s.q.entries, [16]byte(account), int64(min(after, 1<<63-1)), int64(max(limit, 0))).
			Query(eachRow(scanEntry, func(e ledger.Entry) { out = append(out, e) }))
		return conn.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, &ledger.AccountError{ID: account, Err: ledger.ErrAccountNotFound}
	}
	return out, nil
}

// BalanceAt implements ledger.Store.
//
// Errors: ledger.ErrAccountNotFound, and the infrastructure errors of this
// package.
func (s *LedgerStore) BalanceAt(ctx context.Context, account uuid.UUID, at time.Time) (ledger.Balance, error) {
	b, found, err := queryOne(ctx, s.db, "balance at", s.q.balanceAt, scanBalance, [16]byte(account), at)
	if err == nil && !found {
		err = &ledger.AccountError{ID: account, Err: ledger.ErrAccountNotFound}
	}
	return b, err
}

// view is what one transaction has locked and loaded: a ledger.BatchView.
type view struct {
	accounts  map[uuid.UUID]*ledger.AccountState
	transfers map[uuid.UUID]ledger.Transfer
}

func newView(accounts, transfers int) *view {
	return &view{
		accounts:  make(map[uuid.UUID]*ledger.AccountState, accounts),
		transfers: make(map[uuid.UUID]ledger.Transfer, transfers),
	}
}

func (v *view) Account(id uuid.UUID) (ledger.AccountState, bool) {
	st, ok := v.accounts[id]
	if !ok {
		return ledger.AccountState{}, false
	}
	return *st, true
}

func (v *view) Transfer(id uuid.UUID) (ledger.Transfer, bool) {
	t, ok := v.transfers[id]
	return t, ok
}

// readAccounts and readTransfers are batch callbacks that load rows into v.
func (v *view) readAccounts(rows pgx.Rows) error {
	return eachRow(scanAccount, func(st ledger.AccountState) { v.accounts[st.Account.ID] = &st })(rows)
}

func (v *view) readTransfers(rows pgx.Rows) error {
	return eachRow(scanTransfer, func(t ledger.Transfer) { v.transfers[t.ID] = t })(rows)
}

// lock sends b on conn, with the statements that lock and load k queued
// after what b holds (txBatch's begin, or nothing in a transaction already
// begun), in one round trip (see queueLock), and checks the view
// (lockKeys.check).
//
// Errors: errRerun, and conn's.
func (s *LedgerStore) lock(ctx context.Context, conn *pgx.Conn, b *pgx.Batch, k *lockKeys) (*view, error) {
	v := s.queueLock(b, k)
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	if err := k.check(v); err != nil {
		return nil, err
	}
	return v, nil
}

// queueLock queues, in a transaction's batch, the statements that lock the
// accounts k.accounts (and those of the transfers k.targets refers to) in
// ID order and then load the transfers k.ids and k.targets; the view it
// returns is filled when the batch has run. The transfers are read after
// the locks, in a snapshot taken once the locks are held: a concurrent
// batch with one of these IDs and the same accounts has committed by then,
// so a duplicate sees its original rather than the balance it left (a
// duplicate decided on a read from before the lock wait would be refused
// the funds its own original spent). One with other accounts is not
// serialized by these locks; its insert fails with 23505 and the batch is
// decided again.
func (s *LedgerStore) queueLock(b *pgx.Batch, k *lockKeys) *view {
	v := newView(len(k.accounts)+2*len(k.targets), len(k.ids)+len(k.targets))
	if len(k.targets) == 0 {
		b.Queue(s.q.lockAccounts, uuids(k.accounts)).Query(v.readAccounts)
	} else {
		b.Queue(s.q.lockWithTargets, uuids(k.accounts), uuids(k.targets)).Query(v.readAccounts)
	}
	if ids := append(slices.Clip(k.ids), k.targets...); len(ids) > 0 {
		b.Queue(s.q.transfers, uuids(ids)).Query(v.readTransfers)
	}
	return v
}

// writes is what one transaction persists.
type writes struct {
	created  []ledger.Transfer     // new transfers
	updated  []ledger.Transfer     // transfers whose status or links changed
	accounts []ledger.AccountState // accounts whose state changed
	entries  []ledger.Entry        // new entries
}

// commit persists w and commits the transaction, in one round trip: one
// statement per table, whatever the number of rows.
func (s *LedgerStore) commit(ctx context.Context, conn *pgx.Conn, w *writes) error {
	b := &pgx.Batch{}
	s.queueWrites(b, w)
	queueCommit(b)
	return conn.SendBatch(ctx, b).Close()
}

// queueWrites queues the statements that persist w.
func (s *LedgerStore) queueWrites(b *pgx.Batch, w *writes) {
	if n := len(w.created); n > 0 {
		var (
			ids, debit, credit, pending, reverses, resolved, reversed = make([][16]byte, n), make([][16]byte, n),
				make([][16]byte, n), make([][16]byte, n), make([][16]byte, n), make([][16]byte, n), make([][16]byte, n)
			kind, status    = make([]int16, n), make([]int16, n)
			amount, timeout = make([]int64, n), make([]int64, n)
			cur, ref        = make([]string, n), make([]string, n)
			code            = make([]int32, n)
			meta            = make([][]byte, n)
			ts              = make([]time.Time, n)
			expires         = make([]pgtype.Timestamptz, n)
		)
		for i := range w.created {
			t := &w.created[i]
			ids[i], debit[i], credit[i], pending[i], reverses[i] = t.ID, t.DebitAccountID, t.CreditAccountID, t.PendingID, t.ReversesID
			resolved[i], reversed[i] = t.ResolvedBy, t.ReversedBy
			kind[i], status[i] = int16(t.Kind), int16(t.Status)
			amount[i], timeout[i] = t.Amount.Units(), int64(t.Timeout)
			cur[i], ref[i], code[i] = t.Amount.Currency().Code(), t.Reference, int32(t.Code)
			meta[i], ts[i] = encodeMetadata(t.Metadata), t.Timestamp
			expires[i] = nullTime(microsUp(t.ExpiresAt))
		}
		b.Queue(s.q.insertTransfers, ids, kind, debit, credit, amount, cur, pending, reverses, timeout, code, ref, meta,
			ts, expires, status, resolved, reversed)
	}
	if n := len(w.entries); n > 0 {
		var (
			account, tr      = make([][16]byte, n), make([][16]byte, n)
			seq              = make([]int64, n)
			kind, side       = make([]int16, n), make([]int16, n)
			posted, pending  = make([]int64, n), make([]int64, n)
			at               = make([]time.Time, n)
			dp, dpo, cp, cpo = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
			hash             = make([][]byte, n)
			sealKey          = make([]int16, n)
			seal             = make([][]byte, n)
			sealer           = s.db.cfg.Sealer
		)
		for i := range w.entries {
			e := &w.entries[i]
			if sealer != nil {
				sealKey[i], seal[i] = sealer.Seal(sealMessage(e))
			}
			account[i], tr[i], seq[i] = e.AccountID, e.TransferID, int64(e.Seq)
			kind[i], side[i], posted[i], pending[i], at[i] = int16(e.Kind), int16(e.Side), e.PostedDelta, e.PendingDelta, e.Time
			dp[i], dpo[i], cp[i], cpo[i] = e.Balance.DebitsPending, e.Balance.DebitsPosted, e.Balance.CreditsPending, e.Balance.CreditsPosted
			hash[i] = e.Hash[:]
		}
		b.Queue(s.q.insertEntries, account, seq, tr, kind, side, posted, pending, at, dp, dpo, cp, cpo, hash, sealKey, seal)
	}
	if n := len(w.accounts); n > 0 {
		var (
			ids              = make([][16]byte, n)
			status           = make([]int16, n)
			closed, last     = make([]pgtype.Timestamptz, n), make([]time.Time, n)
			dp, dpo, cp, cpo = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
			seq              = make([]int64, n)
			head             = make([][]byte, n)
		)
		for i := range w.accounts {
			st := &w.accounts[i]
			a := &st.Account
			ids[i], status[i], closed[i] = a.ID, int16(a.Status), nullTime(a.ClosedAt)
			dp[i], dpo[i], cp[i], cpo[i] = a.Balance.DebitsPending, a.Balance.DebitsPosted, a.Balance.CreditsPending, a.Balance.CreditsPosted
			seq[i], head[i], last[i] = int64(st.Seq), st.Head[:], st.LastTime
		}
		b.Queue(s.q.updateAccounts, ids, status, closed, dp, dpo, cp, cpo, seq, head, last).Exec(expectRows(n))
	}
	if n := len(w.updated); n > 0 {
		ids, resolved, reversed, status := make([][16]byte, n), make([][16]byte, n), make([][16]byte, n), make([]int16, n)
		for i := range w.updated {
			t := &w.updated[i]
			ids[i], resolved[i], reversed[i], status[i] = t.ID, t.ResolvedBy, t.ReversedBy, int16(t.Status)
		}
		b.Queue(s.q.updateTransfers, ids, status, resolved, reversed).Exec(expectRows(n))
	}
}

// LookupTransfers returns the stored transfers among ids, in no particular
// order, in one query: what a reconciliation sweep or a load test needs to
// check many IDs at once. IDs not stored are simply absent.
//
// Errors: the infrastructure errors of this package.
func (s *LedgerStore) LookupTransfers(ctx context.Context, ids []uuid.UUID) ([]ledger.Transfer, error) {
	return queryAll(ctx, s.db, "lookup transfers", s.q.transfers, scanTransfer, uuids(ids))
}
