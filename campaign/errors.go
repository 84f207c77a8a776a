package campaign

import "errors"

// Errors returned by this package. Each is wrapped with where it happened
// and the values that broke the rule ("campaign 6f1…: try 3 of user 9a2…:
// user cap reached: 3 tries, cap 3"); test for them with errors.Is.
var (
	// Creation rules (Rules.Check, Caps.Validate, NewDraw).

	// ErrInvalidSchedule: a prize schedule that breaks a rule: no tiers,
	// too many tiers, a count below 1, a negative prize or one above
	// Rules.MaxPrize, no prize at all, more slots than Rules.MaxSlots.
	ErrInvalidSchedule = errors.New("campaign: invalid prize schedule")
	// ErrOverflow: the budget (the sum of every slot's prize) or a slot
	// count overflows.
	ErrOverflow = errors.New("campaign: amount overflows int64")
	// ErrInvalidCaps: caps per user that cannot be used (a try cap below
	// 1 or above MaxTriesPerUser, a daily cap above the campaign's, a day
	// offset beyond ±14 h).
	ErrInvalidCaps = errors.New("campaign: invalid caps")
	// ErrInvalidWindow: an end time not after the opening instant, or a
	// window longer than Rules.MaxDuration.
	ErrInvalidWindow = errors.New("campaign: invalid opening window")
	// ErrInvalidRules: a Rules value that cannot be used (see Rules.Validate).
	ErrInvalidRules = errors.New("campaign: invalid rules")
	// ErrInvalidRate: a rate limit with a burst below 1 or a period
	// below 1 ns.
	ErrInvalidRate = errors.New("campaign: invalid rate limit")
	// ErrBadSeed: a revealed seed whose SHA-256 is not the published
	// commitment.
	ErrBadSeed = errors.New("campaign: seed does not match the commitment")
	// ErrDrawMismatch: a recorded try whose prize is not the one the draw
	// puts at its slot, or a try log that is not one try per slot in
	// order.
	ErrDrawMismatch = errors.New("campaign: try log does not match the draw")

	// Service and store errors.

	// ErrInvalidRequest: a malformed request (a missing ID, account or
	// user, a device or name that is empty, too long or not storable
	// text, a try number out of range).
	ErrInvalidRequest = errors.New("campaign: invalid request")
	// ErrInvalidConfig: a Config that New cannot use.
	ErrInvalidConfig = errors.New("campaign: invalid service configuration")
	// ErrUnsupportedCurrency: no Rules for the prizes' currency, or prizes
	// in more than one currency.
	ErrUnsupportedCurrency = errors.New("campaign: currency not offered for campaigns")
	// ErrInvalidCampaign: a Campaign a store was asked to record breaks an
	// invariant (see Campaign.Validate).
	ErrInvalidCampaign = errors.New("campaign: invalid campaign")
	// ErrCampaignExists: a campaign with this ID is already recorded.
	ErrCampaignExists = errors.New("campaign: campaign already exists")
	// ErrCampaignConflict: a create request reused a campaign ID with
	// different content.
	ErrCampaignConflict = errors.New("campaign: campaign ID reused with different content")
	// ErrCampaignNotFound: no campaign has this ID.
	ErrCampaignNotFound = errors.New("campaign: campaign not found")
	// ErrTryNotFound: the user has no try with this number.
	ErrTryNotFound = errors.New("campaign: try not found")
	// ErrNotFunded: the campaign is recorded but its budget has not reached
	// escrow yet.
	ErrNotFunded = errors.New("campaign: campaign not funded yet")
	// ErrCancelled: the campaign was never funded (the marketing account's
	// payment was refused) and is cancelled; nothing moved.
	ErrCancelled = errors.New("campaign: campaign cancelled")
	// ErrAlreadyFunded: a funded campaign cannot be cancelled.
	ErrAlreadyFunded = errors.New("campaign: campaign already funded")
	// ErrNotOpen: the campaign opens later.
	ErrNotOpen = errors.New("campaign: campaign not open yet")
	// ErrEnded: the campaign's end time has passed; it takes no more tries.
	ErrEnded = errors.New("campaign: campaign ended")
	// ErrSoldOut: every prize has been won; the campaign takes no more tries.
	ErrSoldOut = errors.New("campaign: every prize won")
	// ErrClosed: the campaign has been swept (its unclaimed budget is
	// going or gone back to the marketing account); it takes no more tries.
	ErrClosed = errors.New("campaign: campaign closed")
	// ErrNotEnded: a sweep was asked for before the campaign ended or sold out.
	ErrNotEnded = errors.New("campaign: campaign not ended")
	// ErrNotSweeping: a sweep was finished for a campaign not being swept.
	ErrNotSweeping = errors.New("campaign: campaign is not being swept")
	// ErrNotFinished: a campaign was settled before it was swept and every
	// prize paid.
	ErrNotFinished = errors.New("campaign: campaign not finished")
	// ErrNotRevealed: the seed is secret until the campaign is swept.
	ErrNotRevealed = errors.New("campaign: seed not revealed before the campaign closes")
	// ErrTryOutOfOrder: a try number other than the user's next one (a
	// user's tries are numbered 1, 2, 3… with no gap).
	ErrTryOutOfOrder = errors.New("campaign: try number is not the user's next")
	// ErrUserCap: the user has made as many tries as the campaign allows.
	ErrUserCap = errors.New("campaign: tries per user reached")
	// ErrDailyCap: the user has made as many tries today as the campaign
	// allows per day.
	ErrDailyCap = errors.New("campaign: tries per user per day reached")
	// ErrWinCap: the user has won as many prizes as the campaign allows.
	ErrWinCap = errors.New("campaign: wins per user reached")
	// ErrNotEligible: the bank's Eligibility says the user may not take part.
	ErrNotEligible = errors.New("campaign: user not eligible")
	// ErrRateLimited: the user's or the device's tries are coming too fast;
	// nothing was recorded. Wrapped in a *RateLimitError with the wait.
	ErrRateLimited = errors.New("campaign: too many tries, slow down")
	// ErrPaymentPending: the try won and is recorded, but its payment from
	// escrow has not been confirmed (the ledger failed, or refused for a
	// reason that may pass, such as a frozen wallet); trying again with the
	// same number, or Reconcile, pays it. Returned together with the try.
	ErrPaymentPending = errors.New("campaign: prize won, payment pending")
	// ErrPrizeForfeited: the try won, but the winner's wallet is closed,
	// missing or in another currency, which never changes: the prize went
	// back to the marketing account (Service.ForfeitTransferID) and the
	// try counts as settled. Returned together with the try.
	ErrPrizeForfeited = errors.New("campaign: winner's wallet cannot be paid, prize returned")
)
