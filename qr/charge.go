package qr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/internal/telemetry"
	"github.com/socialpay/socialpay/ledger"
)

// RegisterDevice creates a device for payment codes, paying from account,
// with a fresh random serial and secret, and stores it with the secret
// wrapped (Config.DeviceKeys). The returned Device (its Secret in clear)
// goes to the payer's phone, which derives codes from it offline
// (PaymentCodes.Generate).
//
// Errors: ErrMissing (no PaymentCodes), ErrInvalidValue (empty ID),
// ledger.ErrAccountNotFound, ErrDeviceExists, the Rand reader's, the
// KeyWrapper's and the store's.
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
		stored, err := s.wrapDevice(ctx, d)
		if err != nil {
			return Device{}, err
		}
		err = s.store.CreateDevice(ctx, stored)
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

// UnlockDevice lets a device locked by failed payment codes pay again,
// and forgets its failures. Call it once the payer has re-authenticated
// (the bank's login or PIN, not a merchant's request).
//
// Errors: ErrMissing (no PaymentCodes), ErrUnknownDevice, the store's.
func (s *Service) UnlockDevice(ctx context.Context, id string) error {
	if s.codes == nil {
		return fmt.Errorf("qr: devices need PaymentCodes: %w", ErrMissing)
	}
	d, err := s.store.Device(ctx, id)
	if err != nil {
		return err
	}
	return s.store.UnlockSerial(ctx, d.Serial)
}

// DeviceStatus is what the payer's app shows about its payment codes.
type DeviceStatus struct {
	Revoked  bool `json:"revoked"`
	Locked   bool `json:"locked"`   // by failed attempts: UnlockDevice after re-authentication
	Failures int  `json:"failures"` // failed attempts of the current window
	// Spent is today's charges of the device counted against
	// DeviceDailyCaps (zero when none or not capped).
	Spent ledger.Money `json:"spent"`
}

// DeviceStatus returns the state of a payer's device.
//
// Errors: ErrMissing (no PaymentCodes), ErrUnknownDevice, the store's.
func (s *Service) DeviceStatus(ctx context.Context, id string) (DeviceStatus, error) {
	if s.codes == nil {
		return DeviceStatus{}, fmt.Errorf("qr: devices need PaymentCodes: %w", ErrMissing)
	}
	d, err := s.store.Device(ctx, id)
	if err != nil {
		return DeviceStatus{}, err
	}
	r, err := s.store.SerialRecord(ctx, d.Serial)
	if err != nil {
		return DeviceStatus{}, err
	}
	now := s.now()
	st := DeviceStatus{Revoked: d.Revoked(), Locked: s.lockout.Locked(r)}
	if st.Locked || r.Since.Add(s.lockout.DeviceWindow).After(now) {
		st.Failures = r.Count
	}
	if r.Day == s.Day(now) {
		st.Spent = r.Spent
	}
	return st, nil
}

// CodeRefusal is why a payment code was refused, for Config.Refused: the
// merchant gets ErrInvalidCode whatever Reason is.
type CodeRefusal struct {
	Merchant uuid.UUID
	Order    string
	Serial   uint64 // the serial the code decodes to
	Device   string // the device with that serial; empty when none
	// Reason: ErrUnknownDevice, ErrDeviceRevoked, ErrDeviceLocked,
	// ErrExpired, ErrWrongCode, ErrUnwrap or ErrUnknownKey (a stored
	// secret that does not open), or the error of a store that could not
	// count the attempt's end.
	Reason error
}

// ChargeRequest asks to charge a payment code (付款码) that a merchant
// scanned from the payer's phone.
type ChargeRequest struct {
	// Merchant is the merchant's ledger account, credited.
	Merchant uuid.UUID `json:"merchant"`
	// Code is the 18-digit payment code.
	Code string `json:"code"`
	// Amount is positive, in the payer's currency.
	Amount ledger.Money `json:"amount"`
	// Order is the merchant's order ID: the idempotency key of the
	// charge, scoped by Merchant, checked as every key is
	// (ledger.CheckKey).
	Order string `json:"order"`
}

