package ledger_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/socialpay/socialpay/ledger"
)

func TestCurrencyTable(t *testing.T) {
	for _, c := range []struct {
		code    string
		numeric int
		exp     int
	}{
		{"CNY", 156, 2}, {"HKD", 344, 2}, {"TWD", 901, 2}, {"USD", 840, 2}, {"EUR", 978, 2}, {"GBP", 826, 2},
		{"JPY", 392, 0}, {"KRW", 410, 0}, {"SGD", 702, 2}, {"THB", 764, 2}, {"INR", 356, 2}, {"BRL", 986, 2},
		{"KWD", 414, 3}, {"AUD", 36, 2},
	} {
		cur, err := ledger.LookupCurrency(c.code)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Code() != c.code || cur.Numeric() != c.numeric || cur.Exponent() != c.exp {
			t.Errorf("%s: got %s %d %d", c.code, cur.Code(), cur.Numeric(), cur.Exponent())
		}
		byNum, err := ledger.CurrencyByNumeric(c.numeric)
		if err != nil || byNum != cur {
			t.Errorf("numeric %d: %v %v", c.numeric, byNum, err)
		}
	}
	if got := ledger.MustCurrency("AUD").NumericCode(); got != "036" {
		t.Errorf("AUD numeric code %q", got)
	}
	for _, bad := range []string{"", "cny", "XXX", "CN", "CNYY"} {
		if _, err := ledger.LookupCurrency(bad); !errors.Is(err, ledger.ErrUnknownCurrency) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for _, bad := range []int{-1, 0, 999, 1000} {
		if _, err := ledger.CurrencyByNumeric(bad); !errors.Is(err, ledger.ErrUnknownCurrency) {
			t.Errorf("numeric %d: %v", bad, err)
		}
	}
	seen := map[string]bool{}
	for _, c := range ledger.Currencies() {
		if seen[c.Code()] {
			t.Errorf("%s twice", c.Code())
		}
		seen[c.Code()] = true
	}
	var zero ledger.Currency
	if !zero.IsZero() || zero.Code() != "" {
		t.Error("zero currency")
	}
}

func TestParseMoney(t *testing.T) {
	for _, c := range []struct {
		in, cur string
		units   int64
		out     string
		err     error
	}{
		{"88.88", "CNY", 8888, "88.88", nil},
		{"0.01", "CNY", 1, "0.01", nil},
		{"0", "CNY", 0, "0.00", nil},
		{"-5", "CNY", -500, "-5.00", nil},
		{"1.50", "CNY", 150, "1.50", nil},
		{"1.500", "CNY", 150, "1.50", nil}, // trailing zero: exact, no rounding
		{"007.10", "CNY", 710, "7.10", nil},
		{"1000", "JPY", 1000, "1000", nil},
		{"1000.0", "JPY", 1000, "1000", nil},
		{"1.234", "KWD", 1234, "1.234", nil},
		{"92233720368547758.07", "CNY", math.MaxInt64, "92233720368547758.07", nil},
		{"-92233720368547758.08", "CNY", math.MinInt64, "-92233720368547758.08", nil},
		{"92233720368547758.08", "CNY", 0, "", ledger.ErrAmountOverflow},
		{"9223372036854775808", "JPY", 0, "", ledger.ErrAmountOverflow},
		{"1.001", "CNY", 0, "", ledger.ErrTooManyDecimals},
		{"0.001", "CNY", 0, "", ledger.ErrTooManyDecimals},
		{"1.5", "JPY", 0, "", ledger.ErrTooManyDecimals},
		{"1.2345", "KWD", 0, "", ledger.ErrTooManyDecimals},
		{"", "CNY", 0, "", ledger.ErrInvalidAmount},
		{"abc", "CNY", 0, "", ledger.ErrInvalidAmount},
		{"1e3", "CNY", 0, "", ledger.ErrInvalidAmount},
		{"1,000.00", "CNY", 0, "", ledger.ErrInvalidAmount},
		{" 1.00", "CNY", 0, "", ledger.ErrInvalidAmount},
		{"+1.00", "CNY", 0, "", ledger.ErrInvalidAmount},
		{"1.", "CNY", 0, "", ledger.ErrInvalidAmount},
		{".5", "CNY", 0, "", ledger.ErrInvalidAmount},
		{"--1", "CNY", 0, "", ledger.ErrInvalidAmount},
		{"NaN", "CNY", 0, "", ledger.ErrInvalidAmount},
		{"１００", "CNY", 0, "", ledger.ErrInvalidAmount}, // full-width digits
		{"1.00", "XXX", 0, "", ledger.ErrUnknownCurrency},
	} {
		m, err := ledger.ParseMoney(c.in, c.cur)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("ParseMoney(%q, %s): got %v, want %v", c.in, c.cur, err, c.err)
			}
			continue
		}
		if err != nil || m.Units() != c.units || m.Amount() != c.out || m.Currency().Code() != c.cur {
			t.Errorf("ParseMoney(%q, %s) = %v (%d), %v; want %s (%d)", c.in, c.cur, m, m.Units(), err, c.out, c.units)
		}
	}
	if _, err := ledger.ParseAmount("-1.00", "CNY"); !errors.Is(err, ledger.ErrNegativeAmount) {
		t.Errorf("negative amount: %v", err)
	}
	if _, err := ledger.ParseAmount("0.00", "CNY"); !errors.Is(err, ledger.ErrZeroAmount) {
		t.Errorf("zero amount: %v", err)
	}
}

