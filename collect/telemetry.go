package collect

import (
	"github.com/socialpay/socialpay/internal/telemetry"
	"github.com/socialpay/socialpay/ledger"
)

// serviceTelemetry is the Service's instruments (see docs/observability.md).
type serviceTelemetry struct {
	*telemetry.Feature
	pay *telemetry.Op
}

// outcomeWords are the outcome words of payments, the values of the
// "outcome" attribute of their metrics and spans; the first that an error
// matches names it.
var outcomeWords = []telemetry.Word{
	{Word: "payment_unknown", Err: ErrPaymentUnknown},
	{Word: "insufficient_funds", Err: ledger.ErrInsufficientFunds},
	{Word: "account_frozen", Err: ledger.ErrAccountFrozen},
	{Word: "account_closed", Err: ledger.ErrAccountClosed},
	{Word: "account_not_found", Err: ledger.ErrAccountNotFound},
	{Word: "currency_mismatch", Err: ledger.ErrCurrencyMismatch},
	{Word: "request_not_found", Err: ErrRequestNotFound},
	{Word: "not_member", Err: ErrNotMember},
	{Word: "own_share", Err: ErrOwnShare},
	{Word: "wrong_amount", Err: ErrWrongAmount},
	{Word: "declined", Err: ErrDeclined},
	{Word: "closed", Err: ErrClosed},
	{Word: "expired", Err: ErrExpired},
	{Word: "invalid_request", Err: ErrInvalidRequest},
}

func newServiceTelemetry(cfg *Config) *serviceTelemetry {
	f := telemetry.New("collect", telemetry.Providers{Logger: cfg.Logger, TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider})
	return &serviceTelemetry{Feature: f, pay: f.Op(telemetry.CollectPay, telemetry.Words(outcomeWords...))}
}
