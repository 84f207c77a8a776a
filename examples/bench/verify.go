package main

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// recorder keeps, with -verify, every request's transfers and which of
// them were acknowledged, to check afterwards that the store kept exactly
// those: nothing acknowledged lost, nothing refused applied, no request
// applied in part.
type recorder struct {
	mu       sync.Mutex
	requests []*request
}

type request struct {
	want     []wanted
	answered bool // the store answered (each transfer acknowledged or refused)
}

type wanted struct {
	id            uuid.UUID
	debit, credit uuid.UUID
	amount        ledger.Money
	acked         bool
}

// attempt records a request about to be sent; nil without -verify.
func (r *recorder) attempt(ts []ledger.Transfer) *request {
	if r == nil {
		return nil
	}
	q := &request{want: make([]wanted, len(ts))}
	for i, t := range ts {
		q.want[i] = wanted{id: t.ID, debit: t.DebitAccountID, credit: t.CreditAccountID, amount: t.Amount}
	}
	r.mu.Lock()
	r.requests = append(r.requests, q)
	r.mu.Unlock()
	return q
}

// answered records the store's answer: transfer i (of those acked) was
// acknowledged.
func (q *request) ack(i int) {
	if q != nil {
		q.answered = true
		q.want[i].acked = true
	}
}

func (q *request) answer() {
	if q != nil {
		q.answered = true
	}
}

// lookupChunk is how many transfers verification looks up at a time.
const lookupChunk = 5000

// lookupFunc returns the stored transfers among ids.
type lookupFunc func(ctx context.Context, ids []uuid.UUID) ([]ledger.Transfer, error)

// bulkLookup is what stores that look up many transfers at once offer
// (postgres.LedgerStore does).
type bulkLookup interface {
	LookupTransfers(ctx context.Context, ids []uuid.UUID) ([]ledger.Transfer, error)
}

// lookupFor returns the fastest lookup store offers.
func lookupFor(store ledger.Store, workers int) lookupFunc {
	if b, ok := store.(bulkLookup); ok {
		return b.LookupTransfers
	}
	return func(ctx context.Context, ids []uuid.UUID) ([]ledger.Transfer, error) {
		found := make([]*ledger.Transfer, len(ids))
		err := parallel(ctx, workers, len(ids), func(ctx context.Context, i int) error {
			t, err := store.Transfer(ctx, ids[i])
			if errors.Is(err, ledger.ErrTransferNotFound) {
				return nil
			}
			found[i] = &t
			return err
		})
		var out []ledger.Transfer
		for _, t := range found {
			if t != nil {
				out = append(out, *t)
			}
		}
		return out, err
	}
}

// commitsFunc returns, for the stored transfers among ids, a token naming
// the transaction that committed each (PostgreSQL: the row's xmin), so
// that a request applied in part and completed by a retry shows up as two
// commits. Nil when the store has no such notion.
type commitsFunc func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]string, error)

// verifyResult counts what the check found.
type verifyResult struct {
	acked, present, missing, wrong, refusedPresent int
	unanswered, unansweredPresent, partial         int
	multiRequests, split                           int // requests of several transfers checked for one commit; those with more
	report                                         ledger.VerifyReport
	verifyErr                                      error
}

func (v verifyResult) ok() bool {
	return v.missing == 0 && v.wrong == 0 && v.refusedPresent == 0 && v.partial == 0 && v.split == 0 && v.verifyErr == nil
}

// unsettled reports whether the only thing wrong is a request both
// unanswered and applied in part: one still being applied as the run
// ended, unless it stays so.
func (v verifyResult) unsettled() bool {
	return v.partial > 0 && v.missing == 0 && v.wrong == 0 && v.refusedPresent == 0 && v.split == 0 && v.verifyErr == nil
}

func (v verifyResult) String() string {
	s := fmt.Sprintf("verify acknowledged=%d present=%d missing=%d wrong=%d refused-but-present=%d "+
		"unanswered-requests=%d (transfers of them present: %d) partial-requests=%d",
		v.acked, v.present, v.missing, v.wrong, v.refusedPresent, v.unanswered, v.unansweredPresent, v.partial)
	if v.multiRequests > 0 {
		s += fmt.Sprintf(" one-commit-requests=%d split-requests=%d", v.multiRequests, v.split)
	}
	if v.verifyErr != nil {
		return s + " ledger-verify=FAILED: " + v.verifyErr.Error()
	}
	return s + fmt.Sprintf(" ledger-verify=ok accounts=%d entries=%d", v.report.Accounts, v.report.Entries)
}

