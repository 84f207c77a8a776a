package points

import (
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

const maxInt64 = math.MaxInt64

func mul(a, b int64) (hi, lo uint64) { return bits.Mul64(uint64(a), uint64(b)) }

// Kind says what an operation does to a user's points.
type Kind uint8

const (
	KindEarn        Kind = iota + 1 // points earned under an EarnRule: a credit
	KindRedeem                      // points redeemed into money: a debit
	KindExchangeOut                 // points given for a partner's points: a debit
	KindExchangeIn                  // a partner's points given for points: a credit
	KindExpire                      // a lot's remainder expired: a debit of one lot
)

func (k Kind) String() string {
	switch k {
	case KindEarn:
		return "earn"
	case KindRedeem:
		return "redeem"
	case KindExchangeOut:
		return "exchange_out"
	case KindExchangeIn:
		return "exchange_in"
	case KindExpire:
		return "expire"
	}
	return "unknown"
}

// Credit reports whether k adds points (to the lot of its month).
func (k Kind) Credit() bool { return k == KindEarn || k == KindExchangeIn }

// Status is where an operation stands. It changes once: pending to posted
// or to failed.
type Status uint8

const (
	StatusPending Status = iota + 1 // recorded; its ledger transfer not confirmed
	StatusPosted                    // its ledger transfer applied
	StatusFailed                    // the ledger refused it for good; its points undone
)

func (s Status) String() string {
	switch s {
	case StatusPending:
		return "pending"
	case StatusPosted:
		return "posted"
	case StatusFailed:
		return "failed"
	}
	return "unknown"
}

// Take is the part of a debit taken from one lot.
type Take struct {
	Month  Month `json:"month"`
	Points int64 `json:"points"`
}

// Op is one operation on a user's points, recorded before its ledger
// transfer and marked posted after it. Its ID is derived from its business
// key (user and request key), so a retry finds it.
type Op struct {
	ID   uuid.UUID `json:"id"`
	User uuid.UUID `json:"user"`
	Kind Kind      `json:"kind"`
	// Key is the request's idempotency key (earn: the rule's key, such as
	// a payment ID; redeem and exchange: the client's request key); empty
	// for an expiry. Checked by ledger.CheckKey.
	Key string `json:"key,omitempty"`
	// Name is the earn rule's name, the exchange's partner, or (redeem)
	// the currency code; empty for an expiry.
	Name string `json:"name,omitempty"`
	// Requested is what the request asked: the payment amount in minor
	// units (a per-amount earn; 0 for a fixed one), the points to redeem
	// or exchange out, or the partner's points to exchange in.
	Requested int64 `json:"requested"`
	// Points is the points credited (earn, exchange in) or debited
	// (redeem, exchange out: the points Rate.Convert used; expire).
	Points int64 `json:"points"`
	// Month is the lot a credit adds to or an expiry empties; LotExpiresAt
	// is that lot's expiry (a credit creates the lot with it).
	Month        Month     `json:"month,omitzero"`
	LotExpiresAt time.Time `json:"lot_expires_at,omitzero"`
	// Takes is a debit's FIFO allocation over lots, set when it is
	// recorded (an expiry takes its one lot).
	Takes []Take `json:"takes,omitempty"`
	// Account is the user's points account; Counter the other points
	// account of the transfer (the bank's issuance, redemption or expiry
	// account, or the partner's).
	Account uuid.UUID `json:"account"`
	Counter uuid.UUID `json:"counter"`
	// Rate is the rate version a redeem or exchange used.
	Rate Rate `json:"rate,omitzero"`
	// Other is the other side of a conversion: a redemption's payout in
	// minor units of Currency, the partner points an exchange out gives,
	// the partner points an exchange in took (Rate.Convert's used).
	Other int64 `json:"other"`
	// Currency, Wallet and Conversion: a redemption's money, paid from the
	// bank's Conversion account to the user's Wallet.
	Currency   ledger.Currency `json:"currency,omitzero"`
	Wallet     uuid.UUID       `json:"wallet,omitzero"`
	Conversion uuid.UUID       `json:"conversion,omitzero"`

	Status    Status    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}

// Money returns a redemption's payout.
func (o *Op) Money() ledger.Money { return ledger.NewMoney(o.Other, o.Currency) }

// Validate checks an Op a store is asked to record: a pending operation
// with its IDs, a key and name within bounds, positive points, and the
// fields of its kind.
//
// Errors: ErrInvalidOp.
func (o *Op) Validate() error {
	bad := func(what string, args ...any) error {
		return fmt.Errorf("%w: op %s: "+what, append([]any{ErrInvalidOp, o.ID}, args...)...)
	}
	switch {
	case o.ID == uuid.Nil || o.User == uuid.Nil || o.Account == uuid.Nil || o.Counter == uuid.Nil:
		return bad("missing ID, user or account")
	case o.Status != StatusPending:
		return bad("status %v, want pending", o.Status)
	case o.Points <= 0:
		return bad("points %d", o.Points)
	case o.Key != "" && ledger.CheckKey(o.Key) != nil:
		return fmt.Errorf("%w: op %s: %w", ErrInvalidOp, o.ID, ledger.CheckKey(o.Key))
	case len(o.Name) > MaxNameLen || !ledger.StorableText(o.Name):
		return bad("name too long or not storable text")
	case o.Requested < 0 || o.Other < 0:
		return bad("negative amount")
	case o.CreatedAt.IsZero():
		return bad("no creation time")
	}
	switch o.Kind {
	case KindEarn, KindExchangeIn:
		if o.Key == "" || o.LotExpiresAt.IsZero() || len(o.Takes) != 0 {
			return bad("a credit needs a key, its lot's expiry, and no takes")
		}
	case KindRedeem, KindExchangeOut:
		if o.Key == "" || len(o.Takes) != 0 {
			return bad("a debit needs a key and leaves its takes to the store")
		}
		if o.Kind == KindRedeem && (o.Wallet == uuid.Nil || o.Conversion == uuid.Nil || o.Currency.IsZero() || o.Other <= 0) {
			return bad("a redemption needs a wallet, a conversion account and a payout")
		}
	default:
		return bad("kind %v cannot be recorded (expiries come from Holder.Expire)", o.Kind)
	}
	if o.Kind != KindEarn {
		if err := o.Rate.Validate(); err != nil {
			return bad("rate: %v", err)
		}
	}
	return nil
}

// SameRequest reports whether req, a new request, is the one that
// recorded stored (same ID): the same user, kind, key, name, requested
// amount and accounts. What the rules computed from it (points, rate,
// allocation) is the stored operation's.
//
// Errors: ErrOpConflict.
func SameRequest(req, stored *Op) error {
	if req.User != stored.User || req.Kind != stored.Kind || req.Key != stored.Key || req.Name != stored.Name ||
		req.Requested != stored.Requested || req.Account != stored.Account || req.Wallet != stored.Wallet ||
		req.Currency != stored.Currency {
		return fmt.Errorf("%w: op %s (%v %q of user %s)", ErrOpConflict, stored.ID, stored.Kind, stored.Key, stored.User)
	}
	return nil
}

// Lot is the points a user earned in one month. Credited = Remaining +
// Spent + Expired at all times.
type Lot struct {
	User      uuid.UUID `json:"user"`
	Month     Month     `json:"month"`
	ExpiresAt time.Time `json:"expires_at"`
	Pending   int64     `json:"pending"`   // credits recorded but not yet on the ledger: not spendable
	Remaining int64     `json:"remaining"` // confirmed and spendable until ExpiresAt
	Credited  int64     `json:"credited"`  // confirmed credits in all
	Spent     int64     `json:"spent"`     // taken by debits
	Expired   int64     `json:"expired"`   // taken by expiries
	Expiries  int       `json:"expiries"`  // how many expiries took from the lot (numbers their IDs)
}

// Due reports whether the lot has points to expire at now.
func (l *Lot) Due(now time.Time) bool { return l.Remaining > 0 && !now.Before(l.ExpiresAt) }
