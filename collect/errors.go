package collect

import "github.com/socialpay/socialpay/errcode"

// Errors returned by this package. Each is wrapped with where it happened
// ("collect: pay: request 5c…, member 9a…: collect: amount is not the
// share: 10.00 CNY for a share of 33.34 CNY"); test for them with
// errors.Is, and answer them with errcode.Of (the code and class of each
// are in docs/errors.md).
var (
	// ErrInvalidRequest: a create, pay, decline, close or remind request
	// that is malformed (a missing ID or account, a title too long or not
	// storable text, a member listed twice, amounts that do not match the
	// members, a currency other than the bill's).
	ErrInvalidRequest = errcode.New("invalid_request", errcode.Invalid, "collect: invalid request")
	// ErrInvalidConfig: a Config that New cannot use.
	ErrInvalidConfig = errcode.New("invalid_config", errcode.Internal, "collect: invalid service configuration")
	// ErrInvalidRules: a Rules value that cannot be used.
	ErrInvalidRules = errcode.New("invalid_rules", errcode.Internal, "collect: invalid rules")
	// ErrNoMembers: a bill split among nobody (or only the requester).
	ErrNoMembers = errcode.New("no_members", errcode.Invalid, "collect: no member to collect from")
	// ErrTooManyMembers: more members than Rules.MaxMembers.
	ErrTooManyMembers = errcode.New("too_many_members", errcode.Invalid, "collect: too many members")
	// ErrShareTooSmall: a share below one minor unit (an equal split of a
	// total smaller than the member count, or an amount of zero or less).
	ErrShareTooSmall = errcode.New("share_too_small", errcode.Invalid, "collect: share below the minimum")
	// ErrShareTooLarge: a share above Rules.MaxShare.
	ErrShareTooLarge = errcode.New("share_too_large", errcode.Invalid, "collect: share above the maximum")
	// ErrOverflow: a sum of shares would overflow int64.
	ErrOverflow = errcode.New("amount_overflow", errcode.Invalid, "collect: amount overflows int64")
	// ErrUnsupportedCurrency: no Rules for the bill's currency.
	ErrUnsupportedCurrency = errcode.New("unsupported_currency", errcode.Invalid, "collect: currency not offered for collection")
	// ErrBadExpiry: an expiry not after creation, or beyond Rules.MaxTTL.
	ErrBadExpiry = errcode.New("invalid_expiry", errcode.Invalid, "collect: invalid expiry")

	// ErrRequestExists: a request with this ID is already recorded.
	ErrRequestExists = errcode.New("request_exists", errcode.Conflict, "collect: request already exists")
	// ErrRequestConflict: a create reused a request ID with other content.
	ErrRequestConflict = errcode.New("idempotency_conflict", errcode.Conflict, "collect: request ID reused with different content")
	// ErrRequestNotFound: no request has this ID.
	ErrRequestNotFound = errcode.New("request_not_found", errcode.NotFound, "collect: request not found")
	// ErrNotMember: the user is not one of the request's members, or (at
	// creation) not a member of the group.
	ErrNotMember = errcode.New("not_member", errcode.Forbidden, "collect: not a member")
	// ErrNotRequester: only the requester may close the request or remind.
	ErrNotRequester = errcode.New("not_requester", errcode.Forbidden, "collect: not the requester")
	// ErrOwnShare: the requester's own share is never collected.
	ErrOwnShare = errcode.New("own_share", errcode.Invalid, "collect: the requester's own share is not collected")
	// ErrWrongAmount: the amount paid is not the member's share.
	ErrWrongAmount = errcode.New("wrong_amount", errcode.Invalid, "collect: amount is not the share")
	// ErrClosed: the requester closed the request, or everyone answered;
	// it takes no more payments or declines.
	ErrClosed = errcode.New("closed", errcode.Conflict, "collect: request closed")
	// ErrExpired: the request expired; it takes no more payments or declines.
	ErrExpired = errcode.New("expired", errcode.Conflict, "collect: request expired")
	// ErrNotExpired: an expiry sweep reached a request before its expiry.
	ErrNotExpired = errcode.New("not_expired", errcode.Conflict, "collect: request not expired yet")
	// ErrAlreadyPaid: a member declined after paying.
	ErrAlreadyPaid = errcode.New("already_paid", errcode.Conflict, "collect: share already paid")
	// ErrDeclined: a member paid after declining (declining is final).
	ErrDeclined = errcode.New("declined", errcode.Conflict, "collect: share declined")
	// ErrNothingToRemind: a reminder for a request nobody owes anything on
	// any more (closed, expired, or everyone answered).
	ErrNothingToRemind = errcode.New("nothing_to_remind", errcode.Conflict, "collect: nobody to remind")
	// ErrRemindTooSoon: a reminder within Rules.RemindEvery of the last one
	// (of any instance: the time is kept in the store). It is also what the
	// losers of concurrent reminders get: the winner's reminder went out.
	ErrRemindTooSoon = errcode.New("remind_too_soon", errcode.RateLimited, "collect: reminded too recently")
	// ErrPaymentUnknown: the ledger failed while paying, so the payment may
	// or may not have moved; paying again (the same derived ID moves the
	// money once) or Reconcile records it.
	ErrPaymentUnknown = errcode.New("payment_unknown", errcode.Unavailable, "collect: payment outcome unknown")
)
