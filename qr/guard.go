package qr

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

// Errors of the payment-code guard.
var (
	// ErrInvalidCode is the one answer a merchant gets for a payment code
	// that does not pay: no registered device, a revoked or locked device,
	// a code out of its time window, a wrong one-time password. The
	// reason goes to Config.Refused only, so that answers cannot tell an
	// attacker which serials exist or how close a guess came.
	ErrInvalidCode = errcode.New("invalid_code", errcode.Invalid, "qr: invalid payment code")
	// ErrMerchantRefused: the merchant made too many failed payment-code
	// attempts in the current window (Lockout) and is refused until the
	// window ends.
	ErrMerchantRefused = errcode.New("merchant_locked", errcode.RateLimited, "qr: too many invalid payment codes from this merchant")
	// ErrDeviceLocked: the device made too many failed attempts and is
	// locked until the payer re-authenticates (Service.UnlockDevice).
	// Merchants see ErrInvalidCode; this is the reason Config.Refused and
	// Service.DeviceStatus report.
	ErrDeviceLocked = errcode.New("device_locked", errcode.Forbidden, "qr: device locked after failed payment codes")
	// ErrDeviceDailyCap: a charge would take the device's password-free
	// charges of the day over Config.DeviceDailyCaps.
	ErrDeviceDailyCap = errcode.New("device_daily_cap", errcode.Conflict, "qr: daily cap on payment-code charges of the device reached")
)

// Lockout is how many failed payment-code attempts a device serial and a
// merchant may make. Each window is fixed and starts at the first attempt
// after the previous one ended.
type Lockout struct {
	// DeviceFailures attempts that did not pay within DeviceWindow lock
	// the serial (its device) until Service.UnlockDevice. Default 5.
	DeviceFailures int
	// DeviceWindow. Default 24 hours.
	DeviceWindow time.Duration
	// MerchantFailures attempts that did not pay within MerchantWindow
	// refuse the merchant's charges until the window ends. Default 100.
	MerchantFailures int
	// MerchantWindow. Default 1 hour.
	MerchantWindow time.Duration
}

// DefaultLockout is the Lockout of a zero Config.Lockout.
var DefaultLockout = Lockout{DeviceFailures: 5, DeviceWindow: 24 * time.Hour, MerchantFailures: 100, MerchantWindow: time.Hour}

func (p Lockout) withDefaults() (Lockout, error) {
	if p == (Lockout{}) {
		return DefaultLockout, nil
	}
	if p.DeviceFailures < 1 || p.MerchantFailures < 1 || p.DeviceWindow <= 0 || p.MerchantWindow <= 0 {
		return p, fmt.Errorf("qr: lockout %+v needs positive counts and windows: %w", p, ErrInvalidValue)
	}
	return p, nil
}

// Strikes counts a key's failed payment-code attempts within a window.
type Strikes struct {
	Count    int       `json:"count"`              // failed attempts of the window
	Since    time.Time `json:"since,omitzero"`     // when the window began; zero before any failure
	LockedAt time.Time `json:"locked_at,omitzero"` // when the key was locked (serials only); zero while not
}

// SerialRecord is what an AttemptStore keeps per payment-code serial,
// whether or not a device has it (so that a guess at an unused serial
// costs the store what a guess at a used one does).
type SerialRecord struct {
	Serial uint64 `json:"serial"`
	Strikes
	Day   string       `json:"day,omitempty"`  // the cap day Spent counts
	Spent ledger.Money `json:"spent,omitzero"` // the device's charges of Day, counted as their codes pass
	// LastCharge is the charge Spent counted last, so that a duplicate of
	// it running at the same time is not counted twice.
	LastCharge uuid.UUID `json:"last_charge,omitzero"`
}

// MerchantRecord is what an AttemptStore keeps per merchant.
type MerchantRecord struct {
	Merchant uuid.UUID `json:"merchant"`
	Strikes
}

// CodeTry is one charge's attempt at a payment code, once the code has
// been checked.
type CodeTry struct {
	Charge   uuid.UUID    `json:"charge"` // the charge (ChargeID)
	Serial   uint64       `json:"serial"`
	Merchant uuid.UUID    `json:"merchant"`
	At       time.Time    `json:"at"`
	Day      string       `json:"day"`    // At's cap day
	Amount   ledger.Money `json:"amount"` // the charge
	// Limit is the device's daily cap in Amount's currency; the zero
	// Money (no currency) when the charge is not capped per day.
	Limit ledger.Money `json:"limit,omitzero"`
	// CodeOK: the code is genuine and current for a registered device.
	CodeOK bool `json:"code_ok"`
}

// TryOutcome is what Lockout.Begin decided.
type TryOutcome int

// Outcomes of an attempt.
const (
	TryAllowed         TryOutcome = iota // a genuine code: charge it
	TryFailed                            // a failed code, counted
	TryMerchantRefused                   // the merchant is over its failures: nothing counted
	TryLocked                            // the serial is locked: counted against the merchant
)

// TryResult is what BeginTry decided and the serial's record after it.
type TryResult struct {
	Outcome  TryOutcome   `json:"outcome"`
	OverCap  bool         `json:"over_cap"` // the charge would exceed Limit: not added to Spent
	Reserved bool         `json:"reserved"` // Amount was added to Spent
	Serial   SerialRecord `json:"serial"`
}

// TryEnd is how an allowed attempt that reserved its amount ended.
type TryEnd struct {
	Spent bool `json:"spent"` // the charge was made: keep Amount in Spent
}

