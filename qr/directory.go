package qr

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
)

// Errors of the directory.
var (
	// ErrUnknownPayee: the directory has no payee under this alias (or
	// will not pay it).
	ErrUnknownPayee = errcode.New("unknown_payee", errcode.NotFound, "qr: unknown payee")
	// ErrInvalidPayee: a payee without alias, account or name.
	ErrInvalidPayee = errcode.New("invalid_payee", errcode.Invalid, "qr: invalid payee")
)

// Payee is who a receive code pays, as the bank's directory knows it. A
// receive code names the payee only by Alias (never an account number); the
// account and the name come from the directory, never from the code.
type Payee struct {
	Alias   string    `json:"alias"`            // as written in the code's account template
	Account uuid.UUID `json:"account,omitzero"` // the ledger account credited
	Name    string    `json:"name"`             // the verified name the payer's app shows
	// Binding names the alias's binding to its holder: an opaque value
	// (e.g. holder ID and binding epoch) the directory changes whenever
	// the alias is bound anew, as a recycled phone number is. Empty when
	// the directory does not track it (the account still counts).
	Binding string `json:"binding,omitempty"`
}

// ErrBindingChanged: a receive code was issued for another binding of its
// alias (another holder, account or binding epoch): a printed code that
// followed a recycled phone number. Issue a new code.
var ErrBindingChanged = errcode.New("binding_changed", errcode.Conflict, "qr: the code's alias is bound to another holder or account since it was issued")

// BindingMark is the fingerprint of a payee's binding a receive code
// carries (signed, in its account template): 16 hex digits of SHA-256
// over the alias, the account and Binding.
func BindingMark(p Payee) string {
	h := sha256.New()
	h.Write([]byte("socialpay/qr/binding\x00"))
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(p.Alias)))
	h.Write(n[:])
	h.Write([]byte(p.Alias))
	h.Write(p.Account[:])
	h.Write([]byte(p.Binding))
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// ErrLookupLimited: the directory refused a lookup made on behalf of a
// payer because the payer (or the bank as a whole) has spent its lookup
// budget (see Directory). Nothing else happened; try again later. The
// error also wraps the limiter's own error (transfer/qrdirectory: a
// *transfer.RateLimitError, errors.Is transfer.ErrRateLimited, that says
// when to retry).
var ErrLookupLimited = errcode.New("rate_limited", errcode.RateLimited, "qr: payee lookups rate limited")

// Lookup is one directory lookup: the alias, and on whose behalf it is
// made.
type Lookup struct {
	// Alias is as written in the code's account template.
	Alias string `json:"alias"`
	// User is the paying user on whose behalf the directory is asked:
	// set by Preview and Pay, whose answer shows the payee's name to
	// whoever asks. Zero for the bank's own lookups (Issue, and IssueAs,
	// whose answer reveals nothing).
	User uuid.UUID `json:"user,omitzero"`
	// Charge names the lookup's charge against User's budget: Pay sets it
	// from the payment and the alias, so that concurrent duplicates of
	// one payment pay for one lookup (see transfer.Limiter). Zero charges
	// every lookup.
	Charge uuid.UUID `json:"charge,omitzero"`
}

// Directory resolves the alias in a receive code to a payee. The bank
// implements it over its customer records (package transfer/qrdirectory
// offers one over transfer's phone numbers). It must be safe for
// concurrent use.
//
// The Directory is responsible for metering: a quote shows the payee's
// name, so anyone who can have codes naming arbitrary aliases quoted can
// enumerate who holds which alias (phone number). A Directory whose
// aliases are worth enumerating meters every Lookup with a User against
// that user's budget, the one the bank's other lookups of the same
// aliases spend (transfer/qrdirectory uses transfer's Limiter, so QR and
// transfer.Service.Resolve share one budget per user), and refuses with
// ErrLookupLimited. MemoryDirectory meters nothing: it is for tests.
type Directory interface {
	// Payee returns the payee q.Alias names, metering the lookup when
	// q.User is set.
	// Errors: ErrUnknownPayee, ErrLookupLimited (nothing looked up), and
	// the directory's own.
	Payee(ctx context.Context, q Lookup) (Payee, error)
	// Settled says that a payment by user whose payee came from a metered
	// Payee lookup has settled, once per such lookup, so that the
	// directory can give the user back part of the lookup's cost (as
	// transfer does for a settled transfer). Service.Pay calls it best
	// effort: its error is ignored.
	Settled(ctx context.Context, user uuid.UUID) error
}

// MemoryDirectory is a Directory in memory, for tests and examples. The
// zero value is empty and ready.
type MemoryDirectory struct {
	mu      sync.RWMutex
	byAlias map[string]Payee
}

var _ Directory = (*MemoryDirectory)(nil)

// Put adds or replaces a payee.
//
// Errors: ErrInvalidPayee.
func (d *MemoryDirectory) Put(p Payee) error {
	if p.Alias == "" || p.Account == uuid.Nil || p.Name == "" {
		return fmt.Errorf("qr: payee %q needs an alias, an account and a name: %w", p.Alias, ErrInvalidPayee)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.byAlias == nil {
		d.byAlias = make(map[string]Payee)
	}
	d.byAlias[p.Alias] = p
	return nil
}

// Remove deletes the payee under alias, if any.
func (d *MemoryDirectory) Remove(alias string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.byAlias, alias)
}

// Payee implements Directory, metering nothing.
func (d *MemoryDirectory) Payee(_ context.Context, q Lookup) (Payee, error) {
	d.mu.RLock()
	p, ok := d.byAlias[q.Alias]
	d.mu.RUnlock()
	if !ok {
		return Payee{}, fmt.Errorf("%w %q", ErrUnknownPayee, q.Alias)
	}
	return p, nil
}

// Settled implements Directory: there is nothing to give back.
func (d *MemoryDirectory) Settled(context.Context, uuid.UUID) error { return nil }
