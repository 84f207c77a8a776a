package main

import (
	"bytes"
	"strings"
	"testing"
)

// The campaign runs to the end (run itself checks that the money adds up
// and the ledger verifies), and every step says what it should.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"campaign open: budget 1688.00 CNY",
		"2000 taps at the opening instant: 100 prizes (1688.00 CNY)",
		"told it is sold out",
		"escrow 0.00 CNY (closed)",
		"audit of",
		"<nil>",
		"ledger verified",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
