package collect

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// Status is where a request stands. Only an open request takes payments
// and declines; the other statuses say why it stopped.
type Status uint8

const (
	StatusOpen     Status = iota + 1 // taking payments
	StatusComplete                   // every member paid or declined
	StatusClosed                     // the requester closed it
	StatusExpired                    // its expiry passed (the sweep recorded it)
)

func (s Status) String() string {
	switch s {
	case StatusOpen:
		return "open"
	case StatusComplete:
		return "complete"
	case StatusClosed:
		return "closed"
	case StatusExpired:
		return "expired"
	}
	return "unknown"
}

// ShareStatus is where one member's share stands.
type ShareStatus uint8

const (
	ShareOwn      ShareStatus = iota + 1 // the requester's own share: never collected
	SharePending                         // not paid yet
	SharePaid                            // paid to the requester
	ShareDeclined                        // the member declined (final)
)

func (s ShareStatus) String() string {
	switch s {
	case ShareOwn:
		return "own"
	case SharePending:
		return "pending"
	case SharePaid:
		return "paid"
	case ShareDeclined:
		return "declined"
	}
	return "unknown"
}

// Share is one member's part of the bill.
type Share struct {
	Member uuid.UUID   `json:"member"`
	Amount int64       `json:"amount"` // minor units of the request's currency
	Status ShareStatus `json:"status"`
	// Set when paid: the wallet it came from and the ledger transfer that
	// moved it (Service.TransferID of the request and member).
	Account    uuid.UUID `json:"account,omitzero"`
	TransferID uuid.UUID `json:"transfer_id,omitzero"`
	At         time.Time `json:"at,omitzero"` // paid or declined at; zero while pending
}

// State is what changes in a request.
type State struct {
	Status     Status    `json:"status"`
	Paid       int       `json:"paid"`                 // shares paid
	Declined   int       `json:"declined"`             // shares declined
	Collected  int64     `json:"collected"`            // minor units paid to the requester
	EndedAt    time.Time `json:"ended_at,omitzero"`    // when it stopped being open; zero while open
	RemindedAt time.Time `json:"reminded_at,omitzero"` // the last reminder; zero if none
	// Reconciled: the request is no longer open and no share's payment can
	// be unrecorded any more (nothing was pending when it ended, or
	// Reconcile has checked the ledger for every pending share).
	Reconciled bool `json:"reconciled"`
}

// Request is one bill to split: the requester asks the members of a group
// for their shares, paid straight into the requester's account.
type Request struct {
	ID        uuid.UUID       `json:"id"`
	Requester uuid.UUID       `json:"requester"`
	Account   uuid.UUID       `json:"account"` // the requester's wallet: every payment lands here
	Group     uuid.UUID       `json:"group"`
	Title     string          `json:"title"` // at most MaxTitleLen bytes
	Currency  ledger.Currency `json:"currency"`
	Total     int64           `json:"total"`  // the bill: the sum of every share, the requester's own included
	Shares    []Share         `json:"shares"` // in the stated order, the order the remainder rule follows
	CreatedAt time.Time       `json:"created_at"`
	ExpiresAt time.Time       `json:"expires_at"`
	State
}

// Money returns units as Money in the request's currency.
func (r *Request) Money(units int64) ledger.Money { return ledger.NewMoney(units, r.Currency) }

// Clone returns r with its own copy of the shares.
func (r *Request) Clone() Request {
	out := *r
	out.Shares = slices.Clone(r.Shares)
	return out
}

// Find returns the index of member's share.
func (r *Request) Find(member uuid.UUID) (int, bool) {
	for i := range r.Shares {
		if r.Shares[i].Member == member {
			return i, true
		}
	}
	return 0, false
}

// Pending returns the members who owe their share still.
func (r *Request) Pending() []uuid.UUID {
	var out []uuid.UUID
	for i := range r.Shares {
		if r.Shares[i].Status == SharePending {
			out = append(out, r.Shares[i].Member)
		}
	}
	return out
}

// Due returns the minor units still owed.
func (r *Request) Due() int64 {
	var due int64
	for i := range r.Shares {
		if r.Shares[i].Status == SharePending {
			due += r.Shares[i].Amount
		}
	}
	return due
}

