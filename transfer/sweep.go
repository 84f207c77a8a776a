package transfer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/internal/telemetry"
)

// sweepPage is how many records a sweep reads at a time.
const sweepPage = 200

// maxSweepErrors bounds the errors a sweep returns; it carries on past
// the transfers that fail.
const maxSweepErrors = 10

// Get returns the receipt of a transfer to its payer or its payee.
//
// Errors: ErrRecordNotFound (also when party is neither).
func (s *Service) Get(ctx context.Context, party string, id uuid.UUID) (Receipt, error) {
	rec, err := s.store.Get(ctx, id)
	if err != nil {
		return Receipt{}, err
	}
	payee := party == rec.Payee.Holder && rec.Payee.Institution == s.institution
	if party == "" || party != rec.Payer && !payee {
		return Receipt{}, fmt.Errorf("%w: %s", ErrRecordNotFound, id)
	}
	return s.receipt(&rec), nil
}

// Cancel cancels payer's delayed transfer before it lands: the hold is
// voided and the money is the payer's again. A transfer lands at its
// DueAt, by the service's clock, however late the release sweep runs:
// from then on Cancel refuses with ErrArrived and leaves the hold for
// ReleaseDue to post. Before then, Cancel and release race safely: the
// ledger resolves the hold once, so exactly one of them wins, and the
// loser learns it. Cancelling a cancelled transfer again returns its
// receipt.
//
// Errors: ErrRecordNotFound (also for another payer's transfer),
// ErrNotCancellable, ErrArrived (its arrival time has come),
// ErrAlreadySettled (it landed first; with ErrArrived once its arrival
// time has come), a *FailedError, and store or ledger errors.
func (s *Service) Cancel(ctx context.Context, payer string, id uuid.UUID) (Receipt, error) {
	rec, err := s.store.Get(ctx, id)
	if err != nil {
		return Receipt{}, err
	}
	if rec.Payer != payer {
		return Receipt{}, fmt.Errorf("%w: %s", ErrRecordNotFound, id)
	}
	if !rec.Arrival.Delayed() {
		return Receipt{}, fmt.Errorf("transfer %s (%s): %w", id, rec.Arrival, ErrNotCancellable)
	}
	if now := s.now(); !now.Before(rec.DueAt) && (rec.State == StatePending || rec.State == StateSettled) {
		// Arrived: the payee's, landed or not. Every cancel from now on
		// answers the same, whether the sweep has run or not.
		err := fmt.Errorf("transfer %s arrived at %s: %w", id, rec.DueAt.Format(time.RFC3339Nano), ErrArrived)
		if rec.State == StateSettled {
			err = fmt.Errorf("%w: %w", err, ErrAlreadySettled)
		}
		return s.receipt(&rec), err
	}
	rec, _, err = s.resolve(ctx, rec, stepCancel)
	return s.outcome(rec, err, StateCancelled, ReasonCancelled)
}

// Accept accepts a chat transfer for its payee: the hold is posted and the
// money is theirs. Accept, Decline and expiry race safely: exactly one
// wins. Accepting an accepted transfer again returns its receipt.
//
// Errors: ErrRecordNotFound (also for another payee's transfer),
// ErrNotChat, ErrChatExpired (at or after its DueAt), ErrAlreadyCancelled
// (declined), a *FailedError, and store or ledger errors (a frozen payee
// account, say).
func (s *Service) Accept(ctx context.Context, payee string, id uuid.UUID) (Receipt, error) {
	rec, err := s.chat(ctx, payee, id)
	if err != nil {
		return Receipt{}, err
	}
	step := stepPost
	if rec.State == StatePending && !s.now().Before(rec.DueAt) {
		step = stepExpire // too late: it goes back to the payer
	}
	rec, _, err = s.resolve(ctx, rec, step)
	return s.outcome(rec, err, StateSettled, "")
}

// Decline declines a chat transfer for its payee: the hold is voided and
// the money goes back to the payer. Declining a declined transfer again
// returns its receipt.
//
// Errors: ErrRecordNotFound, ErrNotChat, ErrAlreadySettled,
// ErrChatExpired, a *FailedError, and store or ledger errors.
func (s *Service) Decline(ctx context.Context, payee string, id uuid.UUID) (Receipt, error) {
	rec, err := s.chat(ctx, payee, id)
	if err != nil {
		return Receipt{}, err
	}
	rec, _, err = s.resolve(ctx, rec, stepDecline)
	return s.outcome(rec, err, StateCancelled, ReasonDeclined)
}

