package points_test

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/points"
)

// A bank's points: 200 for signing up, 1 per whole yuan paid, lasting 12
// months; 300 points redeem for 1.00 CNY from a conversion account the
// bank funds. 250 points are worth 0.83 CNY (rounded down), and buying
// 0.83 CNY takes only 249 of them: the user keeps the last point.
func Example() {
	ctx := context.Background()
	now := time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	l := ledger.New(nil, ledger.Options{Now: clock})
	cny := ledger.MustCurrency("CNY")
	bank, conversion, wallet := uuid.New(), uuid.New(), uuid.New()
	for _, a := range []ledger.Account{{ID: bank, Currency: cny}, {ID: conversion, Currency: cny, Flags: ledger.DebitsMustNotExceedCredits},
		{ID: wallet, Currency: cny, Flags: ledger.DebitsMustNotExceedCredits}} {
		if _, err := l.CreateAccount(ctx, a); err != nil {
			panic(err)
		}
	}
	funding, _ := ledger.ParseMoney("1000.00", "CNY")
	if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank, CreditAccountID: conversion, Amount: funding}); err != nil {
		panic(err)
	}
	yuan, _ := ledger.ParseMoney("1.00", "CNY")
	svc, err := points.New(points.Config{
		Ledger: l, ExpiryMonths: 12, Now: clock,
		SingleProcess: true, // one process: its own MemoryStore will do
		Rules: []points.EarnRule{
			{Name: "signup", Kind: points.Fixed, Points: 200},
			{Name: "payment", Kind: points.PerAmount, Points: 1, Per: yuan},
		},
		Issuance: uuid.New(), Redeemed: uuid.New(), Expired: uuid.New(),
		Conversion: map[ledger.Currency]uuid.UUID{cny: conversion},
	})
	if err != nil {
		panic(err)
	}
	if err := svc.OpenSystemAccounts(ctx); err != nil {
		panic(err)
	}
	if _, err := svc.SetRate(ctx, points.RedeemRateName(cny), 1, 300, 100); err != nil { // 300 points = 100 fen
		panic(err)
	}

	user := uuid.New()
	paid, _ := ledger.ParseMoney("88.88", "CNY")
	for _, req := range []points.EarnRequest{
		{User: user, Rule: "signup", Key: "signup"},
		{User: user, Rule: "payment", Key: "payment-1", Amount: paid},
		{User: user, Rule: "signup", Key: "signup"}, // a retry: nothing more
	} {
		op, err := svc.Earn(ctx, req)
		fmt.Println("earn", req.Rule, op.Points, op.Status, err)
	}
	r, err := svc.Redeem(ctx, points.RedeemRequest{User: user, Key: "redeem-1", Points: 250, Wallet: wallet, Currency: cny})
	fmt.Println("redeem: used", r.Points, "for", r.Money(), "at rate version", r.Rate.Version, err)

	st, _ := svc.Statement(ctx, user)
	fmt.Println("earned", st.Earned, "spent", st.Spent, "expired", st.Expired, "balance", st.Balance)
	for _, lot := range st.Lots {
		fmt.Println("lot", lot.Month, "left", lot.Remaining, "expires", lot.ExpiresAt.Format(time.DateOnly))
	}
	// Output:
	// earn signup 200 posted <nil>
	// earn payment 88 posted <nil>
	// earn signup 200 posted <nil>
	// redeem: used 249 for 0.83 CNY at rate version 1 <nil>
	// earned 288 spent 249 expired 0 balance 39
	// lot 2026-02 left 39 expires 2027-03-01
}
