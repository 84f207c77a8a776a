package redpacket

import "errors"

// Errors returned by this package. Each is wrapped with the values that broke
// the rule ("redpacket: too many shares: count 101, maximum 100"); test for
// them with errors.Is.
var (
	// ErrUnknownKind: the packet kind is not one of Lucky, Normal, Exclusive, Password.
	ErrUnknownKind = errors.New("redpacket: unknown packet kind")
	// ErrNoShares: the share count is below 1.
	ErrNoShares = errors.New("redpacket: a packet needs at least one share")
	// ErrTooManyShares: the share count is above Rules.MaxCount (or above 1 for
	// an exclusive packet).
	ErrTooManyShares = errors.New("redpacket: too many shares")
	// ErrShareTooSmall: the total is below count × minimum share, so some share
	// would be below the minimum (for a normal packet: the per-share amount is).
	ErrShareTooSmall = errors.New("redpacket: share below the minimum")
	// ErrShareTooLarge: the total is above count × maximum share, so some share
	// would be above the maximum (for a normal packet: the per-share amount is).
	ErrShareTooLarge = errors.New("redpacket: share above the maximum")
	// ErrCountExceedsGroup: more shares than people who may claim them.
	ErrCountExceedsGroup = errors.New("redpacket: more shares than possible claimers")
	// ErrOverflow: an amount computation would overflow int64.
	ErrOverflow = errors.New("redpacket: amount overflows int64")
	// ErrIndivisible: an equal split was asked for a total that count does not divide.
	ErrIndivisible = errors.New("redpacket: total not divisible by the share count")
	// ErrInvalidLimits: share limits with Min < 1 or Max < Min.
	ErrInvalidLimits = errors.New("redpacket: invalid share limits")
	// ErrInvalidRules: a Rules value that cannot be used (see Rules.Validate).
	ErrInvalidRules = errors.New("redpacket: invalid rules")
	// ErrBadSplit: a Splitter returned shares that break a packet invariant
	// (a share outside the limits, or a sum other than the total).
	ErrBadSplit = errors.New("redpacket: splitter broke a packet invariant")
	// ErrBadPassword: a password phrase that is empty, too long or not UTF-8.
	ErrBadPassword = errors.New("redpacket: invalid password phrase")
)
