package telemetry_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/qr"
	"github.com/socialpay/socialpay/redpacket"
	"github.com/socialpay/socialpay/transfer"
)

// observed is the OpenTelemetry SDK with an in-memory span exporter and a
// manual metric reader, and a JSON log in a buffer.
type observed struct {
	spans  *tracetest.InMemoryExporter
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
	logs   *bytes.Buffer
	log    *slog.Logger
}

func newObserved(t *testing.T) *observed {
	o := &observed{spans: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader(), logs: &bytes.Buffer{}}
	o.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(o.spans))
	o.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(o.reader))
	o.log = slog.New(slog.NewJSONHandler(o.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		_ = o.tp.Shutdown(context.Background())
		_ = o.mp.Shutdown(context.Background())
	})
	return o
}

// spansNamed returns the ended spans called name.
func (o *observed) spansNamed(name string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range o.spans.GetSpans() {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// metrics collects every metric by name.
func (o *observed) metrics(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := o.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// counts returns a counter's values by outcome (and currency, when
// recorded: "outcome/currency").
func counts(t *testing.T, ms map[string]metricdata.Metrics, name string) map[string]int64 {
	t.Helper()
	m, ok := ms[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s is a %T, want a sum of int64", name, m.Data)
	}
	out := map[string]int64{}
	for _, dp := range sum.DataPoints {
		out[attrsKey(dp.Attributes)] += dp.Value
	}
	return out
}

// durations returns a duration histogram's counts by outcome (and
// currency).
func durations(t *testing.T, ms map[string]metricdata.Metrics, name string) map[string]uint64 {
	t.Helper()
	m, ok := ms[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	h, ok := m.Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s is a %T, want a float64 histogram", name, m.Data)
	}
	if m.Unit != "s" {
		t.Errorf("%s in %q, want s", name, m.Unit)
	}
	out := map[string]uint64{}
	for _, dp := range h.DataPoints {
		out[attrsKey(dp.Attributes)] += dp.Count
	}
	return out
}

func attrsKey(s attribute.Set) string {
	k := ""
	if v, ok := s.Value("outcome"); ok {
		k = v.AsString()
	}
	if v, ok := s.Value("currency"); ok {
		k += "/" + v.AsString()
	}
	return k
}

func attr(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

// outcomes returns the outcome attribute of each span, in order, and
// checks that a span's status is an error exactly when its outcome is not
// "ok", described by the outcome word.
func outcomes(t *testing.T, spans []tracetest.SpanStub) []string {
	t.Helper()
	var out []string
	for _, s := range spans {
		o := attr(s, "outcome")
		out = append(out, o)
		switch {
		case o == "ok" && s.Status.Code != codes.Unset:
			t.Errorf("span %s: outcome ok, status %v", s.Name, s.Status)
		case o != "ok" && (s.Status.Code != codes.Error || s.Status.Description != o):
			t.Errorf("span %s: outcome %s, status %v", s.Name, o, s.Status)
		}
	}
	return out
}

func equal[K comparable, V comparable](t *testing.T, what string, got, want map[K]V) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %v, want %v", what, got, want)
		return
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, want %v", what, got, want)
			return
		}
	}
}

var cny = ledger.MustCurrency("CNY")

// bank is a ledger observed by o with a cash account, on a clock.
type bank struct {
	ctx  context.Context
	now  time.Time
	l    *ledger.Ledger
	cash uuid.UUID
}

func newBank(t *testing.T, o *observed) *bank {
	b := &bank{ctx: context.Background(), now: time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)}
	b.l = ledger.New(nil, ledger.Options{Now: func() time.Time { return b.now }, TracerProvider: o.tp, MeterProvider: o.mp, Logger: o.log})
	b.cash = b.account(t, 0, 0)
	return b
}

func (b *bank) account(t *testing.T, flags ledger.AccountFlags, fen int64) uuid.UUID {
	t.Helper()
	a, err := b.l.CreateAccount(b.ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	if fen > 0 {
		if _, err := b.l.Transfer(b.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: b.cash, CreditAccountID: a.ID, Amount: ledger.NewMoney(fen, cny)}); err != nil {
			t.Fatal(err)
		}
	}
	return a.ID
}

func (b *bank) wallet(t *testing.T, fen int64) uuid.UUID {
	return b.account(t, ledger.DebitsMustNotExceedCredits, fen)
}

