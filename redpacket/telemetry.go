package redpacket

import (
	"github.com/socialpay/socialpay/internal/telemetry"
)

// serviceTelemetry is the Service's instruments (see docs/observability.md).
type serviceTelemetry struct {
	*telemetry.Feature
	send, claim *telemetry.Op
}

func newServiceTelemetry(cfg *Config) *serviceTelemetry {
	f := telemetry.New("redpacket", telemetry.Providers{Logger: cfg.Logger, TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider})
	return &serviceTelemetry{Feature: f, send: f.Op(telemetry.RedpacketSend), claim: f.Op(telemetry.RedpacketClaim)}
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
