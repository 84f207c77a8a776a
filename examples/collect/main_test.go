package main

import (
	"bytes"
	"strings"
	"testing"
)

// The dinner runs to the end, every step says what it should, and the
// money is where it should be.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{
		"小王 77.60 CNY own", // 388.00 / 5 = 77.60 each, no remainder
		"小张 types 70.00: wrong amount true",
		"(push to 1 member(s)", // only 小陈 owes: paid, declined and own shares are not asked for
		"again: too soon true",
		"refused true, nothing moved",
		"request closed: 2 paid, 1 declined, collected 155.20 CNY",
		"小王 holds 355.20 CNY",
		"小李 holds 122.40 CNY",
		"小陈 holds 200.00 CNY",
		"ledger verified",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}
