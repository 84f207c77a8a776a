package transfer

import (
	"errors"
	"math"
	"testing"
)

func TestDefaultLimits(t *testing.T) {
	l := DefaultLimits()
	// DESIGN.md: single transfers by mobile number are capped at CNY 50,000.
	if l.Currency != "CNY" || l.PerTransfer != 50_000_00 {
		t.Errorf("per-transfer cap %d %s, want 5000000 CNY (50,000.00)", l.PerTransfer, l.Currency)
	}
	if l.FirstPayee >= l.PerTransfer {
		t.Errorf("first-time payee cap %d is not lower than the per-transfer cap %d", l.FirstPayee, l.PerTransfer)
	}
	if err := l.Validate(); err != nil {
		t.Error(err)
	}
}

var limitSentinels = []error{ErrInvalidLimits, ErrCurrencyMismatch, ErrInvalidAmount, ErrOverTransferLimit, ErrOverFirstPayeeLimit, ErrOverDailyLimit}

func TestLimitsCheck(t *testing.T) {
	l := Limits{Currency: "CNY", PerTransfer: 5_000_000, PerDay: 20_000_000, FirstPayee: 500_000}
	type in = LimitInput
	tests := []struct {
		name      string
		in        LimitInput
		want      error // nil: allowed
		remaining int64 // for a *LimitError
	}{
		// Per transfer: below, at, above.
		{"per-transfer below", in{"CNY", 4_999_999, 0, false}, nil, 0},
		{"per-transfer at", in{"CNY", 5_000_000, 0, false}, nil, 0},
		{"per-transfer above", in{"CNY", 5_000_001, 0, false}, ErrOverTransferLimit, 5_000_000},
		{"per-transfer far above", in{"CNY", math.MaxInt64, 0, false}, ErrOverTransferLimit, 5_000_000},
		// First-time payee: below, at, above; a known payee may go higher.
		{"first payee below", in{"CNY", 499_999, 0, true}, nil, 0},
		{"first payee at", in{"CNY", 500_000, 0, true}, nil, 0},
		{"first payee above", in{"CNY", 500_001, 0, true}, ErrOverFirstPayeeLimit, 500_000},
		{"known payee above the first-payee cap", in{"CNY", 500_001, 0, false}, nil, 0},
		// Daily: below, at, above, and already over.
		{"daily below", in{"CNY", 999_999, 19_000_000, false}, nil, 0},
		{"daily at", in{"CNY", 1_000_000, 19_000_000, false}, nil, 0},
		{"daily above", in{"CNY", 1_000_001, 19_000_000, false}, ErrOverDailyLimit, 1_000_000},
		{"daily exhausted", in{"CNY", 1, 20_000_000, false}, ErrOverDailyLimit, 0},
		{"daily already over", in{"CNY", 1, 25_000_000, false}, ErrOverDailyLimit, 0},
		{"daily no overflow", in{"CNY", 1, math.MaxInt64, false}, ErrOverDailyLimit, 0},
		{"daily at, first payee at", in{"CNY", 500_000, 19_500_000, true}, nil, 0},
		// Order: per-transfer, then first payee, then daily.
		{"over all three", in{"CNY", 5_000_001, 19_900_000, true}, ErrOverTransferLimit, 5_000_000},
		{"over first payee and daily", in{"CNY", 600_000, 19_900_000, true}, ErrOverFirstPayeeLimit, 500_000},
		// Bad input.
		{"zero amount", in{"CNY", 0, 0, false}, ErrInvalidAmount, 0},
		{"negative amount", in{"CNY", -1, 0, false}, ErrInvalidAmount, 0},
		{"negative sent today", in{"CNY", 1, -1, false}, ErrInvalidAmount, 0},
		{"other currency", in{"USD", 1, 0, false}, ErrCurrencyMismatch, 0},
		{"lower-case currency", in{"cny", 1, 0, false}, ErrCurrencyMismatch, 0},
		{"no currency", in{"", 1, 0, false}, ErrCurrencyMismatch, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := l.Check(tc.in)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Check(%+v) = %v, want nil", tc.in, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Check(%+v) = %v, want %v", tc.in, err, tc.want)
			}
			for _, s := range limitSentinels {
				if s != tc.want && errors.Is(err, s) {
					t.Errorf("error %v also matches %v", err, s)
				}
			}
			var le *LimitError
			isCap := tc.want == ErrOverTransferLimit || tc.want == ErrOverFirstPayeeLimit || tc.want == ErrOverDailyLimit
			if errors.As(err, &le) != isCap {
				t.Fatalf("Check(%+v) = %v: *LimitError %v, want %v", tc.in, err, !isCap, isCap)
			}
			if isCap && (le.Remaining != tc.remaining || le.Amount != tc.in.Amount || le.Currency != "CNY") {
				t.Errorf("LimitError %+v, want Remaining %d, Amount %d, CNY", le, tc.remaining, tc.in.Amount)
			}
		})
	}
}

func TestLimitsValidate(t *testing.T) {
	ok := DefaultLimits()
	tests := []struct {
		name string
		edit func(*Limits)
	}{
		{"zero value", func(l *Limits) { *l = Limits{} }},
		{"no currency", func(l *Limits) { l.Currency = "" }},
		{"lower-case currency", func(l *Limits) { l.Currency = "cny" }},
		{"four-letter currency", func(l *Limits) { l.Currency = "CNYY" }},
		{"zero per-transfer", func(l *Limits) { l.PerTransfer = 0 }},
		{"negative daily", func(l *Limits) { l.PerDay = -1 }},
		{"zero first payee", func(l *Limits) { l.FirstPayee = 0 }},
		{"first payee above per-transfer", func(l *Limits) { l.FirstPayee = l.PerTransfer + 1 }},
	}
	for _, tc := range tests {
		l := ok
		tc.edit(&l)
		if err := l.Validate(); !errors.Is(err, ErrInvalidLimits) {
			t.Errorf("%s: Validate() = %v, want ErrInvalidLimits", tc.name, err)
		}
		if err := l.Check(LimitInput{Currency: "CNY", Amount: 1}); !errors.Is(err, ErrInvalidLimits) {
			t.Errorf("%s: Check() = %v, want ErrInvalidLimits", tc.name, err)
		}
	}
	l := ok
	l.FirstPayee = l.PerTransfer // equal is allowed
	if err := l.Validate(); err != nil {
		t.Errorf("first payee cap equal to the per-transfer cap: %v", err)
	}
}
