package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/socialpay/socialpay/ledger"
)

// CreateTransfer implements ledger.Store: it is CreateTransfers with one
// transfer, two round trips (three statements, then the writes and the
// commit).
//
// Errors: as CreateTransfers.
func (s *LedgerStore) CreateTransfer(ctx context.Context, t ledger.Transfer, now time.Time) (ledger.Result, error) {
	rs, err := s.CreateTransfers(ctx, []ledger.Transfer{t}, false, now)
	if err != nil {
		return ledger.Result{}, err
	}
	return rs[0], nil
}

// CreateTransfers implements ledger.Store. The whole batch, linked or not,
// is one transaction and two round trips whatever its size: the first
// begins, locks every account involved in ID order (SELECT … ORDER BY id
// FOR UPDATE, including the accounts of transfers that posts, voids and
// reversals refer to) and then loads the transfers the batch names; the
// pure rules (ledger.ApplyBatch) decide; the second inserts the new
// transfers and entries and updates accounts and referenced transfers with
// one statement per table (unnest of arrays) and commits. An account that
// many transfers of the batch touch is locked and written once.
//
// Business outcomes are in each Result.Err, exactly as ledger.ApplyBatch
// decides them. The transfers must pass ledger.ValidateTransfer, as
// ledger.Ledger checks before it calls a store; this store checks again, so
// that nothing it could not keep exactly (a reference or metadata that is
// not UTF-8, or holds NUL) is ever stored: a batch with an invalid transfer
// is refused as a whole, before the database is asked.
//
// Errors: ledger.ErrEmptyBatch; a *ledger.TransferError (Index and ID of
// the first invalid transfer) wrapping ValidateTransfer's error, with
// nothing applied; and ErrUnavailable, ErrRetriesExhausted, ErrIntegrity
// and context errors, after which the batch may or may not have been
// applied (as a whole): submitting it again is safe.
func (s *LedgerStore) CreateTransfers(ctx context.Context, ts []ledger.Transfer, linked bool, now time.Time) ([]ledger.Result, error) {
	if len(ts) == 0 {
		return nil, ledger.ErrEmptyBatch
	}
	if err := validateTransfers(ts); err != nil {
		return nil, err
	}
	keys := lockKeysOf(ts)
	var out ledger.BatchOutcome
	err := s.db.run(ctx, "create transfers", func(ctx context.Context, conn *pgx.Conn) error {
		v, err := s.lock(ctx, conn, txBatch(), keys)
		if err != nil {
			return err
		}
		out = ledger.ApplyBatch(v, ts, linked, now)
		if !changes(&out) {
			return nil // nothing to write; the transaction rolls back
		}
		w := &pgx.Batch{}
		s.queueOutcome(w, &out)
		queueCommit(w)
		return conn.SendBatch(ctx, w).Close()
	})
	if err != nil {
		return nil, err
	}
	return out.Results, nil
}

// validateTransfers applies ledger.ValidateTransfer to a batch, so that
// nothing this store could not keep exactly is ever stored.
//
// Errors: a *ledger.TransferError (Index and ID of the first invalid
// transfer) wrapping ValidateTransfer's error.
func validateTransfers(ts []ledger.Transfer) error {
	for i := range ts {
		if err := ledger.ValidateTransfer(&ts[i]); err != nil {
			return &ledger.TransferError{Index: i, ID: ts[i].ID, Err: err}
		}
	}
	return nil
}

// lockKeys is what a batch of transfers locks and loads: the accounts it
// names, the transfers its posts, voids and reversals refer to (targets),
// and its own transfer IDs, each once, in first-seen order.
type lockKeys struct {
	accounts, targets, ids []uuid.UUID
}

func lockKeysOf(ts []ledger.Transfer) *lockKeys {
	k := &lockKeys{}
	seenAccount := make(map[uuid.UUID]struct{}, 2*len(ts))
	seenTransfer := make(map[uuid.UUID]struct{}, len(ts))
	add := func(list *[]uuid.UUID, seen map[uuid.UUID]struct{}, id uuid.UUID) {
		if id == uuid.Nil {
			return
		}
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			*list = append(*list, id)
		}
	}
	for i := range ts {
		add(&k.accounts, seenAccount, ts[i].DebitAccountID)
		add(&k.accounts, seenAccount, ts[i].CreditAccountID)
		add(&k.ids, seenTransfer, ts[i].ID)
	}
	seenTarget := make(map[uuid.UUID]struct{})
	for i := range ts {
		// Every target, even one the batch itself creates: a stored
		// transfer of that ID is what the batch will find.
		add(&k.targets, seenTarget, ts[i].TargetID())
	}
	return k
}