// Validate checks the invariants of a request as a store records it: IDs
// set, a title of storable text within MaxTitleLen, a known currency,
// members distinct with positive shares summing to Total, at most the
// requester's own share marked ShareOwn, an expiry after creation, and a
// state consistent with the shares. A new request is open with every
// share pending (or own).
//
// Errors: ErrInvalidRequest.
func (r *Request) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: request %s: %s", ErrInvalidRequest, r.ID, fmt.Sprintf(format, args...))
	}
	switch {
	case r.ID == uuid.Nil || r.Requester == uuid.Nil || r.Account == uuid.Nil || r.Group == uuid.Nil:
		return bad("missing ID, requester, account or group")
	case len(r.Title) > MaxTitleLen || !ledger.StorableText(r.Title):
		return bad("title of %d bytes is not storable text of at most %d", len(r.Title), MaxTitleLen)
	case r.Currency.IsZero():
		return bad("no currency")
	case !r.ExpiresAt.After(r.CreatedAt):
		return bad("expires at %v, not after creation at %v", r.ExpiresAt, r.CreatedAt)
	case len(r.Shares) == 0:
		return bad("no shares")
	}
	var sum, collected int64
	var paid, declined, own int
	seen := make(map[uuid.UUID]bool, len(r.Shares))
	for i := range r.Shares {
		s := &r.Shares[i]
		switch {
		case s.Member == uuid.Nil || seen[s.Member]:
			return bad("share %d: member missing or listed twice", i)
		case s.Amount < 1:
			return bad("share %d: amount %d", i, s.Amount)
		case (s.Status == ShareOwn) != (s.Member == r.Requester):
			return bad("share %d: only the requester's share is their own", i)
		case s.Status < ShareOwn || s.Status > ShareDeclined:
			return bad("share %d: status %d", i, s.Status)
		case s.Status == SharePaid && (s.Account == uuid.Nil || s.TransferID == uuid.Nil):
			return bad("share %d: paid without account or transfer", i)
		}
		seen[s.Member] = true
		sum += s.Amount
		switch s.Status {
		case ShareOwn:
			own++
		case SharePaid:
			paid++
			collected += s.Amount
		case ShareDeclined:
			declined++
		}
	}
	switch {
	case sum != r.Total:
		return bad("shares sum to %d, total %d", sum, r.Total)
	case len(r.Shares)-own < 1:
		return bad("nobody to collect from")
	case r.Paid != paid || r.Declined != declined || r.Collected != collected:
		return bad("state counts paid %d declined %d collected %d, shares say %d %d %d",
			r.Paid, r.Declined, r.Collected, paid, declined, collected)
	case r.Status < StatusOpen || r.Status > StatusExpired:
		return bad("status %d", r.Status)
	case (r.Status == StatusOpen) != r.EndedAt.IsZero():
		return bad("status %v with end time %v", r.Status, r.EndedAt)
	}
	return nil
}

// shareError wraps err with the request and member it concerns.
func (r *Request) shareError(member uuid.UUID, err error) error {
	return fmt.Errorf("request %s, member %s: %w", r.ID, member, err)
}

// closedErr is the error of a request that takes no more payments at now:
// ErrClosed or ErrExpired, or nil when it is open and not yet expired.
func (r *Request) closedErr(now time.Time) error {
	switch {
	case r.Status == StatusExpired:
		return fmt.Errorf("request %s: %w at %v", r.ID, ErrExpired, r.EndedAt)
	case r.Status != StatusOpen:
		return fmt.Errorf("request %s: %w (%v) at %v", r.ID, ErrClosed, r.Status, r.EndedAt)
	case !now.Before(r.ExpiresAt):
		return fmt.Errorf("request %s: %w at %v", r.ID, ErrExpired, r.ExpiresAt)
	}
	return nil
}

// CheckPay decides whether member may pay amount now, and returns the index
// of their share. A share already paid is the member's answer whatever the
// request's status: existing is true and nothing is to move (a retry gets
// the original payment).
//
// Errors, in this order: ErrNotMember, ErrOwnShare, ErrWrongAmount,
// ErrDeclined, then ErrClosed or ErrExpired (also for a request whose
// expiry passed before the sweep recorded it).
func (r *Request) CheckPay(member uuid.UUID, amount int64, now time.Time) (i int, existing bool, err error) {
	i, ok := r.Find(member)
	switch {
	case !ok:
		return 0, false, r.shareError(member, ErrNotMember)
	case r.Shares[i].Status == ShareOwn:
		return 0, false, r.shareError(member, ErrOwnShare)
	case amount != r.Shares[i].Amount:
		return 0, false, r.shareError(member, fmt.Errorf("%w: %v for a share of %v", ErrWrongAmount, r.Money(amount), r.Money(r.Shares[i].Amount)))
	case r.Shares[i].Status == SharePaid:
		return i, true, nil
	case r.Shares[i].Status == ShareDeclined:
		return 0, false, r.shareError(member, ErrDeclined)
	}
	if err := r.closedErr(now); err != nil {
		return 0, false, r.shareError(member, err)
	}
	return i, false, nil
}

