package main

import "os"

// The tour's output is deterministic: a fixed clock, derived IDs and the
// PIX DICT rate limits.
func Example() {
	if err := run(os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// bound +8613900139000 to alice
	// bound +8613800138000 to bob
	// resolve 138-0013-8000: *伟 at Bank of Example (token good until 12:05 UTC)
	// verify full_name "张伟": match
	// verify surname "张": match
	// verify full_name "张卫": no_match
	// send 88.88 CNY to *伟: settled (first-time payee: true)
	// retry: same receipt true
	// send 200.00 CNY +2h: pending until 14:00 UTC; alice can spend 711.12 CNY
	// cancel: cancelled; alice can spend 911.12 CNY
	// probe 137 0000 0000: not registered
	// probe 137 0000 0001: not registered
	// probe 137 0000 0002: not registered
	// probe 137 0000 0003: not registered
	// probe 137 0000 0004: not registered
	// probe 137 0000 0005: rate limited, retry after 10m0s
	// probe 137 0000 0006: rate limited, retry after 10m0s
	// alice 911.12 CNY
	// bob   88.88 CNY
	// ledger verified: 3 accounts, 8 entries
}
