package transfer

import (
	"context"
	"time"

	"github.com/socialpay/socialpay/internal/errset"
)

// MaintainReport says what Maintain did.
type MaintainReport struct {
	Released  int             `json:"released"` // delayed transfers landed (ReleaseDue)
	Expired   int             `json:"expired"`  // chat transfers returned to their payers (ExpireChats)
	Reconcile ReconcileReport `json:"reconcile"`
	// Errors are the first errors of the run (at most 10, then how many
	// more), also returned joined as Maintain's error.
	Errors []string `json:"errors,omitempty"`
}

// Maintain does the periodic work of phone transfers as of now, in this
// order, going on past the transfers that fail:
//
//  1. ReleaseDue: delayed transfers due at or before now land;
//  2. ExpireChats: chat transfers not accepted by now go back to their
//     payers;
//  3. Reconcile: records that a crash or a lost answer left unfinished,
//     older than Config.ReconcileAfter, are finished.
//
// It is the feature's task for a scheduler (package maintain). Every step
// resolves each transfer once, whoever runs it, so it is safe on every
// instance at once and the counts of racing runs add up.
//
// Errors: the first errors of the run (see MaintainReport.Errors); ctx's.
func (s *Service) Maintain(ctx context.Context, now time.Time) (MaintainReport, error) {
	var rep MaintainReport
	var errs errset.Set
	var err error
	rep.Released, err = s.ReleaseDue(ctx, now)
	errs.Add("transfer: release due", err)
	if ctx.Err() == nil {
		rep.Expired, err = s.ExpireChats(ctx, now)
		errs.Add("transfer: expire chats", err)
	}
	if ctx.Err() == nil {
		rep.Reconcile, err = s.Reconcile(ctx, now)
		errs.Add("transfer: reconcile", err)
	}
	rep.Errors = errs.Strings()
	return rep, errs.Err()
}
