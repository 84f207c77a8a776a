package transferbench_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/transfer/transferbench"
)

// Two load clients make ten resolve-and-pay rounds each on the memory
// stores; a load generator runs them until its clock stops.
func Example() {
	ctx := context.Background()
	l := ledger.New(nil, ledger.Options{})
	p, err := transferbench.Setup(ctx, transferbench.Config{Ledger: l, Payers: 8, Payees: 8, Clients: 2, SingleProcess: true})
	if err != nil {
		panic(err)
	}
	total := 0
	for i := range 2 {
		c := p.Client(i, rand.New(rand.NewPCG(uint64(i), 7)))
		for range 10 {
			n, err := c.Do(ctx)
			if err != nil {
				panic(err)
			}
			total += n
		}
	}
	_, err = l.Verify(ctx)
	fmt.Println(total, "transfers settled; ledger verifies:", err == nil)
	// Output:
	// 20 transfers settled; ledger verifies: true
}