// ChargeReceipt records a completed payment-code charge.
type ChargeReceipt struct {
	Transfer uuid.UUID    `json:"transfer"` // the ledger transfer, ChargeID(Merchant, Order)
	Merchant uuid.UUID    `json:"merchant"`
	Payer    uuid.UUID    `json:"payer"` // the device's account
	Device   string       `json:"device"`
	Amount   ledger.Money `json:"amount"`
	Order    string       `json:"order"`
	At       time.Time    `json:"at"`
}

// Charge takes Amount from the account of the device that made the payment
// code and gives it to the merchant. It is a password-free payment: the
// payer only shows the code, so ChargeCaps and DeviceDailyCaps bound it.
//
// The order's meaning is its payer and amount: a retry of the order gets
// the one ChargeReceipt whichever code of the payer's devices it shows,
// and a *KeyConflictError (ErrKeyReused) for another payer or amount.
//
// Every failed code counts, in the store, against the code's serial and
// the merchant (see Lockout.Begin): DeviceFailures failures lock the
// device until UnlockDevice, MerchantFailures refuse the merchant until
// its window ends. A code that does not pay for any reason of its device or
// its digits is answered ErrInvalidCode, the same for all; the reason
// goes to Config.Refused.
//
// The code is checked for its device (within the Skew steps around the
// current one), redeemed atomically (of merchants racing with one code
// exactly one wins, the others get ErrReplay), and the transfer is posted
// under ChargeID(Merchant, Order). The redemption records the charge, so a
// merchant retrying its order with the same code gets the same
// ChargeReceipt, not ErrReplay. A code redeemed whose transfer was refused
// (insufficient funds) stays used: the phone shows a new code each step.
// The device's day counts the charge, and gives it back if the transfer is
// not made.
//
// On a PayingStore that pays on the Service's ledger (PaysOn), the
// attempt, the redemption and the transfer are one step of the store (one
// commit on PostgreSQL). On any other store they are steps of their own
// (BeginTry, MarkUsed, the ledger's Transfer, EndTry): the slower path,
// where a retry finishes a charge whose process stopped between them and
// a day counted before such a stop stays counted (never more let through).
//
// Errors: ErrMissing (no PaymentCodes), ErrInvalidValue (no merchant,
// amount not positive; with ledger.ErrInvalidKey, an order ID
// ledger.CheckKey refuses),
// ErrKeyReused (the order was charged to another payer or of another
// amount),
// ErrChargeCap, ErrMerchantRefused, ErrMalformedCode, ErrInvalidCode,
// ErrDeviceDailyCap, ErrReplay, the ledger's (e.g.
// ledger.ErrInsufficientFunds), the KeyWrapper's and the store's.
func (s *Service) Charge(ctx context.Context, req ChargeRequest) (ChargeReceipt, error) {
	ctx, sp := s.tel.charge.Start(ctx)
	if sp.On() {
		sp.ID(s.ChargeID(req.Merchant, req.Order))
	}
	r, err := s.charge(ctx, req)
	sp.End(ctx, err, req.Amount.Currency().Code())
	return r, err
}

