package transfer

import (
	"fmt"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

// Errors of the transfer limits. Check returns at most one of them, wrapped
// in a *LimitError for the three caps.
var (
	// ErrInvalidLimits means a Limits value cannot be used (see Validate).
	ErrInvalidLimits = errcode.New("invalid_limits", errcode.Internal, "transfer: invalid limits")
	// ErrCurrencyMismatch means the transfer is not in the limits' currency.
	ErrCurrencyMismatch = errcode.New("currency_mismatch", errcode.Invalid, "transfer: currency does not match the limits")
	// ErrInvalidAmount means the amount is not positive, or the amount
	// already sent today is negative or in another currency.
	ErrInvalidAmount = errcode.New("invalid_amount", errcode.Invalid, "transfer: invalid amount")
	// ErrOverTransferLimit means the amount exceeds the per-transfer cap.
	ErrOverTransferLimit = errcode.New("over_transfer_limit", errcode.Invalid, "transfer: amount over the per-transfer limit")
	// ErrOverFirstPayeeLimit means the amount exceeds the lower cap for a
	// payee the payer has never paid before.
	ErrOverFirstPayeeLimit = errcode.New("over_first_payee_limit", errcode.Conflict, "transfer: amount over the first-time payee limit")
	// ErrOverDailyLimit means the amount would take the payer's total for
	// the day over the daily cap.
	ErrOverDailyLimit = errcode.New("over_daily_limit", errcode.Conflict, "transfer: amount over the daily limit")
)

// Limits caps transfers to a mobile number. All three caps are amounts of
// one currency, the currency transfers must be in.
type Limits struct {
	PerTransfer ledger.Money // most one transfer may carry
	PerDay      ledger.Money // most one payer may send in a day, this transfer included
	FirstPayee  ledger.Money // most one transfer to a payee the payer never paid before may carry
}

// DefaultLimits returns CNY limits: CNY 50,000.00 per transfer (China's cap
// on single mobile-number payments), CNY 200,000.00 per payer per day and
// CNY 5,000.00 to a first-time payee. The last two are this library's
// defaults, not a regulation; set them to the bank's policy.
func DefaultLimits() Limits {
	cny := ledger.MustCurrency("CNY")
	return Limits{
		PerTransfer: ledger.NewMoney(50_000_00, cny),
		PerDay:      ledger.NewMoney(200_000_00, cny),
		FirstPayee:  ledger.NewMoney(5_000_00, cny),
	}
}

// Currency returns the currency of the limits (that of PerTransfer).
func (l Limits) Currency() ledger.Currency { return l.PerTransfer.Currency() }

// Validate checks that the three caps are positive amounts of one
// currency and that the first-time payee cap is not above the per-transfer
// cap. It returns an error wrapping ErrInvalidLimits.
func (l Limits) Validate() error {
	c := l.Currency()
	if c.IsZero() {
		return fmt.Errorf("%w: no currency", ErrInvalidLimits)
	}
	for _, lim := range []struct {
		name string
		m    ledger.Money
	}{{"per-transfer", l.PerTransfer}, {"daily", l.PerDay}, {"first-time payee", l.FirstPayee}} {
		switch {
		case lim.m.Currency() != c:
			return fmt.Errorf("%w: %s cap %v is not in %s", ErrInvalidLimits, lim.name, lim.m, c)
		case !lim.m.IsPositive():
			return fmt.Errorf("%w: %s cap %v is not positive", ErrInvalidLimits, lim.name, lim.m)
		}
	}
	if l.FirstPayee.Units() > l.PerTransfer.Units() {
		return fmt.Errorf("%w: first-time payee cap %v is above the per-transfer cap %v", ErrInvalidLimits, l.FirstPayee, l.PerTransfer)
	}
	return nil
}

// LimitInput is what Check needs to know about one transfer.
type LimitInput struct {
	Amount     ledger.Money // the transfer, > 0
	SentToday  ledger.Money // what the payer has already sent today, >= 0; the zero Money means nothing
	FirstPayee bool         // the payer has never paid this payee before
}

// LimitError says which cap a transfer exceeds and by how much. It wraps
// ErrOverTransferLimit, ErrOverFirstPayeeLimit or ErrOverDailyLimit.
type LimitError struct {
	Err       error        // the sentinel
	Amount    ledger.Money // the transfer
	Limit     ledger.Money // the cap
	Remaining ledger.Money // what may still be sent under the cap: Limit, or for the daily cap Limit minus the amount sent today (never below 0)
}

// Error says the amount and the cap, and what is left under a daily cap:
// "transfer: amount over the daily limit: 300.00 CNY, 200.00 CNY left of
// 1000.00 CNY".
func (e *LimitError) Error() string {
	if e.Remaining == e.Limit {
		return fmt.Sprintf("%v: %v, at most %v", e.Err, e.Amount, e.Limit)
	}
	return fmt.Sprintf("%v: %v, %v left of %v", e.Err, e.Amount, e.Remaining, e.Limit)
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
// validate, ErrCurrencyMismatch if the amount is not in the limits'
// currency, and ErrInvalidAmount if the amount is not positive or
// SentToday is negative or of another currency.
func (l Limits) Check(in LimitInput) error {
	if err := l.Validate(); err != nil {
		return err
	}
	c := l.Currency()
	if in.Amount.Currency() != c {
		return fmt.Errorf("%w: %v, limits are in %s", ErrCurrencyMismatch, in.Amount, c)
	}
	if !in.Amount.IsPositive() {
		return fmt.Errorf("%w: amount %v is not positive", ErrInvalidAmount, in.Amount)
	}
	sent := in.SentToday.Units()
	if sent < 0 || (sent != 0 && in.SentToday.Currency() != c) {
		return fmt.Errorf("%w: amount sent today %v", ErrInvalidAmount, in.SentToday)
	}
	amount := in.Amount.Units()
	over := func(sentinel error, limit ledger.Money, remaining int64) error {
		return &LimitError{Err: sentinel, Amount: in.Amount, Limit: limit, Remaining: ledger.NewMoney(remaining, c)}
	}
	if amount > l.PerTransfer.Units() {
		return over(ErrOverTransferLimit, l.PerTransfer, l.PerTransfer.Units())
	}
	if in.FirstPayee && amount > l.FirstPayee.Units() {
		return over(ErrOverFirstPayeeLimit, l.FirstPayee, l.FirstPayee.Units())
	}
	// Both sides are non-negative, so the subtraction cannot overflow.
	if remaining := max(l.PerDay.Units()-sent, 0); amount > remaining {
		return over(ErrOverDailyLimit, l.PerDay, remaining)
	}
	return nil
}
