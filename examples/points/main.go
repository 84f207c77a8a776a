// Command points is a year of a bank customer's points (积分) on
// socialpay's ledger (memory stores, a simulated clock): a sign-up bonus
// and points per yuan paid in January, a campaign's reward (抢快乐) in
// February; a redemption into money, retried five times at once and paid
// once; an exchange out to the bank's credit-card points and one back in;
// a new redemption rate that leaves the old redemption's rate as it was;
// then the sweeps that expire what is left of each month's lot after 12
// months, oldest spent first; the statement, the bank's points accounts,
// and the ledger's Verify.
//
//	go run ./examples/points
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/points"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "points:", err)
		os.Exit(1)
	}
}

// clock is the simulated clock of the ledger and the service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func run(w io.Writer) error {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
	l := ledger.New(ledger.NewMemoryStore(), ledger.Options{Now: clk.Now})
	cny := ledger.MustCurrency("CNY")
	bank, conversion, wallet, card := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	for _, a := range []ledger.Account{
		{ID: bank, Currency: cny},
		{ID: conversion, Currency: cny, Flags: ledger.DebitsMustNotExceedCredits},
		{ID: wallet, Currency: cny, Flags: ledger.DebitsMustNotExceedCredits},
		{ID: card, Currency: points.Unit()}, // the credit-card scheme's clearing account, in points
	} {
		if _, err := l.CreateAccount(ctx, a); err != nil {
			return err
		}
	}
	fund, _ := ledger.ParseMoney("1000.00", "CNY")
	if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank, CreditAccountID: conversion, Amount: fund}); err != nil {
		return err
	}
	yuan, _ := ledger.ParseMoney("1.00", "CNY")
	cfg := points.Config{
		Ledger: l, ExpiryMonths: 12, Now: clk.Now, Location: time.FixedZone("CST", 8*3600),
		SingleProcess: true, // one process: its own MemoryStore will do
		Rules: []points.EarnRule{
			{Name: "signup", Kind: points.Fixed, Points: 200},
			{Name: "payment", Kind: points.PerAmount, Points: 1, Per: yuan, Max: 5000},
			{Name: "campaign", Kind: points.Fixed, Points: 500},
		},
		Issuance: uuid.New(), Redeemed: uuid.New(), Expired: uuid.New(),
		Conversion: map[ledger.Currency]uuid.UUID{cny: conversion},
		Partners:   map[string]uuid.UUID{"credit-card": card},
	}
	svc, err := points.New(cfg)
	if err != nil {
		return err
	}
	if err := svc.OpenSystemAccounts(ctx); err != nil {
		return err
	}
	for _, r := range []struct {
		name     string
		from, to int64
	}{
		{points.RedeemRateName(cny), 100, 100},            // 100 points = 1.00 CNY
		{points.ExchangeOutRateName("credit-card"), 2, 1}, // 2 points = 1 card point
		{points.ExchangeInRateName("credit-card"), 1, 2},  // 1 card point = 2 points
	} {
		if _, err := svc.SetRate(ctx, r.name, 1, r.from, r.to); err != nil {
			return err
		}
	}

	user := uuid.New()
	earn := func(rule, key, amount string) error {
		req := points.EarnRequest{User: user, Rule: rule, Key: key}
		if amount != "" {
			m, err := ledger.ParseMoney(amount, "CNY")
			if err != nil {
				return err
			}
			req.Amount = m
		}
		op, err := svc.Earn(ctx, req)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s  earn %-8s %-10s +%d points (lot %s)\n", clk.Now().Format(time.DateOnly), rule, amount, op.Points, op.Month)
		return nil
	}
	for _, e := range [][3]string{{"signup", "signup", ""}, {"payment", "pay-0001", "88.88"}, {"payment", "pay-0002", "23.50"}} {
		if err := earn(e[0], e[1], e[2]); err != nil {
			return err
		}
	}
	clk.Set(time.Date(2026, 2, 17, 20, 0, 0, 0, time.UTC))
	if err := earn("campaign", "抢快乐-2026", ""); err != nil {
		return err
	}
	if _, err := svc.Earn(ctx, points.EarnRequest{User: user, Rule: "campaign", Key: "抢快乐-2026"}); err != nil {
		return err
	}
	fmt.Fprintln(w, "            the campaign's reward again: the same operation, nothing more")

	// Five retries of one redemption at once.
	req := points.RedeemRequest{User: user, Key: "redeem-1", Points: 200, Wallet: wallet, Currency: cny}
	ops, errs := ledgertest.Concurrently(5, func(int) (points.Op, error) { return svc.Redeem(ctx, req) })
	ids := map[uuid.UUID]bool{}
	for i := range ops {
		if errs[i] != nil {
			return errs[i]
		}
		ids[ops[i].ID] = true
	}
	r1 := ops[0]
	fmt.Fprintf(w, "%s  redeem 200 points, 5 retries at once: %d operation, %s paid at rate v%d (%d:%d), from lot(s) %v\n",
		clk.Now().Format(time.DateOnly), len(ids), r1.Money(), r1.Rate.Version, r1.Rate.From, r1.Rate.To, r1.Takes)

	out, err := svc.ExchangeOut(ctx, points.ExchangeRequest{User: user, Partner: "credit-card", Key: "x-1", Points: 101})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "            exchange 101 points out: %d used for %d card points (rounded down)\n", out.Points, out.Other)
	in, err := svc.ExchangeIn(ctx, points.ExchangeRequest{User: user, Partner: "credit-card", Key: "x-2", Points: 30})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "            exchange 30 card points in: +%d points (lot %s)\n", in.Points, in.Month)

	clk.Set(time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC))
	if _, err := svc.SetRate(ctx, points.RedeemRateName(cny), 2, 120, 100); err != nil {
		return err
	}
	r2, err := svc.Redeem(ctx, points.RedeemRequest{User: user, Key: "redeem-2", Points: 125, Wallet: wallet, Currency: cny})
	if err != nil {
		return err
	}
	old, err := svc.Op(ctx, r1.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s  new rate v2 (120:100); redeem 125 points: %d used for %s; the first redemption still shows v%d\n",
		clk.Now().Format(time.DateOnly), r2.Points, r2.Money(), old.Rate.Version)
	if _, err := svc.Redeem(ctx, points.RedeemRequest{User: user, Key: "redeem-3", Points: 10_000, Wallet: wallet, Currency: cny}); !errors.Is(err, points.ErrInsufficientPoints) {
		return fmt.Errorf("redeeming more than held: %v", err)
	}
	fmt.Fprintln(w, "            redeem 10000 points: refused, insufficient points")

	if err := statement(ctx, w, svc, user, cfg.Location); err != nil {
		return err
	}
	for _, at := range []time.Time{time.Date(2027, 1, 31, 16, 0, 0, 0, time.UTC), time.Date(2027, 2, 28, 16, 0, 0, 0, time.UTC)} {
		clk.Set(at)
		rep, err := svc.Sweep(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s  expiry sweep: %d lot(s), %d points expired\n", at.In(cfg.Location).Format(time.DateTime), rep.Lots, rep.Points)
	}
	if err := statement(ctx, w, svc, user, cfg.Location); err != nil {
		return err
	}
	var sum int64
	for _, a := range []struct {
		name string
		id   uuid.UUID
	}{{"issuance", cfg.Issuance}, {"redeemed", cfg.Redeemed}, {"expired", cfg.Expired}, {"credit-card", card}, {"customer", svc.AccountOf(user)}} {
		acct, err := l.Account(ctx, a.id)
		if err != nil {
			return err
		}
		sum += acct.Balance.Net()
		fmt.Fprintf(w, "points account %-11s %6d\n", a.name, acct.Balance.Net())
	}
	fmt.Fprintf(w, "points accounts sum to %d; wallet %s\n", sum, must(l.Account(ctx, wallet)).NetMoney())
	if sum != 0 {
		return fmt.Errorf("points accounts sum to %d", sum)
	}
	rep, err := l.Verify(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "ledger verified: %+v\n", rep)
	return nil
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func statement(ctx context.Context, w io.Writer, svc *points.Service, user uuid.UUID, loc *time.Location) error {
	st, err := svc.Statement(ctx, user)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "statement: earned %d, spent %d, expired %d, balance %d\n", st.Earned, st.Spent, st.Expired, st.Balance)
	for _, lot := range st.Lots {
		fmt.Fprintf(w, "  lot %s: %d left, earned %d, spent %d, expires %s\n", lot.Month, lot.Remaining, lot.Credited, lot.Spent, lot.ExpiresAt.In(loc).Format(time.DateTime))
	}
	return nil
}