func (s *Service) charge(ctx context.Context, req ChargeRequest) (ChargeReceipt, error) {
	if s.codes == nil {
		return ChargeReceipt{}, fmt.Errorf("qr: charging payment codes needs PaymentCodes: %w", ErrMissing)
	}
	if req.Merchant == uuid.Nil || !req.Amount.IsPositive() {
		return ChargeReceipt{}, fmt.Errorf("qr: a charge needs a merchant and a positive amount: %w", ErrInvalidValue)
	}
	if err := ledger.CheckKey(req.Order); err != nil {
		return ChargeReceipt{}, fmt.Errorf("qr: charge order ID: %w: %w", err, ErrInvalidValue)
	}
	id := s.ChargeID(req.Merchant, req.Order)
	digest := digestOf(req.Code)
	if s.paying != nil {
		return s.chargePaid(ctx, &req, id, digest)
	}
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
	a, err := s.tryCode(ctx, &req, true)
	if err != nil {
		return ChargeReceipt{}, err
	}
	if err := s.store.MarkUsed(ctx, a.ref.Serial, a.ref.Step, id); err != nil {
		s.endTry(ctx, &req, a, false)
		return ChargeReceipt{}, err
	}
	t, err = s.ledger.Transfer(ctx, s.chargeTransfer(&req, a, digest))
	if errors.Is(err, ledger.ErrIdempotencyConflict) {
		// The same order charged meanwhile, maybe with another code of
		// the device: the meaning decides.
		// The order is charged (its day counted): the meaning decides.
		if stored, lerr := s.ledger.LookupTransfer(ctx, id); lerr == nil {
			return s.chargeRetry(ctx, &req, &stored, digest)
		}
	}
	if err != nil {
		// Give the day's room back only if the ledger surely has no
		// charge (an error may come after a commit).
		if _, lerr := s.ledger.LookupTransfer(ctx, id); errors.Is(lerr, ledger.ErrTransferNotFound) {
			s.endTry(ctx, &req, a, false)
		}
		return ChargeReceipt{}, err
	}
	return chargeReceipt(&t), nil
}

// chargePaid is charge on a PayingStore that pays on the Service's
// ledger: the order's charge looked up, the attempt counted, the code
// redeemed and the transfer made in one step of the store. A request that
// does not reach that step (over the charge cap, a code that does not
// decode or is not genuine) answers as on the slower path: the order's
// charge first, if there is one, else the refusal (a code that is not
// genuine counted by BeginTry).
//
// The code is checked against the device as cached (deviceCache), read
// from the store if it is not; the step confirms that device
// (ChargeStep.Stale). A code the cached device refuses, and a device the
// step finds changed (revoked), are checked again on the device read
// from the store: every refusal is decided, and counted, as the slower
// path decides it.
func (s *Service) chargePaid(ctx context.Context, req *ChargeRequest, id uuid.UUID, digest string) (ChargeReceipt, error) {
	limit, capped := capIn(s.chargeCaps, req.Amount.Currency())
	if capped && req.Amount.Units() > limit.Units() {
		return s.chargeUnpaid(ctx, req, id, digest, nil,
			fmt.Errorf("%w: %v, cap %v", ErrChargeCap, req.Amount, limit))
	}
	for cached := true; ; cached = false {
		a, err := s.checkCode(ctx, req, true, cached)
		if err == nil && !a.try.CodeOK && a.cached {
			continue // refusals are decided on the device as read now
		}
		if err != nil || !a.try.CodeOK {
			return s.chargeUnpaid(ctx, req, id, digest, a, err)
		}
		out, err := s.paying.ChargePaid(ctx, ChargeStep{Try: a.try, Step: a.ref.Step,
			Transfer: s.chargeTransfer(req, a, digest), Now: s.ledger.Now(), Device: a.stored}, s.lockout)
		if err != nil {
			return ChargeReceipt{}, err
		}
		if out.Stale {
			s.devices.forget(a.ref.Serial)
			if cached {
				continue
			}
			// Read not revoked just now, revoked by the step.
			a.reason, a.try.CodeOK = ErrDeviceRevoked, false
			return s.chargeUnpaid(ctx, req, id, digest, a, nil)
		}
		return s.chargePaidOutcome(ctx, req, id, digest, a, &out)
	}
}

// chargeUnpaid answers a charge that does not reach the store's step:
// refused (refusal: over the charge cap, or checkCode's error) or a code
// that is not genuine (a). The order's charge, if there is one, is the
// answer; otherwise the refusal, or the attempt counted by BeginTry.
func (s *Service) chargeUnpaid(ctx context.Context, req *ChargeRequest, id uuid.UUID, digest string, a *attempt, refusal error) (ChargeReceipt, error) {
	switch t, lerr := s.ledger.LookupTransfer(ctx, id); {
	case lerr == nil:
		return s.chargeRetry(ctx, req, &t, digest)
	case !errors.Is(lerr, ledger.ErrTransferNotFound):
		return ChargeReceipt{}, lerr
	case refusal != nil:
		return ChargeReceipt{}, refusal
	}
	var err error
	if a.res, err = s.store.BeginTry(ctx, a.try, s.lockout); err != nil {
		return ChargeReceipt{}, err
	}
	return ChargeReceipt{}, s.tried(ctx, req, a)
}

