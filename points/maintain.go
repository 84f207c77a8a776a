package points

import (
	"context"
	"time"

	"github.com/socialpay/socialpay/internal/errset"
)

// MaintainReport says what Maintain did.
type MaintainReport struct {
	Sweep     SweepReport     `json:"sweep"`
	Reconcile ReconcileReport `json:"reconcile"`
	// Errors are the first errors of the run (at most 10, then how many
	// more), also returned joined as Maintain's error.
	Errors []string `json:"errors,omitempty"`
}

// Maintain does the periodic work of points as of now, in this order:
//
//  1. Sweep: the lots due at or before now expire, their points moved to
//     the Expired account;
//  2. Reconcile: operations a crash or a passing refusal left pending
//     (expiries of step 1 included) are finished.
//
// A step that fails stops where it is (the store failing, or the ledger
// refusing an expiry for good) and the next one runs. It is the feature's
// task for a scheduler (package maintain). Every step is idempotent, so
// it is safe on every instance at once: each lot expires once.
//
// Errors: the first errors of the run (see MaintainReport.Errors); ctx's.
func (s *Service) Maintain(ctx context.Context, now time.Time) (MaintainReport, error) {
	var rep MaintainReport
	var errs errset.Set
	var err error
	rep.Sweep, err = s.sweep(ctx, now)
	errs.Add("points: sweep", err)
	if ctx.Err() == nil {
		rep.Reconcile, err = s.Reconcile(ctx)
		errs.Add("points: reconcile", err)
	}
	rep.Errors = errs.Strings()
	return rep, errs.Err()
}
