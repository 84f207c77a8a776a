package telemetry

import "slices"

// The names of every span, instrument and attribute socialpay records:
// stable, since dashboards and alerts are built on them. Each is listed in
// docs/observability.md (a test checks it).

// ScopePrefix begins every instrumentation scope: a feature's scope is
// ScopePrefix + its name, its package's import path.
const ScopePrefix = "github.com/socialpay/socialpay/"

// Attribute keys.
const (
	KeyOutcome   = "outcome"   // the outcome word of an operation: "ok", or the kind of its error
	KeyCurrency  = "currency"  // ISO 4217 code of the money concerned, when known
	KeyKind      = "kind"      // which of the operations sharing an instrument
	KeyFeature   = "feature"   // the package of a sweep
	KeySweep     = "sweep"     // which sweep
	KeyResult    = "result"    // what a sweep did to an item
	KeyOperation = "operation" // a PostgreSQL operation of the stores
	KeyReason    = "reason"    // why a retry or a refusal happened
	KeyBatch     = "batch"     // which group commit a batch belongs to
)

// Instrument describes one metric instrument.
type Instrument struct {
	Name    string
	Kind    string // "counter" or "histogram"
	Unit    string
	Desc    string
	Buckets []float64 // histogram bucket boundaries (advice to the SDK)
	Attrs   []string  // attribute keys it is recorded with
}

// OpSpec names the instruments of an operation: a span, a counter of the
// operations by outcome (and currency), and a histogram of their duration
// in seconds with the same attributes.
type OpSpec struct {
	Span     string // span name, such as "redpacket.Claim"
	Counter  string // such as "socialpay.redpacket.claims"
	Duration string // such as "socialpay.redpacket.claim.duration"
	Desc     string // what is counted
	Unit     string // of the counter, such as "{claim}"
	// Kind, when set, is the value of the "kind" attribute, for
	// operations that share instruments (points' earn, redeem…).
	Kind string
	// IDKey is the attribute of the operation's subject (Span.ID), such
	// as "socialpay.packet.id"; empty when it has none.
	IDKey string
}

// DurationBuckets are the bucket boundaries of every duration histogram,
// in seconds: from 10 µs (an operation on the memory stores) to 10 s.
var DurationBuckets = []float64{
	0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
	0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

// SizeBuckets are the bucket boundaries of batch sizes.
var SizeBuckets = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}

// The operations.
var (
	LedgerTransfer = OpSpec{Span: "ledger.Transfer", Counter: "socialpay.ledger.transfers", Duration: "socialpay.ledger.transfer.duration",
		Desc: "ledger transfers (Transfer, Post, Void, Reverse; each transfer of a batch counted, its duration the batch's)", Unit: "{transfer}",
		IDKey: "socialpay.ledger.transfer.id"}
	LedgerBatch = OpSpec{Span: "ledger.Batch", Counter: "socialpay.ledger.batches", Duration: "socialpay.ledger.batch.duration",
		Desc: "ledger batches, one store call (one commit on a database) each", Unit: "{batch}", Kind: "independent"}
	LedgerLinked = OpSpec{Span: "ledger.Linked", Counter: LedgerBatch.Counter, Duration: LedgerBatch.Duration,
		Desc: LedgerBatch.Desc, Unit: LedgerBatch.Unit, Kind: "linked"}

	RedpacketSend = OpSpec{Span: "redpacket.Send", Counter: "socialpay.redpacket.sends", Duration: "socialpay.redpacket.send.duration",
		Desc: "red packets sent", Unit: "{packet}", IDKey: "socialpay.packet.id"}
	RedpacketClaim = OpSpec{Span: "redpacket.Claim", Counter: "socialpay.redpacket.claims", Duration: "socialpay.redpacket.claim.duration",
		Desc: "red-packet claims (taps)", Unit: "{claim}", IDKey: "socialpay.packet.id"}

	TransferSend = OpSpec{Span: "transfer.Send", Counter: "socialpay.transfer.sends", Duration: "socialpay.transfer.send.duration",
		Desc: "phone-number transfers sent", Unit: "{transfer}", IDKey: "socialpay.transfer.id"}
	TransferResolve = OpSpec{Span: "transfer.Resolve", Counter: "socialpay.transfer.lookups", Duration: "socialpay.transfer.lookup.duration",
		Desc: "payee lookups", Unit: "{lookup}", Kind: "reveal"}
	TransferVerify = OpSpec{Span: "transfer.VerifyPayee", Counter: TransferResolve.Counter, Duration: TransferResolve.Duration,
		Desc: TransferResolve.Desc, Unit: TransferResolve.Unit, Kind: "verify"}

	QRCharge = OpSpec{Span: "qr.Charge", Counter: "socialpay.qr.charges", Duration: "socialpay.qr.charge.duration",
		Desc: "payment-code charges", Unit: "{charge}", IDKey: "socialpay.charge.id"}
	QRPay = OpSpec{Span: "qr.Pay", Counter: "socialpay.qr.payments", Duration: "socialpay.qr.payment.duration",
		Desc: "payments of receive codes", Unit: "{payment}", IDKey: "socialpay.payment.id"}

	CampaignTry = OpSpec{Span: "campaign.Try", Counter: "socialpay.campaign.tries", Duration: "socialpay.campaign.try.duration",
		Desc: "campaign tries", Unit: "{try}", IDKey: "socialpay.campaign.id"}

	PointsEarn = OpSpec{Span: "points.Earn", Counter: "socialpay.points.operations", Duration: "socialpay.points.operation.duration",
		Desc: "points operations", Unit: "{operation}", Kind: "earn", IDKey: "socialpay.points.op.id"}
	PointsRedeem      = pointsOp("points.Redeem", "redeem")
	PointsExchangeOut = pointsOp("points.ExchangeOut", "exchange_out")
	PointsExchangeIn  = pointsOp("points.ExchangeIn", "exchange_in")

	CollectPay = OpSpec{Span: "collect.Pay", Counter: "socialpay.collect.payments", Duration: "socialpay.collect.payment.duration",
		Desc: "shares of bills paid", Unit: "{payment}", IDKey: "socialpay.collect.id"}
)

