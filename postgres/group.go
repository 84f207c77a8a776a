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
// a call waits while up to groupInFlight batches are being applied, and
// joins the next one. A batch runs under no caller's context (it works for
// all of them) but under groupTimeout.
type (
	grouper[Req, Res any]   = groupcommit.Queue[Req, Res]
	groupCall[Req, Res any] = groupcommit.Call[Req, Res]
)

const (
	groupMaxBatch = 256
	groupInFlight = 4
	groupTimeout  = 30 * time.Second
)

// newGrouper returns a grouper of batches that apply applies; name names
// them in tel's batch-size metric (nil: none). Once the store or its DB is
// closed, calls are refused with errStoreClosed.
func newGrouper[Req, Res any](life queueLife, tel *dbTelemetry, name string, apply func(context.Context, []*groupCall[Req, Res]) error) *grouper[Req, Res] {
	cfg := groupcommit.Config[Req, Res]{Apply: apply, MaxBatch: groupMaxBatch, MaxInFlight: groupInFlight, Timeout: groupTimeout,
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
// Before each batch it lets the callers that are ready to run join it:
// those the last batch answered are about to send their next tries, and a
// batch that left them for the next one would halve every batch.
type tryQueues = groupcommit.Keyed[uuid.UUID, tryCall, campaign.TryResult]

func newTryQueues(life queueLife, apply func(context.Context, []*groupCall[tryCall, campaign.TryResult]) error) *tryQueues {
	return groupcommit.NewKeyed(func(c tryCall) uuid.UUID { return c.id }, groupcommit.Config[tryCall, campaign.TryResult]{
		Apply: apply, MaxBatch: groupMaxBatch, MaxInFlight: 1, Timeout: groupTimeout, Life: life, ErrClosed: errStoreClosed, Yield: true,
	})
}
