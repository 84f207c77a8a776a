package ledger

import (
	"fmt"
	"strconv"
)

// Currency is an ISO 4217 currency: its alphabetic code, numeric code and
// exponent (the number of decimal places of its minor unit). Values come from
// LookupCurrency or CurrencyByNumeric; the zero Currency means "no currency".
// Currency is a one-byte handle into this package's table, comparable with
// ==, so Money stays small and free of pointers.
type Currency struct {
	id uint8 // index+1 in currencies; 0: none
}

type currencyInfo struct {
	code     string
	numeric  uint16
	exponent uint8
}

func (c Currency) info() *currencyInfo {
	if c.id == 0 || int(c.id) > len(currencies) {
		return &noCurrency
	}
	return &currencies[c.id-1]
}

var noCurrency currencyInfo

// Code returns the alphabetic code, such as "CNY", or "" for the zero Currency.
func (c Currency) Code() string { return c.info().code }

// Numeric returns the ISO 4217 numeric code, such as 156 for CNY.
func (c Currency) Numeric() int { return int(c.info().numeric) }

// NumericCode returns the numeric code as the three digits used on the wire,
// such as "156" for CNY or "036" for AUD.
func (c Currency) NumericCode() string {
	s := strconv.Itoa(c.Numeric())
	for len(s) < 3 {
		s = "0" + s
	}
	return s
}

// Exponent returns the number of decimal places of the minor unit: 2 for CNY,
// 0 for JPY, 3 for KWD.
func (c Currency) Exponent() int { return int(c.info().exponent) }

// IsZero reports whether c is the zero Currency.
func (c Currency) IsZero() bool { return c.id == 0 }

// String returns the alphabetic code.
func (c Currency) String() string { return c.Code() }

// currencies is the ISO 4217 table this package knows. It is never modified
// after package initialisation.
var currencies = [...]currencyInfo{
	{"AED", 784, 2}, {"AUD", 36, 2}, {"BHD", 48, 3}, {"BRL", 986, 2},
	{"CAD", 124, 2}, {"CHF", 756, 2}, {"CLF", 990, 4}, {"CLP", 152, 0},
	{"CNY", 156, 2}, {"CZK", 203, 2}, {"DKK", 208, 2}, {"EUR", 978, 2},
	{"GBP", 826, 2}, {"HKD", 344, 2}, {"IDR", 360, 2}, {"INR", 356, 2},
	{"IQD", 368, 3}, {"ISK", 352, 0}, {"JOD", 400, 3}, {"JPY", 392, 0},
	{"KHR", 116, 2}, {"KRW", 410, 0}, {"KWD", 414, 3}, {"LAK", 418, 2},
	{"LYD", 434, 3}, {"MMK", 104, 2}, {"MOP", 446, 2}, {"MXN", 484, 2},
	{"MYR", 458, 2}, {"NOK", 578, 2}, {"NZD", 554, 2}, {"OMR", 512, 3},
	{"PHP", 608, 2}, {"PLN", 985, 2}, {"RUB", 643, 2}, {"SAR", 682, 2},
	{"SEK", 752, 2}, {"SGD", 702, 2}, {"THB", 764, 2}, {"TND", 788, 3},
	{"TRY", 949, 2}, {"TWD", 901, 2}, {"USD", 840, 2}, {"VND", 704, 0},
	{"XAF", 950, 0}, {"XOF", 952, 0}, {"ZAR", 710, 2},
	// Not money: XPS, loyalty points (package points), a user-assigned X
	// code (ISO 4217 leaves the unallocated X codes to private use) with
	// exponent 0 and no numeric code. LookupCurrency knows it, so stores
	// read it back; CurrencyByNumeric and Currencies leave it out, so no
	// QR code or card message can name it.
	{"XPS", 0, 0},
}

var (
	currencyByCode    = make(map[string]Currency, len(currencies))
	currencyByNumeric = make(map[uint16]Currency, len(currencies))
)

func init() {
	for i, c := range currencies {
		currencyByCode[c.code] = Currency{id: uint8(i + 1)}
		if c.numeric != 0 {
			currencyByNumeric[c.numeric] = Currency{id: uint8(i + 1)}
		}
	}
}

// LookupCurrency returns the currency with the given alphabetic code
// (upper case, as ISO 4217 writes it).
//
// Errors: ErrUnknownCurrency.
func LookupCurrency(code string) (Currency, error) {
	c, ok := currencyByCode[code]
	if !ok {
		return Currency{}, fmt.Errorf("currency %q: %w", code, ErrUnknownCurrency)
	}
	return c, nil
}

// MustCurrency is LookupCurrency for codes known at compile time; it panics on
// an unknown code. Use LookupCurrency for input.
func MustCurrency(code string) Currency {
	c, err := LookupCurrency(code)
	if err != nil {
		panic(err)
	}
	return c
}

// CurrencyByNumeric returns the currency with the given ISO 4217 numeric code,
// as carried by EMVCo QR codes (field 53) and card messages.
//
// Errors: ErrUnknownCurrency.
func CurrencyByNumeric(n int) (Currency, error) {
	if n < 0 || n > 999 {
		return Currency{}, fmt.Errorf("numeric currency %d: %w", n, ErrUnknownCurrency)
	}
	c, ok := currencyByNumeric[uint16(n)]
	if !ok {
		return Currency{}, fmt.Errorf("numeric currency %03d: %w", n, ErrUnknownCurrency)
	}
	return c, nil
}

// Currencies returns every ISO 4217 currency this package knows, ordered
// by code (not XPS, the points unit, which has no numeric code).
func Currencies() []Currency {
	out := make([]Currency, 0, len(currencies))
	for i, c := range currencies {
		if c.numeric != 0 {
			out = append(out, Currency{id: uint8(i + 1)})
		}
	}
	return out
}
