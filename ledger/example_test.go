package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

func Example() {
	ctx := context.Background()
	clock := time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)
	l := ledger.New(nil, ledger.Options{Now: func() time.Time { return clock }}) // memory store

	cny := ledger.MustCurrency("CNY")
	bank, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	alice, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
	bob, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})

	deposit, _ := ledger.ParseAmount("100.00", "CNY")
	if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: alice.ID, Amount: deposit}); err != nil {
		panic(err)
	}
	gift, _ := ledger.ParseAmount("88.88", "CNY")
	pay := ledger.Transfer{ID: uuid.New(), DebitAccountID: alice.ID, CreditAccountID: bob.ID, Amount: gift}
	if _, err := l.Transfer(ctx, pay); err != nil {
		panic(err)
	}
	// A retry of the same transfer moves nothing.
	if _, err := l.Transfer(ctx, pay); err != nil {
		panic(err)
	}
	// A second 88.88 does not fit.
	pay.ID = uuid.New()
	_, err := l.Transfer(ctx, pay)
	fmt.Println(errors.Is(err, ledger.ErrInsufficientFunds))

	a, _ := l.Account(ctx, alice.ID)
	b, _ := l.Account(ctx, bob.ID)
	fmt.Println("alice", a.NetMoney())
	fmt.Println("bob", b.NetMoney())
	if _, err := l.Verify(ctx); err != nil {
		panic(err)
	}
	fmt.Println("verified")
	// Output:
	// true
	// alice 11.12 CNY
	// bob 88.88 CNY
	// verified
}

func ExampleParseMoney() {
	for _, in := range []struct{ s, cur string }{
		{"88.88", "CNY"}, {"1000", "JPY"}, {"1.234", "KWD"}, {"0.001", "CNY"}, {"1e3", "CNY"}, {"5", "XXX"},
	} {
		m, err := ledger.ParseMoney(in.s, in.cur)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(m, m.Units())
	}
	// Output:
	// 88.88 CNY 8888
	// 1000 JPY 1000
	// 1.234 KWD 1234
	// amount "0.001": 0.001 has more than 2 decimals for CNY: ledger: amount has more decimals than its currency
	// amount "1e3": ledger: amount is not a decimal number
	// currency "XXX": ledger: unknown currency
}

func ExampleLedger_Post() {
	ctx := context.Background()
	l := ledger.New(nil, ledger.Options{})
	cny := ledger.MustCurrency("CNY")
	src, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	payer, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
	payee, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	_, _ = l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: src.ID, CreditAccountID: payer.ID, Amount: ledger.NewMoney(5000, cny)})

	// Reserve 30.00 for two hours, then post 25.00 of it.
	hold, _ := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), Kind: ledger.KindPending,
		DebitAccountID: payer.ID, CreditAccountID: payee.ID, Amount: ledger.NewMoney(3000, cny), Timeout: 2 * time.Hour})
	a, _ := l.Account(ctx, payer.ID)
	fmt.Println("available while held:", a.AvailableMoney())
	if _, err := l.Post(ctx, uuid.New(), hold.ID, ledger.NewMoney(2500, cny)); err != nil {
		panic(err)
	}
	a, _ = l.Account(ctx, payer.ID)
	fmt.Println("after posting 25.00:", a.AvailableMoney())
	_, err := l.Void(ctx, uuid.New(), hold.ID)
	fmt.Println(errors.Is(err, ledger.ErrPendingResolved))
	// Output:
	// available while held: 20.00 CNY
	// after posting 25.00: 25.00 CNY
	// true
}

// A user is the bank's stable uuid.UUID of a customer. A bank whose
// customer numbers are text derives each user's ID from the number under
// a namespace of its own, chosen once (docs/identity.md): the same number
// always gives the same user, two numbers never one.
func ExampleDeriveID_customer() {
	bankNS := uuid.MustParse("3b1f5e0c-7a2d-4c9e-8f61-2d4b6a8c0e13") // kept with the bank's configuration
	user := func(customerNumber string) uuid.UUID { return ledger.DeriveID(bankNS, "customer", customerNumber) }
	alice, again, bob := user("C-0001"), user("C-0001"), user("C-0002")
	fmt.Println(alice)
	fmt.Println(alice == again, alice == bob)
	// Output:
	// baf5fb28-8e1c-52d2-9dd9-3770b99c9b4b
	// true false
}

// Every idempotency key is checked the same way: 1 to MaxKeyLen bytes of
// UTF-8 without control characters, what an HTTP Idempotency-Key header
// carries.
func ExampleCheckKey() {
	for _, k := range []string{"order-2027-02-05-0001", "订单 42", "", "line\nbreak"} {
		fmt.Printf("%q: %v\n", k, ledger.CheckKey(k))
	}
	// Output:
	// "order-2027-02-05-0001": <nil>
	// "订单 42": <nil>
	// "": ledger: invalid idempotency key: empty
	// "line\nbreak": ledger: invalid idempotency key: control character U+000A at byte 4
}
