package redpacketbench_test

import (
	"context"
	"fmt"

	"github.com/socialpay/socialpay/redpacket/redpacketbench"
)

// A small load: 40 packets of 10 shares, claimed 16 at a time by 4
// goroutines, then tapped once sold out. Run measures wall time; a real
// run prints Result.String.
func Example() {
	ctx := context.Background()
	w, err := redpacketbench.New(ctx, redpacketbench.Config{Claims: 400, Packets: 16, Shares: 10, Users: 50})
	if err != nil {
		fmt.Println(err)
		return
	}
	claims, err := w.Run(ctx, 4, 400, w.Claim)
	fmt.Println("claims:", claims.Ops, err)
	taps, err := w.Run(ctx, 4, 1000, w.Tap)
	fmt.Println("taps on sold-out packets:", taps.Ops, err)
	fmt.Println("check:", w.Check(ctx, 400))
	fmt.Println("beyond what was prepared:", w.Claim(ctx, 400) != nil)
	// Output:
	// claims: 400 <nil>
	// taps on sold-out packets: 1000 <nil>
	// check: <nil>
	// beyond what was prepared: true
}