// chargePaidOutcome answers a charge as the store's step decided it (out).
func (s *Service) chargePaidOutcome(ctx context.Context, req *ChargeRequest, id uuid.UUID, digest string, a *attempt, out *ChargeOutcome) (ChargeReceipt, error) {
	if out.Existing {
		return s.chargeRetry(ctx, req, &out.Transfer, digest)
	}
	a.res = out.Try
	if err := s.tried(ctx, req, a); err != nil {
		return ChargeReceipt{}, err
	}
	switch {
	case out.Replay:
		return ChargeReceipt{}, ErrReplay
	case out.Err == nil:
		return chargeReceipt(&out.Transfer), nil
	case errors.Is(out.Err, ledger.ErrIdempotencyConflict):
		// The order was charged by a duplicate with another code of the
		// device: the meaning decides.
		if stored, lerr := s.ledger.LookupTransfer(ctx, id); lerr == nil {
			return s.chargeRetry(ctx, req, &stored, digest)
		}
	}
	return ChargeReceipt{}, out.Err
}

// chargeTransfer is the ledger transfer of a's charge.
func (s *Service) chargeTransfer(req *ChargeRequest, a *attempt, digest string) ledger.Transfer {
	return ledger.Transfer{
		ID: a.try.Charge, DebitAccountID: a.device.Account, CreditAccountID: req.Merchant, Amount: req.Amount,
		Code: s.chargeCode, Reference: req.Order,
		Metadata: map[string]string{metaKind: "charge", metaDigest: digest, metaDevice: a.device.ID},
	}
}

// attempt is a payment code checked, and then decided by Lockout.Begin.
type attempt struct {
	try    CodeTry
	res    TryResult
	device Device // secret in clear
	stored Device // as the store keeps it (secret wrapped)
	cached bool   // stored came from the Service's deviceCache
	ref    CodeRef
	reason error // why the code is not genuine (nil when try.CodeOK)
}

// tryCode checks req.Code, counts the attempt and returns the code's
// device. spend counts req.Amount against the device's day. Every refusal
// of the code is ErrInvalidCode (the reason to s.refused).
func (s *Service) tryCode(ctx context.Context, req *ChargeRequest, spend bool) (*attempt, error) {
	a, err := s.checkCode(ctx, req, spend, false)
	if err != nil {
		return nil, err
	}
	if a.res, err = s.store.BeginTry(ctx, a.try, s.lockout); err != nil {
		return nil, err
	}
	if err := s.tried(ctx, req, a); err != nil {
		return nil, err
	}
	return a, nil
}

// checkCode decodes req.Code, finds its device and checks the code: the
// attempt to count, not counted yet. cached takes the device from
// s.devices if it is there, and keeps it there once read: only for a
// store's step that confirms the device (ChargeStep.Stale).
func (s *Service) checkCode(ctx context.Context, req *ChargeRequest, spend, cached bool) (*attempt, error) {
	now := s.now()
	ref, err := s.codes.Decode(req.Code, now)
	if err != nil {
		return nil, err
	}
	var d Device
	known, fromCache := false, false
	if c, ok := s.devices.get(ref.Serial, cached); ok {
		d, known, fromCache = *c, true, true
	} else {
		d, err = s.store.DeviceBySerial(ctx, ref.Serial)
		if known = err == nil; err != nil && !errors.Is(err, ErrUnknownDevice) {
			return nil, err
		}
	}
	var reason error
	stored := d
	if known {
		if d, err = s.unwrapDevice(ctx, d); err != nil {
			if !errors.Is(err, ErrUnwrap) && !errors.Is(err, ErrUnknownKey) {
				return nil, err // not the code's doing (a KMS unavailable)
			}
			reason = err
		} else {
			if cached && !fromCache {
				s.devices.put(stored)
			}
			reason = s.codes.Check(ref, d)
		}
	} else {
		// The same work as for a device, then the same answer.
		_ = s.codes.Check(ref, Device{Serial: ref.Serial, Secret: decoySecret[:]})
		reason = ErrUnknownDevice
	}
	a := &attempt{ref: ref, device: d, stored: stored, cached: fromCache, reason: reason, try: CodeTry{Charge: s.ChargeID(req.Merchant, req.Order), Serial: ref.Serial,
		Merchant: req.Merchant, At: now, Day: s.Day(now), Amount: req.Amount, CodeOK: reason == nil}}
	if limit, ok := capIn(s.deviceCaps, req.Amount.Currency()); ok && spend {
		a.try.Limit = limit
	}
	return a, nil
}

