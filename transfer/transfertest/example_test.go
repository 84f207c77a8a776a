package transfertest_test

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/transfer"
	"github.com/socialpay/socialpay/transfer/transfertest"
)

// A store's test runs the whole suite with one line:
//
//	func TestMyStores(t *testing.T) {
//		transfertest.Run(t, func(t testing.TB) transfertest.Env {
//			return transfertest.Env{Store: mystore.New(t), Directory: mystore.NewDirectory(t)}
//		})
//	}
//
// NewRecord builds the valid records the store tests start from.
func ExampleNewRecord() {
	ctx := context.Background()
	s := transfer.NewMemoryStore(nil) // records only: no ledger to pay on
	cny := ledger.MustCurrency("CNY")
	alice, bob := uuid.New(), uuid.New() // users: the bank's IDs of two customers
	r := transfertest.NewRecord(alice, bob, ledger.NewMoney(100_00, cny), transfer.Arrive2h)
	stored, created, err := s.Create(ctx, r, transfer.DefaultLimits())
	fmt.Println(created, err, stored.State, stored.FirstPayee, stored.DueAt.Sub(stored.CreatedAt))
	total, _ := s.DailyTotal(ctx, alice, r.Day, cny)
	fmt.Println("alice sent today:", total)
	// Output:
	// true <nil> pending true 2h0m0s
	// alice sent today: 100.00 CNY
}
