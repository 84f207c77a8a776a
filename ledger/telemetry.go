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

func newLedgerTelemetry(opts *Options) *ledgerTelemetry {
	f := telemetry.New("ledger", telemetry.Providers{Logger: opts.Logger, TracerProvider: opts.TracerProvider, MeterProvider: opts.MeterProvider})
	return &ledgerTelemetry{Feature: f,
		transfer: f.Op(telemetry.LedgerTransfer),
		batch:    f.Op(telemetry.LedgerBatch),
		linked:   f.Op(telemetry.LedgerLinked),
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
