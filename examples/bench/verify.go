package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

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

// lookupFunc returns the stored transfers among ids.
type lookupFunc func(ctx context.Context, ids []uuid.UUID) ([]ledger.Transfer, error)

// bulkLookup is what stores that look up many transfers at once offer
// (postgres.Store does).
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
	const chunk = 5000
	err := parallel(ctx, workers, (len(ids)+chunk-1)/chunk, func(ctx context.Context, c int) error {
		ts, err := lookup(ctx, ids[c*chunk:min(len(ids), (c+1)*chunk)])
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
	const chunk = 5000
	err := parallel(ctx, workers, (len(ids)+chunk-1)/chunk, func(ctx context.Context, c int) error {
		got, err := commits(ctx, ids[c*chunk:min(len(ids), (c+1)*chunk)])
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
