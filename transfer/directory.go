package transfer

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

// Errors of the directory.
var (
	// ErrInvalidBinding means a Binding lacks a field or has one out of
	// bounds (see ValidateBinding).
	ErrInvalidBinding = errcode.New("invalid_binding", errcode.Invalid, "transfer: invalid binding")
	// ErrNotBound means no one has bound the number (or, to a payer, that
	// the number cannot be paid).
	ErrNotBound = errcode.New("not_registered", errcode.NotFound, "transfer: number not registered")
	// ErrBoundToOtherHolder means the number is bound to another holder:
	// numbers are recycled, and moving one to a new holder needs an
	// explicit rebind.
	ErrBoundToOtherHolder = errcode.New("bound_to_other_holder", errcode.Conflict, "transfer: number bound to another holder (rebind to move it)")
	// ErrNotHolder means the holder named is not the one the number is
	// bound to.
	ErrNotHolder = errcode.New("not_holder", errcode.Forbidden, "transfer: not the number's holder")
)

// MaxInstitutionLen bounds Payee.Institution, in bytes.
const MaxInstitutionLen = 64

// Binding ties a mobile number to a holder and the ledger account that
// receives payments to it: the directory entry of 手机号转账, a PIX key or a
// PayNow proxy. A number has one binding, hence one default account.
type Binding struct {
	Phone Phone `json:"phone"` // E.164, from PhoneParser.Normalize
	// Holder is the user who holds the number: the bank's stable ID of
	// the customer (see docs/identity.md).
	Holder  uuid.UUID `json:"holder"`
	Account uuid.UUID `json:"account"` // the ledger account payments to the number credit
	// Name is the holder's full name. It never leaves the library on the
	// reveal path: payers see MaskName(Name), or a VerifyName answer.
	Name string `json:"name"`
	// MaskedName is MaskName(Name), set by DecideBind and kept, so that
	// lookups need not mask again.
	MaskedName string `json:"masked_name"`
	// VerifiedAt is when the bank last verified that Holder owns the
	// number (an OTP sent to it); the library records it, it does not send
	// OTPs.
	VerifiedAt time.Time `json:"verified_at,omitzero"`
	// BoundAt is when Holder bound the number; set by DecideBind. It stays
	// while the same holder updates the binding and restarts on a rebind.
	BoundAt time.Time `json:"bound_at"`
	// UpdatedAt is when the binding was last written: the time of the Bind
	// call.
	UpdatedAt time.Time `json:"updated_at"`
}

// ValidateBinding checks the fields a caller supplies: a number (not
// validated again here: it must come from Normalize), a holder, an
// account, a name of letters or digits (at most 128 characters, valid
// UTF-8, no control characters), VerifiedAt and UpdatedAt set.
//
// Errors: ErrInvalidBinding saying which field.
func ValidateBinding(b *Binding) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidBinding, fmt.Sprintf(format, args...))
	}
	switch {
	case len(b.Phone) < 2 || b.Phone[0] != '+':
		return bad("phone %q is not in E.164 form", b.Phone)
	case b.Holder == uuid.Nil:
		return bad("no holder")
	case b.Account == uuid.Nil:
		return bad("no account")
	case checkName(b.Name) != nil:
		return bad("name: %v", checkName(b.Name))
	case b.VerifiedAt.IsZero():
		return bad("ownership never verified (VerifiedAt is zero)")
	case b.UpdatedAt.IsZero():
		return bad("no UpdatedAt")
	}
	if _, err := verifyInput("registered name", b.Name); err != nil {
		return bad("name: %v", err)
	}
	return nil
}

// DecideBind decides a Bind of b against the number's existing binding
// (nil if none) and fills in b.BoundAt and b.MaskedName. It is the rule
// every Directory applies:
//   - an unbound number is bound;
//   - the same holder may update account, name and VerifiedAt;
//   - a number bound to another holder moves only when rebind is true:
//     numbers are recycled, and the new holder must never receive the old
//     one's payments, nor the old one the new one's, by accident.
//
// Errors: ErrInvalidBinding, ErrBoundToOtherHolder.
func DecideBind(existing *Binding, b *Binding, rebind bool) error {
	if err := ValidateBinding(b); err != nil {
		return err
	}
	b.MaskedName = MaskName(b.Name)
	switch {
	case existing == nil:
		b.BoundAt = b.UpdatedAt
	case existing.Holder == b.Holder:
		b.BoundAt = existing.BoundAt
	case !rebind:
		return fmt.Errorf("bind %s: %w", b.Phone, ErrBoundToOtherHolder)
	default:
		b.BoundAt = b.UpdatedAt
	}
	return nil
}

