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
// a call waits while up to groupInFlight batches (paidInFlight for paid
// red-packet claims) are being applied, and joins the next one. A batch
// runs under no caller's context (it works for all of them) but under
// groupTimeout.
type (
	grouper[Req, Res any]   = groupcommit.Queue[Req, Res]
	groupCall[Req, Res any] = groupcommit.Call[Req, Res]
)

const (
	groupMaxBatch = 256
	groupInFlight = 4
	groupTimeout  = 30 * time.Second

	// paidInFlight bounds the batches of paid red-packet claims in flight.
	// Most of a batch's server work does not grow with its claims (two
	// round trips, nine statements and their constraints and triggers,
	// one commit): with 8 clients on 2 cores, 4 batches in flight
	// gathered 1.5 claims each and cost the server 375–450 µs of CPU a
	// claim, 2 gathered 2.5 and cost 260–310 µs, 1 gathered 4 and cost
	// 205 µs but left the machine idle while each batch waited on its
	// round trips and commit (docs/performance.md, 2026-12-04).
	paidInFlight = 2
)

// newGrouper returns a grouper of batches that apply applies, up to
// inFlight at once; name names them in tel's batch-size metric (nil:
// none). Once the store or its DB is closed, calls are refused with
// errStoreClosed.
func newGrouper[Req, Res any](life queueLife, tel *dbTelemetry, name string, inFlight int, apply func(context.Context, []*groupCall[Req, Res]) error) *grouper[Req, Res] {
	cfg := groupcommit.Config[Req, Res]{Apply: apply, MaxBatch: groupMaxBatch, MaxInFlight: inFlight, Timeout: groupTimeout,
		Life: life, ErrClosed: errStoreClosed}
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
// Before each batch it waits up to tryRegather for the callers the last
// batch answered to try again: without the wait, those callers missed
// the next batch (it was taken as they woke) and each batch held half of
// them.
type tryQueues = groupcommit.Keyed[uuid.UUID, tryCall, campaign.TryResult]

// tryRegather bounds the wait before a batch of tries. Answered callers
// of the load generator come back within 20–120 µs here, and a batch
// takes 2–3 ms; the wait ends as soon as as many tries have come as the
// last batch answered, so only a batch whose callers went away (or went
// to another campaign) waits it whole. With 8 clients it took batches
// from 4.5 tries to 8 and winners from 0.85x pgbench to 1.2x
// (docs/performance.md, 2026-12-05).
const tryRegather = 500 * time.Microsecond

func newTryQueues(life queueLife, apply func(context.Context, []*groupCall[tryCall, campaign.TryResult]) error) *tryQueues {
	return groupcommit.NewKeyed(func(c tryCall) uuid.UUID { return c.id }, groupcommit.Config[tryCall, campaign.TryResult]{
		Apply: apply, MaxBatch: groupMaxBatch, MaxInFlight: 1, Timeout: groupTimeout, Life: life, ErrClosed: errStoreClosed,
		Regather: tryRegather,
	})
}
