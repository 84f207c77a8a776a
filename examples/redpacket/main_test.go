package main

import (
	"bytes"
	"strings"
	"testing"
)

// The chat runs to the end (run itself checks that every escrow account is
// closed at zero, that the wallets still hold 8 × 500.00 and that the
// ledger verifies), and every step says what it should.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{
		"奶奶 sends a lucky packet: 88.88 CNY in 5 shares",
		"8 taps at once: 5 shares, 3 told it is sold out",
		"手气最佳 best luck:",
		"24 hours later 表妹 taps: true",
		"refund sweep: 1 packet(s) refunded",
		"refund sweep: 0 packet(s) refunded",
		"(status refunded)",
		"小明 types 恭喜发财: wrong password true",
		"4000.00 CNY (8 × 500.00: nothing created or lost)",
		"every packet's escrow account: 0.00 CNY, closed",
		"ledger verified:",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "手气最佳"); n != 2 {
		t.Errorf("best luck announced %d times, want 2 (the two fully claimed packets):\n%s", n, text)
	}
}