// allOps lists the operations for All and Spans.
var allOps = []OpSpec{
	LedgerTransfer, LedgerBatch, LedgerLinked, RedpacketSend, RedpacketClaim, TransferSend, TransferResolve,
	TransferVerify, QRCharge, QRPay, CampaignTry, PointsEarn, PointsRedeem, PointsExchangeOut, PointsExchangeIn,
	CollectPay,
}

func pointsOp(span, kind string) OpSpec {
	op := PointsEarn
	op.Span, op.Kind = span, kind
	return op
}

// The other instruments.
var (
	// SweepDuration and SweepItems are every feature's sweeps and
	// reconciliations (RefundExpired, Reconcile, ReleaseDue…).
	SweepDuration = Instrument{Name: "socialpay.sweep.duration", Kind: "histogram", Unit: "s", Buckets: DurationBuckets,
		Desc: "Duration of sweeps and reconciliations", Attrs: []string{KeyFeature, KeySweep, KeyOutcome}}
	SweepItems = Instrument{Name: "socialpay.sweep.items", Kind: "counter", Unit: "{item}",
		Desc: "What sweeps and reconciliations did, by result", Attrs: []string{KeyFeature, KeySweep, KeyResult}}

	GroupCommitSize = Instrument{Name: "socialpay.ledger.group_commit.size", Kind: "histogram", Unit: "{transfer}", Buckets: SizeBuckets,
		Desc: "Transfers per batch of ledger.GroupCommit"}

	QRCodeRefusals = Instrument{Name: "socialpay.qr.code_refusals", Kind: "counter", Unit: "{refusal}",
		Desc: "Payment codes refused, by reason (the merchant sees one error for all)", Attrs: []string{KeyReason}}

	PostgresDuration = Instrument{Name: "socialpay.postgres.operation.duration", Kind: "histogram", Unit: "s", Buckets: DurationBuckets,
		Desc: "Duration of the stores' PostgreSQL operations, retries and commit included", Attrs: []string{KeyOperation, KeyOutcome}}
	PostgresRetries = Instrument{Name: "socialpay.postgres.retries", Kind: "counter", Unit: "{retry}",
		Desc: "Attempts of PostgreSQL operations run again, by reason", Attrs: []string{KeyOperation, KeyReason}}
	PostgresBatchSize = Instrument{Name: "socialpay.postgres.batch.size", Kind: "histogram", Unit: "{call}", Buckets: SizeBuckets,
		Desc: "Calls per group-commit transaction of the PostgreSQL stores", Attrs: []string{KeyBatch}}
)

// All returns every instrument, those of the operations included.
func All() []Instrument {
	out := []Instrument{SweepDuration, SweepItems, GroupCommitSize, QRCodeRefusals, PostgresDuration, PostgresRetries, PostgresBatchSize}
	seen := map[string]bool{}
	for _, op := range allOps {
		if seen[op.Counter] {
			continue
		}
		seen[op.Counter] = true
		attrs := []string{KeyOutcome, KeyCurrency}
		if op.Kind != "" {
			attrs = append(attrs, KeyKind)
		}
		out = append(out,
			Instrument{Name: op.Counter, Kind: "counter", Unit: op.Unit, Desc: op.Desc, Attrs: attrs},
			Instrument{Name: op.Duration, Kind: "histogram", Unit: "s", Desc: "Duration of " + op.Desc, Buckets: DurationBuckets, Attrs: attrs})
	}
	return out
}

// Ops returns every operation.
func Ops() []OpSpec { return slices.Clone(allOps) }
