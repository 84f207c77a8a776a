package campaign

import (
	"context"
	"time"

	"github.com/socialpay/socialpay/internal/errset"
)

// MaintainReport says what Maintain did.
type MaintainReport struct {
	Swept     int             `json:"swept"` // campaigns ended or sold out whose unclaimed budget went back (Sweep)
	Reconcile ReconcileReport `json:"reconcile"`
	// Errors are the first errors of the run (at most 10, then how many
	// more), also returned joined as Maintain's error.
	Errors []string `json:"errors,omitempty"`
}

// Maintain does the periodic work of campaigns as of now, in this order,
// going on past the campaigns that fail:
//
//  1. Sweep: campaigns that ended at or before now, or sold out, return
//     their unclaimed budget to the marketing account, and escrow
//     accounts with every prize paid are closed;
//  2. Reconcile: what a crash or a failure left half done (funding,
//     prizes, sweeps of step 1), older than Config.ReconcileAfter, is
//     finished.
//
// It is the feature's task for a scheduler (package maintain). Every step
// is idempotent, so it is safe on every instance at once: each budget
// goes back once (racing runs may each count a sweep they both saw
// finish).
//
// Errors: the first errors of the run (see MaintainReport.Errors); ctx's.
func (s *Service) Maintain(ctx context.Context, now time.Time) (MaintainReport, error) {
	var rep MaintainReport
	var errs errset.Set
	var err error
	rep.Swept, err = s.Sweep(ctx, now)
	errs.Add("campaign: sweep", err)
	if ctx.Err() == nil {
		rep.Reconcile, err = s.Reconcile(ctx, now)
		errs.Add("campaign: reconcile", err)
	}
	rep.Errors = errs.Strings()
	return rep, errs.Err()
}
