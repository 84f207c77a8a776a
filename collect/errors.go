package collect

import "errors"

// Errors returned by this package. Each is wrapped with where it happened
// ("collect: request 5c…, member 9a…: amount is not the share: 10.00, share
// 33.34"); test for them with errors.Is.
var (
	// ErrInvalidRequest: a create, pay, decline, close or remind request
	// that is malformed (a missing ID or account, a title too long or not
	// storable text, a member listed twice, amounts that do not match the
	// members, a currency other than the bill's).
	ErrInvalidRequest = errors.New("collect: invalid request")
	// ErrInvalidConfig: a Config that New cannot use.
	ErrInvalidConfig = errors.New("collect: invalid service configuration")
	// ErrInvalidRules: a Rules value that cannot be used.
	ErrInvalidRules = errors.New("collect: invalid rules")
	// ErrNoMembers: a bill split among nobody (or only the requester).
	ErrNoMembers = errors.New("collect: no member to collect from")
	// ErrTooManyMembers: more members than Rules.MaxMembers.
	ErrTooManyMembers = errors.New("collect: too many members")
	// ErrShareTooSmall: a share below one minor unit (an equal split of a
	// total smaller than the member count, or an amount of zero or less).
	ErrShareTooSmall = errors.New("collect: share below the minimum")
	// ErrShareTooLarge: a share above Rules.MaxShare.
	ErrShareTooLarge = errors.New("collect: share above the maximum")
	// ErrOverflow: a sum of shares would overflow int64.
	ErrOverflow = errors.New("collect: amount overflows int64")
	// ErrUnsupportedCurrency: no Rules for the bill's currency.
	ErrUnsupportedCurrency = errors.New("collect: currency not offered for collection")
	// ErrBadExpiry: an expiry not after creation, or beyond Rules.MaxTTL.
	ErrBadExpiry = errors.New("collect: invalid expiry")

	// ErrRequestExists: a request with this ID is already recorded.
	ErrRequestExists = errors.New("collect: request already exists")
	// ErrRequestConflict: a create reused a request ID with other content.
	ErrRequestConflict = errors.New("collect: request ID reused with different content")
	// ErrRequestNotFound: no request has this ID.
	ErrRequestNotFound = errors.New("collect: request not found")
	// ErrNotMember: the user is not one of the request's members, or (at
	// creation) not a member of the group.
	ErrNotMember = errors.New("collect: not a member")
	// ErrNotRequester: only the requester may close the request or remind.
	ErrNotRequester = errors.New("collect: not the requester")
	// ErrOwnShare: the requester's own share is never collected.
	ErrOwnShare = errors.New("collect: the requester's own share is not collected")
	// ErrWrongAmount: the amount paid is not the member's share.
	ErrWrongAmount = errors.New("collect: amount is not the share")
	// ErrClosed: the requester closed the request, or everyone answered;
	// it takes no more payments or declines.
	ErrClosed = errors.New("collect: request closed")
	// ErrExpired: the request expired; it takes no more payments or declines.
	ErrExpired = errors.New("collect: request expired")
	// ErrNotExpired: an expiry sweep reached a request before its expiry.
	ErrNotExpired = errors.New("collect: request not expired yet")
	// ErrAlreadyPaid: a member declined after paying.
	ErrAlreadyPaid = errors.New("collect: share already paid")
	// ErrDeclined: a member paid after declining (declining is final).
	ErrDeclined = errors.New("collect: share declined")
	// ErrNothingToRemind: a reminder for a request nobody owes anything on
	// any more (closed, expired, or everyone answered).
	ErrNothingToRemind = errors.New("collect: nobody to remind")
	// ErrRemindTooSoon: a reminder within Rules.RemindEvery of the last one
	// (of any instance: the time is kept in the store). It is also what the
	// losers of concurrent reminders get: the winner's reminder went out.
	ErrRemindTooSoon = errors.New("collect: reminded too recently")
	// ErrPaymentUnknown: the ledger failed while paying, so the payment may
	// or may not have moved; paying again (the same derived ID moves the
	// money once) or Reconcile records it.
	ErrPaymentUnknown = errors.New("collect: payment outcome unknown")
)