// check looks every recorded transfer up, checks with commits (if not nil)
// that each request was committed by one transaction, and runs the
// ledger's Verify.
func (r *recorder) check(ctx context.Context, l *ledger.Ledger, lookup lookupFunc, commits commitsFunc, workers int) (verifyResult, error) {
	var res verifyResult
	var ids []uuid.UUID
	for _, q := range r.requests {
		for _, w := range q.want {
			ids = append(ids, w.id)
		}
	}
	stored := make(map[uuid.UUID]ledger.Transfer, len(ids))
	var mu sync.Mutex
	err := inChunks(ctx, workers, lookupChunk, ids, func(ctx context.Context, chunk []uuid.UUID) error {
		ts, err := lookup(ctx, chunk)
		mu.Lock()
		for _, t := range ts {
			stored[t.ID] = t
		}
		mu.Unlock()
		return err
	})
	if err != nil {
		return res, err
	}
	for _, q := range r.requests {
		present := 0
		for _, w := range q.want {
			t, ok := stored[w.id]
			if ok {
				present++
			}
			switch {
			case w.acked && !ok:
				res.acked++
				res.missing++
			case w.acked:
				res.acked++
				res.present++
				if t.Amount != w.amount || t.DebitAccountID != w.debit || t.CreditAccountID != w.credit {
					res.wrong++
				}
			case q.answered && ok:
				res.refusedPresent++
			}
		}
		if !q.answered {
			res.unanswered++
			res.unansweredPresent += present
			if present != 0 && present != len(q.want) {
				res.partial++
			}
		}
	}
	if commits != nil {
		if err := r.checkCommits(ctx, commits, workers, &res); err != nil {
			return res, err
		}
	}
	res.report, res.verifyErr = l.Verify(ctx)
	return res, nil
}

// checkCommits counts the requests of several transfers whose stored
// transfers came from more than one transaction: applied in part, then
// completed by a retry.
func (r *recorder) checkCommits(ctx context.Context, commits commitsFunc, workers int, res *verifyResult) error {
	var multi []*request
	var ids []uuid.UUID
	for _, q := range r.requests {
		if len(q.want) > 1 {
			multi = append(multi, q)
			for _, w := range q.want {
				ids = append(ids, w.id)
			}
		}
	}
	tokens := make(map[uuid.UUID]string, len(ids))
	var mu sync.Mutex
	err := inChunks(ctx, workers, lookupChunk, ids, func(ctx context.Context, chunk []uuid.UUID) error {
		got, err := commits(ctx, chunk)
		mu.Lock()
		for id, tok := range got {
			tokens[id] = tok
		}
		mu.Unlock()
		return err
	})
	if err != nil {
		return err
	}
	for _, q := range multi {
		res.multiRequests++
		seen := ""
		for _, w := range q.want {
			tok, ok := tokens[w.id]
			if !ok {
				continue
			}
			if seen != "" && tok != seen {
				res.split++
				break
			}
			seen = tok
		}
	}
	return nil
}

// snapshot runs the ledger's Verify and returns its report, for Moved.
func snapshot(ctx context.Context, l *ledger.Ledger) (ledger.VerifyReport, error) {
	rep, err := l.Verify(ctx)
	if err != nil {
		return rep, fmt.Errorf("ledger verify: %w", err)
	}
	return rep, nil
}

// moved returns how much money (posted debits, in minor units of cur)
// moved between two Verify reports: what a run's operations moved in all,
// whatever accounts they touched.
func moved(before, after ledger.VerifyReport, cur ledger.Currency) *big.Int {
	posted := func(r ledger.VerifyReport) *big.Int {
		for _, t := range r.Currencies {
			if t.Currency == cur {
				v := new(big.Int).SetUint64(t.DebitsPosted.Hi)
				return v.Lsh(v, 64).Add(v, new(big.Int).SetUint64(t.DebitsPosted.Lo))
			}
		}
		return new(big.Int)
	}
	return new(big.Int).Sub(posted(after), posted(before))
}

// ackTap is a ledger.Store that records, once armed, every transfer the
// store under it acknowledges (applied, or an idempotent duplicate): for
// scenarios whose driver keeps its transfer IDs to itself, the record of
// what the ledger answered, to check afterwards that it is all stored.
type ackTap struct {
	ledger.Store
	armed atomic.Bool
	mu    sync.Mutex
	acked []ledger.Transfer
}

func (s *ackTap) CreateTransfer(ctx context.Context, t ledger.Transfer, now time.Time) (ledger.Result, error) {
	r, err := s.Store.CreateTransfer(ctx, t, now)
	if err == nil && r.Err == nil && s.armed.Load() {
		s.mu.Lock()
		s.acked = append(s.acked, t)
		s.mu.Unlock()
	}
	return r, err
}

func (s *ackTap) CreateTransfers(ctx context.Context, ts []ledger.Transfer, linked bool, now time.Time) ([]ledger.Result, error) {
	rs, err := s.Store.CreateTransfers(ctx, ts, linked, now)
	if err == nil && s.armed.Load() {
		s.mu.Lock()
		for i, r := range rs {
			if r.Err == nil {
				s.acked = append(s.acked, ts[i])
			}
		}
		s.mu.Unlock()
	}
	return rs, err
}

// transfers returns the distinct transfers acknowledged while armed.
func (s *ackTap) transfers() []ledger.Transfer {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := make(map[uuid.UUID]bool, len(s.acked))
	var out []ledger.Transfer
	for _, t := range s.acked {
		if !seen[t.ID] {
			seen[t.ID] = true
			out = append(out, t)
		}
	}
	return out
}

