package collect_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/collect"
	"github.com/socialpay/socialpay/ledger"
)

// BenchmarkPay: members paying their shares through the Service on the
// memory stores (ledger and requests), from parallel goroutines, requests
// of 10 members of 1.00 each, members paying from 1,000 shared wallets.
// Requests are created before the timer starts.
func BenchmarkPay(b *testing.B) {
	ctx := context.Background()
	cny := ledger.MustCurrency("CNY")
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return at }
	l := ledger.New(nil, ledger.Options{Now: now})
	svc, err := collect.New(collect.Config{Ledger: l, SingleProcess: true, Members: everyone{}, Now: now,
		Notifier: collect.NotifierFunc(func(context.Context, collect.Request, []uuid.UUID) error { return nil })})
	if err != nil {
		b.Fatal(err)
	}
	bank := uuid.New()
	l.CreateAccount(ctx, ledger.Account{ID: bank, Currency: cny})
	wallets := make([]uuid.UUID, 1000)
	for i := range wallets {
		wallets[i] = uuid.New()
		l.CreateAccount(ctx, ledger.Account{ID: wallets[i], Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
		l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank, CreditAccountID: wallets[i], Amount: ledger.NewMoney(1e12, cny)})
	}
	const size = 10
	jobs := make([]collect.PayRequest, 0, b.N+size)
	for len(jobs) < b.N {
		requester := uuid.New()
		account := uuid.New()
		l.CreateAccount(ctx, ledger.Account{ID: account, Currency: cny})
		members := make([]uuid.UUID, size)
		for i := range members {
			members[i] = uuid.New()
		}
		r, err := svc.Create(ctx, collect.CreateRequest{Key: "bench", Requester: requester, Account: account, Group: requester,
			Members: members, Total: ledger.NewMoney(size*100, cny)})
		if err != nil {
			b.Fatal(err)
		}
		for i, m := range members {
			jobs = append(jobs, collect.PayRequest{Request: r.ID, Member: m, Account: wallets[(len(jobs)+i)%len(wallets)], Amount: ledger.NewMoney(100, cny)})
		}
	}
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.Pay(ctx, jobs[next.Add(1)-1]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pays/s")
}
