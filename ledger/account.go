package ledger

import (
	"time"

	"github.com/google/uuid"
)

// AccountFlags constrain an account's balance.
type AccountFlags uint16

const (
	// DebitsMustNotExceedCredits: posted plus pending debits may never exceed
	// posted credits. A customer wallet carries it: it cannot go negative, and
	// a pending (reserved) debit already counts against it.
	DebitsMustNotExceedCredits AccountFlags = 1 << iota
	// CreditsMustNotExceedDebits: posted plus pending credits may never exceed
	// posted debits, for accounts that may only give back what they took.
	CreditsMustNotExceedDebits
)

const knownAccountFlags = DebitsMustNotExceedCredits | CreditsMustNotExceedDebits

// Has reports whether every flag in f2 is set in f.
func (f AccountFlags) Has(f2 AccountFlags) bool { return f&f2 == f2 }

// limit reports whether balance b breaks f: ErrInsufficientFunds when
// debits exceed what DebitsMustNotExceedCredits allows, ErrExceedsDebits
// when credits exceed what CreditsMustNotExceedDebits allows, else nil.
// The rules refuse a transfer that would leave such a balance, and Verify
// checks that no running balance ever was one.
func (f AccountFlags) limit(b Balance) error {
	switch {
	case f.Has(DebitsMustNotExceedCredits) && b.DebitsPosted+b.DebitsPending > b.CreditsPosted:
		return ErrInsufficientFunds
	case f.Has(CreditsMustNotExceedDebits) && b.CreditsPosted+b.CreditsPending > b.DebitsPosted:
		return ErrExceedsDebits
	}
	return nil
}

// AccountStatus is an account's life-cycle state. Every change of it is
// recorded as an entry in the account's hash-chained history.
type AccountStatus uint8

const (
	AccountOpen   AccountStatus = iota // accepts transfers
	AccountFrozen                      // rejects new transfers; voids and expiry still release holds
	AccountClosed                      // permanently rejects transfers
)

func (s AccountStatus) String() string {
	switch s {
	case AccountOpen:
		return "open"
	case AccountFrozen:
		return "frozen"
	case AccountClosed:
		return "closed"
	}
	return "unknown"
}

// Limits on the free-form fields of accounts and transfers, so that one
// request cannot bloat the journal.
const (
	MaxReferenceLen     = 256 // bytes of Transfer.Reference
	MaxMetadataEntries  = 16
	MaxMetadataKeyLen   = 64  // bytes
	MaxMetadataValueLen = 512 // bytes
)

// Account is a ledger account. The caller chooses ID, Currency, Code, Flags
// and Metadata; the ledger sets the rest.
type Account struct {
	ID       uuid.UUID `json:"id"`
	Currency Currency  `json:"currency"`
	// Code says what kind of account this is (wallet, escrow, fee income…);
	// its meaning is the bank's.
	Code     uint16            `json:"code"`
	Flags    AccountFlags      `json:"flags"`
	Metadata map[string]string `json:"metadata,omitempty"`

	// Set by the ledger.
	Status    AccountStatus `json:"status"`
	CreatedAt time.Time     `json:"created_at"`
	ClosedAt  time.Time     `json:"closed_at,omitzero"` // zero unless closed
	Balance   Balance       `json:"balance"`
}

// Balance is an account's four running totals in minor units of the
// account's currency. All are non-negative.
type Balance struct {
	DebitsPending  int64 `json:"debits_pending"`
	DebitsPosted   int64 `json:"debits_posted"`
	CreditsPending int64 `json:"credits_pending"`
	CreditsPosted  int64 `json:"credits_posted"`
}

// Net returns posted credits minus posted debits: the balance of a
// credit-normal account such as a customer wallet (negative for a
// debit-normal one).
func (b Balance) Net() int64 { return b.CreditsPosted - b.DebitsPosted }

// Available returns posted credits minus posted and pending debits: what a
// credit-normal account can still spend. Holds (pending debits) count
// against it at once.
func (b Balance) Available() int64 { return b.CreditsPosted - b.DebitsPosted - b.DebitsPending }

// IsZero reports whether every total nets to zero and nothing is pending.
func (b Balance) IsZero() bool {
	return b.DebitsPending == 0 && b.CreditsPending == 0 && b.DebitsPosted == b.CreditsPosted
}

// NetMoney returns Net as Money of the account's currency.
func (a Account) NetMoney() Money { return NewMoney(a.Balance.Net(), a.Currency) }

// AvailableMoney returns Available as Money of the account's currency.
func (a Account) AvailableMoney() Money { return NewMoney(a.Balance.Available(), a.Currency) }

// AccountEvent is a change of an account's status.
type AccountEvent uint8

const (
	EventFreeze AccountEvent = iota + 1
	EventUnfreeze
	EventClose
)

func (e AccountEvent) String() string {
	switch e {
	case EventFreeze:
		return "freeze"
	case EventUnfreeze:
		return "unfreeze"
	case EventClose:
		return "close"
	}
	return "unknown"
}
