// Package telemetry is socialpay's one place for logs, traces and metrics.
// It names every instrument (names.go, documented in
// docs/observability.md) and builds a feature's logger, tracer and
// instruments from the providers of the feature's Config, once, in the
// feature's constructor; the feature then records each operation and sweep
// through them.
//
// With no provider (nil, or a noop provider) an operation's Start and End
// inline to a nil check each and allocate nothing: the hot paths of the
// memory stores stay as they are. With a MeterProvider each operation adds
// one to its counter and records its duration, under attributes built once
// per (outcome, currency) pair; with a TracerProvider it is a span whose
// status says the outcome. The outcome is "ok" or the error's code
// (errcode.Of), a fixed set; error messages never go into spans, metrics
// or logs (they can hold a customer's phone number).
package telemetry

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/socialpay/socialpay/errcode"
)

// Providers are the three observability fields of every Config; each nil
// means none.
type Providers struct {
	Logger         *slog.Logger
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// Feature is one package's logger, tracer and meter (its instrumentation
// scope is ScopePrefix + the feature's name), and the sweep instruments
// every feature shares. It is safe for concurrent use.
type Feature struct {
	// Log is the Config's logger, or one that discards everything.
	Log *slog.Logger

	name    string
	logs    bool         // a Logger was given
	tracer  trace.Tracer // nil: no spans
	meter   metric.Meter // a noop meter when not metered
	metered bool

	sweepDur   metric.Float64Histogram
	sweepItems metric.Int64Counter
}

// New builds the Feature of the package named feature ("redpacket") from
// p. A noop provider counts as none.
func New(feature string, p Providers) *Feature {
	f := &Feature{Log: p.Logger, name: feature, logs: p.Logger != nil}
	if f.Log == nil {
		f.Log = slog.New(slog.DiscardHandler)
	}
	scope := ScopePrefix + feature
	if on(p.TracerProvider) {
		f.tracer = p.TracerProvider.Tracer(scope)
	}
	mp := p.MeterProvider
	f.metered = on(mp)
	if !f.metered {
		mp = metricnoop.NewMeterProvider()
	}
	f.meter = mp.Meter(scope)
	f.sweepDur = f.Histogram(SweepDuration)
	f.sweepItems = f.Counter(SweepItems)
	return f
}

// on reports whether a provider is set and does something.
func on(p any) bool {
	switch p.(type) {
	case nil, tracenoop.TracerProvider, *tracenoop.TracerProvider, metricnoop.MeterProvider, *metricnoop.MeterProvider:
		return false
	}
	return true
}

// Name returns the feature's name.
func (f *Feature) Name() string { return f.name }

// Tracer returns the feature's tracer, nil when it is not traced.
func (f *Feature) Tracer() trace.Tracer { return f.tracer }

// Metered reports whether the Feature records metrics: callers skip
// building attributes when it does not.
func (f *Feature) Metered() bool { return f.metered }

// Counter returns the feature's counter of spec (a noop counter when not
// metered).
func (f *Feature) Counter(spec Instrument) metric.Int64Counter {
	c, err := f.meter.Int64Counter(spec.Name, metric.WithDescription(spec.Desc), metric.WithUnit(spec.Unit))
	if err != nil {
		f.Log.Warn("telemetry: instrument", "name", spec.Name, "error", err)
	}
	if c == nil {
		c, _ = metricnoop.NewMeterProvider().Meter("").Int64Counter(spec.Name)
	}
	return c
}

// Histogram returns the feature's histogram of spec (a noop histogram when
// not metered), with spec's bucket boundaries.
func (f *Feature) Histogram(spec Instrument) metric.Float64Histogram {
	opts := []metric.Float64HistogramOption{metric.WithDescription(spec.Desc), metric.WithUnit(spec.Unit)}
	if len(spec.Buckets) > 0 {
		opts = append(opts, metric.WithExplicitBucketBoundaries(spec.Buckets...))
	}
	h, err := f.meter.Float64Histogram(spec.Name, opts...)
	if err != nil {
		f.Log.Warn("telemetry: instrument", "name", spec.Name, "error", err)
	}
	if h == nil {
		h, _ = metricnoop.NewMeterProvider().Meter("").Float64Histogram(spec.Name)
	}
	return h
}

// Outcome returns the outcome word of an operation that returned err:
// "ok" for nil, else err's code (errcode.Of: the code of the first
// sentinel in its chain, or "timeout", "canceled", "unavailable",
// "internal"). The codes are a fixed set (docs/errors.md), so they suit
// a metric attribute.
func Outcome(err error) string {
	if err == nil {
		return OutcomeOK
	}
	code, _ := errcode.Of(err)
	return code
}

// Outcome words of their own.
const (
	OutcomeOK = "ok"
	// OutcomeRefusedRetry is the code of a request whose idempotency key
	// was used before for another request: a client retrying wrongly,
	// which operators hear of in the log.
	OutcomeRefusedRetry = "idempotency_conflict"
)

// Op is the instruments of one operation of a feature: a span, a counter
// and a duration histogram (see OpSpec), and a log line for the outcomes
// an operator should hear of.
type Op struct {
	spec    OpSpec
	tracer  trace.Tracer
	metered bool
	on      bool // anything to do at all
	count   metric.Int64Counter
	dur     metric.Float64Histogram
	log     *slog.Logger
	fixed   []attribute.KeyValue

	mu   sync.Mutex                        // serializes adding to sets
	sets atomic.Pointer[map[opKey]opAttrs] // copied on write: read without a lock
}

type opKey struct{ outcome, currency string }

type opAttrs struct {
	metric []metric.AddOption    // for the counter
	record []metric.RecordOption // for the histogram
	span   []attribute.KeyValue
}

// Op returns the instruments of spec. A request it refuses with
// OutcomeRefusedRetry is logged at Info with the operation's ID
// (Span.ID): a client reusing an idempotency key for another request,
// which never happens on the hot path.
func (f *Feature) Op(spec OpSpec) *Op {
	o := &Op{spec: spec, tracer: f.tracer, metered: f.metered, log: f.Log}
	o.on = o.tracer != nil || o.metered || f.logs
	if spec.Kind != "" {
		o.fixed = []attribute.KeyValue{attribute.String(KeyKind, spec.Kind)}
	}
	o.count = f.Counter(Instrument{Name: spec.Counter, Desc: spec.Desc, Unit: spec.Unit})
	o.dur = f.Histogram(Instrument{Name: spec.Duration, Desc: "Duration of " + spec.Desc, Unit: "s", Buckets: DurationBuckets})
	empty := map[opKey]opAttrs{}
	o.sets.Store(&empty)
	return o
}

// Span is one operation in progress. The zero Span (nothing observed)
// records nothing, and its methods, inlined, cost a nil check each.
type Span struct {
	op *Op
	s  *span    // nil unless traced or metered
	id [16]byte // the subject's ID (OpSpec.IDKey), for the log line
}

type span struct {
	span  trace.Span
	start time.Time
}

// Start starts an operation: a span (if traced) in the returned context,
// and its clock (if metered). Without providers it returns ctx and the
// zero Span at once.
func (o *Op) Start(ctx context.Context) (context.Context, Span) {
	if !o.on {
		return ctx, Span{}
	}
	return o.start(ctx)
}

func (o *Op) start(ctx context.Context) (context.Context, Span) {
	if o.tracer == nil && !o.metered {
		return ctx, Span{op: o} // logs only: nothing to allocate
	}
	s := &span{}
	if o.tracer != nil {
		ctx, s.span = o.tracer.Start(ctx, o.spec.Span, trace.WithAttributes(o.fixed...))
	}
	if o.metered {
		s.start = time.Now()
	}
	return ctx, Span{op: o, s: s}
}

// On reports whether the operation is observed at all: callers skip
// computing what only ID needs when it is not.
func (s *Span) On() bool { return s.op != nil }

// ID names the operation's subject: the span's attribute OpSpec.IDKey,
// and the log line's if there is one.
func (s *Span) ID(id uuid.UUID) {
	if s.op != nil {
		s.id = id
		if s.s != nil && s.s.span != nil && s.op.spec.IDKey != "" {
			s.s.span.SetAttributes(attribute.String(s.op.spec.IDKey, id.String()))
		}
	}
}

// End ends the operation with its error and the currency it concerned
// (the code, "" when unknown): the span gets the outcome word (and an
// error status when err is not nil), the counter one more, the histogram
// the duration.
func (s *Span) End(ctx context.Context, err error, currency string) {
	if s.op != nil {
		s.op.end(ctx, s, err, currency)
	}
}

func (o *Op) end(ctx context.Context, s *Span, err error, currency string) {
	word := Outcome(err)
	if s.s != nil {
		a := o.attrs(word, currency)
		if s.s.span != nil {
			s.s.span.SetAttributes(a.span...)
			if err != nil {
				s.s.span.SetStatus(codes.Error, word)
			}
			s.s.span.End()
		}
		if o.metered {
			o.count.Add(ctx, 1, a.metric...)
			o.dur.Record(ctx, time.Since(s.s.start).Seconds(), a.record...)
		}
	}
	if word == OutcomeRefusedRetry {
		attrs := []slog.Attr{slog.String(KeyOutcome, word)}
		if o.spec.IDKey != "" {
			attrs = append(attrs, slog.String(o.spec.IDKey, uuid.UUID(s.id).String()))
		}
		o.log.LogAttrs(ctx, slog.LevelInfo, o.spec.Span+" refused", attrs...)
	}
}

// Count adds one to the operation's counter without a span or duration:
// for the items of a batch, whose duration is the batch's.
func (o *Op) Count(ctx context.Context, err error, currency string) {
	if o.metered {
		o.count.Add(ctx, 1, o.attrs(Outcome(err), currency).metric...)
	}
}

// attrs returns the attributes of an outcome and currency, built once.
func (o *Op) attrs(outcome, currency string) opAttrs {
	k := opKey{outcome, currency}
	if a, ok := (*o.sets.Load())[k]; ok {
		return a
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	old := *o.sets.Load()
	if a, ok := old[k]; ok {
		return a
	}
	kvs := append([]attribute.KeyValue{attribute.String(KeyOutcome, outcome)}, o.fixed...)
	if currency != "" {
		kvs = append(kvs, attribute.String(KeyCurrency, currency))
	}
	set := metric.WithAttributeSet(attribute.NewSet(kvs...))
	a := opAttrs{metric: []metric.AddOption{set}, record: []metric.RecordOption{set}, span: kvs}
	next := make(map[opKey]opAttrs, len(old)+1)
	for kk, v := range old {
		next[kk] = v
	}
	next[k] = a
	o.sets.Store(&next)
	return a
}

// Sweep is a periodic job in progress (a refund sweep, a Reconcile).
type Sweep struct {
	f     *Feature
	name  string
	span  trace.Span
	start time.Time
}

// StartSweep starts the sweep called name ("refund_expired").
func (f *Feature) StartSweep(ctx context.Context, name string) (context.Context, Sweep) {
	s := Sweep{f: f, name: name, start: time.Now()}
	if f.tracer != nil {
		ctx, s.span = f.tracer.Start(ctx, f.name+"."+name,
			trace.WithAttributes(attribute.String(KeyFeature, f.name), attribute.String(KeySweep, name)))
	}
	return ctx, s
}

// Item is a count of a sweep's report: what it did (Result, a word such
// as "refunded") to how many (N). A repair is work that means records and
// the ledger disagreed.
type Item struct {
	Result string
	N      int
	Repair bool
}

// End ends the sweep with its error and what it did: the span and the
// metrics get the counts, and the log a line — at Warn when the sweep
// failed or repaired something, at Info when it did anything, else at
// Debug.
func (s Sweep) End(ctx context.Context, err error, items ...Item) {
	outcome := OutcomeOK
	if err != nil {
		outcome = "error"
	}
	elapsed := time.Since(s.start)
	level := slog.LevelDebug
	attrs := make([]slog.Attr, 0, len(items)+4)
	attrs = append(attrs, slog.String(KeyFeature, s.f.name), slog.String(KeySweep, s.name), slog.Duration("duration", elapsed))
	for _, it := range items {
		if it.N == 0 {
			continue
		}
		attrs = append(attrs, slog.Int(it.Result, it.N))
		switch {
		case it.Repair:
			level = slog.LevelWarn
		case level < slog.LevelInfo:
			level = slog.LevelInfo
		}
	}
	msg := "sweep"
	if err != nil {
		level = slog.LevelWarn
		msg = "sweep failed in part"
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	if s.f.Log.Enabled(ctx, level) {
		s.f.Log.LogAttrs(ctx, level, msg, attrs...)
	}
	if s.span != nil {
		s.span.SetAttributes(attribute.String(KeyOutcome, outcome))
		for _, it := range items {
			s.span.SetAttributes(attribute.Int("socialpay.sweep."+it.Result, it.N))
		}
		if err != nil {
			s.span.SetStatus(codes.Error, outcome)
		}
		s.span.End()
	}
	if !s.f.metered {
		return
	}
	base := []attribute.KeyValue{attribute.String(KeyFeature, s.f.name), attribute.String(KeySweep, s.name)}
	s.f.sweepDur.Record(ctx, elapsed.Seconds(), metric.WithAttributes(append(base, attribute.String(KeyOutcome, outcome))...))
	for _, it := range items {
		if it.N > 0 {
			s.f.sweepItems.Add(ctx, int64(it.N), metric.WithAttributes(append(base, attribute.String(KeyResult, it.Result))...))
		}
	}
}