// check reports errRerun when a referenced transfer committed after the
// locking statement read it: its accounts are not locked, so the batch
// must be decided again.
func (k *lockKeys) check(v *view) error {
	for _, id := range k.targets {
		if tr, ok := v.transfers[id]; ok && (v.accounts[tr.DebitAccountID] == nil || v.accounts[tr.CreditAccountID] == nil) {
			return errRerun
		}
	}
	return nil
}

// covers reports whether a batch of transfers locks and loads nothing
// beyond k: a batch decided again on a view locked for k with fewer or
// other amounts, but the same accounts and IDs.
func (k *lockKeys) covers(ts []ledger.Transfer) bool {
	in := func(list []uuid.UUID, id uuid.UUID) bool { return id == uuid.Nil || slices.Contains(list, id) }
	for i := range ts {
		t := &ts[i]
		if !in(k.accounts, t.DebitAccountID) || !in(k.accounts, t.CreditAccountID) || !in(k.ids, t.ID) || !in(k.targets, t.TargetID()) {
			return false
		}
	}
	return true
}

// changes reports whether a batch's outcome has anything to write.
func changes(out *ledger.BatchOutcome) bool {
	return !out.Failed && (len(out.Created) > 0 || len(out.Entries) > 0)
}

// queueOutcome queues the statements that persist what ledger.ApplyBatch
// decided.
func (s *LedgerStore) queueOutcome(b *pgx.Batch, out *ledger.BatchOutcome) {
	s.queueWrites(b, &writes{created: out.Created, updated: out.Updated, accounts: out.Accounts, entries: out.Entries})
}

// ExpirePending implements ledger.Store: in one transaction it locks the
// accounts of up to limit due pending transfers, reloads them (another
// sweep or a post may have resolved them meanwhile), voids each with
// ledger.ExpireStep, and persists the result in one round trip. Concurrent
// sweeps, in one process or many, void each transfer once.
//
// Errors: ErrUnavailable, ErrRetriesExhausted, ErrIntegrity and context
// errors; after an error some transfers may have expired even though their
// IDs were not returned.
func (s *LedgerStore) ExpirePending(ctx context.Context, now time.Time, limit int) ([]uuid.UUID, error) {
	if limit <= 0 {
		return nil, nil
	}
	at := ledger.Timestamp(now)
	var expired []uuid.UUID
	err := s.db.run(ctx, "expire pending", func(ctx context.Context, conn *pgx.Conn) error {
		expired = nil
		v := newView(0, 0)
		var due []ledger.Transfer
		b := txBatch()
		b.Queue(s.q.lockDue, at, limit).Query(v.readAccounts)
		b.Queue(s.q.due, at, limit).Query(eachRow(scanTransfer, func(t ledger.Transfer) { due = append(due, t) }))
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		var w writes
		var order []uuid.UUID
		touched := make(map[uuid.UUID]bool)
		touch := func(st *ledger.AccountState) {
			if !touched[st.Account.ID] {
				touched[st.Account.ID] = true
				order = append(order, st.Account.ID)
			}
		}
		for i := range due {
			p := &due[i]
			dr, cr := v.accounts[p.DebitAccountID], v.accounts[p.CreditAccountID]
			if dr == nil || cr == nil {
				continue // became due after the locking statement: the next round takes it
			}
			entries, ok, err := ledger.ExpireStep(p, dr, cr, now)
			if err != nil {
				return fmt.Errorf("%w: expire %s: %w", ErrIntegrity, p.ID, err)
			}
			if !ok {
				continue
			}
			w.entries = append(w.entries, entries[0], entries[1])
			w.updated = append(w.updated, *p)
			touch(dr)
			touch(cr)
			expired = append(expired, p.ID)
		}
		if len(expired) == 0 {
			return nil
		}
		for _, id := range order {
			w.accounts = append(w.accounts, *v.accounts[id])
		}
		return s.commit(ctx, conn, &w)
	})
	if err != nil {
		return nil, err
	}
	return expired, nil
}
