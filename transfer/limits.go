package transfer

import (
	"errors"
	"fmt"
)

// Errors of the transfer limits. Check returns at most one of them, wrapped
// in a *LimitError for the three caps.
var (
	// ErrInvalidLimits means a Limits value cannot be used (see Validate).
	ErrInvalidLimits = errors.New("transfer: invalid limits")
	// ErrCurrencyMismatch means the transfer is not in the limits' currency.
	ErrCurrencyMismatch = errors.New("transfer: currency does not match the limits")
	// ErrInvalidAmount means the amount is not positive, or the amount
	// already sent today is negative.
	ErrInvalidAmount = errors.New("transfer: invalid amount")
	// ErrOverTransferLimit means the amount exceeds the per-transfer cap.
	ErrOverTransferLimit = errors.New("transfer: amount over the per-transfer limit")
	// ErrOverFirstPayeeLimit means the amount exceeds the lower cap for a
	// payee the payer has never paid before.
	ErrOverFirstPayeeLimit = errors.New("transfer: amount over the first-time payee limit")
	// ErrOverDailyLimit means the amount would take the payer's total for
	// the day over the daily cap.
	ErrOverDailyLimit = errors.New("transfer: amount over the daily limit")
)

// Limits caps transfers to a mobile number. Amounts are integer minor units
// of Currency (fen for CNY: 5_000_000 is CNY 50,000.00).
//
// This is a stand-in: once the ledger's money type exists, amounts here
// will use it; nothing else in the package depends on this representation.
type Limits struct {
	Currency    string // ISO 4217 code, e.g. "CNY"
	PerTransfer int64  // most one transfer may carry
	PerDay      int64  // most one payer may send in a day, this transfer included
	FirstPayee  int64  // most one transfer to a payee the payer never paid before may carry
}

// DefaultLimits returns CNY limits: CNY 50,000.00 per transfer (China's cap
// on single mobile-number payments), CNY 200,000.00 per payer per day and
// CNY 5,000.00 to a first-time payee. The last two are this library's
// defaults, not a regulation; set them to the bank's policy.
func DefaultLimits() Limits {
	return Limits{
		Currency:    "CNY",
		PerTransfer: 5_000_000,
		PerDay:      20_000_000,
		FirstPayee:  500_000,
	}
}

// Validate checks that Currency is three upper-case letters, that every cap
// is positive, and that the first-time payee cap is not above the
// per-transfer cap. It returns an error wrapping ErrInvalidLimits.
func (l Limits) Validate() error {
	if !isCurrencyCode(l.Currency) {
		return fmt.Errorf("%w: currency %q is not an ISO 4217 code", ErrInvalidLimits, l.Currency)
	}
	switch {
	case l.PerTransfer <= 0:
		return fmt.Errorf("%w: per-transfer cap %d is not positive", ErrInvalidLimits, l.PerTransfer)
	case l.PerDay <= 0:
		return fmt.Errorf("%w: daily cap %d is not positive", ErrInvalidLimits, l.PerDay)
	case l.FirstPayee <= 0:
		return fmt.Errorf("%w: first-time payee cap %d is not positive", ErrInvalidLimits, l.FirstPayee)
	case l.FirstPayee > l.PerTransfer:
		return fmt.Errorf("%w: first-time payee cap %d is above the per-transfer cap %d", ErrInvalidLimits, l.FirstPayee, l.PerTransfer)
	}
	return nil
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range 3 {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// LimitInput is what Check needs to know about one transfer.
type LimitInput struct {
	Currency   string // ISO 4217 code of Amount
	Amount     int64  // minor units, > 0
	SentToday  int64  // minor units the payer has already sent today, >= 0
	FirstPayee bool   // the payer has never paid this payee before
}

// LimitError says which cap a transfer exceeds and by how much. It wraps
// ErrOverTransferLimit, ErrOverFirstPayeeLimit or ErrOverDailyLimit.
type LimitError struct {
	Err       error  // the sentinel
	Currency  string // ISO 4217 code of the amounts below
	Amount    int64  // the transfer, minor units
	Limit     int64  // the cap, minor units
	Remaining int64  // what may still be sent under the cap: Limit, or for the daily cap Limit minus the amount sent today (never below 0)
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%v: %d %s minor units, at most %d allowed (limit %d)", e.Err, e.Amount, e.Currency, e.Remaining, e.Limit)
}

// Unwrap returns the sentinel.
func (e *LimitError) Unwrap() error { return e.Err }

// Check reports whether a transfer is within the limits. An amount equal to
// a cap is allowed. The caps are checked in the order per-transfer,
// first-time payee, daily, and the first one exceeded is returned as a
// *LimitError wrapping ErrOverTransferLimit, ErrOverFirstPayeeLimit or
// ErrOverDailyLimit.
//
// It also returns an error wrapping ErrInvalidLimits if l does not
// validate, ErrCurrencyMismatch if in.Currency is not l.Currency, and
// ErrInvalidAmount if in.Amount is not positive or in.SentToday is
// negative.
func (l Limits) Check(in LimitInput) error {
	if err := l.Validate(); err != nil {
		return err
	}
	if in.Currency != l.Currency {
		return fmt.Errorf("%w: %q, limits are in %s", ErrCurrencyMismatch, in.Currency, l.Currency)
	}
	if in.Amount <= 0 {
		return fmt.Errorf("%w: amount %d is not positive", ErrInvalidAmount, in.Amount)
	}
	if in.SentToday < 0 {
		return fmt.Errorf("%w: amount sent today %d is negative", ErrInvalidAmount, in.SentToday)
	}
	over := func(sentinel error, limit, remaining int64) error {
		return &LimitError{Err: sentinel, Currency: l.Currency, Amount: in.Amount, Limit: limit, Remaining: remaining}
	}
	if in.Amount > l.PerTransfer {
		return over(ErrOverTransferLimit, l.PerTransfer, l.PerTransfer)
	}
	if in.FirstPayee && in.Amount > l.FirstPayee {
		return over(ErrOverFirstPayeeLimit, l.FirstPayee, l.FirstPayee)
	}
	// Both sides are non-negative, so the subtraction cannot overflow.
	if remaining := max(l.PerDay-in.SentToday, 0); in.Amount > remaining {
		return over(ErrOverDailyLimit, l.PerDay, remaining)
	}
	return nil
}
