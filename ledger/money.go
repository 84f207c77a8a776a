package ledger

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"

	"github.com/shopspring/decimal"
)

// Money is an exact amount of one currency, held as a signed integer count of
// the currency's minor unit (fen for CNY, cents for USD, yen for JPY, fils
// for KWD). Money is an immutable value; the zero Money is zero of no
// currency. Arithmetic never wraps: overflow beyond int64 minor units is
// ErrAmountOverflow.
type Money struct {
	units    int64
	currency Currency
}

// NewMoney returns units minor units of currency c.
func NewMoney(units int64, c Currency) Money { return Money{units: units, currency: c} }

// ParseMoney parses a plain decimal string such as "88.88", "-5" or "0.10"
// as an amount of the currency with the given code. Only an optional leading
// '-', digits and an optional '.' followed by digits are accepted: no
// exponents, spaces, '+' or grouping separators.
//
// Parsing never rounds: "1.005" is ErrTooManyDecimals for CNY (two decimals),
// and "1.5" is ErrTooManyDecimals for JPY. Trailing zeros that need no
// rounding ("1.50" for JPY is not allowed, "1.00" for JPY is) are accepted.
//
// Errors: ErrUnknownCurrency, ErrInvalidAmount (not a number, or longer
// than MaxAmountLength), ErrTooManyDecimals, ErrAmountOverflow.
func ParseMoney(s, currency string) (Money, error) {
	c, err := LookupCurrency(currency)
	if err != nil {
		return Money{}, err
	}
	return ParseIn(s, c)
}

// ParseAmount is ParseMoney for amounts that must be strictly positive, such
// as the amount of a transfer typed by a user.
//
// Errors: those of ParseMoney, plus ErrNegativeAmount and ErrZeroAmount.
func ParseAmount(s, currency string) (Money, error) {
	m, err := ParseMoney(s, currency)
	if err != nil {
		return Money{}, err
	}
	if err := m.checkPositive(); err != nil {
		return Money{}, fmt.Errorf("amount %q: %w", s, err)
	}
	return m, nil
}

// MaxAmountLength bounds the text of an amount: far more than any amount
// in int64 minor units needs (19 digits, a sign and a point), and short
// enough that a hostile input is refused before it is parsed (decimal
// parsing is quadratic in the length: a megabyte of digits takes seconds).
const MaxAmountLength = 40

// ParseIn is ParseMoney with a Currency value.
func ParseIn(s string, c Currency) (Money, error) {
	if len(s) > MaxAmountLength {
		return Money{}, fmt.Errorf("amount of %d characters (at most %d): %w", len(s), MaxAmountLength, ErrInvalidAmount)
	}
	if c.IsZero() {
		return Money{}, fmt.Errorf("amount %q: %w", s, ErrUnknownCurrency)
	}
	if !isPlainDecimal(s) {
		return Money{}, fmt.Errorf("amount %q: %w", s, ErrInvalidAmount)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return Money{}, fmt.Errorf("amount %q: %w", s, ErrInvalidAmount)
	}
	m, err := FromDecimal(d, c)
	if err != nil {
		return Money{}, fmt.Errorf("amount %q: %w", s, err)
	}
	return m, nil
}

// FromDecimal converts d to an exact amount of currency c.
//
// Errors: ErrUnknownCurrency (zero c), ErrTooManyDecimals (d has a non-zero
// digit below c's minor unit), ErrAmountOverflow.
func FromDecimal(d decimal.Decimal, c Currency) (Money, error) {
	if c.IsZero() {
		return Money{}, ErrUnknownCurrency
	}
	shifted := d.Shift(int32(c.Exponent()))
	if !shifted.IsInteger() {
		return Money{}, fmt.Errorf("%s has more than %d decimals for %s: %w", d, c.Exponent(), c.Code(), ErrTooManyDecimals)
	}
	bi := shifted.BigInt()
	if !bi.IsInt64() {
		return Money{}, fmt.Errorf("%s %s: %w", d, c.Code(), ErrAmountOverflow)
	}
	return Money{units: bi.Int64(), currency: c}, nil
}

// isPlainDecimal reports whether s is -?[0-9]+(\.[0-9]+)?
func isPlainDecimal(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start {
		return false
	}
	if i == len(s) {
		return true
	}
	if s[i] != '.' {
		return false
	}
	i++
	start = i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i > start && i == len(s)
}

// Units returns the amount in minor units.
func (m Money) Units() int64 { return m.units }

// Currency returns m's currency.
func (m Money) Currency() Currency { return m.currency }

// IsZero reports whether the amount is zero (of any currency).
func (m Money) IsZero() bool { return m.units == 0 }

// IsNegative reports whether the amount is below zero.
func (m Money) IsNegative() bool { return m.units < 0 }

