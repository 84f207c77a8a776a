package ledgertest_test

import (
	"fmt"
	"time"

	"github.com/socialpay/socialpay/ledger/ledgertest"
)

// A store's test runs the whole suite with one line:
//
//	func TestMyStore(t *testing.T) {
//		ledgertest.Run(t, func(t testing.TB) ledger.Store { return mystore.New(t) })
//	}
//
// The suite's Clock is useful on its own for driving time in tests.
func ExampleClock() {
	c := ledgertest.NewClock(ledgertest.Start)
	fmt.Println(c.Now().Format(time.RFC3339))
	c.Advance(24 * time.Hour)
	fmt.Println(c.Now().Format(time.RFC3339))
	// Output:
	// 2026-01-28T20:00:00Z
	// 2026-01-29T20:00:00Z
}
