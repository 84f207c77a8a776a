package ledger_test

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

func TestCheckKey(t *testing.T) {
	for _, k := range []string{
		"k", "order-2027-02-05-0001", "订单 42", strings.Repeat("k", ledger.MaxKeyLen),
		strings.Repeat("é", ledger.MaxKeyLen/2), "7f3c9a2e-5b1d-4c8e-9f00-123456789abc", "a b~!", "🧧",
	} {
		if err := ledger.CheckKey(k); err != nil {
			t.Errorf("CheckKey(%q) = %v, want nil", k, err)
		}
	}
	for name, k := range map[string]string{
		"empty":         "",
		"too long":      strings.Repeat("k", ledger.MaxKeyLen+1),
		"long in runes": strings.Repeat("é", ledger.MaxKeyLen/2) + "k",
		"NUL":           "k\x00",
		"tab":           "k\tk",
		"newline":       "k\n",
		"CR":            "k\r",
		"DEL":           "k\x7f",
		"C1 control":    "k\u0085",
		"invalid UTF-8": "k\xff",
		"cut rune":      "\xe7\xba",
		"surrogate":     "\xed\xa0\x80",
	} {
		err := ledger.CheckKey(k)
		if !errors.Is(err, ledger.ErrInvalidKey) {
			t.Errorf("%s: CheckKey(%q) = %v, want ErrInvalidKey", name, k, err)
		}
		if code, class := errcode.Of(err); code != "invalid_idempotency_key" || class != errcode.Invalid {
			t.Errorf("%s: code %s, class %v; want invalid_idempotency_key, invalid", name, code, class)
		}
	}
}

func FuzzCheckKey(f *testing.F) {
	for _, s := range []string{"k", "", "k\x00", "订单", "\xff", "k\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, k string) {
		err := ledger.CheckKey(k)
		if err != nil && !errors.Is(err, ledger.ErrInvalidKey) {
			t.Fatalf("CheckKey(%q) = %v: not ErrInvalidKey", k, err)
		}
		// An accepted key is storable text of bounded length.
		if err == nil && (k == "" || len(k) > ledger.MaxKeyLen || !ledger.StorableText(k) || strings.IndexFunc(k, unicode.IsControl) >= 0) {
			t.Fatalf("CheckKey accepted %q", k)
		}
	})
}
