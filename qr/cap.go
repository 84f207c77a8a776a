package qr

import (
	"fmt"

	"github.com/socialpay/socialpay/ledger"
)

// This file holds the daily caps' rule as pure functions. A store locks
// and reads its counters, calls them, and writes what they return; it
// decides nothing, so the memory and PostgreSQL stores cap alike.

// DayTotal is what has been counted against a daily cap: the amount
// counted on one calendar day, in one currency.
type DayTotal struct {
	Day  string       `json:"day"`  // the calendar day in the cap's time zone, "2006-01-02"
	Used ledger.Money `json:"used"` // counted on Day
}

// CapError is ErrDailyCap with its numbers: Asked more on Day would take
// Used over Limit.
type CapError struct {
	Day   string
	Used  ledger.Money // counted on Day before
	Asked ledger.Money
	Limit ledger.Money
}

func (e *CapError) Error() string {
	return fmt.Sprintf("%v: %v used on %s, %v more asked, cap %v", ErrDailyCap, e.Used, e.Day, e.Asked, e.Limit)
}

// Unwrap returns ErrDailyCap.
func (e *CapError) Unwrap() error { return ErrDailyCap }

// CountCap counts amount, spent on day, against limit on top of counted:
// it returns the total of day with amount added, or, when that would
// exceed limit, counted as it stands on day and a *CapError. A total of
// another day or currency than amount's counts as zero: the cap starts
// again each day. Exactly reaching the cap is allowed.
//
// Errors: *CapError (ErrDailyCap), ledger.ErrCurrencyMismatch (limit
// in another currency than amount), ErrInvalidValue (amount not
// positive, limit negative).
func CountCap(limit ledger.Money, counted DayTotal, day string, amount ledger.Money) (DayTotal, error) {
	cur := amount.Currency()
	if counted.Day != day || counted.Used.Currency() != cur {
		counted = DayTotal{Day: day, Used: ledger.NewMoney(0, cur)}
	}
	switch {
	case !amount.IsPositive() || limit.IsNegative() || counted.Used.IsNegative():
		return counted, fmt.Errorf("qr: %v counted against cap %v on %v: %w", amount, limit, counted.Used, ErrInvalidValue)
	case limit.Currency() != cur:
		return counted, fmt.Errorf("qr: cap %v for an amount %v: %w", limit, amount, ledger.ErrCurrencyMismatch)
	case amount.Units() > limit.Units()-counted.Used.Units(): // no overflow: both sides are at most limit
		return counted, &CapError{Day: day, Used: counted.Used, Asked: amount, Limit: limit}
	}
	return DayTotal{Day: day, Used: ledger.NewMoney(counted.Used.Units()+amount.Units(), cur)}, nil
}

// Reserve decides r against limit on what a CapStore holds under its
// lock: used, r's user's total of r.Day in r.Amount's currency, and old,
// the reservation it holds for r.Payment (nil when none). It returns the
// total after r and whether the store is to record r and add it to the
// total; a retry of old adds nothing and succeeds, even over the cap.
//
// Errors: those of Validate, ErrReservationConflict (old is another
// reservation under the same payment), *CapError (ErrDailyCap).
func (r CapReservation) Reserve(limit, used ledger.Money, old *CapReservation) (total ledger.Money, add bool, err error) {
	if err := r.Validate(limit); err != nil {
		return ledger.Money{}, false, err
	}
	switch {
	case old != nil && (old.User != r.User || old.Day != r.Day || old.Amount != r.Amount):
		return ledger.Money{}, false, fmt.Errorf("%w: payment %s", ErrReservationConflict, r.Payment)
	case old != nil:
		return used, false, nil // counted in used
	}
	after, err := CountCap(limit, DayTotal{Day: r.Day, Used: used}, r.Day, r.Amount)
	return after.Used, err == nil, err
}
