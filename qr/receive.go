package qr

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

// Errors of receive codes.
var (
	// ErrNotOurs: the payload has no account template of this issuer (it may
	// be a valid PIX, PayNow, ... code).
	ErrNotOurs = errcode.New("not_ours", errcode.Invalid, "qr: not a code of this issuer")
	// ErrUnsigned: the payload has our account template but no signature.
	ErrUnsigned = errcode.New("unsigned", errcode.Invalid, "qr: code not signed")
	// ErrExpired: a dynamic receive code past its expiry, or a payment code
	// outside its time window.
	ErrExpired = errcode.New("expired", errcode.Conflict, "qr: code expired")
)

// ReceiveConfig configures ReceiveCodes.
type ReceiveConfig struct {
	// Signer signs issued codes; nil for a verify-only ReceiveCodes.
	Signer Signer
	// Keys verifies codes; nil for an issue-only ReceiveCodes.
	Keys KeyRing
	// GUI identifies the issuer in its account and signature templates
	// (sub-object 00), e.g. a reversed domain name. Default "com.socialpay".
	GUI string
	// AccountTemplate is the root ID (26-51) of the account template that
	// carries the payee's alias. Default 26.
	AccountTemplate ID
	// SignatureTemplate is the first root ID (80-99) of the signature; a
	// signature too long for one template continues in the next IDs
	// (an Ed25519 signature takes two). Default 80.
	SignatureTemplate ID
	// Now is the clock for expiry. Default time.Now.
	Now func() time.Time
}

// ReceiveCode is the content of a receive code (收款码) that a payer scans.
type ReceiveCode struct {
	// Payee is the payee's account alias as the directory knows it. Never
	// an account number: all-digit aliases of 8 or more digits are refused.
	Payee string `json:"payee"`
	// Initiation is Static (payer enters the amount; no Amount, Reference
	// or Expires) or Dynamic (one payment of Amount, with a Reference and an
	// expiry).
	Initiation Initiation `json:"initiation"`
	// Currency is the code's currency (data object 53). A dynamic code may
	// leave it zero: it is then Amount's.
	Currency ledger.Currency `json:"currency,omitzero"`
	// Amount is what a dynamic code asks for: positive, in Currency. A
	// static code has none (the zero Money).
	Amount ledger.Money `json:"amount,omitzero"`
	// Reference is the order reference, written in 62/05 (dynamic codes).
	Reference string `json:"reference,omitempty"`
	// Expires is when a dynamic code stops being payable (written to the
	// second, UTC).
	Expires time.Time `json:"expires,omitzero"`
	// Name, City, Country (ISO 3166 alpha-2) and MCC fill 59, 60, 58 and
	// 52. Name and City are for display only and never identify the
	// payee. Country defaults to "CN", MCC to "0000".
	Name    string `json:"name,omitempty"`
	City    string `json:"city,omitempty"`
	Country string `json:"country,omitempty"`
	MCC     string `json:"mcc,omitempty"`
	// KeyID is the key that signed the code (set by Verify).
	KeyID string `json:"key_id,omitempty"`
	// Binding is the BindingMark of the payee the code was issued for,
	// written signed in the account template (03); empty in codes issued
	// without one. Service.Issue sets it.
	Binding string `json:"binding,omitempty"`
}

// ReceiveCodes issues and verifies signed receive codes.
//
// A code is an EMVCo payload whose account template (AccountTemplate) holds
// the GUI (00), the payee alias (01) and, for a dynamic code, the expiry
// (02, YYYYMMDDhhmmss UTC). The signature templates (SignatureTemplate and
// following) hold the GUI (00), the key ID (01, first template only) and
// the base64url signature (02, split over the templates). The signature
// covers a domain-separation prefix, the key ID and the EMVCo text of every
// other data object but the CRC, so any edit of payee, amount, currency,
// reference, expiry, point of initiation, name or anything else is refused
// even when the CRC was recomputed.
type ReceiveCodes struct {
	cfg ReceiveConfig
}

