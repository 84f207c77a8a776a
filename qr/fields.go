package qr

import (
	"fmt"
	"math"

	"github.com/shopspring/decimal"
)

// Initiation is the point of initiation method (data object 01).
type Initiation int

const (
	// InitiationUnknown: data object 01 is absent.
	InitiationUnknown Initiation = iota
	// Static ("11"): the same code for many payments; the payer usually
	// enters the amount.
	Static
	// Dynamic ("12"): a code for one payment.
	Dynamic
)

func (i Initiation) String() string {
	switch i {
	case Static:
		return "static"
	case Dynamic:
		return "dynamic"
	}
	return "unknown"
}

// Currency is an ISO 4217 currency: numeric code as in data object 53,
// alphabetic code and exponent (number of minor-unit digits).
type Currency struct {
	Numeric  string // "156"
	Code     string // "CNY"
	Exponent int    // 2
}

// currencyByNumeric is the small ISO 4217 table this package knows (the
// currencies of the QR schemes it reads, the major ones, and the ones whose
// exponent is not 2). It is a switch rather than a map so that there is no
// package-level state.
func currencyByNumeric(n string) (Currency, bool) {
	var code string
	exp := 2
	switch n {
	case "156":
		code = "CNY"
	case "344":
		code = "HKD"
	case "446":
		code = "MOP"
	case "901":
		code = "TWD"
	case "702":
		code = "SGD"
	case "764":
		code = "THB"
	case "986":
		code = "BRL"
	case "458":
		code = "MYR"
	case "360":
		code = "IDR"
	case "608":
		code = "PHP"
	case "116":
		code = "KHR"
	case "418":
		code = "LAK"
	case "104":
		code = "MMK"
	case "356":
		code = "INR"
	case "840":
		code = "USD"
	case "978":
		code = "EUR"
	case "826":
		code = "GBP"
	case "036":
		code = "AUD"
	case "124":
		code = "CAD"
	case "756":
		code = "CHF"
	case "554":
		code = "NZD"
	case "784":
		code = "AED"
	case "682":
		code = "SAR"
	case "484":
		code = "MXN"
	case "710":
		code = "ZAR"
	case "643":
		code = "RUB"
	case "392":
		code, exp = "JPY", 0
	case "410":
		code, exp = "KRW", 0
	case "704":
		code, exp = "VND", 0
	case "152":
		code, exp = "CLP", 0
	case "352":
		code, exp = "ISK", 0
	case "952":
		code, exp = "XOF", 0
	case "950":
		code, exp = "XAF", 0
	case "414":
		code, exp = "KWD", 3
	case "048":
		code, exp = "BHD", 3
	case "512":
		code, exp = "OMR", 3
	case "400":
		code, exp = "JOD", 3
	case "788":
		code, exp = "TND", 3
	case "990":
		code, exp = "CLF", 4
	default:
		return Currency{}, false
	}
	return Currency{Numeric: n, Code: code, Exponent: exp}, true
}

// currencyByCode is the reverse of currencyByNumeric.
func currencyByCode(code string) (Currency, bool) {
	for _, n := range [...]string{"156", "344", "446", "901", "702", "764", "986", "458", "360", "608",
		"116", "418", "104", "356", "840", "978", "826", "036", "124", "756", "554", "784", "682", "484",
		"710", "643", "392", "410", "704", "152", "352", "952", "950", "414", "048", "512", "400", "788", "990"} {
		if c, _ := currencyByNumeric(n); c.Code == code {
			return c, true
		}
	}
	return Currency{}, false
}

// Amount is an exact amount: Minor units of Currency. (When the ledger's
// money type exists, Amount converts to it one for one.)
type Amount struct {
	Minor    int64
	Currency Currency
}

// Decimal returns the amount in major units, for display at the edge.
func (a Amount) Decimal() decimal.Decimal {
	return decimal.New(a.Minor, -int32(a.Currency.Exponent))
}

// String formats the amount as "23.72 CNY".
func (a Amount) String() string {
	return a.Decimal().StringFixed(int32(a.Currency.Exponent)) + " " + a.Currency.Code
}