// chat returns payee's chat transfer id.
func (s *Service) chat(ctx context.Context, payee string, id uuid.UUID) (Record, error) {
	rec, err := s.store.Get(ctx, id)
	if err != nil {
		return Record{}, err
	}
	if rec.Payee.Holder != payee || rec.Payee.Institution != s.institution {
		return Record{}, fmt.Errorf("%w: %s", ErrRecordNotFound, id)
	}
	if rec.Arrival != ArriveOnAccept {
		return Record{}, fmt.Errorf("transfer %s (%s): %w", id, rec.Arrival, ErrNotChat)
	}
	return rec, nil
}

// outcome answers a Cancel, Accept or Decline that wanted rec to end in
// state want (with reason): its receipt, or why it ended otherwise.
func (s *Service) outcome(rec Record, err error, want State, reason string) (Receipt, error) {
	r := s.receipt(&rec)
	if err != nil {
		return r, err
	}
	se := &StateError{ID: rec.ID, State: rec.State, Reason: rec.Reason}
	switch {
	case rec.State == want && rec.Reason == reason:
		return r, nil
	case rec.State == StateSettled:
		return r, fmt.Errorf("%w: %w", ErrAlreadySettled, se)
	case rec.State == StateCancelled && rec.Reason == ReasonExpired:
		return r, fmt.Errorf("%w: %w", ErrChatExpired, se)
	case rec.State == StateCancelled:
		return r, fmt.Errorf("%w: %w", ErrAlreadyCancelled, se)
	case rec.State == StateFailed, rec.State == StateFailing:
		return r, &FailedError{ID: rec.ID, Reason: rec.Reason}
	}
	// Still pending: the ledger refused neither way (cannot happen unless
	// a store lost a write); report it as the conflict it is.
	return r, se
}

// ReleaseDue lands the delayed transfers due at or before now: each hold
// is posted and its record settled. It walks the due transfers by cursor,
// so a transfer it cannot land now (a frozen payee account) does not stop
// the rest; such errors are returned together (the first 10, and a
// count) and the transfer stays due for the next sweep. Concurrent sweeps (on one
// instance or many) land each transfer once: released counts the holds
// this call posted, so the counts of racing sweeps add up to the
// transfers landed. Maintain runs it.
func (s *Service) ReleaseDue(ctx context.Context, now time.Time) (released int, err error) {
	ctx, sw := s.tel.StartSweep(ctx, "release_due")
	defer func() { sw.End(ctx, err, telemetry.Item{Result: "released", N: released}) }()
	return s.sweep(ctx, IndexReleases, now, func(rec Record) (bool, error) {
		_, applied, err := s.resolve(ctx, rec, stepPost)
		return applied, err
	})
}

// ExpireChats returns to their payers the chat transfers not accepted by
// their DueAt, at or before now, and returns how many holds this call
// voided. It races Accept and Decline safely, and other sweeps too. A
// chat transfer whose hold the ledger's own expiry (ledger.ExpirePending)
// already voided is recorded as expired without being counted. Maintain
// runs it.
func (s *Service) ExpireChats(ctx context.Context, now time.Time) (expired int, err error) {
	ctx, sw := s.tel.StartSweep(ctx, "expire_chats")
	defer func() { sw.End(ctx, err, telemetry.Item{Result: "expired", N: expired}) }()
	return s.sweep(ctx, IndexChats, now, func(rec Record) (bool, error) {
		_, applied, err := s.resolve(ctx, rec, stepExpire)
		return applied, err
	})
}