type everyone struct{}

func (everyone) IsMember(context.Context, uuid.UUID, uuid.UUID) (bool, error) { return true, nil }
func (everyone) GroupSize(context.Context, uuid.UUID) (int, error)            { return 10, nil }

// A red packet's sends and claims, each a span (the ledger's transfers
// its children), counted by outcome and currency with their durations,
// on every return path: success, a refusal of the ledger, sold out, a
// packet that does not exist, a request refused before anything is read.
// The refund sweep is logged with what it did.
func TestRedPacketTelemetry(t *testing.T) {
	o := newObserved(t)
	b := newBank(t, o)
	ctx := b.ctx
	svc, err := redpacket.New(redpacket.Config{Ledger: b.l, Members: everyone{}, SingleProcess: true,
		Now: func() time.Time { return b.now }, TracerProvider: o.tp, MeterProvider: o.mp, Logger: o.log})
	if err != nil {
		t.Fatal(err)
	}
	sender, poor, group := b.wallet(t, 100_00), b.wallet(t, 1), uuid.New()
	user := uuid.New()
	send := func(key string, from uuid.UUID) error {
		_, err := svc.Send(ctx, redpacket.SendRequest{Key: key, Kind: redpacket.Lucky, Sender: user, SenderAccount: from,
			Group: group, Amount: ledger.NewMoney(10_00, cny), Count: 2})
		return err
	}
	packet := svc.PacketID(user, "packet")
	if err := send("packet", sender); err != nil {
		t.Fatal(err)
	}
	if err := send("poor", poor); !errors.Is(err, ledger.ErrInsufficientFunds) {
		t.Fatalf("send from a poor wallet: %v", err)
	}
	if err := send("spare", sender); err != nil { // expires unclaimed
		t.Fatal(err)
	}
	claim := func(p uuid.UUID) error {
		_, err := svc.Claim(ctx, redpacket.ClaimRequest{Packet: p, User: uuid.New(), Account: b.wallet(t, 0)})
		return err
	}
	for range 2 {
		if err := claim(packet); err != nil {
			t.Fatal(err)
		}
	}
	if err := claim(packet); !errors.Is(err, redpacket.ErrSoldOut) {
		t.Fatalf("third claim: %v", err)
	}
	if err := claim(uuid.New()); !errors.Is(err, redpacket.ErrPacketNotFound) {
		t.Fatalf("claim of no packet: %v", err)
	}
	if _, err := svc.Claim(ctx, redpacket.ClaimRequest{Packet: packet}); !errors.Is(err, redpacket.ErrInvalidRequest) {
		t.Fatalf("claim without a user: %v", err)
	}

	sends, claims := o.spansNamed("redpacket.Send"), o.spansNamed("redpacket.Claim")
	equal(t, "send outcomes", tally(outcomes(t, sends)), map[string]int{"ok": 2, "insufficient_funds": 1})
	equal(t, "claim outcomes", tally(outcomes(t, claims)), map[string]int{"ok": 2, "sold_out": 1, "packet_not_found": 1, "invalid_request": 1})
	for _, s := range claims[:3] {
		if attr(s, "currency") != "CNY" || attr(s, "socialpay.packet.id") != packet.String() {
			t.Errorf("claim span %v: currency %q, packet %q", s.SpanContext.SpanID(), attr(s, "currency"), attr(s, "socialpay.packet.id"))
		}
	}
	// A claim's payment is a ledger transfer inside the claim's span.
	paid := 0
	for _, lt := range o.spansNamed("ledger.Transfer") {
		for _, c := range claims[:2] {
			if lt.Parent.SpanID() == c.SpanContext.SpanID() && lt.SpanContext.TraceID() == c.SpanContext.TraceID() {
				paid++
			}
		}
	}
	if paid < 2 {
		t.Errorf("%d ledger transfers inside the two claims' spans, want at least 2", paid)
	}

	ms := o.metrics(t)
	equal(t, "claims", counts(t, ms, "socialpay.redpacket.claims"),
		map[string]int64{"ok/CNY": 2, "sold_out/CNY": 1, "packet_not_found": 1, "invalid_request": 1})
	equal(t, "claim durations", durations(t, ms, "socialpay.redpacket.claim.duration"),
		map[string]uint64{"ok/CNY": 2, "sold_out/CNY": 1, "packet_not_found": 1, "invalid_request": 1})
	equal(t, "sends", counts(t, ms, "socialpay.redpacket.sends"), map[string]int64{"ok/CNY": 2, "insufficient_funds/CNY": 1})
	if got := counts(t, ms, "socialpay.ledger.transfers"); got["insufficient_funds/CNY"] != 1 || got["ok/CNY"] < 4 {
		t.Errorf("ledger transfers %v: want the refused funding and at least two fundings and two payments", got)
	}

	b.now = b.now.Add(25 * time.Hour)
	if n, err := svc.RefundExpired(ctx, b.now); n != 1 || err != nil {
		t.Fatalf("RefundExpired: %d, %v", n, err)
	}
	line := logLine(t, o.logs, "sweep")
	if line["feature"] != "redpacket" || line["sweep"] != "refund_expired" || line["refunded"] != float64(1) || line["level"] != "INFO" {
		t.Errorf("sweep log %v", line)
	}
	ms = o.metrics(t)
	equal(t, "sweep items", counts(t, ms, "socialpay.sweep.items"), map[string]int64{"": 1})
	if sw := o.spansNamed("redpacket.refund_expired"); len(sw) != 1 {
		t.Errorf("%d refund sweep spans", len(sw))
	}
}

