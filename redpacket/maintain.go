package redpacket

import (
	"context"
	"time"

	"github.com/socialpay/socialpay/internal/errset"
)

// MaintainReport says what Maintain did.
type MaintainReport struct {
	Refunded  int             `json:"refunded"` // expired packets refunded (RefundExpired)
	Reconcile ReconcileReport `json:"reconcile"`
	// Errors are the first errors of the run (at most 10, then how many
	// more), also returned joined as Maintain's error.
	Errors []string `json:"errors,omitempty"`
}

// Maintain does the periodic work of red packets as of now, in this
// order, going on past the packets that fail:
//
//  1. RefundExpired: packets expired at or before now give their
//     unclaimed remainder back to the sender;
//  2. Reconcile: what a crash or a failure left half done is finished
//     (refunds of step 1 included), and records that disagree with the
//     ledger are repaired.
//
// It is the feature's task for a scheduler (package maintain). Every step
// is idempotent, so it is safe on every instance at once: each packet is
// refunded once (racing runs may each count a refund they both saw
// finish).
//
// Errors: the first errors of the run (see MaintainReport.Errors); ctx's.
func (s *Service) Maintain(ctx context.Context, now time.Time) (MaintainReport, error) {
	var rep MaintainReport
	var errs errset.Set
	n, err := s.RefundExpired(ctx, now)
	rep.Refunded = n
	errs.Add("redpacket: refund expired", err)
	if ctx.Err() == nil {
		rep.Reconcile, err = s.Reconcile(ctx, now)
		errs.Add("redpacket: reconcile", err)
	}
	rep.Errors = errs.Strings()
	return rep, errs.Err()
}
