package celltest_test

import (
	"fmt"

	"github.com/socialpay/socialpay/cell"
	"github.com/socialpay/socialpay/cell/celltest"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// A backend hands the suite the stores of n fresh cells, one ledger, one
// payment store and one red packet store per cell, in the order of their
// names; its test then runs the suite on them:
//
//	func TestCells(t *testing.T) {
//		celltest.Run(t, func(_ testing.TB, n int) celltest.Stores { return memoryCells(n) })
//	}
func ExampleStores() {
	memoryCells := func(n int) celltest.Stores {
		var s celltest.Stores
		for i := range n {
			s.Names = append(s.Names, fmt.Sprintf("cell_%d", i))
			ls := ledger.NewMemoryStore()
			s.Ledgers = append(s.Ledgers, ls)
			s.Records = append(s.Records, cell.NewMemoryStore())
			s.Packets = append(s.Packets, redpacket.NewMemoryStore(ledger.New(ls, ledger.Options{})))
		}
		return s
	}
	s := memoryCells(3)
	fmt.Println(s.Names, len(s.Ledgers), len(s.Records), len(s.Packets))
	// Output:
	// [cell_0 cell_1 cell_2] 3 3 3
}
