package points

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Holder is one user's points as a store holds them: the running totals
// and the lots. Its methods (Record, Post, Fail, Expire) are the only code
// that decides what happens to a user's points; every Store calls them
// with the user locked and persists what they changed. On error they
// change nothing.
//
// A store passes in Lots, ordered by Month, every lot of the user with
// Remaining or Pending above zero, and every lot the operation at hand
// names (a credit's Month, a debit's Takes, the expiring lot); it may pass
// more.
type Holder struct {
	User uuid.UUID `json:"user"`
	// Earned counts confirmed credits (earned and exchanged in), Spent the
	// points taken by recorded debits (redeemed and exchanged out), Expired
	// the points taken by expiries; a failed operation's points come off.
	Earned  int64 `json:"earned"`
	Spent   int64 `json:"spent"`
	Expired int64 `json:"expired"`
	Lots    []Lot `json:"lots"`
}

func (h *Holder) lot(m Month) *Lot {
	i, ok := slices.BinarySearchFunc(h.Lots, m, func(l Lot, m Month) int { return int(l.Month - m) })
	if !ok {
		return nil
	}
	return &h.Lots[i]
}

// Available returns the points the user can spend at now: the Remaining
// of every lot not expired at now.
func (h *Holder) Available(now time.Time) int64 {
	var n int64
	for i := range h.Lots {
		if now.Before(h.Lots[i].ExpiresAt) {
			n += h.Lots[i].Remaining
		}
	}
	return n
}

// Allocate is the spending rule: points are taken from the lots that
// expire first (oldest first), among lots not expired at now, of their
// confirmed Remaining only.
//
// Errors: ErrInsufficientPoints.
func Allocate(lots []Lot, points int64, now time.Time) ([]Take, error) {
	order := make([]int, 0, len(lots))
	for i := range lots {
		if lots[i].Remaining > 0 && now.Before(lots[i].ExpiresAt) {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := lots[a].ExpiresAt.Compare(lots[b].ExpiresAt); c != 0 {
			return c
		}
		return int(lots[a].Month - lots[b].Month)
	})
	var takes []Take
	left := points
	for _, i := range order {
		if left == 0 {
			break
		}
		n := min(left, lots[i].Remaining)
		takes = append(takes, Take{Month: lots[i].Month, Points: n})
		left -= n
	}
	if left > 0 {
		return nil, fmt.Errorf("%w: %d available, %d asked", ErrInsufficientPoints, points-left, points)
	}
	return takes, nil
}

func add(a, b int64) (int64, error) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, fmt.Errorf("%w: %d + %d", ErrOverflow, a, b)
	}
	return s, nil
}

// Record applies op, a new operation that op.Validate accepts, at now: a
// credit adds its points to the Pending of the lot of op.Month (creating
// the lot with op.LotExpiresAt); a debit takes its points from the lots by
// Allocate, sets op.Takes, and counts them spent at once.
//
// Errors: ErrInvalidOp, ErrInsufficientPoints, ErrOverflow.
func (h *Holder) Record(op *Op, now time.Time) error {
	if err := op.Validate(); err != nil {
		return err
	}
	if op.User != h.User {
		return fmt.Errorf("%w: op %s of user %s recorded for %s", ErrInvalidOp, op.ID, op.User, h.User)
	}
	if op.Kind.Credit() {
		l := h.lot(op.Month)
		if l == nil {
			i, _ := slices.BinarySearchFunc(h.Lots, op.Month, func(l Lot, m Month) int { return int(l.Month - m) })
			h.Lots = slices.Insert(h.Lots, i, Lot{User: h.User, Month: op.Month, ExpiresAt: op.LotExpiresAt, Pending: op.Points})
			return nil
		}
		p, err := add(l.Pending, op.Points)
		if err != nil {
			return fmt.Errorf("user %s lot %s: %w", h.User, op.Month, err)
		}
		l.Pending = p
		return nil
	}
	takes, err := Allocate(h.Lots, op.Points, now)
	if err != nil {
		return fmt.Errorf("user %s: %w", h.User, err)
	}
	spent, err := add(h.Spent, op.Points)
	if err != nil {
		return err
	}
	for _, t := range takes {
		l := h.lot(t.Month)
		l.Remaining -= t.Points
		l.Spent += t.Points
	}
	h.Spent, op.Takes = spent, takes
	return nil
}