// FormatAmount writes minor units as an EMVCo amount with exactly the
// currency's fractional digits ("23.72", "100" for JPY).
func FormatAmount(minor int64, c Currency) (string, error) {
	if minor < 0 {
		return "", fmt.Errorf("qr: amount %d: %w", minor, ErrInvalidValue)
	}
	return decimal.New(minor, -int32(c.Exponent)).StringFixed(int32(c.Exponent)), nil
}

// parseAmount reads an EMVCo amount into minor units of a currency with exp
// fractional digits, rejecting (never rounding) extra fractional digits.
func parseAmount(v string, exp int) (int64, error) {
	intPart, frac, ok := splitDecimal(v)
	if !ok {
		return 0, fmt.Errorf("qr: amount %q: %w", v, ErrInvalidValue)
	}
	if len(frac) > exp {
		return 0, fmt.Errorf("qr: amount %q has %d fractional digits, the currency %d: %w", v, len(frac), exp, ErrAmountPrecision)
	}
	var n int64
	mul := func(d int64) bool {
		if n > (math.MaxInt64-d)/10 {
			return false
		}
		n = n*10 + d
		return true
	}
	for _, c := range []byte(intPart + frac) {
		if !mul(int64(c - '0')) {
			return 0, fmt.Errorf("qr: amount %q: %w", v, ErrInvalidValue)
		}
	}
	for i := len(frac); i < exp; i++ {
		if !mul(0) {
			return 0, fmt.Errorf("qr: amount %q: %w", v, ErrInvalidValue)
		}
	}
	return n, nil
}

// Initiation returns the point of initiation method (data object 01).
func (p *Payload) Initiation() Initiation {
	switch v, _ := p.Get(1); v {
	case "11":
		return Static
	case "12":
		return Dynamic
	}
	return InitiationUnknown
}

// CurrencyNumeric returns the numeric ISO 4217 code of data object 53.
func (p *Payload) CurrencyNumeric() string { v, _ := p.Get(53); return v }

// Currency returns the transaction currency (data object 53).
//
// Errors: ErrMissing, ErrUnknownCurrency.
func (p *Payload) Currency() (Currency, error) {
	n, ok := p.Get(53)
	if !ok {
		return Currency{}, &Error{Path: "53", Pos: -1, Err: ErrMissing}
	}
	c, ok := currencyByNumeric(n)
	if !ok {
		return Currency{}, &Error{Path: "53", Pos: -1, Err: fmt.Errorf("%w %s", ErrUnknownCurrency, n)}
	}
	return c, nil
}

// Amount returns the transaction amount (data object 54) in minor units of
// the transaction currency. An amount with more fractional digits than the
// currency has is an error, never rounded.
//
// Errors: ErrNoAmount (no 54: the payer enters the amount), ErrMissing,
// ErrUnknownCurrency, ErrAmountPrecision, ErrInvalidValue.
func (p *Payload) Amount() (Amount, error) {
	v, ok := p.Get(54)
	if !ok {
		return Amount{}, ErrNoAmount
	}
	c, err := p.Currency()
	if err != nil {
		return Amount{}, err
	}
	minor, err := parseAmount(v, c.Exponent)
	if err != nil {
		return Amount{}, &Error{Path: "54", Pos: -1, Err: err}
	}
	return Amount{Minor: minor, Currency: c}, nil
}

// Country returns the merchant's ISO 3166 country code (58).
func (p *Payload) Country() string { v, _ := p.Get(58); return v }

// MerchantName returns data object 59. It is whatever the code's author
// wrote: never show it as the payee without checking the directory.
func (p *Payload) MerchantName() string { v, _ := p.Get(59); return v }

// MerchantCity returns data object 60.
func (p *Payload) MerchantCity() string { v, _ := p.Get(60); return v }

// MCC returns the merchant category code (52).
func (p *Payload) MCC() string { v, _ := p.Get(52); return v }

// Reference returns the reference label (62/05), e.g. an order number or a
// PIX txid; "***" asks the payer's app to prompt for one.
func (p *Payload) Reference() string { v, _ := p.GetSub(62, 5); return v }
