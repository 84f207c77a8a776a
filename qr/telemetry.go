package qr

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/socialpay/socialpay/internal/telemetry"
)

// serviceTelemetry is the Service's instruments (see docs/observability.md).
type serviceTelemetry struct {
	*telemetry.Feature
	charge, pay *telemetry.Op
	refusals    metric.Int64Counter
}

func newServiceTelemetry(cfg *Config) *serviceTelemetry {
	f := telemetry.New("qr", telemetry.Providers{Logger: cfg.Logger, TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider})
	return &serviceTelemetry{Feature: f,
		charge:   f.Op(telemetry.QRCharge),
		pay:      f.Op(telemetry.QRPay),
		refusals: f.Counter(telemetry.QRCodeRefusals),
	}
}

// refused counts a refused payment code by its reason's code
// (CodeRefusal.Reason: unknown_device, wrong_code…; internal for a store
// that could not count the attempt's end).
func (t *serviceTelemetry) refused(ctx context.Context, reason error) {
	if t.Metered() {
		t.refusals.Add(ctx, 1, metric.WithAttributes(attribute.String(telemetry.KeyReason, telemetry.Outcome(reason))))
	}
}

// items are what a ReconcileReport says, for the sweep's log and metrics.
func (r *ReconcileReport) items() []telemetry.Item {
	return []telemetry.Item{
		{Result: "completed", N: r.Completed}, {Result: "cancelled", N: r.Cancelled}, {Result: "pending", N: r.Pending},
		{Result: "repaired", N: r.Repaired, Repair: true}, {Result: "unrepaired", N: r.Unrepaired, Repair: true},
	}
}
