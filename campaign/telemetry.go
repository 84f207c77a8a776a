package campaign

import (
	"github.com/socialpay/socialpay/internal/telemetry"
	"github.com/socialpay/socialpay/ledger"
)

// serviceTelemetry is the Service's instruments (see docs/observability.md).
type serviceTelemetry struct {
	*telemetry.Feature
	try *telemetry.Op
}

// outcomeWords are the outcome words of tries, the values of the
// "outcome" attribute of their metrics and spans; the first that an error
// matches names it.
var outcomeWords = []telemetry.Word{
	{Word: "payment_pending", Err: ErrPaymentPending},
	{Word: "prize_forfeited", Err: ErrPrizeForfeited},
	{Word: "account_not_found", Err: ledger.ErrAccountNotFound},
	{Word: "account_frozen", Err: ledger.ErrAccountFrozen},
	{Word: "account_closed", Err: ledger.ErrAccountClosed},
	{Word: "currency_mismatch", Err: ledger.ErrCurrencyMismatch},
	{Word: "rate_limited", Err: ErrRateLimited},
	{Word: "sold_out", Err: ErrSoldOut},
	{Word: "ended", Err: ErrEnded},
	{Word: "not_open", Err: ErrNotOpen},
	{Word: "closed", Err: ErrClosed},
	{Word: "cancelled", Err: ErrCancelled},
	{Word: "not_funded", Err: ErrNotFunded},
	{Word: "campaign_not_found", Err: ErrCampaignNotFound},
	{Word: "user_cap", Err: ErrUserCap},
	{Word: "daily_cap", Err: ErrDailyCap},
	{Word: "win_cap", Err: ErrWinCap},
	{Word: "not_eligible", Err: ErrNotEligible},
	{Word: "try_out_of_order", Err: ErrTryOutOfOrder},
	{Word: "invalid_request", Err: ErrInvalidRequest},
}

func newServiceTelemetry(cfg *Config) *serviceTelemetry {
	f := telemetry.New("campaign", telemetry.Providers{Logger: cfg.Logger, TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider})
	return &serviceTelemetry{Feature: f, try: f.Op(telemetry.CampaignTry, telemetry.Words(outcomeWords...))}
}

// swept is what a Sweep did, for its log and metrics.
func swept(n int) telemetry.Item { return telemetry.Item{Result: "swept", N: n} }

// items are what a ReconcileReport says, for the sweep's log and metrics.
func (r *ReconcileReport) items() []telemetry.Item {
	return []telemetry.Item{
		{Result: "funded", N: r.Funded}, {Result: "cancelled", N: r.Cancelled}, {Result: "paid", N: r.Paid},
		{Result: "forfeited", N: r.Forfeited}, {Result: "swept", N: r.Swept}, {Result: "settled", N: r.Settled},
	}
}
