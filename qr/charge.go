package qr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// RegisterDevice creates a device for payment codes, paying from account,
// with a fresh random serial and secret, and stores it. The returned
// Device (its Secret included) goes to the payer's phone, which derives
// codes from it offline (PaymentCodes.Generate).
//
// Errors: ErrMissing (no PaymentCodes), ErrInvalidValue (empty ID),
// ledger.ErrAccountNotFound, ErrDeviceExists, the Rand reader's and the
// store's.
func (s *Service) RegisterDevice(ctx context.Context, id string, account uuid.UUID) (Device, error) {
	if s.codes == nil {
		return Device{}, fmt.Errorf("qr: devices need PaymentCodes: %w", ErrMissing)
	}
	if id == "" {
		return Device{}, fmt.Errorf("qr: device without ID: %w", ErrInvalidValue)
	}
	if _, err := s.ledger.Account(ctx, account); err != nil {
		return Device{}, err
	}
	for range 8 { // a taken serial: draw again (one in 10^9 per registered device)
		d, err := s.codes.NewDevice(id, account, s.now())
		if err != nil {
			return Device{}, err
		}
		err = s.store.CreateDevice(ctx, d)
		if errors.Is(err, ErrSerialTaken) {
			continue
		}
		if err != nil {
			return Device{}, err
		}
		return d, nil
	}
	return Device{}, fmt.Errorf("qr: device %q: no free serial found: %w", id, ErrSerialTaken)
}

// RevokeDevice stops a device's codes from paying: its codes are refused
// with ErrDeviceRevoked from now on.
//
// Errors: ErrUnknownDevice, the store's.
func (s *Service) RevokeDevice(ctx context.Context, id string) error {
	return s.store.RevokeDevice(ctx, id, s.now())
}

// ChargeRequest asks to charge a payment code (付款码) that a merchant
// scanned from the payer's phone.
type ChargeRequest struct {
	// Merchant is the merchant's ledger account, credited.
	Merchant uuid.UUID
	// Code is the 18-digit payment code.
	Code string
	// Amount is positive, in the payer's currency.
	Amount ledger.Money
	// Order is the merchant's order ID, 1 to MaxKeyLen bytes: the
	// idempotency key of the charge.
	Order string
}

// ChargeReceipt records a completed payment-code charge.
type ChargeReceipt struct {
	Transfer uuid.UUID // the ledger transfer, ChargeID(Merchant, Order)
	Merchant uuid.UUID
	Payer    uuid.UUID // the device's account
	Device   string
	Amount   ledger.Money
	Order    string
	At       time.Time
}

