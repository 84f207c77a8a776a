package ledger

import (
	"context"
	"time"

	"github.com/socialpay/socialpay/internal/errset"
)

// MaintainReport says what Maintain did.
type MaintainReport struct {
	Expired int `json:"expired"` // pending transfers voided by their timeout
	// Errors are the first errors of the run (at most 10, then how many
	// more), also returned joined as Maintain's error.
	Errors []string `json:"errors,omitempty"`
}

// Maintain does the ledger's periodic work as of now: it voids the
// pending transfers whose timeout is at or before now (ExpirePending).
// It is the ledger's task for a scheduler (package maintain) and is safe
// on every instance at once: a pending transfer resolves once, whoever
// voids it. Run the ledger's task with the features' (a feature may find
// a hold voided by it and record that).
//
// Errors: the first errors of the run (see MaintainReport.Errors); ctx's.
func (l *Ledger) Maintain(ctx context.Context, now time.Time) (MaintainReport, error) {
	var rep MaintainReport
	var errs errset.Set
	n, err := l.ExpirePending(ctx, now)
	rep.Expired = n
	errs.Add("ledger: maintain", err)
	rep.Errors = errs.Strings()
	return rep, errs.Err()
}
