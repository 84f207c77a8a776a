package qr

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics; whatever it accepts without warnings
// re-encodes to the same text (a lower-case CRC comes back upper-case) that
// parses to the same data objects; what it accepts with warnings Encode
// refuses, and each warning is an over-long value or an empty template.
func FuzzParse(f *testing.F) {
	for _, p := range publishedPayloads {
		f.Add(p.payload)
	}
	for _, p := range publishedMalformed {
		f.Add(p.payload)
	}
	for _, p := range publishedWithWarnings {
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
		// The accessors never panic on an accepted payload.
		_, _ = p.Amount()
		_ = p.Accounts()
		_ = p.Initiation()
		_ = p.Reference()
		if len(p.Warnings) > 0 {
			for _, w := range p.Warnings {
				if w.Err != ErrTooLong && w.Err != ErrBadLength {
					t.Fatalf("warning %v", w)
				}
			}
			if _, err := p.Encode(); err == nil {
				t.Fatalf("Encode accepted %q with warnings %v", s, p.Warnings)
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
	})
}
