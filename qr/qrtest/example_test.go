package qrtest_test

import (
	"context"
	"fmt"

	"github.com/socialpay/socialpay/qr"
	"github.com/socialpay/socialpay/qr/qrtest"
)

// A store's test runs the whole suite with one line:
//
//	func TestMyStore(t *testing.T) {
//		qrtest.Run(t, func(t testing.TB) qr.Store { return mystore.New(t) })
//	}
//
// The suite's IDs are fixed, so a failing subtest's rows can be found.
func ExampleID() {
	first, again, other := qrtest.ID("charge-1"), qrtest.ID("charge-1"), qrtest.ID("charge-2")
	fmt.Println(first == again, first == other)

	s := qr.NewMemoryStore(nil)
	_ = s.MarkUsed(context.Background(), 7, 500, first)
	fmt.Println(s.MarkUsed(context.Background(), 7, 500, again))
	fmt.Println(s.MarkUsed(context.Background(), 7, 500, other))
	// Output:
	// true false
	// <nil>
	// qr: payment code already used
}
