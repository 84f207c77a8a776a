package qr

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/socialpay/socialpay/internal/telemetry"
	"github.com/socialpay/socialpay/ledger"
)

// serviceTelemetry is the Service's instruments (see docs/observability.md).
type serviceTelemetry struct {
	*telemetry.Feature
	charge, pay *telemetry.Op
	refusals    metric.Int64Counter
	refusal     func(error) string
}

// outcomeWords are the outcome words of charges and payments, the values
// of the "outcome" attribute of their metrics and spans; the first that an
// error matches names it.
var outcomeWords = []telemetry.Word{
	{Word: "payment_aborted", Err: ErrPaymentAborted},
	{Word: "key_reused", Err: ErrKeyReused},
	{Word: "insufficient_funds", Err: ledger.ErrInsufficientFunds},
	{Word: "account_frozen", Err: ledger.ErrAccountFrozen},
	{Word: "account_closed", Err: ledger.ErrAccountClosed},
	{Word: "account_not_found", Err: ledger.ErrAccountNotFound},
	{Word: "currency_mismatch", Err: ledger.ErrCurrencyMismatch},
	{Word: "invalid_code", Err: ErrInvalidCode},
	{Word: "malformed_code", Err: ErrMalformedCode},
	{Word: "replay", Err: ErrReplay},
	{Word: "merchant_refused", Err: ErrMerchantRefused},
	{Word: "device_daily_cap", Err: ErrDeviceDailyCap},
	{Word: "charge_cap", Err: ErrChargeCap},
	{Word: "lookup_limited", Err: ErrLookupLimited},
	{Word: "unknown_payee", Err: ErrUnknownPayee},
	{Word: "payee_changed", Err: ErrPayeeChanged},
	{Word: "unknown_code", Err: ErrUnknownCode},
	{Word: "code_paid", Err: ErrCodePaid},
	{Word: "amount_mismatch", Err: ErrAmountMismatch},
	{Word: "daily_cap", Err: ErrDailyCap},
	{Word: "expired", Err: ErrExpired},
	{Word: "bad_signature", Err: ErrBadSignature},
	{Word: "not_ours", Err: ErrNotOurs},
	{Word: "unsigned", Err: ErrUnsigned},
	{Word: "unknown_key", Err: ErrUnknownKey},
	{Word: "invalid_value", Err: ErrInvalidValue},
	{Word: "not_configured", Err: ErrMissing},
}

// refusalWords are the reasons of refused payment codes (CodeRefusal),
// the values of the "reason" attribute of socialpay.qr.code_refusals.
var refusalWords = []telemetry.Word{
	{Word: "unknown_device", Err: ErrUnknownDevice},
	{Word: "device_revoked", Err: ErrDeviceRevoked},
	{Word: "device_locked", Err: ErrDeviceLocked},
	{Word: "expired", Err: ErrExpired},
	{Word: "wrong_code", Err: ErrWrongCode},
	{Word: "unwrap", Err: ErrUnwrap},
	{Word: "unknown_key", Err: ErrUnknownKey},
}

func newServiceTelemetry(cfg *Config) *serviceTelemetry {
	f := telemetry.New("qr", telemetry.Providers{Logger: cfg.Logger, TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider})
	word := telemetry.Words(outcomeWords...)
	return &serviceTelemetry{Feature: f,
		charge:   f.Op(telemetry.QRCharge, word, "key_reused"),
		pay:      f.Op(telemetry.QRPay, word, "key_reused"),
		refusals: f.Counter(telemetry.QRCodeRefusals),
		refusal:  telemetry.Words(refusalWords...),
	}
}

// refused counts a refused payment code by its reason.
func (t *serviceTelemetry) refused(ctx context.Context, reason error) {
	if !t.Metered() {
		return
	}
	w := t.refusal(reason)
	if w == telemetry.OutcomeError && !errors.Is(reason, context.Canceled) {
		w = "store" // a store that could not count the attempt's end
	}
	t.refusals.Add(ctx, 1, metric.WithAttributes(attribute.String(telemetry.KeyReason, w)))
}

// items are what a ReconcileReport says, for the sweep's log and metrics.
func (r *ReconcileReport) items() []telemetry.Item {
	return []telemetry.Item{
		{Result: "completed", N: r.Completed}, {Result: "cancelled", N: r.Cancelled}, {Result: "pending", N: r.Pending},
		{Result: "repaired", N: r.Repaired, Repair: true}, {Result: "unrepaired", N: r.Unrepaired, Repair: true},
	}
}
