package campaign

import (
	"github.com/socialpay/socialpay/internal/telemetry"
)

// serviceTelemetry is the Service's instruments (see docs/observability.md).
type serviceTelemetry struct {
	*telemetry.Feature
	try *telemetry.Op
}

func newServiceTelemetry(cfg *Config) *serviceTelemetry {
	f := telemetry.New("campaign", telemetry.Providers{Logger: cfg.Logger, TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider})
	return &serviceTelemetry{Feature: f, try: f.Op(telemetry.CampaignTry)}
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