func TestFromDecimal(t *testing.T) {
	cny := ledger.MustCurrency("CNY")
	m, err := ledger.FromDecimal(decimal.RequireFromString("12.34"), cny)
	if err != nil || m.Units() != 1234 {
		t.Fatalf("%v %v", m, err)
	}
	if _, err := ledger.FromDecimal(decimal.RequireFromString("12.345"), cny); !errors.Is(err, ledger.ErrTooManyDecimals) {
		t.Fatal(err)
	}
	if _, err := ledger.FromDecimal(decimal.RequireFromString("1e30"), cny); !errors.Is(err, ledger.ErrAmountOverflow) {
		t.Fatal(err)
	}
	if _, err := ledger.FromDecimal(decimal.NewFromInt(1), ledger.Currency{}); !errors.Is(err, ledger.ErrUnknownCurrency) {
		t.Fatal(err)
	}
	if got := m.Decimal().String(); got != "12.34" {
		t.Fatalf("decimal %s", got)
	}
}

func TestMoneyArithmetic(t *testing.T) {
	cny, usd := ledger.MustCurrency("CNY"), ledger.MustCurrency("USD")
	a, b := ledger.NewMoney(150, cny), ledger.NewMoney(50, cny)
	if s, err := a.Add(b); err != nil || s.Units() != 200 {
		t.Fatalf("add %v %v", s, err)
	}
	if s, err := b.Sub(a); err != nil || s.Units() != -100 || s.String() != "-1.00 CNY" {
		t.Fatalf("sub %v %v", s, err)
	}
	if p, err := a.Mul(3); err != nil || p.Units() != 450 {
		t.Fatalf("mul %v %v", p, err)
	}
	if c, err := a.Cmp(b); err != nil || c != 1 {
		t.Fatalf("cmp %d %v", c, err)
	}
	if _, err := a.Add(ledger.NewMoney(1, usd)); !errors.Is(err, ledger.ErrCurrencyMismatch) {
		t.Fatalf("mixed add: %v", err)
	}
	if _, err := a.Cmp(ledger.NewMoney(1, usd)); !errors.Is(err, ledger.ErrCurrencyMismatch) {
		t.Fatalf("mixed cmp: %v", err)
	}
	big := ledger.NewMoney(math.MaxInt64, cny)
	small := ledger.NewMoney(math.MinInt64, cny)
	for name, f := range map[string]func() (ledger.Money, error){
		"max+1":      func() (ledger.Money, error) { return big.Add(ledger.NewMoney(1, cny)) },
		"min-1":      func() (ledger.Money, error) { return small.Sub(ledger.NewMoney(1, cny)) },
		"0-min":      func() (ledger.Money, error) { return ledger.NewMoney(0, cny).Sub(small) },
		"max*2":      func() (ledger.Money, error) { return big.Mul(2) },
		"min*-1":     func() (ledger.Money, error) { return small.Mul(-1) },
		"big*big":    func() (ledger.Money, error) { return ledger.NewMoney(1<<40, cny).Mul(1 << 40) },
		"-big*big":   func() (ledger.Money, error) { return ledger.NewMoney(-(1 << 40), cny).Mul(1 << 40) },
		"3037000500": func() (ledger.Money, error) { return ledger.NewMoney(3037000500, cny).Mul(3037000500) },
	} {
		if m, err := f(); !errors.Is(err, ledger.ErrAmountOverflow) {
			t.Errorf("%s: %v %v, want overflow", name, m, err)
		}
	}
	// The edges that do fit.
	if m, err := ledger.NewMoney(-(1 << 62), cny).Mul(2); err != nil || m.Units() != math.MinInt64 {
		t.Errorf("-2^62*2 = %v %v", m, err)
	}
	if m, err := big.Sub(big); err != nil || !m.IsZero() {
		t.Errorf("max-max = %v %v", m, err)
	}
	if m, err := small.Add(big); err != nil || m.Units() != -1 {
		t.Errorf("min+max = %v %v", m, err)
	}
}

