package qr

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/google/uuid"
)

// Errors of the directory.
var (
	// ErrUnknownPayee: the directory has no payee under this alias (or
	// will not pay it).
	ErrUnknownPayee = errors.New("qr: unknown payee")
	// ErrInvalidPayee: a payee without alias, account or name.
	ErrInvalidPayee = errors.New("qr: invalid payee")
)

// Payee is who a receive code pays, as the bank's directory knows it. A
// receive code names the payee only by Alias (never an account number); the
// account and the name come from the directory, never from the code.
type Payee struct {
	Alias   string    // as written in the code's account template
	Account uuid.UUID // the ledger account credited
	Name    string    // the verified name the payer's app shows
	// Binding names the alias's binding to its holder: an opaque value
	// (e.g. holder ID and binding epoch) the directory changes whenever
	// the alias is bound anew, as a recycled phone number is. Empty when
	// the directory does not track it (the account still counts).
	Binding string
}

// ErrBindingChanged: a receive code was issued for another binding of its
// alias (another holder, account or binding epoch): a printed code that
// followed a recycled phone number. Issue a new code.
var ErrBindingChanged = errors.New("qr: the code's alias is bound to another holder or account since it was issued")

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

// Directory resolves the alias in a receive code to a payee. The bank
// implements it over its customer records (package transfer offers one over
// phone numbers). It must be safe for concurrent use.
type Directory interface {
	// Payee returns the payee an alias names.
	// Errors: ErrUnknownPayee.
	Payee(ctx context.Context, alias string) (Payee, error)
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

// Payee implements Directory.
func (d *MemoryDirectory) Payee(_ context.Context, alias string) (Payee, error) {
	d.mu.RLock()
	p, ok := d.byAlias[alias]
	d.mu.RUnlock()
	if !ok {
		return Payee{}, fmt.Errorf("%w %q", ErrUnknownPayee, alias)
	}
	return p, nil
}