// A phone transfer's sends and lookups: success, the ledger's refusal,
// a key reused for another request (logged, without the number), a number
// not bound. Nothing in the logs holds the payee's number or name.
func TestTransferTelemetry(t *testing.T) {
	o := newObserved(t)
	b := newBank(t, o)
	ctx := b.ctx
	svc, err := transfer.New(transfer.Config{Ledger: b.l, SingleProcess: true, Now: func() time.Time { return b.now },
		TracerProvider: o.tp, MeterProvider: o.mp, Logger: o.log})
	if err != nil {
		t.Fatal(err)
	}
	payee, payer := b.wallet(t, 0), b.wallet(t, 100_00)
	if _, err := svc.Bind(ctx, transfer.BindRequest{Phone: "13800138000", Holder: uuid.New(), Account: payee, Name: "王小明", VerifiedAt: b.now}); err != nil {
		t.Fatal(err)
	}
	alice := uuid.New() // the paying user
	res, err := svc.Resolve(ctx, alice, "138 0013 8000")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Resolve(ctx, alice, "139 0013 9000"); !errors.Is(err, transfer.ErrNotBound) {
		t.Fatalf("lookup of an unbound number: %v", err)
	}
	req := transfer.Request{Key: "k1", Payer: alice, From: payer, Token: res.Token, Amount: ledger.NewMoney(50_00, cny)}
	if _, err := svc.Send(ctx, req); err != nil {
		t.Fatal(err)
	}
	req.Amount = ledger.NewMoney(60_00, cny)
	if _, err := svc.Send(ctx, req); !errors.Is(err, transfer.ErrIdempotencyConflict) {
		t.Fatalf("key reused: %v", err)
	}
	req.Key, req.Token, req.Phone = "k2", "", "13800138000"
	if _, err := svc.Send(ctx, req); !errors.Is(err, ledger.ErrInsufficientFunds) {
		t.Fatalf("send beyond the balance: %v", err)
	}

	equal(t, "send outcomes", tally(outcomes(t, o.spansNamed("transfer.Send"))),
		map[string]int{"ok": 1, "idempotency_conflict": 1, "insufficient_funds": 1})
	ms := o.metrics(t)
	equal(t, "sends", counts(t, ms, "socialpay.transfer.sends"),
		map[string]int64{"ok/CNY": 1, "idempotency_conflict/CNY": 1, "insufficient_funds/CNY": 1})
	equal(t, "send durations", durations(t, ms, "socialpay.transfer.send.duration"),
		map[string]uint64{"ok/CNY": 1, "idempotency_conflict/CNY": 1, "insufficient_funds/CNY": 1})
	equal(t, "lookups", counts(t, ms, "socialpay.transfer.lookups"), map[string]int64{"ok": 1, "not_registered": 1})

	line := logLine(t, o.logs, "transfer.Send refused")
	if line["outcome"] != "idempotency_conflict" || line["socialpay.transfer.id"] != svc.RecordID(alice, "k1").String() {
		t.Errorf("refusal log %v", line)
	}
	for _, secret := range []string{"13800138000", "8000", "王小明", res.Token} {
		if strings.Contains(o.logs.String(), secret) {
			t.Errorf("the logs hold %q:\n%s", secret, o.logs)
		}
	}
}

