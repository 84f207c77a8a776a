package campaign

import "github.com/socialpay/socialpay/errcode"

// Errors returned by this package. Each is wrapped with where it happened
// and the values that broke the rule ("campaign 6f1…: try 4 of user 9a2…:
// campaign: tries per user reached: 3 tries, cap 3"); test for them with
// errors.Is, and answer them with errcode.Of (the code and class of each
// are in docs/errors.md).
var (
	// Creation rules (Rules.Check, Caps.Validate, NewDraw).

	// ErrInvalidSchedule: a prize schedule that breaks a rule: no tiers,
	// too many tiers, a count below 1, a negative prize or one above
	// Rules.MaxPrize, no prize at all, more slots than Rules.MaxSlots.
	ErrInvalidSchedule = errcode.New("invalid_schedule", errcode.Invalid, "campaign: invalid prize schedule")
	// ErrOverflow: the budget (the sum of every slot's prize) or a slot
	// count overflows.
	ErrOverflow = errcode.New("amount_overflow", errcode.Invalid, "campaign: amount overflows int64")
	// ErrInvalidCaps: caps per user that cannot be used (a try cap below
	// 1 or above MaxTriesPerUser, a daily cap above the campaign's, a day
	// offset beyond ±14 h).
	ErrInvalidCaps = errcode.New("invalid_caps", errcode.Invalid, "campaign: invalid caps")
	// ErrInvalidWindow: an end time not after the opening instant, or a
	// window longer than Rules.MaxDuration.
	ErrInvalidWindow = errcode.New("invalid_window", errcode.Invalid, "campaign: invalid opening window")
	// ErrInvalidRules: a Rules value that cannot be used (see Rules.Validate).
	ErrInvalidRules = errcode.New("invalid_rules", errcode.Internal, "campaign: invalid rules")
	// ErrInvalidRate: a rate limit with a burst below 1 or a period
	// below 1 ns.
	ErrInvalidRate = errcode.New("invalid_rate_limit", errcode.Internal, "campaign: invalid rate limit")
	// ErrBadSeed: a revealed seed whose SHA-256 is not the published
	// commitment.
	ErrBadSeed = errcode.New("seed_mismatch", errcode.Invalid, "campaign: seed does not match the commitment")
	// ErrDrawMismatch: a recorded try whose prize is not the one the draw
	// puts at its slot, or a try log that is not one try per slot in
	// order.
	ErrDrawMismatch = errcode.New("draw_mismatch", errcode.Internal, "campaign: try log does not match the draw")

	// Service and store errors.

	// ErrInvalidRequest: a malformed request (a missing ID, account or
	// user, a device or name that is empty, too long or not storable
	// text, a try number out of range).
	ErrInvalidRequest = errcode.New("invalid_request", errcode.Invalid, "campaign: invalid request")
	// ErrInvalidConfig: a Config that New cannot use.
	ErrInvalidConfig = errcode.New("invalid_config", errcode.Internal, "campaign: invalid service configuration")
	// ErrUnsupportedCurrency: no Rules for the prizes' currency, or prizes
	// in more than one currency.
	ErrUnsupportedCurrency = errcode.New("unsupported_currency", errcode.Invalid, "campaign: currency not offered for campaigns")
	// ErrInvalidCampaign: a Campaign a store was asked to record breaks an
	// invariant (see Campaign.Validate).
	ErrInvalidCampaign = errcode.New("invalid_campaign", errcode.Internal, "campaign: invalid campaign")
	// ErrCampaignExists: a campaign with this ID is already recorded.
	ErrCampaignExists = errcode.New("campaign_exists", errcode.Conflict, "campaign: campaign already exists")
	// ErrCampaignConflict: a create request reused a campaign ID with
	// different content.
	ErrCampaignConflict = errcode.New("idempotency_conflict", errcode.Conflict, "campaign: campaign ID reused with different content")
	// ErrCampaignNotFound: no campaign has this ID.
	ErrCampaignNotFound = errcode.New("campaign_not_found", errcode.NotFound, "campaign: campaign not found")
	// ErrTryNotFound: the user has no try with this number.
	ErrTryNotFound = errcode.New("try_not_found", errcode.NotFound, "campaign: try not found")
	// ErrNotFunded: the campaign is recorded but its budget has not reached
	// escrow yet.
	ErrNotFunded = errcode.New("not_funded", errcode.Unavailable, "campaign: campaign not funded yet")
	// ErrCancelled: the campaign was never funded (the marketing account's
	// payment was refused) and is cancelled; nothing moved.
	ErrCancelled = errcode.New("campaign_cancelled", errcode.Conflict, "campaign: campaign cancelled")
	// ErrAlreadyFunded: a funded campaign cannot be cancelled.
	ErrAlreadyFunded = errcode.New("already_funded", errcode.Conflict, "campaign: campaign already funded")
	// ErrNotOpen: the campaign opens later.
	ErrNotOpen = errcode.New("not_open", errcode.Conflict, "campaign: campaign not open yet")
	// ErrEnded: the campaign's end time has passed; it takes no more tries.
	ErrEnded = errcode.New("ended", errcode.Conflict, "campaign: campaign ended")
	// ErrSoldOut: every prize has been won; the campaign takes no more tries.
	ErrSoldOut = errcode.New("sold_out", errcode.Conflict, "campaign: every prize won")
	// ErrClosed: the campaign has been swept (its unclaimed budget is
	// going or gone back to the marketing account); it takes no more tries.
	ErrClosed = errcode.New("closed", errcode.Conflict, "campaign: campaign closed")
	// ErrNotEnded: a sweep was asked for before the campaign ended or sold out.
	ErrNotEnded = errcode.New("not_ended", errcode.Conflict, "campaign: campaign not ended")
	// ErrNotSweeping: a sweep was finished for a campaign not being swept.
	ErrNotSweeping = errcode.New("not_sweeping", errcode.Conflict, "campaign: campaign is not being swept")
	// ErrNotFinished: a campaign was settled before it was swept and every
	// prize paid.
	ErrNotFinished = errcode.New("not_finished", errcode.Conflict, "campaign: campaign not finished")
	// ErrNotRevealed: the seed is secret until the campaign is swept.
	ErrNotRevealed = errcode.New("not_revealed", errcode.Conflict, "campaign: seed not revealed before the campaign closes")
	// ErrTryOutOfOrder: a try number other than the user's next one (a
	// user's tries are numbered 1, 2, 3… with no gap).
	ErrTryOutOfOrder = errcode.New("try_out_of_order", errcode.Conflict, "campaign: try number is not the user's next")
	// ErrUserCap: the user has made as many tries as the campaign allows.
	ErrUserCap = errcode.New("user_cap", errcode.Conflict, "campaign: tries per user reached")
	// ErrDailyCap: the user has made as many tries today as the campaign
	// allows per day.
	ErrDailyCap = errcode.New("daily_cap", errcode.Conflict, "campaign: tries per user per day reached")
	// ErrWinCap: the user has won as many prizes as the campaign allows.
	ErrWinCap = errcode.New("win_cap", errcode.Conflict, "campaign: wins per user reached")
	// ErrNotEligible: the bank's Eligibility says the user may not take part.
	ErrNotEligible = errcode.New("not_eligible", errcode.Forbidden, "campaign: user not eligible")
	// ErrRateLimited: the user's or the device's tries are coming too fast;
	// nothing was recorded. Wrapped in a *RateLimitError with the wait.
	ErrRateLimited = errcode.New("rate_limited", errcode.RateLimited, "campaign: too many tries, slow down")
	// ErrPaymentPending: the try won and is recorded, but its payment from
	// escrow has not been confirmed (the ledger failed, or refused for a
	// reason that may pass, such as a frozen wallet); trying again with the
	// same number, or Reconcile, pays it. Returned together with the try.
	ErrPaymentPending = errcode.New("payment_pending", errcode.Unavailable, "campaign: prize won, payment pending")
	// ErrPrizeForfeited: the try won, but the winner's wallet is closed,
	// missing or in another currency, which never changes: the prize went
	// back to the marketing account (Service.ForfeitTransferID) and the
	// try counts as settled. Returned together with the try.
	ErrPrizeForfeited = errcode.New("prize_forfeited", errcode.Conflict, "campaign: winner's wallet cannot be paid, prize returned")
)