// NewReceiveCodes checks cfg and fills its defaults.
//
// Errors: ErrInvalidValue (template IDs out of range, GUI not 1-32
// characters).
func NewReceiveCodes(cfg ReceiveConfig) (*ReceiveCodes, error) {
	if cfg.GUI == "" {
		cfg.GUI = "com.socialpay"
	}
	if cfg.AccountTemplate == 0 {
		cfg.AccountTemplate = 26
	}
	if cfg.SignatureTemplate == 0 {
		cfg.SignatureTemplate = 80
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &ReceiveCodes{cfg: cfg}
	switch {
	case cfg.AccountTemplate < 26 || cfg.AccountTemplate > 51:
		return nil, fmt.Errorf("qr: account template %s not in 26-51: %w", cfg.AccountTemplate, ErrInvalidValue)
	case cfg.SignatureTemplate < 80 || cfg.SignatureTemplate > 99:
		return nil, fmt.Errorf("qr: signature template %s not in 80-99: %w", cfg.SignatureTemplate, ErrInvalidValue)
	case len(cfg.GUI) > 32:
		return nil, fmt.Errorf("qr: GUI %q over 32 characters: %w", cfg.GUI, ErrInvalidValue)
	}
	return r, nil
}

const (
	expiryLayout = "20060102150405"
	sigDomain    = "socialpay/qr/receive/v1\x00"
)

// Issue builds and signs a receive code.
//
// Errors: ErrMissing (no Payee, Name, City or Currency; no Signer),
// ErrInvalidValue (static code with an amount, dynamic code without a
// positive amount, reference or future expiry, an amount in another
// currency than Currency, an alias that looks like an account number),
// ErrExpired (dynamic code already expired), the errors of Encode (e.g.
// ErrTooLong), and the Signer's errors.
func (r *ReceiveCodes) Issue(ctx context.Context, c ReceiveCode) (string, error) {
	if r.cfg.Signer == nil {
		return "", fmt.Errorf("qr: no Signer: %w", ErrMissing)
	}
	cur := c.Currency
	if cur.IsZero() {
		cur = c.Amount.Currency()
	}
	if c.Payee == "" || c.Name == "" || c.City == "" || cur.IsZero() {
		return "", fmt.Errorf("qr: receive code needs Payee, Name, City and Currency: %w", ErrMissing)
	}
	if looksLikeAccountNumber(c.Payee) {
		return "", fmt.Errorf("qr: payee %q looks like an account number, use its alias: %w", c.Payee, ErrInvalidValue)
	}
	if c.Country == "" {
		c.Country = "CN"
	}
	if c.MCC == "" {
		c.MCC = "0000"
	}
	acct := []Object{{ID: 0, Value: r.cfg.GUI}, {ID: 1, Value: c.Payee}}
	p := Payload{Objects: make([]Object, 0, 14)}
	p.Set(0, "01")
	switch c.Initiation {
	case Static:
		if c.Amount != (ledger.Money{}) || c.Reference != "" || !c.Expires.IsZero() {
			return "", fmt.Errorf("qr: a static code has no amount, reference or expiry: %w", ErrInvalidValue)
		}
		p.Set(1, "11")
	case Dynamic:
		if !c.Amount.IsPositive() || c.Reference == "" || c.Expires.IsZero() {
			return "", fmt.Errorf("qr: a dynamic code needs a positive amount, a reference and an expiry: %w", ErrInvalidValue)
		}
		if c.Amount.Currency() != cur {
			return "", fmt.Errorf("qr: amount %v in a %v code: %w", c.Amount, cur, ErrInvalidValue)
		}
		if !r.cfg.Now().Before(c.Expires) {
			return "", fmt.Errorf("qr: expiry %v already past: %w", c.Expires, ErrExpired)
		}
		p.Set(1, "12")
		acct = append(acct, Object{ID: 2, Value: c.Expires.UTC().Format(expiryLayout)})
	default:
		return "", fmt.Errorf("qr: initiation %v: %w", c.Initiation, ErrInvalidValue)
	}
	if c.Binding != "" {
		if len(c.Binding) != 16 || strings.Trim(c.Binding, "0123456789abcdef") != "" {
			return "", fmt.Errorf("qr: binding mark %q not 16 hex digits: %w", c.Binding, ErrInvalidValue)
		}
		acct = append(acct, Object{ID: 3, Value: c.Binding})
	}
	p.SetTemplate(r.cfg.AccountTemplate, acct...)
	p.Set(52, c.MCC)
	p.Set(53, cur.NumericCode())
	if c.Initiation == Dynamic {
		p.Set(54, c.Amount.Amount())
	}
	p.Set(58, c.Country)
	p.Set(59, c.Name)
	p.Set(60, c.City)
	if c.Reference != "" {
		p.SetTemplate(62, Object{ID: 5, Value: c.Reference})
	}
	// Check everything signed before signing it.
	if _, err := p.Encode(); err != nil {
		return "", err
	}
	kid := r.cfg.Signer.KeyID()
	var buf [4*MaxPayloadLen + 64]byte
	sig, err := r.cfg.Signer.Sign(ctx, signedMessage(buf[:0], kid, p.Objects, nil))
	if err != nil {
		return "", fmt.Errorf("qr: signing with key %q: %w", kid, err)
	}
	if err := r.appendSignature(&p, kid, base64.RawURLEncoding.EncodeToString(sig)); err != nil {
		return "", err
	}
	return p.Encode()
}

// appendSignature writes the signature templates.
func (r *ReceiveCodes) appendSignature(p *Payload, kid, sig string) error {
	gui := Object{ID: 0, Value: r.cfg.GUI}
	for id := r.cfg.SignatureTemplate; sig != ""; id++ {
		if id > 99 {
			return fmt.Errorf("qr: signature does not fit in templates %s-99: %w", r.cfg.SignatureTemplate, ErrTooLong)
		}
		sub := []Object{gui}
		if id == r.cfg.SignatureTemplate {
			sub = append(sub, Object{ID: 1, Value: kid})
		}
		room := 99 - subLen(sub) - 4
		if room <= 0 {
			return fmt.Errorf("qr: no room for the signature: %w", ErrTooLong)
		}
		chunk := sig[:min(room, len(sig))]
		sig = sig[len(chunk):]
		p.SetTemplate(id, append(sub, Object{ID: 2, Value: chunk})...)
	}
	return nil
}

// signedMessage appends to b what a receive code's signature covers: the
// domain prefix, the key ID and the EMVCo text of objs without 63 and the
// signature templates (skip).
func signedMessage(b []byte, kid string, objs []Object, skip *[100]bool) []byte {
	b = append(b, sigDomain...)
	b = append(b, kid...)
	b = append(b, 0)
	return appendObjects(b, objs, skip)
}

// Verify parses a receive code issued by this issuer and checks its
// signature and expiry. It returns the code's content; show the payee's name
// from the directory (by Payee), never Name.
//
// Errors: the errors of Parse; ErrNotOurs (no account template with our
// GUI); ErrUnsigned; ErrUnknownKey; ErrBadSignature (any edit of a signed
// field, or a malformed signature); ErrInvalidValue (signed content that is
// not a valid static or dynamic code); ErrExpired (a dynamic code at or past
// its expiry); ErrMissing (no Keys configured).
func (r *ReceiveCodes) Verify(ctx context.Context, payload string) (ReceiveCode, error) {
	if r.cfg.Keys == nil {
		return ReceiveCode{}, fmt.Errorf("qr: no Keys: %w", ErrMissing)
	}
	p, err := Parse(payload)
	if err != nil {
		return ReceiveCode{}, err
	}
	acct := p.Template(r.cfg.AccountTemplate)
	if gui, _ := lookup(acct, 0); gui != r.cfg.GUI {
		return ReceiveCode{}, ErrNotOurs
	}
	// Collect the signature templates.
	var skip [100]bool
	var kid string
	var sigBuf [128]byte
	sig := sigBuf[:0]
	for id := r.cfg.SignatureTemplate; id <= 99; id++ {
		o := p.find(id)
		if o == nil {
			break
		}
		if gui, _ := lookup(o.Sub, 0); gui != r.cfg.GUI {
			break
		}
		skip[id] = true
		if id == r.cfg.SignatureTemplate {
			kid, _ = lookup(o.Sub, 1)
		}
		chunk, _ := lookup(o.Sub, 2)
		sig = append(sig, chunk...)
	}
	if !skip[r.cfg.SignatureTemplate] {
		return ReceiveCode{}, ErrUnsigned
	}
	raw := make([]byte, base64.RawURLEncoding.DecodedLen(len(sig)))
	n, err := base64.RawURLEncoding.Decode(raw, sig)
	if err != nil {
		return ReceiveCode{}, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	// One code, one text: the signature templates must be exactly what
	// Issue writes for this key ID and signature (canonical base64, no
	// other sub-objects, split the same way), and the payload must be one
	// Encode writes (no warnings).
	if err := r.sameLayout(p, kid, raw[:n], &skip); err != nil {
		return ReceiveCode{}, err
	}
	var buf [4*MaxPayloadLen + 64]byte
	if err := r.cfg.Keys.Verify(ctx, kid, signedMessage(buf[:0], kid, p.Objects, &skip), raw[:n]); err != nil {
		return ReceiveCode{}, err
	}

	// Authentic: read it.
	c := ReceiveCode{
		Initiation: p.Initiation(),
		Name:       p.MerchantName(),
		City:       p.MerchantCity(),
		Country:    p.Country(),
		MCC:        p.MCC(),
		Reference:  p.Reference(),
		KeyID:      kid,
	}
	c.Payee, _ = lookup(acct, 1)
	c.Binding, _ = lookup(acct, 3)
	cur, err := p.Currency()
	if err != nil {
		return ReceiveCode{}, err
	}
	c.Currency = cur
	expiry, hasExpiry := lookup(acct, 2)
	amount, amountErr := p.Amount()
	switch c.Initiation {
	case Static:
		if !errors.Is(amountErr, ErrNoAmount) || hasExpiry || c.Reference != "" {
			return ReceiveCode{}, fmt.Errorf("qr: static code with amount, expiry or reference: %w", ErrInvalidValue)
		}
	case Dynamic:
		if amountErr != nil {
			return ReceiveCode{}, amountErr
		}
		c.Amount = amount
		if c.Expires, err = time.Parse(expiryLayout, expiry); err != nil || c.Reference == "" || !c.Amount.IsPositive() {
			return ReceiveCode{}, fmt.Errorf("qr: dynamic code without a valid expiry, reference or amount: %w", ErrInvalidValue)
		}
		if !r.cfg.Now().Before(c.Expires) {
			return c, fmt.Errorf("qr: code expired at %v: %w", c.Expires, ErrExpired)
		}
	default:
		return ReceiveCode{}, fmt.Errorf("qr: code without point of initiation: %w", ErrInvalidValue)
	}
	return c, nil
}

// sameLayout checks that p's signature templates (skip) are the ones
// appendSignature writes for kid and sig, and that p has no warnings.
func (r *ReceiveCodes) sameLayout(p *Payload, kid string, sig []byte, skip *[100]bool) error {
	if len(p.Warnings) > 0 {
		return fmt.Errorf("%w: %v", ErrBadSignature, p.Warnings[0])
	}
	var want Payload
	if err := r.appendSignature(&want, kid, base64.RawURLEncoding.EncodeToString(sig)); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	n := 0
	for id := range skip {
		if skip[id] {
			n++
		}
	}
	if n != len(want.Objects) {
		return fmt.Errorf("%w: %d signature templates, want %d", ErrBadSignature, n, len(want.Objects))
	}
	for _, w := range want.Objects {
		o := p.find(w.ID)
		if o == nil || !skip[w.ID] || !slices.EqualFunc(o.Sub, w.Sub, func(a, b Object) bool {
			return a.ID == b.ID && a.Value == b.Value && len(a.Sub) == 0 && len(b.Sub) == 0
		}) {
			return fmt.Errorf("%w: signature template %s not as issued", ErrBadSignature, w.ID)
		}
	}
	return nil
}

// looksLikeAccountNumber: 8 or more characters, all digits.
func looksLikeAccountNumber(s string) bool {
	return len(s) >= 8 && allDigits(s)
}
