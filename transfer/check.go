package transfer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

// ErrRecordDisagrees means a transfer record's state contradicts the
// ledger: a settled transfer whose money did not move, a failed or
// cancelled one whose money did. It comes in a *CheckError.
var ErrRecordDisagrees = errcode.New("records_disagree", errcode.Internal, "transfer: record disagrees with the ledger")

// LedgerFacts is what the ledger holds of one record, as Check reads it.
type LedgerFacts struct {
	// Transfer is the record's ledger transfer: the payment of an
	// immediate transfer, the hold of the others; nil if the ledger has
	// none.
	Transfer *ledger.Transfer
	// Undone says the service's undo of it is on the ledger: the reversal
	// of the payment or of the hold's post.
	Undone bool
}

// CheckRecord is the rule of Check: whether a record's state agrees with
// what the ledger holds of it.
//
//   - pending and failing records are unfinished: any ledger state agrees
//     (Reconcile finishes them);
//   - settled: the payment is committed, or the hold posted, and not
//     undone;
//   - cancelled: the hold is absent (a crash came before it), voided or
//     expired;
//   - failed: the ledger transfer is absent, voided or expired, or undone.
//
// Errors: ErrRecordDisagrees, saying what the ledger holds.
func CheckRecord(r *Record, f LedgerFacts) error {
	t := f.Transfer
	var moved bool // the payee has the money, as far as the ledger says
	switch {
	case t == nil:
	case r.Arrival.held():
		moved = t.Status == ledger.StatusPosted && !f.Undone
	default:
		moved = t.Status == ledger.StatusCommitted && !f.Undone
	}
	held := t != nil && t.Status == ledger.StatusPending
	var ok bool
	switch r.State {
	case StatePending, StateFailing:
		ok = true
	case StateSettled:
		ok = moved
	case StateCancelled, StateFailed:
		ok = !moved && !held
	}
	if ok {
		return nil
	}
	what := "no ledger transfer"
	if t != nil {
		what = fmt.Sprintf("ledger transfer %s", t.Status)
		if f.Undone {
			what += ", undone"
		}
	}
	return fmt.Errorf("%w: %s", ErrRecordDisagrees, what)
}

// CheckError says which record disagrees with the ledger, and how. It
// wraps ErrRecordDisagrees.
type CheckError struct {
	ID    uuid.UUID
	State State
	Err   error // from CheckRecord
}

func (e *CheckError) Error() string {
	return fmt.Sprintf("transfer %s (%s): %v", e.ID, e.State, e.Err)
}

// Unwrap returns the rule's error.
func (e *CheckError) Unwrap() error { return e.Err }

// CheckReport says what Check saw.
type CheckReport struct {
	Records    int `json:"records"`    // records checked
	Unfinished int `json:"unfinished"` // of them, pending or failing: for Reconcile, not wrong
	Disagree   int `json:"disagree"`   // of them, in a state the ledger contradicts
}

// Check proves the transfer records sound against the ledger, beside
// ledger.Verify: every record created in (createdAfter, createdBefore]
// is held to CheckRecord with its ledger transfers as the ledger has them
// now. It reads each record's ledger transfers, so bound the window on a
// large store.
//
// Errors: *CheckError (ErrRecordDisagrees) for the records that
// disagree, the first 10 and a count, joined; and store or ledger errors.
func (s *Service) Check(ctx context.Context, createdAfter, createdBefore time.Time) (CheckReport, error) {
	var rep CheckReport
	var errs []error
	cursor := Cursor{At: createdAfter, ID: uuid.Max}
	if createdAfter.IsZero() {
		cursor = Cursor{}
	}
	for {
		recs, err := s.store.Scan(ctx, ScanQuery{Index: IndexAll, After: cursor, Before: createdBefore, Limit: sweepPage})
		if err != nil {
			return rep, errors.Join(append(errs, err)...)
		}
		for i := range recs {
			r := &recs[i]
			rep.Records++
			if r.State.Unfinished() {
				rep.Unfinished++
				continue
			}
			f, err := s.ledgerFacts(ctx, r)
			if err != nil {
				return rep, errors.Join(append(errs, err)...)
			}
			if err := CheckRecord(r, f); err != nil {
				rep.Disagree++
				if len(errs) < maxSweepErrors {
					errs = append(errs, &CheckError{ID: r.ID, State: r.State, Err: err})
				}
			}
		}
		if len(recs) < sweepPage {
			break
		}
		cursor = CursorOf(IndexAll, &recs[len(recs)-1])
	}
	if more := rep.Disagree - len(errs); more > 0 {
		errs = append(errs, fmt.Errorf("%w: %d more records", ErrRecordDisagrees, more))
	}
	return rep, errors.Join(errs...)
}

// ledgerFacts reads what the ledger holds of r.
func (s *Service) ledgerFacts(ctx context.Context, r *Record) (LedgerFacts, error) {
	var f LedgerFacts
	t, err := s.ledger.LookupTransfer(ctx, r.ID) // the payment or the hold
	switch {
	case errors.Is(err, ledger.ErrTransferNotFound):
		return f, nil
	case err != nil:
		return f, err
	}
	if timedOut(&t, s.now()) {
		t.Status = ledger.StatusExpired // the ledger's expiry is late or under way
	}
	f.Transfer = &t
	if t.Status == ledger.StatusCommitted || t.Status == ledger.StatusPosted {
		_, err := s.ledger.LookupTransfer(ctx, s.ledgerID(r, stepUndo))
		switch {
		case err == nil:
			f.Undone = true
		case !errors.Is(err, ledger.ErrTransferNotFound):
			return f, err
		}
	}
	return f, nil
}
