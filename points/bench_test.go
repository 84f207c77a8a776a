package points_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/points"
)

// benchWorld is a service on memory stores with users holding points and
// wallets, and a funded conversion account.
func benchWorld(b *testing.B, users int) (*points.Service, []uuid.UUID, []uuid.UUID) {
	ctx := context.Background()
	l := ledger.New(nil, ledger.Options{})
	bank, conv := uuid.New(), uuid.New()
	for _, a := range []ledger.Account{{ID: bank, Currency: cny}, {ID: conv, Currency: cny, Flags: ledger.DebitsMustNotExceedCredits}} {
		if _, err := l.CreateAccount(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank, CreditAccountID: conv, Amount: ledger.NewMoney(1<<60, cny)}); err != nil {
		b.Fatal(err)
	}
	svc, err := points.New(points.Config{Ledger: l, SingleProcess: true, ExpiryMonths: 12,
		Rules: []points.EarnRule{{Name: "grant", Kind: points.Fixed, Points: 1 << 50},
			{Name: "payment", Kind: points.PerAmount, Points: 1, Per: ledger.NewMoney(100, cny)}},
		Issuance: uuid.New(), Redeemed: uuid.New(), Expired: uuid.New(), Conversion: map[ledger.Currency]uuid.UUID{cny: conv}})
	if err != nil {
		b.Fatal(err)
	}
	if err := svc.OpenSystemAccounts(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := svc.SetRate(ctx, points.RedeemRateName(cny), 1, 100, 1); err != nil {
		b.Fatal(err)
	}
	us, ws := make([]uuid.UUID, users), make([]uuid.UUID, users)
	for i := range us {
		us[i], ws[i] = uuid.New(), uuid.New()
		if _, err := l.CreateAccount(ctx, ledger.Account{ID: ws[i], Currency: cny, Flags: ledger.DebitsMustNotExceedCredits}); err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Earn(ctx, points.EarnRequest{User: us[i], Rule: "grant", Key: "grant"}); err != nil {
			b.Fatal(err)
		}
	}
	return svc, us, ws
}

// BenchmarkEarn: per-payment earns (record, ledger transfer, posted mark)
// on the memory stores from GOMAXPROCS goroutines over 1,024 users.
func BenchmarkEarn(b *testing.B) {
	svc, us, _ := benchWorld(b, 1024)
	ctx := context.Background()
	var n atomic.Int64
	amount := ledger.NewMoney(100, cny)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, err := svc.Earn(ctx, points.EarnRequest{User: us[i%int64(len(us))], Rule: "payment", Key: strconv.FormatInt(i, 10), Amount: amount}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "earns/s")
}

// BenchmarkRedeem: redemptions of 100 points for 0.01 CNY (record with
// FIFO allocation, linked points and money transfers, posted mark) on the
// memory stores from GOMAXPROCS goroutines over 1,024 users.
func BenchmarkRedeem(b *testing.B) {
	svc, us, ws := benchWorld(b, 1024)
	ctx := context.Background()
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			u := i % int64(len(us))
			if _, err := svc.Redeem(ctx, points.RedeemRequest{User: us[u], Key: strconv.FormatInt(i, 10), Points: 100, Wallet: ws[u], Currency: cny}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "redemptions/s")
}

// BenchmarkSweep: one sweep expiring b.N lots of b.N users on the memory
// stores (due index, then one store step and one ledger transfer a lot).
func BenchmarkSweep(b *testing.B) {
	ctx := context.Background()
	now := t0
	clock := func() time.Time { return now }
	svc, err := points.New(points.Config{Ledger: ledger.New(nil, ledger.Options{Now: clock}), ExpiryMonths: 1, Now: clock, SingleProcess: true,
		Rules:    []points.EarnRule{{Name: "grant", Kind: points.Fixed, Points: 10}},
		Issuance: uuid.New(), Redeemed: uuid.New(), Expired: uuid.New()})
	if err != nil {
		b.Fatal(err)
	}
	if err := svc.OpenSystemAccounts(ctx); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		if _, err := svc.Earn(ctx, points.EarnRequest{User: uuid.New(), Rule: "grant", Key: "g"}); err != nil {
			b.Fatal(err)
		}
	}
	now = now.AddDate(0, 3, 0)
	b.ResetTimer()
	rep, err := svc.Sweep(ctx)
	if err != nil || rep.Lots != b.N {
		b.Fatalf("sweep: %+v %v", rep, err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lots/s")
}
