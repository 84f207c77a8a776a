package transfer

import (
	"github.com/socialpay/socialpay/internal/telemetry"
	"github.com/socialpay/socialpay/ledger"
)

// serviceTelemetry is the Service's instruments (see docs/observability.md).
type serviceTelemetry struct {
	*telemetry.Feature
	send, resolve, verify *telemetry.Op
}

// outcomeWords are the outcome words of sends and lookups, the values of
// the "outcome" attribute of their metrics and spans; the first that an
// error matches names it.
var outcomeWords = []telemetry.Word{
	// A *FailedError: the ledger's reason, else transfer_failed.
	{Word: "insufficient_funds", Err: ledger.ErrInsufficientFunds},
	{Word: "account_frozen", Err: ledger.ErrAccountFrozen},
	{Word: "account_closed", Err: ledger.ErrAccountClosed},
	{Word: "account_not_found", Err: ledger.ErrAccountNotFound},
	{Word: "credit_limit", Err: ledger.ErrExceedsDebits},
	{Word: "transfer_failed", Err: ErrTransferFailed},
	{Word: "idempotency_conflict", Err: ErrIdempotencyConflict},
	{Word: "rate_limited", Err: ErrRateLimited},
	{Word: "not_bound", Err: ErrNotBound},
	{Word: "invalid_phone", Err: ErrEmptyPhone},
	{Word: "invalid_phone", Err: ErrNotPhoneNumber},
	{Word: "invalid_phone", Err: ErrInvalidPhone},
	{Word: "invalid_phone", Err: ErrNotMobile},
	{Word: "invalid_token", Err: ErrInvalidToken},
	{Word: "token_expired", Err: ErrTokenExpired},
	{Word: "stale_token", Err: ErrStaleToken},
	{Word: "lookup_used", Err: ErrLookupUsed},
	{Word: "over_transfer_limit", Err: ErrOverTransferLimit},
	{Word: "over_first_payee_limit", Err: ErrOverFirstPayeeLimit},
	{Word: "over_daily_limit", Err: ErrOverDailyLimit},
	{Word: "currency_mismatch", Err: ErrCurrencyMismatch},
	{Word: "invalid_amount", Err: ErrInvalidAmount},
	{Word: "self_transfer", Err: ErrSelfTransfer},
	{Word: "invalid_payer", Err: ErrEmptyPayer},
	{Word: "invalid_payer", Err: ErrInvalidPayer},
	{Word: "invalid_request", Err: ErrInvalidRequest},
	{Word: "invalid_request", Err: ErrEmptyName},
	{Word: "invalid_request", Err: ErrNameTooLong},
	{Word: "invalid_request", Err: ErrUnknownChallenge},
}

func newServiceTelemetry(cfg *Config) *serviceTelemetry {
	f := telemetry.New("transfer", telemetry.Providers{Logger: cfg.Logger, TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider})
	word := telemetry.Words(outcomeWords...)
	return &serviceTelemetry{Feature: f,
		send:    f.Op(telemetry.TransferSend, word, "idempotency_conflict"),
		resolve: f.Op(telemetry.TransferResolve, word),
		verify:  f.Op(telemetry.TransferVerify, word),
	}
}

// items are what a ReconcileReport says, for the sweep's log and metrics.
func (r *ReconcileReport) items() []telemetry.Item {
	return []telemetry.Item{
		{Result: "settled", N: r.Settled}, {Result: "cancelled", N: r.Cancelled}, {Result: "held", N: r.Held},
		{Result: "failed", N: r.Failed}, {Result: "undone", N: r.Undone, Repair: true}, {Result: "failing", N: r.Failing, Repair: true},
	}
}
