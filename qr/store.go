package qr

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

// Errors of the stores.
var (
	// ErrDeviceExists: a device with the same ID is registered.
	ErrDeviceExists = errcode.New("device_exists", errcode.Conflict, "qr: device exists")
	// ErrSerialTaken: another device has the same serial (NewDevice picks
	// a new one; RegisterDevice does so by itself).
	ErrSerialTaken = errcode.New("serial_taken", errcode.Conflict, "qr: device serial taken")
	// ErrReplay: the payment code was redeemed before, for another charge.
	ErrReplay = errcode.New("code_used", errcode.Conflict, "qr: payment code already used")
	// ErrCodeExists: a dynamic code with the same payee and reference was
	// registered with other content (amount or expiry).
	ErrCodeExists = errcode.New("code_exists", errcode.Conflict, "qr: dynamic code exists")
	// ErrUnknownCode: no dynamic code is registered for this payee and
	// reference, or the registered one is not this code.
	ErrUnknownCode = errcode.New("unknown_code", errcode.NotFound, "qr: dynamic code not registered")
	// ErrCodePaid: the dynamic code is paid, or being paid, by another
	// payment.
	ErrCodePaid = errcode.New("code_paid", errcode.Conflict, "qr: dynamic code already paid")
	// ErrClaimLost: a dynamic code is not claimed by the payment that tries
	// to settle it.
	ErrClaimLost = errcode.New("claim_lost", errcode.Conflict, "qr: dynamic code not claimed by this payment")
	// ErrDailyCap: the payment would take the payer's static-code payments
	// of the day over the cap.
	ErrDailyCap = errcode.New("daily_cap", errcode.Conflict, "qr: daily cap on static-code payments reached")
	// ErrReservationConflict: a cap reservation was made before under the
	// same payment with another payer, day or amount.
	ErrReservationConflict = errcode.New("reservation_conflict", errcode.Conflict, "qr: cap reservation reused with other content")
)

// DynamicCode is a dynamic receive code as registered when issued: one
// payment of Amount to Payee for the order Reference, until Expires.
//
// Its life: open (Payment is zero), claimed (a payment holds it: Payment
// set, not Settled), settled (that payment's transfer is posted: final). A
// claim whose payment is cancelled is released and the code is open again.
type DynamicCode struct {
	ID        uuid.UUID    `json:"id"`        // derived from Payee and Reference (Service.CodeID)
	Payee     string       `json:"payee"`     // the payee's alias
	Reference string       `json:"reference"` // the order reference (62/05)
	Amount    ledger.Money `json:"amount"`
	Expires   time.Time    `json:"expires"` // to the second, UTC, as in the code
	IssuedAt  time.Time    `json:"issued_at"`

	Payment   uuid.UUID `json:"payment,omitzero"`    // the payment holding the claim; zero while open
	ClaimedAt time.Time `json:"claimed_at,omitzero"` // when the claim was made
	Settled   bool      `json:"settled"`             // the claiming payment is posted
}

// SameRegistration reports whether c and o register the same code (the
// time of issue and the claim aside): what RegisterCode compares.
func (c DynamicCode) SameRegistration(o DynamicCode) bool {
	return c.ID == o.ID && c.Payee == o.Payee && c.Reference == o.Reference &&
		c.Amount == o.Amount && c.Expires.Equal(o.Expires)
}

// Validate checks what every DynamicCodeStore may assume of a code it
// registers.
//
// Errors: ErrInvalidValue.
func (c DynamicCode) Validate() error {
	if c.ID == uuid.Nil || c.Payee == "" || c.Reference == "" || !c.Amount.IsPositive() || c.Expires.IsZero() {
		return fmt.Errorf("qr: dynamic code %s needs an ID, payee, reference, positive amount and expiry: %w", c.ID, ErrInvalidValue)
	}
	return nil
}

// DynamicCodeStore keeps the dynamic codes issued, so that each is paid
// once. Implementations must be safe for concurrent use and pass
// qrtest.Run.
type DynamicCodeStore interface {
	// RegisterCode records an issued code, open. Registering the same
	// code again (same ID, payee, reference, amount and expiry) does
	// nothing.
	// Errors: ErrCodeExists.
	RegisterCode(ctx context.Context, c DynamicCode) error

	// Code returns a registered code.
	// Errors: ErrUnknownCode.
	Code(ctx context.Context, id uuid.UUID) (DynamicCode, error)

	// ClaimCode gives an open code to payment, atomically: of concurrent
	// claims by different payments exactly one succeeds. A claim by the
	// payment already holding the code succeeds again and changes
	// nothing. It returns the code as stored after the claim.
	// Errors: ErrUnknownCode, ErrCodePaid (claimed or settled by another
	// payment).
	ClaimCode(ctx context.Context, id, payment uuid.UUID, at time.Time) (DynamicCode, error)

	// SettleCode makes payment's claim final. Settling again does nothing.
	// Errors: ErrUnknownCode, ErrClaimLost (payment does not hold the code).
	SettleCode(ctx context.Context, id, payment uuid.UUID) error

	// ReleaseCode opens the code again if payment holds an unsettled claim
	// on it; otherwise it does nothing.
	// Errors: ErrUnknownCode.
	ReleaseCode(ctx context.Context, id, payment uuid.UUID) error

	// ClaimedCodes returns up to limit codes with an unsettled claim made
	// at or before before, oldest claim first.
	ClaimedCodes(ctx context.Context, before time.Time, limit int) ([]DynamicCode, error)

	// ScanCodes returns up to limit codes with a claim, settled or not,
	// whose ID is above after, in ID order (Service.Check pages with it).
	ScanCodes(ctx context.Context, after uuid.UUID, limit int) ([]DynamicCode, error)

	// ResetCode opens the code again if payment holds it, settled or not;
	// otherwise it does nothing. Service.Reconcile calls it for a settled
	// claim whose payment the ledger does not have.
	// Errors: ErrUnknownCode.
	ResetCode(ctx context.Context, id, payment uuid.UUID) error
}