// checkStored looks want up (in chunks, on workers) and returns how many
// are stored as wanted, and what is wrong with the others (the first few).
func checkStored(ctx context.Context, lookup lookupFunc, workers int, want []ledger.Transfer) (int, []error, error) {
	var ok atomic.Int64
	var mu sync.Mutex
	var bad []error
	err := inChunks(ctx, workers, lookupChunk, want, func(ctx context.Context, part []ledger.Transfer) error {
		ids := make([]uuid.UUID, len(part))
		for i, t := range part {
			ids[i] = t.ID
		}
		stored, err := lookup(ctx, ids)
		if err != nil {
			return err
		}
		got := make(map[uuid.UUID]ledger.Transfer, len(stored))
		for _, t := range stored {
			got[t.ID] = t
		}
		for _, w := range part {
			t, found := got[w.ID]
			var e error
			switch {
			case !found:
				e = fmt.Errorf("transfer %s: acknowledged, not stored", w.ID)
			case t.Amount != w.Amount || t.DebitAccountID != w.DebitAccountID || t.CreditAccountID != w.CreditAccountID:
				e = fmt.Errorf("transfer %s: stored %v from %s to %s, acknowledged %v from %s to %s",
					w.ID, t.Amount, t.DebitAccountID, t.CreditAccountID, w.Amount, w.DebitAccountID, w.CreditAccountID)
			default:
				ok.Add(1)
				continue
			}
			mu.Lock()
			if len(bad) < 10 {
				bad = append(bad, e)
			}
			mu.Unlock()
		}
		return nil
	})
	return int(ok.Load()), bad, err
}

// checkBalances checks that each account's balance (posted credits less
// debits) is want[account].
func checkBalances(ctx context.Context, l *ledger.Ledger, workers int, want map[uuid.UUID]int64) ([]error, error) {
	ids := make([]uuid.UUID, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	var mu sync.Mutex
	var bad []error
	err := parallel(ctx, workers, len(ids), func(ctx context.Context, i int) error {
		a, err := l.Account(ctx, ids[i])
		if err != nil {
			return err
		}
		if a.Balance.Net() != want[ids[i]] {
			mu.Lock()
			if len(bad) < 10 {
				bad = append(bad, fmt.Errorf("account %s: balance %d, want %d", ids[i], a.Balance.Net(), want[ids[i]]))
			}
			mu.Unlock()
		}
		return nil
	})
	return bad, err
}

// payments is what checkPayments found.
type payments struct {
	stored   int      // payments stored as acknowledged
	accounts int      // payers and payees whose balances were known
	balances string   // how many balances were wrong, or why none were checked
	paid     int64    // the payments' sum
	moved    *big.Int // what the ledger moved since the run began
	after    ledger.VerifyReport
	bad      []error // what is wrong (the first few of each kind)
}

func (p payments) String() string {
	return fmt.Sprintf("stored=%d accounts-checked=%d wrong-balances=%s moved=%s paid=%d ledger-verify=ok accounts=%d entries=%d",
		p.stored, p.accounts, p.balances, p.moved, p.paid, p.after.Accounts, p.after.Entries)
}

// checkPayments checks the payments a scenario's clients were told
// settled, want, of amount each, every payer having opened with funds and
// every payee with nothing: each is stored as acknowledged; unless an
// operation was left unknown (it may have been applied unseen), every
// payer's and payee's balance is what want makes it; the ledger moved
// want's sum since before, plus at most amount for each operation left
// unknown; and the ledger verifies. err is a check that could not run.
func (e *Env) checkPayments(ctx context.Context, before ledger.VerifyReport, want []ledger.Transfer, funds, amount int64) (payments, error) {
	var p payments
	balances := map[uuid.UUID]int64{}
	for _, t := range want {
		if _, ok := balances[t.DebitAccountID]; !ok {
			balances[t.DebitAccountID] = funds
		}
		balances[t.DebitAccountID] -= t.Amount.Units()
		balances[t.CreditAccountID] += t.Amount.Units()
		p.paid += t.Amount.Units()
	}
	p.accounts = len(balances)
	workers := max(4, e.Opts.Clients)
	var err error
	if p.stored, p.bad, err = checkStored(ctx, e.lookup, workers, want); err != nil {
		return p, fmt.Errorf("lookup: %w", err)
	}
	unknown := e.unknown.Load()
	p.balances = "skipped(unknown-operations)"
	if unknown == 0 {
		wrong, err := checkBalances(ctx, e.Ledger, workers, balances)
		if err != nil {
			return p, fmt.Errorf("balances: %w", err)
		}
		p.bad = append(p.bad, wrong...)
		p.balances = fmt.Sprint(len(wrong))
	}
	if p.after, err = snapshot(ctx, e.Ledger); err != nil {
		return p, err
	}
	p.moved = moved(before, p.after, e.Currency)
	if p.moved.Cmp(big.NewInt(p.paid)) < 0 || p.moved.Cmp(big.NewInt(p.paid+unknown*amount)) > 0 {
		p.bad = append(p.bad, fmt.Errorf("the ledger moved %s, the payments sum to %d (%d operations of %d unknown)", p.moved, p.paid, unknown, amount))
	}
	return p, nil
}
