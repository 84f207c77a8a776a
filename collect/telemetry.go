package collect

import "github.com/socialpay/socialpay/internal/telemetry"

// serviceTelemetry is the Service's instruments (see docs/observability.md).
type serviceTelemetry struct {
	*telemetry.Feature
	pay *telemetry.Op
}

func newServiceTelemetry(cfg *Config) *serviceTelemetry {
	f := telemetry.New("collect", telemetry.Providers{Logger: cfg.Logger, TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider})
	return &serviceTelemetry{Feature: f, pay: f.Op(telemetry.CollectPay)}
}
