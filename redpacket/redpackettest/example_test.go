package redpackettest_test

import (
	"fmt"

	"github.com/socialpay/socialpay/redpacket/redpackettest"
)

// A store's test runs the whole suite with one line, and the whole service
// on its stores with another:
//
//	func TestMyStore(t *testing.T) {
//		redpackettest.Run(t, func(testing.TB) redpacket.Store { return mystore.New(db) })
//	}
//
//	func TestMyStorm(t *testing.T) {
//		redpackettest.Storm(t, redpackettest.StormConfig{Ledger: myLedgerStore, Store: mystore.New(db), Grabbers: 300})
//	}
//
// NewPacket makes packets for a store's own tests.
func ExampleNewPacket() {
	p := redpackettest.NewPacket(1250, 3300, 880)
	fmt.Println(p.Kind, p.Status, p.Total, p.Count, p.Validate())
	// Output:
	// lucky funding 54.30 CNY 3 <nil>
}
