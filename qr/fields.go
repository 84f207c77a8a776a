package qr

import (
	"github.com/socialpay/socialpay/ledger"
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

// Currency returns the transaction currency (data object 53) as the ledger
// knows it (ledger.CurrencyByNumeric).
//
// Errors: ErrMissing, ErrInvalidValue (not three digits),
// ErrUnknownCurrency (a currency the ledger does not carry).
func (p *Payload) Currency() (ledger.Currency, error) {
	n, ok := p.Get(53)
	if !ok {
		return ledger.Currency{}, &Error{Path: "53", Pos: -1, Err: ErrMissing}
	}
	if len(n) != 3 || !allDigits(n) {
		return ledger.Currency{}, &Error{Path: "53", Pos: -1, Err: ErrInvalidValue}
	}
	c, err := ledger.CurrencyByNumeric(int(n[0]-'0')*100 + int(n[1]-'0')*10 + int(n[2]-'0'))
	if err != nil {
		return ledger.Currency{}, &Error{Path: "53", Pos: -1, Err: err}
	}
	return c, nil
}

// Amount returns the transaction amount (data object 54) as money of the
// transaction currency, by the ledger's rules (ledger.ParseIn): a non-zero
// digit below the currency's minor unit is an error, never rounded.
//
// Errors: ErrNoAmount (no 54: the payer enters the amount), the errors of
// Currency, ErrInvalidValue (not an EMVCo amount), ErrAmountPrecision.
func (p *Payload) Amount() (ledger.Money, error) {
	v, ok := p.Get(54)
	if !ok {
		return ledger.Money{}, ErrNoAmount
	}
	c, err := p.Currency()
	if err != nil {
		return ledger.Money{}, err
	}
	if _, _, ok := splitDecimal(v); !ok {
		return ledger.Money{}, &Error{Path: "54", Pos: -1, Err: ErrInvalidValue}
	}
	m, err := ledger.ParseIn(v, c)
	if err != nil {
		return ledger.Money{}, &Error{Path: "54", Pos: -1, Err: err}
	}
	return m, nil
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
