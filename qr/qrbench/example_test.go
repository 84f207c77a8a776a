package qrbench_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/socialpay/socialpay/qr/qrbench"
)

// Ten charges by three phones at two merchants: the virtual clock moves a
// step after every three, so each phone shows a fresh code each time.
func ExampleCharges() {
	ctx := context.Background()
	c, err := qrbench.NewCharges(ctx, qrbench.Config{Payers: 3, Merchants: 2, Prepare: 5})
	if err != nil {
		panic(err)
	}
	var total int64
	for range 10 {
		r, err := c.Charge(ctx)
		if err != nil {
			panic(err)
		}
		total += r.Amount.Units()
	}
	fmt.Println("charged", total, "fen")
	// Output:
	// charged 1000 fen
}

// Payments of the merchants' static codes, then of prepared dynamic codes
// until they run out.
func ExamplePayments() {
	ctx := context.Background()
	static, err := qrbench.NewPayments(ctx, qrbench.Config{Payers: 4, Merchants: 2}, false)
	if err != nil {
		panic(err)
	}
	for range 5 {
		if _, err := static.Pay(ctx); err != nil {
			panic(err)
		}
	}
	dynamic, err := qrbench.NewPayments(ctx, qrbench.Config{Payers: 4, Merchants: 2, Prepare: 3}, true)
	if err != nil {
		panic(err)
	}
	for range 3 {
		r, err := dynamic.Pay(ctx)
		fmt.Println(r.Initiation, r.Amount, err)
	}
	_, err = dynamic.Pay(ctx)
	fmt.Println(errors.Is(err, qrbench.ErrExhausted))
	// Output:
	// dynamic 1.00 CNY <nil>
	// dynamic 1.00 CNY <nil>
	// dynamic 1.00 CNY <nil>
	// true
}
