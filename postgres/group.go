package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/internal/groupcommit"
)

// The stores gather concurrent calls into batches that one function
// applies in one transaction each (group commit, see internal/groupcommit):
// a call waits while up to a shape's inFlight batches are being applied,
// and joins the next one. A batch runs under no caller's context (it
// works for all of them) but under groupTimeout.
type (
	grouper[Req, Res any]   = groupcommit.Queue[Req, Res]
	groupCall[Req, Res any] = groupcommit.Call[Req, Res]
)

const (
	groupMaxBatch = 256
	groupInFlight = 4
	groupTimeout  = 30 * time.Second

	// groupRegather bounds the wait before a batch of claims, tries or
	// points for the callers the last batch answered
	// (groupcommit.Config.Regather). Callers that call again at once come
	// back within tens of µs; callers that arrive on their own (users)
	// do not, and for them every µs of wait is a µs the batch's row is
	// idle. With clients that pause 20 ms between calls (-think), a
	// 500 µs wait cost campaign winners 15% and red-packet claims 9%,
	// 50 µs nothing beyond the noise, while 8 clients that call again at
	// once kept most of the gain (docs/performance.md, 2026-12-05).
	groupRegather = 50 * time.Microsecond
)

// groupShape is how many batches a grouper applies at once and how long
// it waits for the last batch's callers before the next.
type groupShape struct {
	inFlight int
	regather time.Duration
}

var (
	// groupDefault is the shape of red-packet claims' paid marks.
	groupDefault = groupShape{inFlight: groupInFlight}

	// claimShape is the shape of red-packet claims, paid or not. Most of
	// a batch's server work does not grow with its claims (two round
	// trips, nine statements and their constraints and triggers, one
	// commit), so fewer, fuller batches cost less a claim: with 8
	// clients on 2 cores, 4 in flight gathered 1.5 claims each and cost
	// the server 375–450 µs of CPU a claim, 2 gathered 2.5 and cost
	// 260–310 µs (docs/performance.md, 2026-12-04). Without the regather
	// wait, the callers a batch answered woke after the next batch was
	// taken; with a 500 µs wait, claims went 1.2–1.4x as fast, with
	// 50 µs 1.1–1.3x (2026-12-05).
	claimShape = groupShape{inFlight: 2, regather: groupRegather}

	// pointsShape is the shape of points posted with their transfers.
	// Every posting locks one of the bank's accounts of the unit (or of
	// its Config.Shards), and a batch carries every user's postings in
	// one transaction, so one batch at a time does best, as with one
	// campaign's tries: with 8 clients, one batch in flight with a 500 µs wait
	// earned points 1.9–2.1x as fast as four without it and redeemed
	// them 1.5–1.8x; two with the wait came between; with the bank's
	// accounts in 8 shards, one with the wait still earned 1.4x as fast
	// (2026-12-05).
	pointsShape = groupShape{inFlight: 1, regather: groupRegather}
)

// newGrouper returns a grouper of batches that apply applies, in shape;
// name names them in tel's batch-size metric (nil: none). Once the store
// or its DB is closed, calls are refused with errStoreClosed.
func newGrouper[Req, Res any](life queueLife, tel *dbTelemetry, name string, shape groupShape, apply func(context.Context, []*groupCall[Req, Res]) error) *grouper[Req, Res] {
	cfg := groupcommit.Config[Req, Res]{Apply: apply, MaxBatch: groupMaxBatch, MaxInFlight: shape.inFlight, Timeout: groupTimeout,
		Life: life, ErrClosed: errStoreClosed, Regather: shape.regather}
	if tel != nil {
		cfg.Observe = func(ctx context.Context, n int) { tel.size(ctx, name, n) }
	}
	return groupcommit.New(cfg)
}

// tryQueues gathers concurrent tries into batches, one batch of a
// campaign's tries in flight at a time (per process): the campaign's row
// lets only one transaction at a time past its lock anyway, so the tries
// that come meanwhile wait for the next batch, all together, rather than
// in several small ones queued behind that lock, each paying a commit.
// Before each batch it waits up to groupRegather for the callers the
// last batch answered to try again: without the wait, those callers
// missed the next batch (it was taken as they woke), and with 8 clients
// each batch held 4.5 tries; with a 500 µs wait, 8, and winners went
// from 0.85x pgbench to 1.17–1.26x; 50 µs kept most of that
// (docs/performance.md, 2026-12-05).
type tryQueues = groupcommit.Keyed[uuid.UUID, tryCall, campaign.TryResult]

func newTryQueues(life queueLife, apply func(context.Context, []*groupCall[tryCall, campaign.TryResult]) error) *tryQueues {
	return groupcommit.NewKeyed(func(c tryCall) uuid.UUID { return c.id }, groupcommit.Config[tryCall, campaign.TryResult]{
		Apply: apply, MaxBatch: groupMaxBatch, MaxInFlight: 1, Timeout: groupTimeout, Life: life, ErrClosed: errStoreClosed,
		Regather: groupRegather,
	})
}
