package qr

import (
	"context"
	"time"

	"github.com/socialpay/socialpay/internal/errset"
)

// MaintainReport says what Maintain did.
type MaintainReport struct {
	// Forgotten counts the redeemed payment codes too old to be accepted
	// again that were forgotten (Sweep); 0 without PaymentCodes.
	Forgotten int             `json:"forgotten"`
	Reconcile ReconcileReport `json:"reconcile"`
	// Errors are the first errors of the run (at most 10, then how many
	// more), also returned joined as Maintain's error.
	Errors []string `json:"errors,omitempty"`
}

// Maintain does the periodic work of QR payments as of now, in this
// order, going on past a step that fails:
//
//  1. Sweep, with PaymentCodes: redeemed payment codes too old to be
//     accepted again are forgotten;
//  2. Reconcile: payments that a crash left between their steps, older
//     than Config.ReconcileAfter, are finished, and records that disagree
//     with the ledger are repaired.
//
// It is the feature's task for a scheduler (package maintain); run the
// ledger's task too, which expires the holds of payments that never got
// further. Every step is idempotent, so it is safe on every instance at
// once.
//
// Errors: the first errors of the run (see MaintainReport.Errors),
// ErrRecordMismatch among them for records Reconcile left in
// disagreement; ctx's.
func (s *Service) Maintain(ctx context.Context, now time.Time) (MaintainReport, error) {
	var rep MaintainReport
	var errs errset.Set
	var err error
	if s.codes != nil {
		rep.Forgotten, err = s.sweep(ctx, now)
		errs.Add("qr: sweep payment codes", err)
	}
	if ctx.Err() == nil {
		rep.Reconcile, err = s.Reconcile(ctx, now)
		errs.Add("qr: reconcile", err)
	}
	rep.Errors = errs.Strings()
	return rep, errs.Err()
}
