package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/socialpay/socialpay/internal/telemetry"
)

// dbTelemetry is a DB's instruments (see docs/observability.md): every
// operation of the stores as a span with its duration (retries and commit
// included) and outcome, the retries by reason, the sizes of the group
// commits; and a Warn log line when an operation runs out of retries or a
// lost connection resets the pool.
type dbTelemetry struct {
	*telemetry.Feature
	on      bool // traced or metered
	dur     metric.Float64Histogram
	retries metric.Int64Counter
	batch   metric.Float64Histogram
}

func newDBTelemetry(c *Config) *dbTelemetry {
	f := telemetry.New("postgres", telemetry.Providers{Logger: c.Logger, TracerProvider: c.TracerProvider, MeterProvider: c.MeterProvider})
	return &dbTelemetry{Feature: f, on: f.Tracer() != nil || f.Metered(),
		dur:     f.Histogram(telemetry.PostgresDuration),
		retries: f.Counter(telemetry.PostgresRetries),
		batch:   f.Histogram(telemetry.PostgresBatchSize),
	}
}

// dbOp is one operation of db.run in progress; the zero dbOp records
// nothing.
type dbOp struct {
	span  trace.Span
	start time.Time
	on    bool
}

func (t *dbTelemetry) start(ctx context.Context, op string) (context.Context, dbOp) {
	if !t.on {
		return ctx, dbOp{}
	}
	o := dbOp{on: true, start: time.Now()}
	if tr := t.Tracer(); tr != nil {
		ctx, o.span = tr.Start(ctx, "postgres "+op, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("db.system.name", "postgresql"), attribute.String(telemetry.KeyOperation, op)))
	}
	return ctx, o
}

// end records the operation's outcome after attempts attempts.
func (t *dbTelemetry) end(ctx context.Context, o dbOp, op string, attempts int, err error) {
	if !o.on {
		return
	}
	word := telemetry.Outcome(err)
	if o.span != nil {
		o.span.SetAttributes(attribute.String(telemetry.KeyOutcome, word), attribute.Int("socialpay.postgres.attempts", attempts))
		if err != nil {
			o.span.SetStatus(codes.Error, word)
		}
		o.span.End()
	}
	if t.Metered() {
		t.dur.Record(ctx, time.Since(o.start).Seconds(), metric.WithAttributes(
			attribute.String(telemetry.KeyOperation, op), attribute.String(telemetry.KeyOutcome, word)))
	}
}

// retry counts an attempt of op that failed with err and runs again.
func (t *dbTelemetry) retry(ctx context.Context, op string, err error) {
	if t.Metered() {
		t.retries.Add(ctx, 1, metric.WithAttributes(attribute.String(telemetry.KeyOperation, op), attribute.String(telemetry.KeyReason, retryReason(err))))
	}
}

// exhausted logs an operation that ran out of retries: the reason word
// and SQLSTATE only (a server's message can quote the row's values).
func (t *dbTelemetry) exhausted(ctx context.Context, op string, attempts int, last error) {
	t.Log.WarnContext(ctx, "postgres: retries exhausted", telemetry.KeyOperation, op, "attempts", attempts,
		telemetry.KeyReason, retryReason(last), "sqlstate", sqlState(last))
}

// poolReset logs a lost connection that reset the pool.
func (t *dbTelemetry) poolReset(ctx context.Context, err error) {
	t.Log.WarnContext(ctx, "postgres: connection lost, pool reset", "sqlstate", sqlState(err))
}

// size records the calls of one group-commit batch.
func (t *dbTelemetry) size(ctx context.Context, batch string, n int) {
	if t.Metered() {
		t.batch.Record(ctx, float64(n), metric.WithAttributes(attribute.String(telemetry.KeyBatch, batch)))
	}
}

// retryReason names why a retryable error is retried.
func retryReason(err error) string {
	var pe *pgconn.PgError
	switch {
	case errors.Is(err, errRerun):
		return "rerun"
	case !errors.As(err, &pe):
		return "connection"
	case pe.Code == codeSerializationFailure:
		return "serialization_failure"
	case pe.Code == codeDeadlock:
		return "deadlock"
	case pe.Code == codeUniqueViolation:
		return "unique_violation"
	}
	return "connection"
}

// sqlState returns err's SQLSTATE, "" when it has none.
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
