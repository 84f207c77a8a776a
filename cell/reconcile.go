package cell

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

func notFound(id uuid.UUID) error { return fmt.Errorf("%w: %s", ErrPaymentNotFound, id) }

// ReconcileReport says what Reconcile did.
type ReconcileReport struct {
	Completed int `json:"completed"` // open payments it completed
	Failed    int `json:"failed"`    // open payments whose hold was never placed, abandoned
	Reversed  int `json:"reversed"`  // open payments whose credit was refused, reversed
	StillOpen int `json:"still_open"`
	// Errors are the first errors of the run (at most 10, then how many
	// more), also returned joined as Reconcile's error.
	Errors []string `json:"errors,omitempty"`
}

const (
	reconcilePage = 100
	maxErrors     = 10
)

// Reconcile drives every payment between cells that is open and was
// recorded at least Config.ReconcileAfter before now to its end: a payment
// whose hold is in place is completed, or reversed when the payee's cell
// refuses the credit; a payment whose hold was never placed (its request
// ended before) is abandoned: its hold's ID is fenced and it fails. It
// goes on past payments that fail to move (a store down, a payer's
// account frozen between credit and post), which stay open for the next
// run. Safe on every instance at once: every step is idempotent and
// fenced, so racing runs and requests drive each payment to one end.
//
// Errors: the first errors of the run (see ReconcileReport.Errors); ctx's.
func (c *Cells) Reconcile(ctx context.Context, now time.Time) (ReconcileReport, error) {
	var rep ReconcileReport
	var errs []error
	before := now.Add(-c.after)
	names := c.router.Names()
	for _, name := range names {
		cl := c.cells[name]
		var cur Cursor
		for {
			if err := ctx.Err(); err != nil {
				return rep, finishReport(&rep, append(errs, err))
			}
			ps, err := cl.Store.Open(ctx, before, cur, reconcilePage)
			if err != nil {
				errs = append(errs, fmt.Errorf("cell %s: listing open payments: %w", name, err))
				break
			}
			for _, p := range ps {
				done, err := c.drive(ctx, p, true)
				switch {
				case done.State == StateCompleted:
					rep.Completed++
				case done.State == StateFailed:
					rep.Failed++
				case done.State == StateReversed:
					rep.Reversed++
				default:
					rep.StillOpen++
					errs = append(errs, err)
				}
			}
			if len(ps) < reconcilePage {
				break
			}
			cur = Next(ps[len(ps)-1])
		}
	}
	return rep, finishReport(&rep, errs)
}

func finishReport(rep *ReconcileReport, errs []error) error {
	errs = slices.DeleteFunc(errs, func(err error) bool { return err == nil })
	for i, err := range errs {
		if i == maxErrors {
			rep.Errors = append(rep.Errors, fmt.Sprintf("and %d more", len(errs)-maxErrors))
			break
		}
		rep.Errors = append(rep.Errors, err.Error())
	}
	return errors.Join(errs...)
}

// ClearingReport is the position of every cell's clearing accounts in one
// currency, summed over the cells.
type ClearingReport struct {
	Currency ledger.Currency `json:"currency"`
	// Posted is what payers' cells have posted to their clearing
	// accounts (credits posted): payments completed.
	Posted int64 `json:"posted"`
	// Credited is what payees' cells have paid out of their clearing
	// accounts (debits posted): payees credited.
	Credited int64 `json:"credited"`
	// Held is what payers' cells hold for payments in flight (credits
	// pending).
	Held int64 `json:"held"`
}

// Settled reports whether no payment is in flight in the report: nothing
// held and every credit posted. The clearing accounts then net to zero
// across the cells.
func (r ClearingReport) Settled() bool { return r.Held == 0 && r.Posted == r.Credited }

// CheckClearing checks that the cells' clearing accounts in currency cur
// balance, which holds at every instant, under load too, and needs no
// snapshot across cells:
//
//   - no payer's cell posts before its payee was credited: Posted ≤
//     Credited;
//   - no payee is credited what its payer's cell does not hold or has not
//     posted: Credited ≤ Posted + Held.
//
// So money is never created between cells; once no payment is in flight
// (Held is 0 and Settled), every clearing account's balances across the
// cells net to zero. Posted and Credited only ever grow, and a payment's
// hold moves from Held to Posted in one step, so CheckClearing reads every
// clearing account three times, in the order that makes both checks exact
// without a snapshot: Posted first, Credited second, Posted and Held
// last; the report gives the last two reads.
//
// Errors: ErrClearing saying which check failed; the ledgers' errors.
func (c *Cells) CheckClearing(ctx context.Context, cur ledger.Currency) (ClearingReport, error) {
	rep := ClearingReport{Currency: cur}
	var reads [3]ledger.Balance // every clearing account's totals, summed, read three times
	for i := range reads {
		for _, name := range c.router.names {
			for s := range c.shards {
				a, err := c.cells[name].Ledger.Account(ctx, c.ClearingAccountID(name, cur, s))
				switch {
				case errors.Is(err, ledger.ErrAccountNotFound):
					continue
				case err != nil:
					return rep, fmt.Errorf("cell %s: clearing account %d: %w", name, s, err)
				}
				reads[i].CreditsPosted += a.Balance.CreditsPosted
				reads[i].CreditsPending += a.Balance.CreditsPending
				reads[i].DebitsPosted += a.Balance.DebitsPosted
			}
		}
	}
	posted, credited := reads[0].CreditsPosted, reads[1].DebitsPosted
	covered := reads[2].CreditsPosted + reads[2].CreditsPending
	rep.Posted, rep.Credited, rep.Held = reads[2].CreditsPosted, credited, reads[2].CreditsPending
	switch {
	case posted > credited:
		return rep, fmt.Errorf("%w: %s: %d posted by payers' cells before their payees were credited (posted %d, credited %d)",
			ErrClearing, cur, posted-credited, posted, credited)
	case credited > covered:
		return rep, fmt.Errorf("%w: %s: %d credited to payees that no payer's cell holds or posted (credited %d, posted and held %d)",
			ErrClearing, cur, credited-covered, credited, covered)
	}
	return rep, nil
}