// open starts a new window when the current one is over.
func (k *Strikes) open(at time.Time, window time.Duration) {
	if k.Since.IsZero() || !at.Before(k.Since.Add(window)) || at.Before(k.Since) {
		k.Count, k.Since = 0, at
	}
}

// Begin decides an attempt whose code has been checked (t.CodeOK), on the
// records of its serial and merchant (zero records with the keys set when
// the store has none), and returns the records to store. It is the one
// rule every AttemptStore applies under its lock.
//
// A merchant over MerchantFailures is refused whatever the code. A failed
// code counts against the merchant and the serial, and the serial's
// DeviceFailures-th failure locks it. A genuine code of a locked serial is
// refused (and counts against the merchant); otherwise it passes, and its
// amount is added to the device's day unless CountCap refuses it (over
// t.Limit, or an amount that is not positive).
//
// Counting failures once the code is checked still bounds guessing under
// concurrency: the store orders the decisions, and a genuine guess among
// concurrent ones passes only if fewer than DeviceFailures failures were
// decided before it, which an attacker cannot arrange without knowing
// which guess is the genuine one. Retries of a genuine code are never
// counted, so a duplicate of a charge cannot lock its payer.
func (p Lockout) Begin(s SerialRecord, m MerchantRecord, t CodeTry) (SerialRecord, MerchantRecord, TryResult) {
	m.open(t.At, p.MerchantWindow)
	if m.Count >= p.MerchantFailures {
		return s, m, TryResult{Outcome: TryMerchantRefused, Serial: s}
	}
	if !s.LockedAt.IsZero() {
		m.Count++
		return s, m, TryResult{Outcome: TryLocked, Serial: s}
	}
	if !t.CodeOK {
		m.Count++
		s.open(t.At, p.DeviceWindow)
		if s.Count++; s.Count >= p.DeviceFailures {
			s.LockedAt = t.At
		}
		return s, m, TryResult{Outcome: TryFailed, Serial: s}
	}
	r := TryResult{Outcome: TryAllowed}
	if cur := t.Limit.Currency(); !cur.IsZero() && t.Amount.Currency() == cur {
		if s.Day != t.Day || s.Spent.Currency() != cur {
			s.Day, s.Spent, s.LastCharge = t.Day, ledger.NewMoney(0, cur), uuid.Nil
		}
		total, err := CountCap(t.Limit, DayTotal{Day: s.Day, Used: s.Spent}, t.Day, t.Amount)
		switch {
		case s.LastCharge == t.Charge && t.Charge != uuid.Nil:
			// A duplicate of the charge counted last: counted.
		case err != nil:
			r.OverCap = true
		default:
			s.Spent, s.LastCharge, r.Reserved = total.Used, t.Charge, true
		}
	}
	r.Serial = s
	return s, m, r
}

// Passes reports whether Begin allows t on s and m leaving nothing for
// the store to keep: a genuine code of an unlocked serial, from a merchant
// under its failures, whose charge reserves nothing of the device's day
// (no cap, or a duplicate of the charge counted last) and is not over it.
// It returns Begin's result then.
//
// A store may decide such an attempt on s and m read in one consistent
// read, without locking or writing them: the decision is the one Begin
// makes on the records as they were at that read, and nothing is written
// that a concurrent attempt could overwrite. Any other attempt (every
// failure, every reservation) needs Begin under the records' locks.
func (p Lockout) Passes(s SerialRecord, m MerchantRecord, t CodeTry) (TryResult, bool) {
	if !t.CodeOK {
		return TryResult{}, false
	}
	after, _, r := p.Begin(s, m, t)
	same := after.Day == s.Day && after.Spent == s.Spent && after.LastCharge == s.LastCharge
	return r, r.Outcome == TryAllowed && !r.OverCap && !r.Reserved && same
}

// End gives back the amount an allowed attempt reserved if its charge
// was not made.
func (p Lockout) End(s SerialRecord, m MerchantRecord, t CodeTry, e TryEnd) (SerialRecord, MerchantRecord) {
	if !e.Spent && s.Day == t.Day && s.Spent.Currency() == t.Amount.Currency() {
		s.Spent = ledger.NewMoney(max(s.Spent.Units()-t.Amount.Units(), 0), s.Spent.Currency())
		if s.LastCharge == t.Charge {
			s.LastCharge = uuid.Nil
		}
	}
	return s, m
}

// Locked reports whether the serial may not pay: locked by its failures.
func (p Lockout) Locked(s SerialRecord) bool { return !s.LockedAt.IsZero() }

// AttemptStore counts payment-code attempts per serial and per merchant,
// and the devices' charges per day. The rules are Lockout's: a store
// locks both records (serial first, then merchant), reads them, calls the
// rule and writes what it returns, atomically; an attempt that
// Lockout.Passes on both records read in one consistent read may be
// decided on that read alone. Implementations must be safe for concurrent
// use and pass qrtest.Run.
type AttemptStore interface {
	// BeginTry applies p.Begin to t's records.
	BeginTry(ctx context.Context, t CodeTry, p Lockout) (TryResult, error)
	// EndTry applies p.End to t's records (BeginTry reserved an amount
	// that was not charged).
	EndTry(ctx context.Context, t CodeTry, e TryEnd, p Lockout) error
	// SerialRecord returns a serial's record (the zero record, Serial
	// set, when there is none).
	SerialRecord(ctx context.Context, serial uint64) (SerialRecord, error)
	// UnlockSerial clears a serial's strikes and lock, keeping its Spent.
	UnlockSerial(ctx context.Context, serial uint64) error
}
