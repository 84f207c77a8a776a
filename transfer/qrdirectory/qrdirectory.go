// Package qrdirectory serves package qr's payee directory from package
// transfer's phone directory: a receive code whose account template names
// a mobile number (as PayNow and PIX codes name a proxy or key) pays the
// account bound to that number.
//
// The alias is looked up as transfer looks numbers up — the cheap key
// first, full validation only on a miss — and the name returned is the
// binding's masked name (MaskName), the form transfer's reveal lookups
// show: scanning a code must not reveal more about a number's holder than
// typing the number does. MaxVerificationAge applies transfer's rule for
// bindings too old to trust (set it as transfer.Config's). Lookups here
// are not metered by transfer's Limiter (an alias comes from a code the
// payee issued, not from a payer's typing); a bank that fears codes as an
// enumeration channel can wrap Payee with its own limiter.
package qrdirectory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/socialpay/socialpay/qr"
	"github.com/socialpay/socialpay/transfer"
)

// Directory is a qr.Directory over a transfer.Directory.
type Directory struct {
	Parser *transfer.PhoneParser // normalizes aliases; its default region applies to national numbers
	Phones transfer.Directory
	// MaxVerificationAge, when positive, makes bindings whose ownership
	// was last verified longer ago unknown payees, as
	// transfer.Config.MaxVerificationAge makes them unpayable by number:
	// set both alike, or a recycled number that transfer no longer pays
	// still pays through a printed code.
	MaxVerificationAge time.Duration
	// Now is the clock of MaxVerificationAge; nil means time.Now.
	Now func() time.Time
}

var _ qr.Directory = (*Directory)(nil)

// Payee implements qr.Directory: the payee of the number alias names.
// Its Binding is the binding's holder, so that a code issued before the
// number was rebound to another holder (a recycled number) no longer pays
// (qr.ErrBindingChanged).
//
// Errors: qr.ErrUnknownPayee (also wrapping the *transfer.PhoneError of an
// alias that is not a valid mobile number), and the directory's own
// errors, wrapped with the alias.
func (d *Directory) Payee(ctx context.Context, alias string) (qr.Payee, error) {
	_, b, found, err := transfer.FindPhone(d.Parser, alias, func(p transfer.Phone) (transfer.Binding, bool, error) {
		return d.Phones.Lookup(ctx, p)
	})
	var pe *transfer.PhoneError
	switch {
	case errors.As(err, &pe):
		return qr.Payee{}, fmt.Errorf("%w %q: %w", qr.ErrUnknownPayee, alias, err)
	case err != nil:
		return qr.Payee{}, fmt.Errorf("qrdirectory: payee %q: %w", alias, err)
	case !found:
		return qr.Payee{}, fmt.Errorf("%w %q: %w", qr.ErrUnknownPayee, alias, transfer.ErrNotBound)
	case d.MaxVerificationAge > 0 && d.now().Sub(b.VerifiedAt) > d.MaxVerificationAge:
		return qr.Payee{}, fmt.Errorf("%w %q: %w: ownership last verified %s", qr.ErrUnknownPayee, alias, transfer.ErrNotBound, b.VerifiedAt.UTC().Format(time.RFC3339))
	}
	return qr.Payee{Alias: alias, Account: b.Account, Name: b.MaskedName, Binding: b.Holder}, nil
}

func (d *Directory) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}
