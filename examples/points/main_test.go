package main

import (
	"bytes"
	"strings"
	"testing"
)

// The year runs to the end (run itself checks that the points accounts sum
// to zero and that the ledger verifies), and every step says what it
// should.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{
		"earn payment  88.88      +88 points (lot 2026-01)",
		"the campaign's reward again: the same operation, nothing more",
		"5 retries at once: 1 operation, 2.00 CNY paid at rate v1 (100:100), from lot(s) [{2026-01 200}]",
		"exchange 101 points out: 100 used for 50 card points (rounded down)",
		"exchange 30 card points in: +60 points (lot 2026-02)",
		"redeem 125 points: 125 used for 1.04 CNY; the first redemption still shows v1",
		"redeem 10000 points: refused, insufficient points",
		"lot 2026-02: 446 left, earned 560, spent 114, expires 2027-03-01 00:00:00",
		"2027-02-01 00:00:00  expiry sweep: 0 lot(s), 0 points expired",
		"2027-03-01 00:00:00  expiry sweep: 1 lot(s), 446 points expired",
		"statement: earned 871, spent 425, expired 446, balance 0",
		"points accounts sum to 0; wallet 3.04 CNY",
		"ledger verified:",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}
