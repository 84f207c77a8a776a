package points

import (
	"github.com/socialpay/socialpay/internal/telemetry"
	"github.com/socialpay/socialpay/ledger"
)

// serviceTelemetry is the Service's instruments (see docs/observability.md).
type serviceTelemetry struct {
	*telemetry.Feature
	earn, redeem, exchangeOut, exchangeIn *telemetry.Op
}

// outcomeWords are the outcome words of points operations, the values of
// the "outcome" attribute of their metrics and spans; the first that an
// error matches names it.
var outcomeWords = []telemetry.Word{
	{Word: "pending", Err: ErrPending},
	{Word: "failed", Err: ErrFailed},
	{Word: "op_conflict", Err: ErrOpConflict},
	{Word: "insufficient_points", Err: ErrInsufficientPoints},
	{Word: "insufficient_funds", Err: ledger.ErrInsufficientFunds},
	{Word: "account_frozen", Err: ledger.ErrAccountFrozen},
	{Word: "account_closed", Err: ledger.ErrAccountClosed},
	{Word: "account_not_found", Err: ledger.ErrAccountNotFound},
	{Word: "nothing_earned", Err: ErrNothingEarned},
	{Word: "too_few_points", Err: ErrTooFewPoints},
	{Word: "no_rate", Err: ErrNoRate},
	{Word: "unknown_rule", Err: ErrUnknownRule},
	{Word: "unknown_partner", Err: ErrUnknownPartner},
	{Word: "overflow", Err: ErrOverflow},
	{Word: "invalid_request", Err: ErrInvalidRequest},
}

func newServiceTelemetry(cfg *Config) *serviceTelemetry {
	f := telemetry.New("points", telemetry.Providers{Logger: cfg.Logger, TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider})
	word := telemetry.Words(outcomeWords...)
	return &serviceTelemetry{Feature: f,
		earn:        f.Op(telemetry.PointsEarn, word, "op_conflict"),
		redeem:      f.Op(telemetry.PointsRedeem, word, "op_conflict"),
		exchangeOut: f.Op(telemetry.PointsExchangeOut, word, "op_conflict"),
		exchangeIn:  f.Op(telemetry.PointsExchangeIn, word, "op_conflict"),
	}
}