// IsPositive reports whether the amount is above zero.
func (m Money) IsPositive() bool { return m.units > 0 }

func (m Money) checkPositive() error {
	switch {
	case m.units < 0:
		return ErrNegativeAmount
	case m.units == 0:
		return ErrZeroAmount
	}
	return nil
}

// Decimal returns the amount as a decimal in major units ("88.88").
func (m Money) Decimal() decimal.Decimal {
	return decimal.New(m.units, -int32(m.currency.Exponent()))
}

// Amount formats the amount in major units with exactly the currency's
// number of decimals, such as "88.88" for CNY or "100" for JPY.
func (m Money) Amount() string {
	return m.Decimal().StringFixed(int32(m.currency.Exponent()))
}

// String formats m as "88.88 CNY".
func (m Money) String() string {
	if m.currency.IsZero() {
		return m.Decimal().String()
	}
	return m.Amount() + " " + m.currency.Code()
}

func (m Money) sameCurrency(o Money) error {
	if m.currency != o.currency {
		return fmt.Errorf("%s and %s: %w", m.currency.Code(), o.currency.Code(), ErrCurrencyMismatch)
	}
	return nil
}

// Add returns m + o.
//
// Errors: ErrCurrencyMismatch, ErrAmountOverflow.
func (m Money) Add(o Money) (Money, error) {
	if err := m.sameCurrency(o); err != nil {
		return Money{}, err
	}
	s, ok := addInt64(m.units, o.units)
	if !ok {
		return Money{}, fmt.Errorf("%s + %s: %w", m, o, ErrAmountOverflow)
	}
	return Money{units: s, currency: m.currency}, nil
}

// Sub returns m - o.
//
// Errors: ErrCurrencyMismatch, ErrAmountOverflow.
func (m Money) Sub(o Money) (Money, error) {
	if err := m.sameCurrency(o); err != nil {
		return Money{}, err
	}
	s, ok := subInt64(m.units, o.units)
	if !ok {
		return Money{}, fmt.Errorf("%s - %s: %w", m, o, ErrAmountOverflow)
	}
	return Money{units: s, currency: m.currency}, nil
}

// Mul returns m × n.
//
// Errors: ErrAmountOverflow.
func (m Money) Mul(n int64) (Money, error) {
	p, ok := mulInt64(m.units, n)
	if !ok {
		return Money{}, fmt.Errorf("%s × %d: %w", m, n, ErrAmountOverflow)
	}
	return Money{units: p, currency: m.currency}, nil
}

// Cmp compares m and o: -1 if m < o, 0 if equal, +1 if m > o.
//
// Errors: ErrCurrencyMismatch.
func (m Money) Cmp(o Money) (int, error) {
	if err := m.sameCurrency(o); err != nil {
		return 0, err
	}
	switch {
	case m.units < o.units:
		return -1, nil
	case m.units > o.units:
		return 1, nil
	}
	return 0, nil
}

// moneyJSON is Money's JSON form. The amount is a string so that no JSON
// reader ever turns it into a binary float.
type moneyJSON struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// MarshalJSON encodes m as {"amount":"88.88","currency":"CNY"}; the zero
// Money of no currency encodes as null.
func (m Money) MarshalJSON() ([]byte, error) {
	if m.currency.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(moneyJSON{Amount: m.Amount(), Currency: m.currency.Code()})
}

// UnmarshalJSON decodes the form written by MarshalJSON, with the same rules
// as ParseMoney.
func (m *Money) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*m = Money{}
		return nil
	}
	var v moneyJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf(`money: %w: want {"amount":"10.00","currency":"CNY"}`, ErrInvalidAmount)
	}
	parsed, err := ParseMoney(v.Amount, v.Currency)
	if err != nil {
		return err
	}
	*m = parsed
	return nil
}

func addInt64(a, b int64) (int64, bool) {
	s := a + b
	// Overflow when a and b have the same sign and s has the other.
	return s, (a >= 0) != (b >= 0) || (s >= 0) == (a >= 0)
}

func subInt64(a, b int64) (int64, bool) {
	if b == math.MinInt64 {
		if a >= 0 {
			return 0, false
		}
		return a - b, true
	}
	return addInt64(a, -b)
}

func mulInt64(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	neg := (a < 0) != (b < 0)
	ua, ub := absU64(a), absU64(b)
	hi, lo := bits.Mul64(ua, ub)
	if hi != 0 {
		return 0, false
	}
	if neg {
		if lo > 1<<63 {
			return 0, false
		}
		return int64(-lo), true
	}
	if lo > math.MaxInt64 {
		return 0, false
	}
	return int64(lo), true
}

func absU64(a int64) uint64 {
	if a < 0 {
		return uint64(-(a + 1)) + 1
	}
	return uint64(a)
}
