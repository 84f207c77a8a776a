package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// benchWorld is a store on a fresh schema with n wallets funded from a
// bank account.
func benchWorld(b *testing.B, n int) (ledger.Store, []uuid.UUID) {
	b.Helper()
	ctx := context.Background()
	s := NewLedgerStore(freshDB(b))
	cny := ledger.MustCurrency("CNY")
	now := time.Now()
	bank, err := s.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny}, now)
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]uuid.UUID, n)
	fund := make([]ledger.Transfer, n)
	for i := range ids {
		a, err := s.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits}, now)
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = a.ID
		fund[i] = ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: a.ID, Amount: ledger.NewMoney(1e12, cny)}
	}
	if _, err := s.CreateTransfers(ctx, fund, false, now); err != nil {
		b.Fatal(err)
	}
	return s, ids
}

func pay(from, to uuid.UUID) ledger.Transfer {
	return ledger.Transfer{ID: uuid.New(), DebitAccountID: from, CreditAccountID: to, Amount: ledger.NewMoney(1, ledger.MustCurrency("CNY"))}
}

// One transfer per transaction, one caller: latency of the two round trips
// and the commit.
func BenchmarkCreateTransfer(b *testing.B) {
	s, ids := benchWorld(b, 2)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r, err := s.CreateTransfer(ctx, pay(ids[0], ids[1]), time.Now()); err != nil || r.Err != nil {
			b.Fatal(err, r.Err)
		}
	}
}

// An independent batch of 100 transfers per transaction.
func BenchmarkCreateTransfersBatch100(b *testing.B) {
	s, ids := benchWorld(b, 200)
	ctx := context.Background()
	ts := make([]ledger.Transfer, 100)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for i := range ts {
			ts[i] = pay(ids[(2*i+n)%len(ids)], ids[(2*i+n+1)%len(ids)])
		}
		n++
		if _, err := s.CreateTransfers(ctx, ts, false, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(100*n)/b.Elapsed().Seconds(), "transfers/s")
}

// Single transfers from parallel callers that all pay one account,
// through ledger.GroupCommit.
func BenchmarkGroupCommitHot(b *testing.B) {
	s, ids := benchWorld(b, 64)
	g := ledger.NewGroupCommit(s, ledger.GroupCommitOptions{})
	ctx := context.Background()
	hot := ids[0]
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		from := ids[1+int(uuid.New()[0])%(len(ids)-1)]
		for pb.Next() {
			if r, err := g.CreateTransfer(ctx, pay(from, hot), time.Now()); err != nil || r.Err != nil {
				b.Error(err, r.Err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transfers/s")
}
