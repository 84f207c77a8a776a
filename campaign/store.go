package campaign

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// TryInput is a try as a store records it.
type TryInput struct {
	User    uuid.UUID
	Account uuid.UUID
	Seq     int
	At      time.Time
	// Limits, when not nil (the Service passes them only when LimitsOn
	// accepts its Limiter), are the rate limiter's keys: the store takes
	// one token from each, all or none, by Rate.Allow on the limiter's
	// own shared buckets, in the try's step and before anything else.
	// Refused, Try returns the *RateLimitError and records nothing; taken,
	// the tokens stay taken whatever Take decides (retries cost a token
	// too, as with Limiter.Allow).
	Limits []LimitKey
}

// TryResult is what Store.Try did.
type TryResult struct {
	Try      Try
	Existing bool  // the try was recorded before: a retry, nothing changed
	State    State // the campaign's state after
	// PayErr is the ledger's refusal (or failure) of the new winning try's
	// payment made in the store's step; the try is recorded unpaid.
	PayErr error
}

// Cursor is a position in the (EndsAt, ID) order of Unsettled.
type Cursor struct {
	EndsAt time.Time `json:"ends_at"`
	ID     uuid.UUID `json:"id"`
}

// CursorOf returns the cursor just at c.
func CursorOf(c *Campaign) Cursor { return Cursor{EndsAt: c.EndsAt, ID: c.ID} }

// Store keeps campaigns, their tries and each user's counts. A store
// locks, loads and persists; every decision is one of the pure methods of
// *Campaign (Validate, Open, Cancel, Take, MarkPaid, BeginSweep,
// FinishSweep, Settle), which the store calls with the campaign (and for
// Take, the user) locked. A store never decides a payment: a ledger
// transfer the Service builds is applied by the ledger's own rules.
//
// Implementations must be safe for concurrent use by many goroutines (and,
// for a database, many processes) and pass campaigntest.Run. Campaigns a
// store returns carry their Draw (NewDraw of Seed and Schedule; a store
// may keep it per campaign ID, since it never changes).
//
// The error return of every method wraps the sentinels listed, or reports
// the store itself failing (context cancelled, database unreachable), in
// which case nothing changed unless the method says otherwise.
type Store interface {
	// Create records a new campaign (c.Validate must pass, status
	// funding, nothing taken). If a campaign with c.ID exists, it returns
	// the stored one with ErrCampaignExists and changes nothing.
	//
	// Errors: ErrInvalidCampaign, ErrCampaignExists.
	Create(ctx context.Context, c Campaign) (Campaign, error)

	// Campaign returns a campaign with its state.
	//
	// Errors: ErrCampaignNotFound.
	Campaign(ctx context.Context, id uuid.UUID) (Campaign, error)

	// Open applies Campaign.Open.
	//
	// Errors: ErrCampaignNotFound, ErrCancelled.
	Open(ctx context.Context, id uuid.UUID) (State, error)

	// Cancel applies Campaign.Cancel.
	//
	// Errors: ErrCampaignNotFound, ErrAlreadyFunded.
	Cancel(ctx context.Context, id uuid.UUID) (State, error)

	// PaysOn reports whether Try applies payments on ls (the same store,
	// or the same database and schema), so that a winning try and its
	// payment are one atomic step.
	PaysOn(ls ledger.Store) bool

	// LimitsOn reports whether Try takes lim's tokens in its own step
	// (TryInput.Limits): lim keeps its buckets where the store keeps its
	// tries (package postgres's CampaignLimiter on the store's database
	// and schema), so a try costs one transaction, not two.
	LimitsOn(lim Limiter) bool

	// Try records user's try number in.Seq in one atomic step: if that
	// try is recorded, it is returned with Existing set and nothing
	// changes (whatever the campaign's state); otherwise Campaign.Take
	// decides it with the user's Player, and the try and the new counts
	// are recorded, (campaign, user, seq) and (campaign, slot) unique.
	//
	// If payment is not nil (the Service passes it only when PaysOn
	// accepts its ledger's store) and the new try won, payment(try) is the
	// ledger transfer of its prize, applied in the same step by the
	// ledger's rules: applied (or applied before: a duplicate), the try is
	// recorded paid (Campaign.MarkPaid); refused or failed, the try is
	// recorded unpaid and TryResult.PayErr says why.
	//
	// Errors: ErrCampaignNotFound, ErrRateLimited (a *RateLimitError, only
	// with in.Limits), and those of Campaign.Take:
	// ErrNotFunded, ErrCancelled, ErrClosed, ErrNotOpen, ErrEnded,
	// ErrSoldOut, ErrTryOutOfOrder, ErrUserCap, ErrDailyCap, ErrWinCap.
	Try(ctx context.Context, id uuid.UUID, in TryInput, payment func(Try) ledger.Transfer) (TryResult, error)

	// LookupTry returns user's try number seq.
	//
	// Errors: ErrCampaignNotFound, ErrTryNotFound.
	LookupTry(ctx context.Context, id, user uuid.UUID, seq int) (Try, error)

	// MarkPaid applies Campaign.MarkPaid to user's try seq: its prize moved
	// (paid, or forfeited and returned). Marking a marked try changes
	// nothing. It returns the campaign's state after.
	//
	// Errors: ErrCampaignNotFound, ErrTryNotFound.
	MarkPaid(ctx context.Context, id, user uuid.UUID, seq int, forfeited bool) (State, error)

	// BeginSweep applies Campaign.BeginSweep at now, atomically with
	// respect to Try: every try is recorded before it (and its prize is
	// left out of the refund) or refused after it. It returns the
	// campaign, whose Refund() is then the amount to return. Concurrent
	// calls agree on one refund.
	//
	// Errors: ErrCampaignNotFound, ErrNotFunded, ErrCancelled, ErrNotEnded.
	BeginSweep(ctx context.Context, id uuid.UUID, now time.Time) (Campaign, error)

	// FinishSweep applies Campaign.FinishSweep.
	//
	// Errors: ErrCampaignNotFound, ErrNotSweeping.
	FinishSweep(ctx context.Context, id uuid.UUID) (State, error)

	// Settle applies Campaign.Settle: the escrow account is closed.
	//
	// Errors: ErrCampaignNotFound, ErrNotFinished.
	Settle(ctx context.Context, id uuid.UUID) (State, error)

	// Tries returns up to limit tries with Slot > after, in slot order: the
	// campaign's public log (after = -1 starts at slot 0).
	//
	// Errors: ErrCampaignNotFound.
	Tries(ctx context.Context, id uuid.UUID, after, limit int) ([]Try, error)

	// Unpaid returns up to limit winning tries not marked paid, in slot
	// order, with Slot > after.
	//
	// Errors: ErrCampaignNotFound.
	Unpaid(ctx context.Context, id uuid.UUID, after, limit int) ([]Try, error)

	// Unsettled returns up to limit campaigns for which State.NeedsWork
	// holds, in (EndsAt, ID) order, strictly after cursor. It returns
	// fewer than limit only when no more qualify.
	Unsettled(ctx context.Context, after Cursor, limit int) ([]Campaign, error)
}