// Post marks op confirmed on the ledger: a credit's points move from its
// lot's Pending to Remaining and count as earned. Posting a posted
// operation changes nothing (changed is false).
//
// Errors: ErrOpResolved (op failed), ErrOverflow.
func (h *Holder) Post(op *Op) (changed bool, err error) {
	switch op.Status {
	case StatusPosted:
		return false, nil
	case StatusFailed:
		return false, fmt.Errorf("%w: op %s failed, cannot post", ErrOpResolved, op.ID)
	}
	if op.Kind.Credit() {
		l := h.lot(op.Month)
		if l == nil || l.Pending < op.Points {
			return false, fmt.Errorf("%w: op %s: lot %s of user %s does not hold its pending points", ErrInvalidOp, op.ID, op.Month, h.User)
		}
		earned, err := add(h.Earned, op.Points)
		if err != nil {
			return false, err
		}
		credited, err := add(l.Credited, op.Points)
		if err != nil {
			return false, err
		}
		l.Pending -= op.Points
		l.Remaining += op.Points
		l.Credited = credited
		h.Earned = earned
	}
	op.Status = StatusPosted
	return true, nil
}

// Fail marks op refused for good by the ledger and undoes its points: a
// credit's Pending comes off its lot; a debit's or an expiry's takes go
// back to their lots (a lot past its expiry is then due again). Failing a
// failed operation changes nothing.
//
// Errors: ErrOpResolved (op posted), ErrInvalidOp (a lot the op names is
// missing or does not hold its points).
func (h *Holder) Fail(op *Op) (changed bool, err error) {
	switch op.Status {
	case StatusFailed:
		return false, nil
	case StatusPosted:
		return false, fmt.Errorf("%w: op %s posted, cannot fail", ErrOpResolved, op.ID)
	}
	broken := fmt.Errorf("%w: op %s: a lot of user %s does not hold its points", ErrInvalidOp, op.ID, h.User)
	if op.Kind.Credit() {
		l := h.lot(op.Month)
		if l == nil || l.Pending < op.Points {
			return false, broken
		}
		l.Pending -= op.Points
		op.Status = StatusFailed
		return true, nil
	}
	for _, t := range op.Takes {
		l := h.lot(t.Month)
		if l == nil || (op.Kind == KindExpire && l.Expired < t.Points) || (op.Kind != KindExpire && l.Spent < t.Points) {
			return false, broken
		}
	}
	for _, t := range op.Takes {
		l := h.lot(t.Month)
		l.Remaining += t.Points
		if op.Kind == KindExpire {
			l.Expired -= t.Points
		} else {
			l.Spent -= t.Points
		}
	}
	if op.Kind == KindExpire {
		h.Expired -= op.Points
	} else {
		h.Spent -= op.Points
	}
	op.Status = StatusFailed
	return true, nil
}

// ExpireRequest is what an expiry of one lot needs besides the lot: the
// user's points account, the account expired points go to, and the ID of
// the lot's seq-th expiry (derived from user, month and seq, so that two
// sweepers name one expiry alike).
type ExpireRequest struct {
	Account, Counter uuid.UUID
	ID               func(m Month, seq int) uuid.UUID
}

// Expire expires what is left of lot m at now, if it is due (Lot.Due):
// its Remaining moves to Expired in a new pending operation of kind
// KindExpire, which it returns with ok true. A lot not due, or missing,
// changes nothing (ok false).
func (h *Holder) Expire(m Month, now time.Time, req ExpireRequest) (op Op, ok bool, err error) {
	l := h.lot(m)
	if l == nil || !l.Due(now) {
		return Op{}, false, nil
	}
	expired, err := add(h.Expired, l.Remaining)
	if err != nil {
		return Op{}, false, err
	}
	seq := l.Expiries + 1
	op = Op{
		ID: req.ID(m, seq), User: h.User, Kind: KindExpire, Points: l.Remaining, Month: m, LotExpiresAt: l.ExpiresAt,
		Takes: []Take{{Month: m, Points: l.Remaining}}, Account: req.Account, Counter: req.Counter,
		Status: StatusPending, CreatedAt: now,
	}
	if op.ID == uuid.Nil || op.Account == uuid.Nil || op.Counter == uuid.Nil {
		return Op{}, false, fmt.Errorf("%w: expiry of lot %s of user %s without its IDs", ErrInvalidOp, m, h.User)
	}
	l.Expired += l.Remaining
	l.Remaining = 0
	l.Expiries = seq
	h.Expired = expired
	return op, true, nil
}
