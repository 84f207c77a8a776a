package points

import "github.com/socialpay/socialpay/errcode"

// Errors returned by this package. Each is wrapped with the values that
// broke the rule ("user …: points: insufficient points: 120 available,
// 150 asked"); test for them with errors.Is, and answer them with
// errcode.Of (the code and class of each are in docs/errors.md).
var (
	// ErrInvalidRequest: an earn, redeem or exchange request that is
	// malformed (a missing user, key or account, a key too long, points
	// not positive).
	ErrInvalidRequest = errcode.New("invalid_request", errcode.Invalid, "points: invalid request")
	// ErrInvalidConfig: a Config that New cannot use.
	ErrInvalidConfig = errcode.New("invalid_config", errcode.Internal, "points: invalid service configuration")
	// ErrInvalidRule: an EarnRule that cannot be used (see EarnRule.Validate).
	ErrInvalidRule = errcode.New("invalid_rule", errcode.Internal, "points: invalid earn rule")
	// ErrUnknownRule: an earn named a rule the service is not configured with.
	ErrUnknownRule = errcode.New("unknown_rule", errcode.Invalid, "points: unknown earn rule")
	// ErrNothingEarned: the rule gives no points for this amount (below one
	// whole step of a per-amount rule).
	ErrNothingEarned = errcode.New("nothing_earned", errcode.Invalid, "points: the rule earns nothing for this amount")
	// ErrUnknownPartner: an exchange named a partner the service is not
	// configured with.
	ErrUnknownPartner = errcode.New("unknown_partner", errcode.Invalid, "points: unknown partner")
	// ErrInvalidRate: a Rate that cannot be used (see Rate.Validate).
	ErrInvalidRate = errcode.New("invalid_rate", errcode.Invalid, "points: invalid rate")
	// ErrNoRate: no rate has been set under this name (or not this version).
	ErrNoRate = errcode.New("no_rate", errcode.NotFound, "points: no such rate")
	// ErrRateConflict: a new rate version is not the latest plus one, or a
	// version that exists was set again with other values.
	ErrRateConflict = errcode.New("rate_conflict", errcode.Conflict, "points: rate version conflict")
	// ErrTooFewPoints: at this rate the amount converts to nothing.
	ErrTooFewPoints = errcode.New("too_few_points", errcode.Invalid, "points: too few points to convert at this rate")
	// ErrOverflow: a points or money computation would overflow int64.
	ErrOverflow = errcode.New("amount_overflow", errcode.Invalid, "points: amount overflows int64")
	// ErrInsufficientPoints: the user's unexpired, confirmed points are
	// fewer than the request spends.
	ErrInsufficientPoints = errcode.New("insufficient_points", errcode.Conflict, "points: insufficient points")

	// Store errors.

	// ErrInvalidOp: an Op a store was asked to record breaks an Op
	// invariant (see Op.Validate).
	ErrInvalidOp = errcode.New("invalid_op", errcode.Internal, "points: invalid operation")
	// ErrOpConflict: a request reused an idempotency key (the same derived
	// operation ID) with different content.
	ErrOpConflict = errcode.New("idempotency_conflict", errcode.Conflict, "points: idempotency key reused with different content")
	// ErrOpNotFound: no operation has this ID.
	ErrOpNotFound = errcode.New("op_not_found", errcode.NotFound, "points: operation not found")
	// ErrOpResolved: a posted operation cannot fail, nor a failed one post.
	ErrOpResolved = errcode.New("op_resolved", errcode.Conflict, "points: operation already resolved the other way")

	// Service outcomes returned together with the operation.

	// ErrPending: the operation is recorded (its points are taken or
	// promised) but the ledger has not confirmed its transfer yet, for a
	// reason that may pass (an account frozen, the conversion or partner
	// account short of funds, the store failing). A retry of the same
	// request, or Reconcile, completes it; nothing is paid twice.
	ErrPending = errcode.New("payment_pending", errcode.Unavailable, "points: operation recorded, ledger transfer pending")
	// ErrFailed: the ledger refused the operation's transfer for good (an
	// account closed, a currency mismatch); the operation is failed and
	// any points it took are back in their lots.
	ErrFailed = errcode.New("operation_failed", errcode.Conflict, "points: ledger refused the operation for good")
)