// A payment code's charges: success, a wrong code (counted by reason), a
// replay, an order reused for another amount.
func TestQRChargeTelemetry(t *testing.T) {
	o := newObserved(t)
	b := newBank(t, o)
	ctx := b.ctx
	codes, err := qr.NewPaymentCodes(qr.PaymentCodeConfig{Prefix: "28", Key: []byte("permutation key shared with apps")})
	if err != nil {
		t.Fatal(err)
	}
	kek, _ := qr.NewLocalKeyWrapper(make([]byte, 32), nil)
	svc, err := qr.New(qr.Config{Ledger: b.l, PaymentCodes: codes, DeviceKeys: kek, SingleProcess: true,
		TracerProvider: o.tp, MeterProvider: o.mp, Logger: o.log})
	if err != nil {
		t.Fatal(err)
	}
	alice, shop := b.wallet(t, 100_00), b.wallet(t, 0)
	phone, err := svc.RegisterDevice(ctx, "alice-phone", alice)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := codes.Generate(phone, b.now)
	price := ledger.NewMoney(12_00, cny)
	charge := func(code, order string, amount ledger.Money) error {
		_, err := svc.Charge(ctx, qr.ChargeRequest{Merchant: shop, Code: code, Amount: amount, Order: order})
		return err
	}
	if err := charge(code, "A-1", price); err != nil {
		t.Fatal(err)
	}
	if err := charge(code, "A-2", price); !errors.Is(err, qr.ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
	if err := charge(code, "A-1", ledger.NewMoney(13_00, cny)); !errors.Is(err, qr.ErrKeyReused) {
		t.Fatalf("order reused: %v", err)
	}
	wrong := []byte(code)
	wrong[17] = '0' + (wrong[17]-'0'+1)%10
	if err := charge(string(wrong), "A-3", price); !errors.Is(err, qr.ErrInvalidCode) && !errors.Is(err, qr.ErrMalformedCode) {
		t.Fatalf("wrong code: %v", err)
	}

	got := tally(outcomes(t, o.spansNamed("qr.Charge")))
	wrongWord := "invalid_code"
	if got["malformed_code"] == 1 {
		wrongWord = "malformed_code" // the last digit may be a check digit
	}
	equal(t, "charge outcomes", got, map[string]int{"ok": 1, "code_used": 1, "idempotency_conflict": 1, wrongWord: 1})
	ms := o.metrics(t)
	equal(t, "charges", counts(t, ms, "socialpay.qr.charges"),
		map[string]int64{"ok/CNY": 1, "code_used/CNY": 1, "idempotency_conflict/CNY": 1, wrongWord + "/CNY": 1})
	equal(t, "charge durations", durations(t, ms, "socialpay.qr.charge.duration"),
		map[string]uint64{"ok/CNY": 1, "code_used/CNY": 1, "idempotency_conflict/CNY": 1, wrongWord + "/CNY": 1})
	if wrongWord == "invalid_code" {
		if m, ok := ms["socialpay.qr.code_refusals"]; !ok || m.Data.(metricdata.Sum[int64]).DataPoints[0].Value != 1 {
			t.Errorf("code refusals: %+v", m.Data)
		}
	}
	if line := logLine(t, o.logs, "qr.Charge refused"); line["outcome"] != "idempotency_conflict" {
		t.Errorf("refusal log %v", line)
	}
	if strings.Contains(o.logs.String(), code) {
		t.Errorf("the logs hold the payment code:\n%s", o.logs)
	}
}

func tally(words []string) map[string]int {
	out := map[string]int{}
	for _, w := range words {
		out[w]++
	}
	return out
}

// newObservedB is newObserved for a benchmark, with a span processor
// that drops the spans (an exporter would batch them away).
func newObservedB(b *testing.B) *observed {
	o := &observed{reader: sdkmetric.NewManualReader()}
	o.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(dropSpans{}))
	o.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(o.reader))
	b.Cleanup(func() {
		_ = o.tp.Shutdown(context.Background())
		_ = o.mp.Shutdown(context.Background())
	})
	return o
}

type dropSpans struct{}

func (dropSpans) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (dropSpans) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (dropSpans) Shutdown(context.Context) error                  { return nil }
func (dropSpans) ForceFlush(context.Context) error                { return nil }