// ReconcileReport says what a Reconcile did. Each count is of the
// records this call moved (the transition it won), so the reports of
// racing Reconciles add up; Held and Failing are the exceptions.
type ReconcileReport struct {
	Visited   int `json:"visited"`   // unfinished records visited
	Settled   int `json:"settled"`   // pending records settled: an immediate transfer made, or a posted hold recorded
	Cancelled int `json:"cancelled"` // pending records whose voided or expired hold was recorded
	Held      int `json:"held"`      // pending delayed or chat records whose hold was placed or found pending (racing calls each count it)
	Failed    int `json:"failed"`    // records failed for good, the ledger proven clean
	// Undone counts, of Failed, the records whose state disagreed with the
	// ledger: the ledger had let their transfer through after refusing
	// it (a concurrent attempt), and this call undid it.
	Undone int `json:"undone"`
	// Failing counts the records left failing: the ledger transfer that
	// got through cannot be undone yet (the error says why), or an
	// attempt at it may still be in flight. They keep counting towards
	// their payer's daily total until a later Reconcile finishes them.
	Failing int `json:"failing"`
}

// Reconcile finishes the records that a crash (or a lost answer) left
// unfinished, created at or before now − Config.ReconcileAfter (the grace
// period, longer than a Send takes):
//
//   - a pending immediate transfer is made and settled, a pending delayed
//     or chat transfer gets its hold (or is settled or cancelled as its
//     hold was resolved), and one the ledger refuses becomes failing;
//   - a failing record (refused, but the ledger not yet proven clean) has
//     whatever of its ledger transfer got through undone and is failed
//     for good, which releases its daily total. An attempt at it counted
//     in flight for longer than the grace period (refused at or before
//     now − ReconcileAfter) is taken to have crashed.
//
// It goes on past the records it cannot finish and returns their errors
// (the first 10, and a count). Maintain runs it after ReleaseDue and
// ExpireChats; it is safe alongside everything else, and from several
// processes at once.
func (s *Service) Reconcile(ctx context.Context, now time.Time) (rep ReconcileReport, err error) {
	ctx, sw := s.tel.StartSweep(ctx, "reconcile")
	defer func() { sw.End(ctx, err, rep.items()...) }()
	createdBefore := now.Add(-s.reconcileAfter)
	var tl tally
	_, err = s.sweep(ctx, IndexCreated, createdBefore, func(rec Record) (bool, error) {
		rep.Visited++
		next, err := s.reconcile(ctx, rec, createdBefore, &tl)
		if next.State == StateFailing {
			rep.Failing++
		}
		return false, err
	})
	rep.Settled, rep.Cancelled, rep.Held, rep.Failed, rep.Undone = tl.settled, tl.cancelled, tl.held, tl.failed, tl.undone
	return rep, err
}

func (s *Service) reconcile(ctx context.Context, rec Record, stale time.Time, tl *tally) (Record, error) {
	if rec.State == StateFailing {
		return s.clean(ctx, rec, stale, tl)
	}
	if rec.Arrival.held() {
		hold, err := s.ledger.LookupTransfer(ctx, s.ledgerID(&rec, stepHold))
		if err == nil {
			next, won, err := s.syncHold(ctx, rec, &hold)
			tl.count(won, next.State)
			if err == nil && next.State == StatePending {
				tl.held++
			}
			return next, err
		}
	}
	return s.attempt(ctx, rec, tl)
}

// sweep applies do to the records of index ix up to before, page
// by page, past the ones that fail (they stay for the next sweep): the
// first maxSweepErrors errors are returned, with a count of the rest.
func (s *Service) sweep(ctx context.Context, ix Index, before time.Time, do func(Record) (bool, error)) (int, error) {
	n, more := 0, 0 // more: the failures past the first maxSweepErrors
	var errs []error
	done := func(err error) (int, error) {
		if more > 0 {
			errs = append(errs, fmt.Errorf("transfer: %d more transfers failed", more))
		}
		return n, errors.Join(append(errs, err)...)
	}
	var cursor Cursor
	for {
		recs, err := s.store.Scan(ctx, ScanQuery{Index: ix, After: cursor, Before: before, Limit: sweepPage})
		if err != nil {
			return done(err)
		}
		for i := range recs {
			moved, err := do(recs[i])
			if moved {
				n++
			}
			switch {
			case err == nil:
			case ctx.Err() != nil:
				return done(err)
			case len(errs) < maxSweepErrors:
				errs = append(errs, fmt.Errorf("transfer %s: %w", recs[i].ID, err))
			default:
				more++
			}
		}
		if len(recs) < sweepPage {
			return done(nil)
		}
		cursor = CursorOf(ix, &recs[len(recs)-1])
	}
}