// DecideUnbind decides whether holder may remove the number's binding
// (nil if none).
//
// Errors: ErrNotBound, ErrNotHolder.
func DecideUnbind(existing *Binding, phone Phone, holder uuid.UUID) error {
	switch {
	case existing == nil:
		return fmt.Errorf("unbind %s: %w", phone, ErrNotBound)
	case existing.Holder != holder:
		return fmt.Errorf("unbind %s: %w", phone, ErrNotHolder)
	}
	return nil
}

// Directory stores the bindings of numbers. It locks, reads and persists;
// DecideBind and DecideUnbind decide. Implementations must be safe for
// concurrent use and pass transfertest.Run.
type Directory interface {
	// Bind binds b.Phone as DecideBind allows, atomically with reading the
	// existing binding, and returns the binding as stored.
	//
	// Errors: ErrInvalidBinding, ErrBoundToOtherHolder.
	Bind(ctx context.Context, b Binding, rebind bool) (Binding, error)
	// Unbind removes the binding of phone if holder holds it.
	//
	// Errors: ErrNotBound, ErrNotHolder.
	Unbind(ctx context.Context, phone Phone, holder uuid.UUID) error
	// Lookup returns the binding of phone (an exact E.164 key, never
	// parsed again); found is false when there is none. Its signature fits
	// FindPhone.
	Lookup(ctx context.Context, phone Phone) (b Binding, found bool, err error)
}

// Payee is who a number pays, as a Router says: the institution holding
// the number and, there, the holder and the ledger account to credit.
type Payee struct {
	Phone       Phone  `json:"phone"`
	Institution string `json:"institution"` // the institution that holds the number
	// Holder identifies the payee: for this bank's own numbers, the user
	// who holds it (Binding.Holder); an interbank router derives one from
	// the other institution's customer ID, ledger.DeriveID(its namespace,
	// "customer", institution, ID), so that it is stable.
	Holder     uuid.UUID `json:"holder"`
	Account    uuid.UUID `json:"account"`               // the ledger account credited: the holder's own, or for another institution the account that settles with it
	Name       string    `json:"name"`                  // the full name; never shown on the reveal path
	MaskedName string    `json:"masked_name,omitempty"` // MaskName(Name), if the router has it; else the service masks Name
	VerifiedAt time.Time `json:"verified_at,omitzero"`  // when ownership was last verified
}

// masked returns the name a payer may see.
func (p *Payee) masked() string {
	if p.MaskedName != "" {
		return p.MaskedName
	}
	return MaskName(p.Name)
}

// Router says which institution holds a number and who the payee is. The
// LocalRouter answers from this bank's Directory; an interbank router (a
// client of a central directory such as PIX's DICT) can answer for other
// institutions, returning the ledger account that settles with them.
// Implementations must be safe for concurrent use.
type Router interface {
	// Route returns the payee of phone (an exact E.164 key); found is
	// false when no institution holds it. Its signature fits FindPhone.
	Route(ctx context.Context, phone Phone) (p Payee, found bool, err error)
}

// LocalRouter routes every number to the bank's own Directory.
type LocalRouter struct {
	Directory   Directory
	Institution string // this bank's ID, reported as Payee.Institution
}

var _ Router = LocalRouter{}

// Route implements Router.
func (r LocalRouter) Route(ctx context.Context, phone Phone) (Payee, bool, error) {
	b, found, err := r.Directory.Lookup(ctx, phone)
	if err != nil || !found {
		return Payee{}, false, err
	}
	return Payee{Phone: b.Phone, Institution: r.Institution, Holder: b.Holder, Account: b.Account, Name: b.Name, MaskedName: b.MaskedName, VerifiedAt: b.VerifiedAt}, true, nil
}

// ledgerTime is the clock reading a store keeps: what the ledger and
// PostgreSQL keep (UTC, microseconds).
func ledgerTime(t time.Time) time.Time { return ledger.Timestamp(t) }

// checkName checks a person's name before any work on it: valid UTF-8 of
// at most maxNameRunes characters (its bytes bounded first) without
// control characters.
func checkName(name string) error {
	switch {
	case len(name) > maxNameRunes*utf8.UTFMax || !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxNameRunes:
		return fmt.Errorf("must be valid UTF-8 of at most %d characters", maxNameRunes)
	case hasControl(name):
		return errors.New("has a control character")
	}
	return nil
}
