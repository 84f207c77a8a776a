package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
)

// The conformance suite, on a store that seals its entries (Verify, run
// throughout the suite, checks every seal); the stores of the other tests
// do not seal.
func TestStore(t *testing.T) {
	sealer := testSealer(t, key(1, 'k'))
	ledgertest.Run(t, func(t testing.TB) ledger.Store {
		s := storeFor(t)
		s.db.cfg.Sealer = sealer
		return s
	})
}

// The group-commit batcher over PostgreSQL: concurrent single transfers
// share transactions, and the suite still holds.
func TestGroupCommitStore(t *testing.T) {
	ledgertest.Run(t, func(t testing.TB) ledger.Store {
		return ledger.NewGroupCommit(storeFor(t), ledger.GroupCommitOptions{})
	})
}

func TestLookupTransfers(t *testing.T) {
	ctx := context.Background()
	s := storeFor(t)
	l := ledger.New(s, ledger.Options{})
	cny := ledger.MustCurrency("CNY")
	a, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	b, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	want := map[uuid.UUID]int64{}
	var ids []uuid.UUID
	for i := range 5 {
		tr, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: a.ID, CreditAccountID: b.ID, Amount: ledger.NewMoney(int64(i+1), cny)})
		if err != nil {
			t.Fatal(err)
		}
		want[tr.ID] = int64(i + 1)
		ids = append(ids, tr.ID, uuid.New())
	}
	got, err := s.LookupTransfers(ctx, ids)
	if err != nil || len(got) != len(want) {
		t.Fatalf("found %d of %d: %v", len(got), len(want), err)
	}
	for _, tr := range got {
		if want[tr.ID] != tr.Amount.Units() {
			t.Fatalf("transfer %s: %s", tr.ID, tr.Amount)
		}
	}
}

// BalanceAt binary-searches an account's entries by time; entries of one
// batch share a time, and the answer is the last of them.
func TestBalanceAtSearch(t *testing.T) {
	ctx := context.Background()
	s := storeFor(t)
	cny := ledger.MustCurrency("CNY")
	start := time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC)
	src, _ := s.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny}, start)
	w, _ := s.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny}, start)
	at := start
	amount := int64(1)
	for round, n := range []int{5, 1, 1, 3, 1, 8, 2} {
		at = at.Add(time.Duration(round+1) * time.Second)
		var ts []ledger.Transfer
		for range n {
			ts = append(ts, ledger.Transfer{ID: uuid.New(), DebitAccountID: src.ID, CreditAccountID: w.ID, Amount: ledger.NewMoney(amount, cny)})
			amount *= 2
		}
		if _, err := s.CreateTransfers(ctx, ts, false, at); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := s.Entries(ctx, w.ID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	probes := []time.Time{start, start.Add(-time.Hour), at.Add(time.Hour)}
	for _, e := range entries {
		probes = append(probes, e.Time, e.Time.Add(-time.Microsecond), e.Time.Add(time.Microsecond))
	}
	for _, p := range probes {
		var want ledger.Balance
		for _, e := range entries {
			if !e.Time.After(p) {
				want = e.Balance
			}
		}
		got, err := s.BalanceAt(ctx, w.ID, p)
		if err != nil || got != want {
			t.Fatalf("balance at %s: %+v %v, want %+v", p, got, err, want)
		}
	}
	if _, err := s.BalanceAt(ctx, uuid.New(), start); !errors.Is(err, ledger.ErrAccountNotFound) {
		t.Fatalf("unknown account: %v", err)
	}
}
