package qrbench_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/socialpay/socialpay/qr/qrbench"
)

// Ten charges by three phones at two merchants: the worker's clock moves a
// step after every three, so each phone shows a fresh code each time.
func ExampleCharges() {
	ctx := context.Background()
	c, err := qrbench.NewCharges(ctx, qrbench.Config{Payers: 3, Merchants: 2, Prepare: 5})
	if err != nil {
		panic(err)
	}
	w := c.Worker(0)
	var total int64
	for range 10 {
		r, err := w.Charge(ctx)
		if err != nil {
			panic(err)
		}
		total += r.Amount.Units()
	}
	fmt.Println("charged", total, "fen")

	// A charge retried (say, after a lost answer) is the same charge.
	i := w.Next()
	first, _ := w.ChargeAt(ctx, i)
	w.Charge(ctx) // the clock moves on
	again, err := w.ChargeAt(ctx, i)
	fmt.Println("retry:", again == first, err)
	// Output:
	// charged 1000 fen
	// retry: true <nil>
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
