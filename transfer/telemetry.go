package transfer

import (
	"github.com/socialpay/socialpay/internal/telemetry"
)

// serviceTelemetry is the Service's instruments (see docs/observability.md).
type serviceTelemetry struct {
	*telemetry.Feature
	send, resolve, verify *telemetry.Op
}

func newServiceTelemetry(cfg *Config) *serviceTelemetry {
	f := telemetry.New("transfer", telemetry.Providers{Logger: cfg.Logger, TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider})
	return &serviceTelemetry{Feature: f,
		send:    f.Op(telemetry.TransferSend),
		resolve: f.Op(telemetry.TransferResolve),
		verify:  f.Op(telemetry.TransferVerify),
	}
}

// items are what a ReconcileReport says, for the sweep's log and metrics.
func (r *ReconcileReport) items() []telemetry.Item {
	return []telemetry.Item{
		{Result: "settled", N: r.Settled}, {Result: "cancelled", N: r.Cancelled}, {Result: "held", N: r.Held},
		{Result: "failed", N: r.Failed}, {Result: "undone", N: r.Undone, Repair: true}, {Result: "failing", N: r.Failing, Repair: true},
	}
}
