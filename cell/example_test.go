package cell_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/cell"
	"github.com/socialpay/socialpay/ledger"
)

// Two users in two cells: alice pays bob across the cells, then more than
// she has; the clearing accounts balance either way.
func Example() {
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC) }
	router, _ := cell.NewRouter("cell_0", "cell_1", "cell_2", "cell_3")
	var cells []cell.Cell
	for _, name := range router.Names() {
		cells = append(cells, cell.Cell{Name: name, Ledger: ledger.New(nil, ledger.Options{Now: now}), Store: cell.NewMemoryStore()})
	}
	c, err := cell.New(cell.Config{Router: router, Cells: cells, Now: now})
	if err != nil {
		panic(err)
	}
	// Users are UUIDs; a bank derives them from its customer numbers.
	bank := uuid.MustParse("6f1c1f3e-5a8e-4d2b-9c0e-1b2a3c4d5e6f") // the bank's namespace
	alice, bob := ledger.DeriveID(bank, "customer", "alice"), ledger.DeriveID(bank, "customer", "bob")
	fmt.Println("alice lives in", router.Cell(alice), "and bob in", router.Cell(bob))

	cny := ledger.MustCurrency("CNY")
	wallet := func(user uuid.UUID, amount string) uuid.UUID {
		l := c.CellOf(user).Ledger
		w, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
		if amount != "" {
			bank, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
			m, _ := ledger.ParseAmount(amount, "CNY")
			if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: w.ID, Amount: m}); err != nil {
				panic(err)
			}
		}
		return w.ID
	}
	aliceWallet, bobWallet := wallet(alice, "100.00"), wallet(bob, "")

	gift, _ := ledger.ParseAmount("88.88", "CNY")
	pay := cell.Payment{ID: uuid.New(), Payer: alice, PayerAccount: aliceWallet, Payee: bob, PayeeAccount: bobWallet, Amount: gift}
	p, err := c.Pay(ctx, pay)
	fmt.Println(p.State, err)
	b, _ := c.CellOf(bob).Ledger.Account(ctx, bobWallet)
	fmt.Println("bob has", b.NetMoney())

	pay.ID = uuid.New() // a second 88.88 does not fit
	p, err = c.Pay(ctx, pay)
	fmt.Println(p.State, errors.Is(err, cell.ErrPaymentFailed), errors.Is(err, ledger.ErrInsufficientFunds))

	rep, err := c.CheckClearing(ctx, cny)
	fmt.Println("clearing settled:", rep.Settled(), err)
	// Output:
	// alice lives in cell_0 and bob in cell_1
	// completed <nil>
	// bob has 88.88 CNY
	// failed true true
	// clearing settled: true <nil>
}
