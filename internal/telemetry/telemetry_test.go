package telemetry_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/socialpay/socialpay/internal/telemetry"
	"github.com/socialpay/socialpay/redpacket"
)

// logLine returns the first JSON log line with message msg.
func logLine(t *testing.T, logs *bytes.Buffer, msg string) map[string]any {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(logs.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if m["msg"] == msg {
			return m
		}
	}
	t.Fatalf("no log line %q in:\n%s", msg, logs)
	return nil
}

var errSoldOut = redpacket.ErrSoldOut

// Without providers, or with the API's noop providers, an operation costs
// no allocation: the hot paths stay as they were.
func TestNoProvidersAllocateNothing(t *testing.T) {
	for _, c := range []struct {
		name string
		p    telemetry.Providers
	}{
		{"nil", telemetry.Providers{}},
		{"noop", telemetry.Providers{TracerProvider: tracenoop.NewTracerProvider(), MeterProvider: metricnoop.NewMeterProvider()}},
		{"logger only", telemetry.Providers{Logger: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := telemetry.New("redpacket", c.p)
			op := f.Op(telemetry.RedpacketClaim)
			ctx, id := context.Background(), uuid.New()
			for _, err := range []error{nil, errSoldOut, fmt.Errorf("claim: %w", errSoldOut)} {
				allocs := testing.AllocsPerRun(100, func() {
					ctx, sp := op.Start(ctx)
					sp.ID(id)
					sp.End(ctx, err, "CNY")
					op.Count(ctx, err, "CNY")
				})
				if allocs != 0 {
					t.Errorf("error %v: %v allocations per operation, want 0", err, allocs)
				}
			}
		})
	}
}

// The outcome word is "ok" or the error's code.
func TestOutcome(t *testing.T) {
	for err, want := range map[error]string{
		nil:                                    "ok",
		errSoldOut:                             "sold_out",
		fmt.Errorf("packet x: %w", errSoldOut): "sold_out",
		context.Canceled:                       "canceled",
		fmt.Errorf("a: %w", context.DeadlineExceeded): "timeout",
		errors.New("disk on fire"):                    "internal",
	} {
		if got := telemetry.Outcome(err); got != want {
			t.Errorf("Outcome(%v) = %q, want %q", err, got, want)
		}
	}
}

// docs/observability.md lists every instrument, span and attribute.
func TestDocsListEveryName(t *testing.T) {
	doc, err := os.ReadFile("../../docs/observability.md")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, op := range telemetry.Ops() {
		names = append(names, op.Span)
		if op.IDKey != "" {
			names = append(names, op.IDKey)
		}
	}
	for _, in := range telemetry.All() {
		names = append(names, in.Name)
		names = append(names, in.Attrs...)
	}
	for _, n := range names {
		if !strings.Contains(string(doc), "`"+n+"`") {
			t.Errorf("docs/observability.md does not list `%s`", n)
		}
	}
}

// BenchmarkOp is an operation's instrumentation alone: none, and the
// OpenTelemetry SDK's tracer (recording every span) and meter.
func BenchmarkOp(b *testing.B) {
	sdk := newObservedB(b)
	for _, c := range []struct {
		name string
		p    telemetry.Providers
	}{
		{"none", telemetry.Providers{}},
		{"metrics", telemetry.Providers{MeterProvider: sdk.mp}},
		{"metrics+traces", telemetry.Providers{MeterProvider: sdk.mp, TracerProvider: sdk.tp}},
	} {
		b.Run(c.name, func(b *testing.B) {
			op := telemetry.New("redpacket", c.p).Op(telemetry.RedpacketClaim)
			ctx, id := context.Background(), uuid.New()
			b.ReportAllocs()
			for b.Loop() {
				ctx, sp := op.Start(ctx)
				sp.ID(id)
				sp.End(ctx, nil, "CNY")
			}
		})
	}
}