// CapReservation is one static-code payment counted against its payer's
// daily cap.
type CapReservation struct {
	Payment uuid.UUID    `json:"payment"` // the payment, its key
	User    uuid.UUID    `json:"user"`    // the paying user (PayRequest.User), whose cap it is
	Day     string       `json:"day"`     // the calendar day in the cap's time zone, "2006-01-02"
	Amount  ledger.Money `json:"amount"`  // positive; the cap is per user, day and currency
	At      time.Time    `json:"at"`      // when it was reserved
	Settled bool         `json:"settled"` // the payment's transfer is posted
}

// Validate checks what every CapStore may assume of a reservation made
// against limit.
//
// Errors: ErrInvalidValue, ledger.ErrCurrencyMismatch.
func (r CapReservation) Validate(limit ledger.Money) error {
	switch {
	case r.Payment == uuid.Nil || r.User == uuid.Nil || r.Day == "" || !r.Amount.IsPositive() || limit.IsNegative():
		return fmt.Errorf("qr: cap reservation needs a payment, user, day and positive amount: %w", ErrInvalidValue)
	case limit.Currency() != r.Amount.Currency():
		return fmt.Errorf("qr: cap %v for an amount %v: %w", limit, r.Amount, ledger.ErrCurrencyMismatch)
	}
	return nil
}

// CapStore counts users' static-code payments per day. Implementations
// must be safe for concurrent use and pass qrtest.Run.
type CapStore interface {
	// ReserveCap adds r to its user's total of the day in r.Amount's
	// currency, atomically, unless the total would then exceed limit (of
	// the same currency). Reserving the same payment again with the same
	// user, day and amount adds nothing and succeeds, even over the cap.
	// It returns the day's total after the reservation.
	// Errors: ErrDailyCap, ErrReservationConflict, ledger.ErrCurrencyMismatch
	// (limit in another currency).
	ReserveCap(ctx context.Context, r CapReservation, limit ledger.Money) (ledger.Money, error)

	// CapUsed returns the user's total of the day in currency c (zero
	// when there is none).
	CapUsed(ctx context.Context, user uuid.UUID, day string, c ledger.Currency) (ledger.Money, error)

	// SettleCap marks payment's reservation final. Settling again does
	// nothing.
	// Errors: ErrNotReserved.
	SettleCap(ctx context.Context, payment uuid.UUID) error

	// ReleaseCap removes payment's reservation from its day's total if it
	// is not settled; otherwise (or when there is none) it does nothing.
	ReleaseCap(ctx context.Context, payment uuid.UUID) error

	// ReservedCaps returns up to limit unsettled reservations made at or
	// before before, oldest first.
	ReservedCaps(ctx context.Context, before time.Time, limit int) ([]CapReservation, error)

	// ScanReservations returns up to limit reservations, settled or not,
	// whose payment ID is above after, in payment ID order
	// (Service.Check pages with it).
	ScanReservations(ctx context.Context, after uuid.UUID, limit int) ([]CapReservation, error)

	// ResetCap removes payment's reservation from its day's total, settled
	// or not; when there is none it does nothing. Service.Reconcile calls
	// it for a settled reservation whose payment the ledger does not have.
	ResetCap(ctx context.Context, payment uuid.UUID) error
}

// ErrNotReserved: SettleCap found no reservation for the payment.
var ErrNotReserved = errcode.New("not_reserved", errcode.NotFound, "qr: no cap reservation for this payment")

// DeviceFinder looks devices up by serial.
type DeviceFinder interface {
	// DeviceBySerial returns the device with the given serial.
	// Errors: ErrUnknownDevice.
	DeviceBySerial(ctx context.Context, serial uint64) (Device, error)
}

// DeviceStore keeps the devices that make payment codes. Implementations
// must be safe for concurrent use and pass qrtest.Run.
type DeviceStore interface {
	DeviceFinder
	// CreateDevice registers a device.
	// Errors: ErrDeviceExists (ID taken), ErrSerialTaken.
	CreateDevice(ctx context.Context, d Device) error
	// Device returns the device with the given ID.
	// Errors: ErrUnknownDevice.
	Device(ctx context.Context, id string) (Device, error)
	// RevokeDevice marks the device revoked from at on. Revoking a revoked
	// device keeps the first time.
	// Errors: ErrUnknownDevice.
	RevokeDevice(ctx context.Context, id string, at time.Time) error
}

// UsedCodeStore remembers redeemed payment codes. A device makes one code
// per time step, so (serial, step) names a code. Implementations must be
// safe for concurrent use and pass qrtest.Run.
type UsedCodeStore interface {
	// MarkUsed records the code as redeemed by charge, atomically: of
	// concurrent calls with the same serial and step and different charges
	// exactly one succeeds. Marking again for the same charge succeeds (a
	// merchant retrying its order).
	// Errors: ErrReplay (used by another charge).
	MarkUsed(ctx context.Context, serial uint64, step int64, charge uuid.UUID) error
	// PruneUsed forgets the codes of steps before before (too old to be
	// accepted anyway) and returns how many it forgot.
	PruneUsed(ctx context.Context, before int64) (int, error)
}

// Store is everything the Service keeps besides the ledger. MemoryStore is
// the embedded implementation; package postgres provides another.
type Store interface {
	DynamicCodeStore
	CapStore
	DeviceStore
	UsedCodeStore
	AttemptStore
}