// RecordPaid records that member's share moved to the requester on the
// ledger: from wallet account, by ledger transfer transferID, at time at.
// CheckPay decides whether a payment may be made; once the ledger has
// made it, RecordPaid records it whatever the request's status (the ledger
// is the truth: Reconcile records a payment whose record a failure lost).
// When no share is left pending, an open request is complete. It reports
// false when the share was already paid.
//
// Errors: ErrNotMember, ErrOwnShare, ErrDeclined (a share declined cannot
// have been paid: the ledger and the store disagree), ErrInvalidRequest
// (no account or transfer).
func (r *Request) RecordPaid(member, account, transferID uuid.UUID, at time.Time) (bool, error) {
	i, ok := r.Find(member)
	switch {
	case !ok:
		return false, r.shareError(member, ErrNotMember)
	case account == uuid.Nil || transferID == uuid.Nil:
		return false, r.shareError(member, fmt.Errorf("%w: paid without account or transfer", ErrInvalidRequest))
	}
	s := &r.Shares[i]
	switch s.Status {
	case ShareOwn:
		return false, r.shareError(member, ErrOwnShare)
	case SharePaid:
		return false, nil
	case ShareDeclined:
		return false, r.shareError(member, ErrDeclined)
	}
	s.Status, s.Account, s.TransferID, s.At = SharePaid, account, transferID, at
	r.Paid++
	r.Collected += s.Amount
	r.answered(at)
	return true, nil
}

// answered completes an open request once nobody owes anything.
func (r *Request) answered(now time.Time) {
	if r.Status != StatusOpen {
		return
	}
	for i := range r.Shares {
		if r.Shares[i].Status == SharePending {
			return
		}
	}
	r.end(StatusComplete, now)
}

// end stops the request taking payments.
func (r *Request) end(s Status, now time.Time) {
	r.Status, r.EndedAt = s, now
	r.Reconciled = len(r.Pending()) == 0 // nothing left whose payment a failure could have lost
}

// Decline records that member will not pay. Declining again changes
// nothing (false); declining is final.
//
// Errors, in this order: ErrNotMember, ErrOwnShare, ErrAlreadyPaid, then
// ErrClosed or ErrExpired.
func (r *Request) Decline(member uuid.UUID, now time.Time) (bool, error) {
	i, ok := r.Find(member)
	switch {
	case !ok:
		return false, r.shareError(member, ErrNotMember)
	case r.Shares[i].Status == ShareOwn:
		return false, r.shareError(member, ErrOwnShare)
	case r.Shares[i].Status == SharePaid:
		return false, r.shareError(member, ErrAlreadyPaid)
	case r.Shares[i].Status == ShareDeclined:
		return false, nil
	}
	if err := r.closedErr(now); err != nil {
		return false, r.shareError(member, err)
	}
	r.Shares[i].Status, r.Shares[i].At = ShareDeclined, now
	r.Declined++
	r.answered(now)
	return true, nil
}

// Close stops an open request taking payments, at the requester's wish. A
// request no longer open stays as it is (false, no error): whoever ended
// it first — the last payment, an earlier close, the expiry sweep — wins,
// and the close answers with that.
func (r *Request) Close(now time.Time) bool {
	if r.Status != StatusOpen {
		return false
	}
	r.end(StatusClosed, now)
	return true
}

// Expire records the expiry of an open request whose ExpiresAt is at or
// before now. A request no longer open stays as it is (false): two sweeps
// expire it once.
//
// Errors: ErrNotExpired.
func (r *Request) Expire(now time.Time) (bool, error) {
	switch {
	case r.Status != StatusOpen:
		return false, nil
	case now.Before(r.ExpiresAt):
		return false, fmt.Errorf("request %s: %w: expires at %v, now %v", r.ID, ErrNotExpired, r.ExpiresAt, now)
	}
	r.end(StatusExpired, now)
	return true, nil
}

// Remind records a reminder at now and returns the members to remind
// (those whose share is pending). One reminder per request per every:
// the time of the last is part of the request, so the limit holds for
// every instance that shares the store.
//
// Errors: ErrNothingToRemind (not open, or expired by now),
// ErrRemindTooSoon (wrapped with the time of the last reminder).
func (r *Request) Remind(now time.Time, every time.Duration) ([]uuid.UUID, error) {
	if r.Status != StatusOpen || !now.Before(r.ExpiresAt) {
		return nil, fmt.Errorf("request %s: %w (%v)", r.ID, ErrNothingToRemind, r.Status)
	}
	if !r.RemindedAt.IsZero() && now.Before(r.RemindedAt.Add(every)) {
		return nil, fmt.Errorf("request %s: %w: last at %v, next from %v", r.ID, ErrRemindTooSoon, r.RemindedAt, r.RemindedAt.Add(every))
	}
	r.RemindedAt = now
	return r.Pending(), nil
}

// MarkReconciled records that Reconcile checked the ledger for every
// pending share of a request no longer open. It reports false when there
// was nothing to do (open, or already reconciled).
func (r *Request) MarkReconciled() bool {
	if r.Status == StatusOpen || r.Reconciled {
		return false
	}
	r.Reconciled = true
	return true
}
