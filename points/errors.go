package points

import "errors"

// Errors returned by this package. Each is wrapped with the values that
// broke the rule ("points: insufficient points: user …: 120 available,
// 150 asked"); test for them with errors.Is.
var (
	// ErrInvalidRequest: an earn, redeem or exchange request that is
	// malformed (a missing user, key or account, a key too long, points
	// not positive).
	ErrInvalidRequest = errors.New("points: invalid request")
	// ErrInvalidConfig: a Config that New cannot use.
	ErrInvalidConfig = errors.New("points: invalid service configuration")
	// ErrInvalidRule: an EarnRule that cannot be used (see EarnRule.Validate).
	ErrInvalidRule = errors.New("points: invalid earn rule")
	// ErrUnknownRule: an earn named a rule the service is not configured with.
	ErrUnknownRule = errors.New("points: unknown earn rule")
	// ErrNothingEarned: the rule gives no points for this amount (below one
	// whole step of a per-amount rule).
	ErrNothingEarned = errors.New("points: the rule earns nothing for this amount")
	// ErrUnknownPartner: an exchange named a partner the service is not
	// configured with.
	ErrUnknownPartner = errors.New("points: unknown partner")
	// ErrInvalidRate: a Rate that cannot be used (see Rate.Validate).
	ErrInvalidRate = errors.New("points: invalid rate")
	// ErrNoRate: no rate has been set under this name (or not this version).
	ErrNoRate = errors.New("points: no such rate")
	// ErrRateConflict: a new rate version is not the latest plus one, or a
	// version that exists was set again with other values.
	ErrRateConflict = errors.New("points: rate version conflict")
	// ErrTooFewPoints: at this rate the amount converts to nothing.
	ErrTooFewPoints = errors.New("points: too few points to convert at this rate")
	// ErrOverflow: a points or money computation would overflow int64.
	ErrOverflow = errors.New("points: amount overflows int64")
	// ErrInsufficientPoints: the user's unexpired, confirmed points are
	// fewer than the request spends.
	ErrInsufficientPoints = errors.New("points: insufficient points")

	// Store errors.

	// ErrInvalidOp: an Op a store was asked to record breaks an Op
	// invariant (see Op.Validate).
	ErrInvalidOp = errors.New("points: invalid operation")
	// ErrOpConflict: a request reused an idempotency key (the same derived
	// operation ID) with different content.
	ErrOpConflict = errors.New("points: idempotency key reused with different content")
	// ErrOpNotFound: no operation has this ID.
	ErrOpNotFound = errors.New("points: operation not found")
	// ErrOpResolved: a posted operation cannot fail, nor a failed one post.
	ErrOpResolved = errors.New("points: operation already resolved the other way")

	// Service outcomes returned together with the operation.

	// ErrPending: the operation is recorded (its points are taken or
	// promised) but the ledger has not confirmed its transfer yet, for a
	// reason that may pass (an account frozen, the conversion or partner
	// account short of funds, the store failing). A retry of the same
	// request, or Reconcile, completes it; nothing is paid twice.
	ErrPending = errors.New("points: operation recorded, ledger transfer pending")
	// ErrFailed: the ledger refused the operation's transfer for good (an
	// account closed, a currency mismatch); the operation is failed and
	// any points it took are back in their lots.
	ErrFailed = errors.New("points: ledger refused the operation for good")
)
