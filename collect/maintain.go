package collect

import (
	"context"
	"time"

	"github.com/socialpay/socialpay/internal/errset"
)

// MaintainReport says what Maintain did.
type MaintainReport struct {
	Expired   int             `json:"expired"` // open requests past their expiry, expired (Sweep)
	Reconcile ReconcileReport `json:"reconcile"`
	// Errors are the first errors of the run (at most 10, then how many
	// more), also returned joined as Maintain's error.
	Errors []string `json:"errors,omitempty"`
}

// Maintain does the periodic work of bill splitting as of now, in this
// order, going on past the requests that fail:
//
//  1. Sweep: open requests whose expiry is at or before now expire;
//  2. Reconcile: requests that ended before now − Config.ReconcileAfter
//     with shares pending have the payments found on the ledger recorded.
//
// It is the feature's task for a scheduler (package maintain). Every step
// is idempotent, so it is safe on every instance at once: each request
// expires once.
//
// Errors: the first errors of the run (see MaintainReport.Errors); ctx's.
func (s *Service) Maintain(ctx context.Context, now time.Time) (MaintainReport, error) {
	var rep MaintainReport
	var errs errset.Set
	var err error
	rep.Expired, err = s.sweep(ctx, now)
	errs.Add("collect: sweep", err)
	if ctx.Err() == nil {
		rep.Reconcile, err = s.Reconcile(ctx, now)
		errs.Add("collect: reconcile", err)
	}
	rep.Errors = errs.Strings()
	return rep, errs.Err()
}
