package ledger_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
)

func TestGroupCommitMemoryStore(t *testing.T) {
	ledgertest.Run(t, func(testing.TB) ledger.Store {
		return ledger.NewGroupCommit(ledger.NewMemoryStore(), ledger.GroupCommitOptions{})
	})
}

// A service puts GroupCommit between its Ledger and its store; concurrent
// transfers then share commits, each with its own outcome.
func ExampleNewGroupCommit() {
	ctx := context.Background()
	l := ledger.New(ledger.NewGroupCommit(ledger.NewMemoryStore(), ledger.GroupCommitOptions{MaxBatch: 500}), ledger.Options{})
	cny := ledger.MustCurrency("CNY")
	bank, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	fees, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})

	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: fees.ID,
				Amount: ledger.NewMoney(10, cny)}); err != nil {
				fmt.Println(err)
			}
		})
	}
	wg.Wait()
	a, _ := l.Account(ctx, fees.ID)
	fmt.Println(a.NetMoney())
	// Output: 10.00 CNY
}

// TestUnwrap: Unwrap sees through a GroupCommit to the store it wraps and
// returns any other store as it is.
func TestUnwrap(t *testing.T) {
	inner := ledger.NewMemoryStore()
	g := ledger.NewGroupCommit(inner, ledger.GroupCommitOptions{})
	defer g.Close()
	if ledger.Unwrap(g) != inner || ledger.Unwrap(inner) != inner || ledger.Unwrap(nil) != nil {
		t.Fatal("Unwrap: want the wrapped store, or the store itself")
	}
}
