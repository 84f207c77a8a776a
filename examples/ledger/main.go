// Command ledger is a tour of socialpay's ledger on the embedded memory
// store: accounts, an immediate transfer, a retried transfer, a two-phase
// hold with a partial post, a linked principal-plus-fee payment, a reversal,
// balances, history and Verify.
//
//	go run ./examples/ledger
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

func main() {
	ctx := context.Background()
	now := time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)
	clock := func() time.Time { now = now.Add(time.Second); return now }
	l := ledger.New(ledger.NewMemoryStore(), ledger.Options{Now: clock})
	cny := ledger.MustCurrency("CNY")

	open := func(name string, flags ledger.AccountFlags) uuid.UUID {
		a, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: flags,
			Metadata: map[string]string{"name": name}})
		check(err)
		return a.ID
	}
	names := map[uuid.UUID]string{}
	bank := open("bank", 0)
	fees := open("fees", 0)
	alice := open("alice", ledger.DebitsMustNotExceedCredits)
	bob := open("bob", ledger.DebitsMustNotExceedCredits)
	for id, n := range map[uuid.UUID]string{bank: "bank", fees: "fees", alice: "alice", bob: "bob"} {
		names[id] = n
	}
	amount := func(s string) ledger.Money {
		m, err := ledger.ParseAmount(s, "CNY")
		check(err)
		return m
	}
	show := func(what string, t ledger.Transfer) {
		fmt.Printf("%-28s %-6s → %-6s %12s  %s\n", what, names[t.DebitAccountID], names[t.CreditAccountID], t.Amount, t.Status)
	}

	t, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank, CreditAccountID: alice, Amount: amount("500.00")})
	check(err)
	show("deposit", t)

	gift := ledger.Transfer{ID: uuid.New(), DebitAccountID: alice, CreditAccountID: bob, Amount: amount("88.88"), Reference: "新年快乐"}
	t, err = l.Transfer(ctx, gift)
	check(err)
	show("transfer", t)
	t, err = l.Transfer(ctx, gift) // a retry: same ID, same content
	check(err)
	show("retry (moves nothing)", t)

	hold, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), Kind: ledger.KindPending, DebitAccountID: alice, CreditAccountID: bob,
		Amount: amount("100.00"), Timeout: 2 * time.Hour})
	check(err)
	show("hold (+2 h timeout)", hold)
	t, err = l.Post(ctx, uuid.New(), hold.ID, amount("60.00"))
	check(err)
	show("post 60.00 of the hold", t)

	rs, err := l.Linked(ctx, []ledger.Transfer{
		{ID: uuid.New(), DebitAccountID: bob, CreditAccountID: alice, Amount: amount("50.00"), Reference: "split bill"},
		{ID: uuid.New(), DebitAccountID: bob, CreditAccountID: fees, Amount: amount("0.50"), Reference: "fee"},
	})
	check(err)
	for _, r := range rs {
		show("linked leg", r.Transfer)
	}
	_, err = l.Linked(ctx, []ledger.Transfer{
		{ID: uuid.New(), DebitAccountID: bob, CreditAccountID: alice, Amount: amount("90.00")},
		{ID: uuid.New(), DebitAccountID: bob, CreditAccountID: fees, Amount: amount("9.00")},
	})
	fmt.Println("linked batch that does not fit:", err)

	t, err = l.Reverse(ctx, uuid.New(), gift.ID, "refund")
	check(err)
	show("reversal of the transfer", t)

	fmt.Println()
	for _, id := range []uuid.UUID{bank, fees, alice, bob} {
		a, err := l.Account(ctx, id)
		check(err)
		fmt.Printf("%-6s posted %12s  available %12s\n", names[id], a.NetMoney(), a.AvailableMoney())
	}
	fmt.Println("\nalice's history:")
	hist, err := l.History(ctx, alice, 0, 100)
	check(err)
	for _, e := range hist {
		fmt.Printf("  #%d %-8s %-6s posted %+7d pending %+7d → balance %7d  %s…\n", e.Seq, e.Kind, e.Side,
			e.PostedDelta, e.PendingDelta, e.Balance.Net(), e.Hash.String()[:12])
	}
	r, err := l.Verify(ctx)
	check(err)
	fmt.Printf("\nverify: %d accounts, %d entries, hash chains intact, CNY debits = credits = %s\n",
		r.Accounts, r.Entries, r.Currencies[0].DebitsPosted)
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
