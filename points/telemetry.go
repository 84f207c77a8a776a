package points

import "github.com/socialpay/socialpay/internal/telemetry"

// serviceTelemetry is the Service's instruments (see docs/observability.md).
type serviceTelemetry struct {
	*telemetry.Feature
	earn, redeem, exchangeOut, exchangeIn *telemetry.Op
}

func newServiceTelemetry(cfg *Config) *serviceTelemetry {
	f := telemetry.New("points", telemetry.Providers{Logger: cfg.Logger, TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider})
	return &serviceTelemetry{Feature: f,
		earn:        f.Op(telemetry.PointsEarn),
		redeem:      f.Op(telemetry.PointsRedeem),
		exchangeOut: f.Op(telemetry.PointsExchangeOut),
		exchangeIn:  f.Op(telemetry.PointsExchangeIn),
	}
}
