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
// bindings too old to trust (set it as transfer.Config's).
//
// Lookups made on behalf of a user (qr.Lookup.User: quotes and
// payments) are metered by transfer's Limiter exactly as
// transfer.Service.Resolve meters them — ChargeLookup once the directory
// was asked, PaymentSettled when the payment settles — so give it the Limiter the transfer.Service has (on several
// instances, one postgres.LookupLimiter): a user then has one budget
// across QR and phone transfers (both name the user, docs/identity.md),
// and crafting codes that name arbitrary numbers enumerates no faster
// than typing them. The bank's own lookups (qr.Service.Issue, IssueAs) are not metered.
package qrdirectory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
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
	// Limiter meters lookups on behalf of users. Required: Payee refuses
	// such lookups without it (qr.ErrLookupLimited wrapping
	// ErrNoLimiter). Pass the transfer.Service's Limiter.
	Limiter transfer.Limiter
}

// ErrNoLimiter: a lookup on behalf of a user through a Directory
// without a Limiter. It is refused rather than left unmetered.
var ErrNoLimiter = errcode.New("no_limiter", errcode.Internal, "qrdirectory: no Limiter to meter payer lookups")

var _ qr.Directory = (*Directory)(nil)

// Payee implements qr.Directory: the payee of the number q.Alias names.
// Its Binding is the binding's holder, so that a code issued before the
// number was rebound to another holder (a recycled number) no longer pays
// (qr.ErrBindingChanged).
//
// A lookup with q.User set is metered as transfer.Service.Resolve meters
// one: once the directory was asked, the Limiter charges it (once per
// q.Charge) at the found price when the number is bound to a payee this
// directory pays, at the not-found price otherwise, and refuses it,
// whatever was found, unless the user's and the institution's buckets
// hold the not-found price.
//
// Errors: qr.ErrLookupLimited (wrapping the Limiter's *transfer.RateLimitError,
// or ErrNoLimiter), qr.ErrUnknownPayee (also wrapping the
// *transfer.PhoneError of an alias that is not a valid mobile number), and
// the directory's and the Limiter's own errors, wrapped with the alias.
func (d *Directory) Payee(ctx context.Context, q qr.Lookup) (qr.Payee, error) {
	if q.User == uuid.Nil {
		return d.payee(ctx, q.Alias)
	}
	if d.Limiter == nil {
		return qr.Payee{}, fmt.Errorf("%w: %w", qr.ErrLookupLimited, ErrNoLimiter)
	}
	p, err := d.payee(ctx, q.Alias)
	_, cerr := d.Limiter.ChargeLookup(ctx, q.User, q.Charge, err == nil)
	switch {
	case errors.Is(cerr, transfer.ErrRateLimited):
		return qr.Payee{}, fmt.Errorf("%w: %w", qr.ErrLookupLimited, cerr)
	case cerr != nil:
		return qr.Payee{}, fmt.Errorf("qrdirectory: payee %q: %w", q.Alias, cerr)
	}
	return p, err
}

// Settled implements qr.Directory: the Limiter's PaymentSettled for the
// user.
//
// Errors: ErrNoLimiter, and the Limiter's.
func (d *Directory) Settled(ctx context.Context, user uuid.UUID) error {
	if d.Limiter == nil {
		return ErrNoLimiter
	}
	return d.Limiter.PaymentSettled(ctx, user)
}

// payee is the unmetered lookup.
func (d *Directory) payee(ctx context.Context, alias string) (qr.Payee, error) {
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
	return qr.Payee{Alias: alias, Account: b.Account, Name: b.MaskedName, Binding: b.Holder.String()}, nil
}

func (d *Directory) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}