func TestMoneyJSON(t *testing.T) {
	m, _ := ledger.ParseMoney("88.80", "CNY")
	b, err := json.Marshal(m)
	if err != nil || string(b) != `{"amount":"88.80","currency":"CNY"}` {
		t.Fatalf("%s %v", b, err)
	}
	var back ledger.Money
	if err := json.Unmarshal(b, &back); err != nil || back != m {
		t.Fatalf("%v %v", back, err)
	}
	var zero ledger.Money
	if b, _ := json.Marshal(zero); string(b) != "null" {
		t.Fatalf("zero: %s", b)
	}
	if err := json.Unmarshal([]byte("null"), &back); err != nil || back != zero {
		t.Fatalf("null: %v %v", back, err)
	}
	for in, want := range map[string]error{
		`{"amount":88.8,"currency":"CNY"}`:     ledger.ErrInvalidAmount, // a number, not a string
		`{"amount":"88.888","currency":"CNY"}`: ledger.ErrTooManyDecimals,
		`{"amount":"1","currency":"ABC"}`:      ledger.ErrUnknownCurrency,
		`"88.88 CNY"`:                          ledger.ErrInvalidAmount,
	} {
		if err := json.Unmarshal([]byte(in), &back); !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", in, err, want)
		}
	}
}

func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"88.88", "0.01", "-5", "92233720368547758.07", "1e3", "1.005", "", "00.10"} {
		f.Add(s, "CNY")
		f.Add(s, "JPY")
		f.Add(s, "KWD")
	}
	f.Fuzz(func(t *testing.T, s, cur string) {
		m, err := ledger.ParseMoney(s, cur)
		if err != nil {
			return
		}
		// Whatever parses formats back to the same value, and parses again
		// to the same Money.
		again, err := ledger.ParseMoney(m.Amount(), cur)
		if err != nil || again != m {
			t.Fatalf("%q → %v → %q → %v, %v", s, m, m.Amount(), again, err)
		}
		d, _ := decimal.NewFromString(s)
		if !d.Equal(m.Decimal()) {
			t.Fatalf("%q parsed as %v: value changed", s, m)
		}
	})
}

func TestCurrenciesOrderedAndUnique(t *testing.T) {
	all := ledger.Currencies()
	numeric := map[int]bool{}
	for i, c := range all {
		if i > 0 && all[i-1].Code() >= c.Code() {
			t.Fatalf("%s before %s", all[i-1].Code(), c.Code())
		}
		if numeric[c.Numeric()] {
			t.Fatalf("numeric %d twice", c.Numeric())
		}
		numeric[c.Numeric()] = true
	}
	// The QR schemes of Cambodia, Laos and Myanmar need their currencies.
	for _, code := range []string{"KHR", "LAK", "MMK", "CLF"} {
		if _, err := ledger.LookupCurrency(code); err != nil {
			t.Error(err)
		}
	}
	if c := ledger.MustCurrency("CLF"); c.Exponent() != 4 {
		t.Errorf("CLF exponent %d", c.Exponent())
	}
}

// A hostile amount — a megabyte of digits, as text or inside JSON — is
// refused by its length before any parsing, with an error that does not
// repeat it; the longest amount that fits int64 minor units still parses.
func TestAmountLengthBound(t *testing.T) {
	huge := strings.Repeat("9", 1<<20)
	_, err := ledger.ParseMoney(huge, "CNY")
	if !errors.Is(err, ledger.ErrInvalidAmount) || len(err.Error()) > 100 {
		t.Fatalf("1 MB amount: %.200v", err)
	}
	var m ledger.Money
	err = json.Unmarshal([]byte(`{"amount":"`+huge+`","currency":"CNY"}`), &m)
	if !errors.Is(err, ledger.ErrInvalidAmount) || len(err.Error()) > 100 {
		t.Fatalf("1 MB amount in JSON: %.200v", err)
	}
	for _, s := range []string{"-92233720368547758.08", "0000000000000000000000000000000000001.00"} {
		if len(s) > ledger.MaxAmountLength {
			t.Fatalf("%q is longer than the bound", s)
		}
		if _, err := ledger.ParseMoney(s, "CNY"); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	if _, err := ledger.ParseMoney("1"+strings.Repeat("0", ledger.MaxAmountLength), "CNY"); !errors.Is(err, ledger.ErrInvalidAmount) {
		t.Errorf("one character over the bound: %v", err)
	}
}
