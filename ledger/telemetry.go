package ledger

import (
	"context"

	"github.com/socialpay/socialpay/internal/telemetry"
)

// ledgerTelemetry is the ledger's instruments (see docs/observability.md).
type ledgerTelemetry struct {
	*telemetry.Feature
	transfer, batch, linked *telemetry.Op
}

// outcomeWords are the outcome words of the ledger's refusals, the values
// of the "outcome" attribute of its metrics and spans.
var outcomeWords = []telemetry.Word{
	{Word: "insufficient_funds", Err: ErrInsufficientFunds},
	{Word: "exceeds_debits", Err: ErrExceedsDebits},
	{Word: "balance_overflow", Err: ErrBalanceOverflow},
	{Word: "account_not_found", Err: ErrAccountNotFound},
	{Word: "account_frozen", Err: ErrAccountFrozen},
	{Word: "account_closed", Err: ErrAccountClosed},
	{Word: "currency_mismatch", Err: ErrCurrencyMismatch},
	{Word: "idempotency_conflict", Err: ErrIdempotencyConflict},
	{Word: "pending_not_found", Err: ErrPendingNotFound},
	{Word: "pending_resolved", Err: ErrPendingResolved},
	{Word: "pending_expired", Err: ErrPendingExpired},
	{Word: "exceeds_pending", Err: ErrExceedsPending},
	{Word: "already_reversed", Err: ErrAlreadyReversed},
	{Word: "transfer_not_found", Err: ErrTransferNotFound},
	{Word: "linked_failed", Err: ErrLinkedFailed},
	{Word: "empty_batch", Err: ErrEmptyBatch},
}

func newLedgerTelemetry(opts *Options) *ledgerTelemetry {
	f := telemetry.New("ledger", telemetry.Providers{Logger: opts.Logger, TracerProvider: opts.TracerProvider, MeterProvider: opts.MeterProvider})
	words := telemetry.Words(outcomeWords...)
	word := func(err error) string {
		w := words(err)
		if w == telemetry.OutcomeError && Refused(err) {
			return "invalid_transfer" // the rest of the refusals: a request the rules refuse as such
		}
		return w
	}
	return &ledgerTelemetry{Feature: f,
		transfer: f.Op(telemetry.LedgerTransfer, word),
		batch:    f.Op(telemetry.LedgerBatch, word),
		linked:   f.Op(telemetry.LedgerLinked, word),
	}
}

// countResults counts each transfer of a batch by its result.
func (t *ledgerTelemetry) countResults(ctx context.Context, ts []Transfer, rs []Result) {
	if !t.Metered() {
		return
	}
	for i := range rs {
		t.transfer.Count(ctx, rs[i].Err, ts[i].Amount.Currency().Code())
	}
}