// tried answers an attempt as Lockout.Begin decided it (a.res): nil when
// allowed.
func (s *Service) tried(ctx context.Context, req *ChargeRequest, a *attempt) error {
	reason := a.reason
	switch a.res.Outcome {
	case TryMerchantRefused:
		return ErrMerchantRefused
	case TryLocked:
		reason = ErrDeviceLocked
	case TryAllowed:
		if a.res.OverCap {
			return fmt.Errorf("%w: %v more asked", ErrDeviceDailyCap, req.Amount)
		}
		return nil
	}
	s.tel.refused(ctx, reason)
	if s.refused != nil {
		s.refused(ctx, CodeRefusal{Merchant: req.Merchant, Order: req.Order, Serial: a.ref.Serial, Device: a.device.ID, Reason: reason})
	}
	return ErrInvalidCode
}

// decoySecret is what an unknown serial's code is checked against.
var decoySecret = [32]byte{'s', 'o', 'c', 'i', 'a', 'l', 'p', 'a', 'y', '/', 'd', 'e', 'c', 'o', 'y'}

// endTry gives back the amount a's charge reserved of its device's day
// unless spent. A store that cannot leaves it counted (fail-safe) and is
// told to s.refused.
func (s *Service) endTry(ctx context.Context, req *ChargeRequest, a *attempt, spent bool) {
	if !a.res.Reserved || spent {
		return
	}
	if err := s.store.EndTry(context.WithoutCancel(ctx), a.try, TryEnd{Spent: spent}, s.lockout); err != nil {
		s.tel.refused(ctx, err)
		if s.refused != nil {
			s.refused(ctx, CodeRefusal{Merchant: req.Merchant, Order: req.Order, Serial: a.try.Serial, Device: a.device.ID, Reason: err})
		}
	}
}

// chargeRetry answers a charge whose order was charged before (t): the
// same meaning — the same payer and amount — gets its receipt, whichever
// code of the payer's device it shows (the phone shows a new one every
// step; that code is not redeemed by the retry); another meaning is a
// *KeyConflictError. A code other than the one charged is checked and
// counted as any attempt is.
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
	a, err := s.tryCode(ctx, req, false)
	if err != nil {
		return ChargeReceipt{}, err
	}
	if a.device.Account != t.DebitAccountID {
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
// step of margin beyond the skew window) and returns how many; Maintain
// runs it. Servers' clocks must agree within a step.
//
// Errors: ErrMissing (no PaymentCodes), the store's.
func (s *Service) Sweep(ctx context.Context) (n int, err error) {
	if s.codes == nil {
		return 0, fmt.Errorf("qr: sweeping payment codes needs PaymentCodes: %w", ErrMissing)
	}
	ctx, sw := s.tel.StartSweep(ctx, "prune_used")
	defer func() { sw.End(ctx, err, telemetry.Item{Result: "pruned", N: n}) }()
	return s.sweep(ctx, s.now())
}

// sweep is Sweep as of now, with PaymentCodes.
func (s *Service) sweep(ctx context.Context, now time.Time) (int, error) {
	return s.store.PruneUsed(ctx, s.codes.stepOf(now)-s.codes.skew-1)
}
