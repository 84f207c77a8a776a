package redpacket

import (
	"github.com/socialpay/socialpay/internal/telemetry"
	"github.com/socialpay/socialpay/ledger"
)

// serviceTelemetry is the Service's instruments (see docs/observability.md).
type serviceTelemetry struct {
	*telemetry.Feature
	send, claim *telemetry.Op
}

// outcomeWords are the outcome words of sends and claims, the values of
// the "outcome" attribute of their metrics and spans; the first that an
// error matches names it.
var outcomeWords = []telemetry.Word{
	{Word: "payment_pending", Err: ErrPaymentPending},
	{Word: "share_returned", Err: ErrShareReturned},
	{Word: "insufficient_funds", Err: ledger.ErrInsufficientFunds},
	{Word: "account_not_found", Err: ledger.ErrAccountNotFound},
	{Word: "account_frozen", Err: ledger.ErrAccountFrozen},
	{Word: "account_closed", Err: ledger.ErrAccountClosed},
	{Word: "currency_mismatch", Err: ledger.ErrCurrencyMismatch},
	{Word: "packet_conflict", Err: ErrPacketConflict},
	{Word: "packet_not_found", Err: ErrPacketNotFound},
	{Word: "sold_out", Err: ErrSoldOut},
	{Word: "expired", Err: ErrExpired},
	{Word: "refunded", Err: ErrRefunded},
	{Word: "cancelled", Err: ErrPacketCancelled},
	{Word: "not_funded", Err: ErrNotFunded},
	{Word: "not_member", Err: ErrNotMember},
	{Word: "not_recipient", Err: ErrNotRecipient},
	{Word: "sender_cannot_grab", Err: ErrSenderCannotGrab},
	{Word: "wrong_password", Err: ErrWrongPassword},
	{Word: "bad_password", Err: ErrBadPassword},
	{Word: "unknown_kind", Err: ErrUnknownKind},
	{Word: "unsupported_currency", Err: ErrUnsupportedCurrency},
	{Word: "no_shares", Err: ErrNoShares},
	{Word: "too_many_shares", Err: ErrTooManyShares},
	{Word: "share_too_small", Err: ErrShareTooSmall},
	{Word: "share_too_large", Err: ErrShareTooLarge},
	{Word: "count_exceeds_group", Err: ErrCountExceedsGroup},
	{Word: "indivisible", Err: ErrIndivisible},
	{Word: "overflow", Err: ErrOverflow},
	{Word: "invalid_request", Err: ErrInvalidRequest},
}

func newServiceTelemetry(cfg *Config) *serviceTelemetry {
	f := telemetry.New("redpacket", telemetry.Providers{Logger: cfg.Logger, TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider})
	word := telemetry.Words(outcomeWords...)
	return &serviceTelemetry{Feature: f, send: f.Op(telemetry.RedpacketSend, word, "packet_conflict"), claim: f.Op(telemetry.RedpacketClaim, word)}
}

// items are what a ReconcileReport says, for the sweep's log and metrics.
func (r *ReconcileReport) items() []telemetry.Item {
	return []telemetry.Item{
		{Result: "funded", N: r.Funded}, {Result: "cancelled", N: r.Cancelled}, {Result: "paid", N: r.Paid},
		{Result: "returned", N: r.Returned}, {Result: "refunded", N: r.Refunded}, {Result: "settled", N: r.Settled},
		{Result: "marked", N: r.Marked, Repair: true}, {Result: "repaid", N: r.Repaid, Repair: true},
		{Result: "refund_moved", N: r.RefundMoved, Repair: true}, {Result: "refund_recorded", N: r.RefundRecorded, Repair: true},
		{Result: "unrepaired", N: r.Unrepaired, Repair: true},
	}
}
