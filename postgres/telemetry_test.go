package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// A DB with providers records each operation's duration by outcome, each
// retry by reason and each group commit's size; an operation out of
// retries is logged by SQLSTATE, and is a span with its attempts.
func TestDBTelemetry(t *testing.T) {
	base := testDB(t)
	spans, reader, logs := tracetest.NewInMemoryExporter(), sdkmetric.NewManualReader(), &bytes.Buffer{}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	cfg := base.cfg
	cfg.Pool = base.cfg.Pool.Copy()
	cfg.Pool.MaxConns = 2
	cfg.RetryBase, cfg.RetryMax, cfg.MaxAttempts = time.Microsecond, time.Microsecond, 3
	cfg.TracerProvider, cfg.MeterProvider = tp, mp
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	db, err := OpenConfig(context.Background(), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	ctx := context.Background()
	raise := func(conn *pgx.Conn, code string) error {
		_, err := conn.Exec(ctx, fmt.Sprintf(`do $$ begin raise exception 'row (13800138000)' using errcode = '%s'; end $$`, code))
		return err
	}
	attempts := 0
	if err := db.run(ctx, "telemetry test", func(ctx context.Context, conn *pgx.Conn) error {
		if attempts++; attempts == 1 {
			return raise(conn, codeDeadlock)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.run(ctx, "telemetry test", func(ctx context.Context, conn *pgx.Conn) error {
		return raise(conn, codeSerializationFailure)
	}); err == nil {
		t.Fatal("endless conflicts succeeded")
	}
	g := newGrouper(newQueueLife(db), db.tel, "telemetry.test", groupDefault, func(context.Context, []*groupCall[int, int]) error { return nil })
	if _, err := g.Do(ctx, 1); err != nil {
		t.Fatal(err)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					op, _ := dp.Attributes.Value("operation")
					reason, _ := dp.Attributes.Value("reason")
					got[m.Name+" "+op.AsString()+" "+reason.AsString()] += dp.Value
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					op, _ := dp.Attributes.Value("operation")
					outcome, _ := dp.Attributes.Value("outcome")
					batch, _ := dp.Attributes.Value("batch")
					got[m.Name+" "+op.AsString()+outcome.AsString()+batch.AsString()] += int64(dp.Count)
				}
			}
		}
	}
	for k, want := range map[string]int64{
		"socialpay.postgres.retries telemetry test deadlock":                    1,
		"socialpay.postgres.retries telemetry test serialization_failure":       2, // the third attempt is not retried
		"socialpay.postgres.operation.duration telemetry testok":                1,
		"socialpay.postgres.operation.duration telemetry testretries_exhausted": 1,
		"socialpay.postgres.batch.size telemetry.test":                          1,
	} {
		if got[k] != want {
			t.Errorf("%s: %d, want %d (all: %v)", k, got[k], want, got)
		}
	}

	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v", logs, err)
	}
	if line["msg"] != "postgres: retries exhausted" || line["level"] != "WARN" || line["sqlstate"] != codeSerializationFailure ||
		line["attempts"] != float64(3) || line["reason"] != "serialization_failure" || line["operation"] != "telemetry test" {
		t.Errorf("log line %v", line)
	}
	if strings.Contains(logs.String(), "13800138000") {
		t.Errorf("the log quotes the server's message: %s", logs)
	}
	n := 0
	for _, s := range spans.GetSpans() {
		if s.Name != "postgres telemetry test" {
			continue
		}
		n++
		for _, kv := range s.Attributes {
			if kv.Key == "socialpay.postgres.attempts" && kv.Value.AsInt64() != 2 && kv.Value.AsInt64() != 3 {
				t.Errorf("span of %d attempts", kv.Value.AsInt64())
			}
		}
	}
	if n != 2 {
		t.Errorf("%d spans of the test operations, want 2", n)
	}
}
