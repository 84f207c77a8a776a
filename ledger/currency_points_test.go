package ledger_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/socialpay/socialpay/ledger"
)

// XPS, the points unit of package points, is known by code only: exponent
// 0, no numeric code, not among Currencies, and never mixed with money.
func TestPointsUnit(t *testing.T) {
	xps, err := ledger.LookupCurrency("XPS")
	if err != nil {
		t.Fatal(err)
	}
	if xps.Exponent() != 0 || xps.Numeric() != 0 {
		t.Fatalf("XPS exponent %d numeric %d, want 0 and 0", xps.Exponent(), xps.Numeric())
	}
	if slices.Contains(ledger.Currencies(), xps) {
		t.Fatal("Currencies lists XPS")
	}
	if _, err := ledger.CurrencyByNumeric(0); !errors.Is(err, ledger.ErrUnknownCurrency) {
		t.Fatalf("CurrencyByNumeric(0): %v", err)
	}
	if _, err := ledger.ParseMoney("1.5", "XPS"); !errors.Is(err, ledger.ErrTooManyDecimals) {
		t.Fatalf("1.5 XPS: %v", err)
	}
	if _, err := ledger.NewMoney(1, xps).Add(ledger.NewMoney(1, ledger.MustCurrency("CNY"))); !errors.Is(err, ledger.ErrCurrencyMismatch) {
		t.Fatalf("XPS + CNY: %v", err)
	}
}