// Charge takes Amount from the account of the device that made the payment
// code and gives it to the merchant.
//
// The order's meaning is its payer and amount: a retry of the order gets
// the one ChargeReceipt whichever code of the payer's devices it shows,
// and a *KeyConflictError (ErrKeyReused) for another payer or amount.
//
// The code is checked for its device (within the Skew steps around the
// current one), redeemed atomically (UsedCodeStore.MarkUsed: of merchants
// racing with one code exactly one wins, the others get ErrReplay), then
// the transfer is posted under ChargeID(Merchant, Order). The redemption
// records the charge, so a merchant retrying its order with the same code
// (after a timeout or a crash between the two steps) gets the same
// ChargeReceipt, not ErrReplay. A code redeemed whose transfer then failed
// (insufficient funds) stays used: the phone shows a new code each step.
//
// Errors: ErrMissing (no PaymentCodes), ErrInvalidValue (no merchant,
// order empty, longer than MaxKeyLen or not UTF-8 text without NUL, amount
// not positive),
// ErrKeyReused (the order was charged to another payer or of another
// amount),
// ErrChargeCap, ErrMalformedCode, ErrUnknownDevice, ErrDeviceRevoked,
// ErrExpired, ErrWrongCode, ErrReplay, the ledger's (e.g.
// ledger.ErrInsufficientFunds) and the store's.
func (s *Service) Charge(ctx context.Context, req ChargeRequest) (ChargeReceipt, error) {
	if s.codes == nil {
		return ChargeReceipt{}, fmt.Errorf("qr: charging payment codes needs PaymentCodes: %w", ErrMissing)
	}
	if req.Merchant == uuid.Nil || !keyOK(req.Order) || !req.Amount.IsPositive() {
		return ChargeReceipt{}, fmt.Errorf("qr: a charge needs a merchant, a UTF-8 order ID of 1 to %d bytes and a positive amount: %w", MaxKeyLen, ErrInvalidValue)
	}
	id := s.ChargeID(req.Merchant, req.Order)
	digest := digestOf(req.Code)
	t, err := s.ledger.LookupTransfer(ctx, id)
	switch {
	case err == nil:
		return s.chargeRetry(ctx, &req, &t, digest)
	case !errors.Is(err, ledger.ErrTransferNotFound):
		return ChargeReceipt{}, err
	}
	if limit, ok := capIn(s.chargeCaps, req.Amount.Currency()); ok && req.Amount.Units() > limit.Units() {
		return ChargeReceipt{}, fmt.Errorf("%w: %v, cap %v", ErrChargeCap, req.Amount, limit)
	}
	d, ref, err := s.codes.Verify(ctx, s.store, req.Code, s.now())
	if err != nil {
		return ChargeReceipt{}, err
	}
	if err := s.store.MarkUsed(ctx, ref.Serial, ref.Step, id); err != nil {
		return ChargeReceipt{}, err
	}
	t, err = s.ledger.Transfer(ctx, ledger.Transfer{
		ID: id, DebitAccountID: d.Account, CreditAccountID: req.Merchant, Amount: req.Amount,
		Code: s.chargeCode, Reference: req.Order,
		Metadata: map[string]string{metaKind: "charge", metaDigest: digest, metaDevice: d.ID},
	})
	if errors.Is(err, ledger.ErrIdempotencyConflict) {
		// The same order charged meanwhile, maybe with another code of
		// the device: the meaning decides.
		if stored, lerr := s.ledger.LookupTransfer(ctx, id); lerr == nil {
			return s.chargeRetry(ctx, &req, &stored, digest)
		}
	}
	if err != nil {
		return ChargeReceipt{}, err
	}
	return chargeReceipt(&t), nil
}

// chargeRetry answers a charge whose order was charged before (t): the
// same meaning — the same payer and amount — gets its receipt, whichever
// code of the payer's device it shows (the phone shows a new one every
// step; that code is not redeemed by the retry); another meaning is a
// *KeyConflictError.
func (s *Service) chargeRetry(ctx context.Context, req *ChargeRequest, t *ledger.Transfer, digest string) (ChargeReceipt, error) {
	conflict := func(field string) (ChargeReceipt, error) {
		return ChargeReceipt{}, &KeyConflictError{Key: req.Order, ID: t.ID, Field: field}
	}
	switch {
	case t.Metadata[metaKind] != "charge":
		return conflict("kind of payment")
	case t.Amount != req.Amount:
		return conflict("amount")
	case t.Metadata[metaDigest] == digest:
		return chargeReceipt(t), nil
	}
	d, _, err := s.codes.Verify(ctx, s.store, req.Code, s.now())
	switch {
	case err != nil && !errors.Is(err, ErrExpired):
		return ChargeReceipt{}, err
	case d.Account != t.DebitAccountID:
		return conflict("payer")
	}
	return chargeReceipt(t), nil
}

func chargeReceipt(t *ledger.Transfer) ChargeReceipt {
	return ChargeReceipt{
		Transfer: t.ID, Merchant: t.CreditAccountID, Payer: t.DebitAccountID, Device: t.Metadata[metaDevice],
		Amount: t.Amount, Order: t.Reference, At: t.Timestamp,
	}
}

// Sweep forgets redeemed payment codes too old to be accepted again (one
// step of margin beyond the skew window) and returns how many. Run it
// periodically; servers' clocks must agree within a step.
//
// Errors: ErrMissing (no PaymentCodes), the store's.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	if s.codes == nil {
		return 0, fmt.Errorf("qr: sweeping payment codes needs PaymentCodes: %w", ErrMissing)
	}
	return s.store.PruneUsed(ctx, s.codes.stepOf(s.now())-s.codes.skew-1)
}
