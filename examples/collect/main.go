// Command collect splits a dinner bill (群收款 / AA收款) on an in-memory
// ledger: 小王 paid 388.00 for five friends and asks the other four for
// their shares. Two pay (one of them twice, on a flaky network: one
// payment), one declines, 小王 reminds the last one, a second reminder is
// refused as too soon, and 小王 closes the request. Money goes straight to
// 小王's wallet, and the ledger verifies.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/collect"
	"github.com/socialpay/socialpay/ledger"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type friends struct{}

func (friends) IsMember(context.Context, uuid.UUID, uuid.UUID) (bool, error) { return true, nil }

func run(w io.Writer) error {
	ctx := context.Background()
	cny := ledger.MustCurrency("CNY")
	now := time.Date(2026, 2, 16, 21, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	l := ledger.New(nil, ledger.Options{Now: clock})
	id := func(s string) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceOID, []byte("examples/collect "+s)) }
	bank := id("bank")
	if _, err := l.CreateAccount(ctx, ledger.Account{ID: bank, Currency: cny}); err != nil {
		return err
	}
	names := []string{"小王", "小李", "小张", "小赵", "小陈"}
	users, wallets := map[string]uuid.UUID{}, map[string]uuid.UUID{}
	for _, n := range names {
		users[n], wallets[n] = id("user "+n), id("wallet "+n)
		if _, err := l.CreateAccount(ctx, ledger.Account{ID: wallets[n], Currency: cny, Flags: ledger.DebitsMustNotExceedCredits}); err != nil {
			return err
		}
		if _, err := l.Transfer(ctx, ledger.Transfer{ID: id("top-up " + n), DebitAccountID: bank, CreditAccountID: wallets[n], Amount: ledger.NewMoney(200_00, cny)}); err != nil {
			return err
		}
	}
	svc, err := collect.New(collect.Config{
		Ledger: l, Members: friends{}, Now: clock,
		SingleProcess: true, // one process: its own MemoryStore will do
		Notifier: collect.NotifierFunc(func(_ context.Context, r collect.Request, members []uuid.UUID) error {
			fmt.Fprintf(w, "  (push to %d member(s): please pay your share of %q)\n", len(members), r.Title)
			return nil
		}),
	})
	if err != nil {
		return err
	}
	members := make([]uuid.UUID, len(names))
	for i, n := range names {
		members[i] = users[n]
	}
	total, err := ledger.ParseAmount("388.00", "CNY")
	if err != nil {
		return err
	}
	r, err := svc.Create(ctx, collect.CreateRequest{
		Key: "hotpot-2027-02-05", Requester: users["小王"], Account: wallets["小王"], Group: id("group"), Title: "火锅 hotpot",
		Members: members, Total: total,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "小王 asks for %v split %d ways (own share included):\n", total, len(members))
	for i, s := range r.Shares {
		fmt.Fprintf(w, "  %s %v %s\n", names[i], r.Money(s.Amount), s.Status)
	}
	pay := func(n string) error {
		i, _ := r.Find(users[n])
		_, err := svc.Pay(ctx, collect.PayRequest{Request: r.ID, Member: users[n], Account: wallets[n], Amount: r.Money(r.Shares[i].Amount)})
		return err
	}
	if err := pay("小李"); err != nil {
		return err
	}
	if err := pay("小李"); err != nil { // the retry of a flaky network: the same payment
		return err
	}
	fmt.Fprintln(w, "小李 pays (twice: one payment)")
	_, err = svc.Pay(ctx, collect.PayRequest{Request: r.ID, Member: users["小张"], Account: wallets["小张"], Amount: ledger.NewMoney(70_00, cny)})
	fmt.Fprintf(w, "小张 types 70.00: wrong amount %t\n", err != nil)
	if err := pay("小张"); err != nil {
		return err
	}
	fmt.Fprintln(w, "小张 pays")
	if _, err := svc.Decline(ctx, r.ID, users["小赵"]); err != nil {
		return err
	}
	fmt.Fprintln(w, "小赵 declines")
	fmt.Fprintln(w, "小王 reminds:")
	if _, err := svc.Remind(ctx, r.ID, users["小王"]); err != nil {
		return err
	}
	now = now.Add(time.Minute)
	_, err = svc.Remind(ctx, r.ID, users["小王"])
	fmt.Fprintf(w, "a minute later, again: too soon %t\n", err != nil)
	r, err = svc.Close(ctx, r.ID, users["小王"])
	if err != nil {
		return err
	}
	err = pay("小陈")
	fmt.Fprintf(w, "小王 closes; 小陈 pays after the close: refused %t, nothing moved\n", err != nil)
	fmt.Fprintf(w, "request %v: %d paid, %d declined, collected %v\n", r.Status, r.Paid, r.Declined, r.Money(r.Collected))
	for _, n := range names {
		a, err := l.Account(ctx, wallets[n])
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  %s holds %v\n", n, a.NetMoney())
	}
	if _, err := l.Verify(ctx); err != nil {
		return err
	}
	fmt.Fprintln(w, "ledger verified")
	return nil
}
