package transfer

import (
	"errors"
	"math"
	"testing"

	"github.com/socialpay/socialpay/ledger"
)

var (
	cny = ledger.MustCurrency("CNY")
	usd = ledger.MustCurrency("USD")
)

func fen(n int64) ledger.Money { return ledger.NewMoney(n, cny) }

func TestDefaultLimits(t *testing.T) {
	l := DefaultLimits()
	// DESIGN.md: single transfers by mobile number are capped at CNY 50,000.
	if want, _ := ledger.ParseAmount("50000", "CNY"); l.PerTransfer != want {
		t.Errorf("per-transfer cap %v, want %v", l.PerTransfer, want)
	}
	if l.FirstPayee.Units() >= l.PerTransfer.Units() {
		t.Errorf("first-time payee cap %v is not lower than the per-transfer cap %v", l.FirstPayee, l.PerTransfer)
	}
	if err := l.Validate(); err != nil {
		t.Error(err)
	}
}

var limitSentinels = []error{ErrInvalidLimits, ErrCurrencyMismatch, ErrInvalidAmount, ErrOverTransferLimit, ErrOverFirstPayeeLimit, ErrOverDailyLimit}

func TestLimitsCheck(t *testing.T) {
	l := Limits{PerTransfer: fen(5_000_000), PerDay: fen(20_000_000), FirstPayee: fen(500_000)}
	in := func(amount, sent int64, first bool) LimitInput {
		return LimitInput{Amount: fen(amount), SentToday: fen(sent), FirstPayee: first}
	}
	tests := []struct {
		name      string
		in        LimitInput
		want      error // nil: allowed
		remaining int64 // for a *LimitError
	}{
		// Per transfer: below, at, above.
		{"per-transfer below", in(4_999_999, 0, false), nil, 0},
		{"per-transfer at", in(5_000_000, 0, false), nil, 0},
		{"per-transfer above", in(5_000_001, 0, false), ErrOverTransferLimit, 5_000_000},
		{"per-transfer far above", in(math.MaxInt64, 0, false), ErrOverTransferLimit, 5_000_000},
		// First-time payee: below, at, above; a known payee may go higher.
		{"first payee below", in(499_999, 0, true), nil, 0},
		{"first payee at", in(500_000, 0, true), nil, 0},
		{"first payee above", in(500_001, 0, true), ErrOverFirstPayeeLimit, 500_000},
		{"known payee above the first-payee cap", in(500_001, 0, false), nil, 0},
		// Daily: below, at, above, and already over.
		{"daily below", in(999_999, 19_000_000, false), nil, 0},
		{"daily at", in(1_000_000, 19_000_000, false), nil, 0},
		{"daily above", in(1_000_001, 19_000_000, false), ErrOverDailyLimit, 1_000_000},
		{"daily exhausted", in(1, 20_000_000, false), ErrOverDailyLimit, 0},
		{"daily already over", in(1, 25_000_000, false), ErrOverDailyLimit, 0},
		{"daily no overflow", in(1, math.MaxInt64, false), ErrOverDailyLimit, 0},
		{"daily at, first payee at", in(500_000, 19_500_000, true), nil, 0},
		{"nothing sent yet (zero Money)", LimitInput{Amount: fen(1)}, nil, 0},
		// Order: per-transfer, then first payee, then daily.
		{"over all three", in(5_000_001, 19_900_000, true), ErrOverTransferLimit, 5_000_000},
		{"over first payee and daily", in(600_000, 19_900_000, true), ErrOverFirstPayeeLimit, 500_000},
		// Bad input.
		{"zero amount", in(0, 0, false), ErrInvalidAmount, 0},
		{"negative amount", in(-1, 0, false), ErrInvalidAmount, 0},
		{"negative sent today", in(1, -1, false), ErrInvalidAmount, 0},
		{"sent today in another currency", LimitInput{Amount: fen(1), SentToday: ledger.NewMoney(5, usd)}, ErrInvalidAmount, 0},
		{"other currency", LimitInput{Amount: ledger.NewMoney(1, usd)}, ErrCurrencyMismatch, 0},
		{"no currency", LimitInput{Amount: ledger.Money{}}, ErrCurrencyMismatch, 0},
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
			if isCap && (le.Remaining != fen(tc.remaining) || le.Amount != tc.in.Amount) {
				t.Errorf("LimitError %+v, want Remaining %d fen, Amount %v", le, tc.remaining, tc.in.Amount)
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
		{"no currency", func(l *Limits) { l.PerTransfer = ledger.Money{} }},
		{"daily cap in another currency", func(l *Limits) { l.PerDay = ledger.NewMoney(l.PerDay.Units(), usd) }},
		{"first payee cap in another currency", func(l *Limits) { l.FirstPayee = ledger.NewMoney(1, usd) }},
		{"zero per-transfer", func(l *Limits) { l.PerTransfer = fen(0) }},
		{"negative daily", func(l *Limits) { l.PerDay = fen(-1) }},
		{"zero first payee", func(l *Limits) { l.FirstPayee = fen(0) }},
		{"first payee above per-transfer", func(l *Limits) { l.FirstPayee = fen(l.PerTransfer.Units() + 1) }},
	}
	for _, tc := range tests {
		l := ok
		tc.edit(&l)
		if err := l.Validate(); !errors.Is(err, ErrInvalidLimits) {
			t.Errorf("%s: Validate() = %v, want ErrInvalidLimits", tc.name, err)
		}
		if err := l.Check(LimitInput{Amount: fen(1)}); !errors.Is(err, ErrInvalidLimits) {
			t.Errorf("%s: Check() = %v, want ErrInvalidLimits", tc.name, err)
		}
	}
	l := ok
	l.FirstPayee = l.PerTransfer // equal is allowed
	if err := l.Validate(); err != nil {
		t.Errorf("first payee cap equal to the per-transfer cap: %v", err)
	}
}
