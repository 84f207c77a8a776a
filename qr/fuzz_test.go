package qr

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics, and whatever it accepts re-encodes to the
// same text (a lower-case CRC comes back upper-case) that parses to the same
// data objects.
func FuzzParse(f *testing.F) {
	for _, p := range publishedPayloads {
		f.Add(p.payload)
	}
	for _, p := range publishedMalformed {
		f.Add(p.payload)
	}
	f.Add(emvcoExample[:len(emvcoExample)-4] + "a13a")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			if p != nil {
				t.Fatalf("payload and error: %v", err)
			}
			return
		}
		out, err := p.Encode()
		if err != nil {
			t.Fatalf("accepted %q but Encode: %v", s, err)
		}
		if out[:len(out)-4] != s[:len(s)-4] || !strings.EqualFold(out[len(out)-4:], s[len(s)-4:]) {
			t.Fatalf("re-encoded\n %q\nfrom\n %q", out, s)
		}
		q, err := Parse(out)
		if err != nil {
			t.Fatalf("re-encoded %q does not parse: %v", out, err)
		}
		if !reflect.DeepEqual(p.Objects, q.Objects) {
			t.Fatalf("parses differently:\n %v\n %v", p.Objects, q.Objects)
		}
		// The accessors never panic on an accepted payload.
		_, _ = p.Amount()
		_ = p.Accounts()
		_ = p.Initiation()
		_ = p.Reference()
	})
}
