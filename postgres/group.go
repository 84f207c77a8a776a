package postgres

import (
	"context"
	"sync"
	"time"
)

// grouper gathers concurrent calls into batches that apply handles in one
// transaction each (group commit): a call waits while up to groupInFlight
// batches are being applied, and joins the next one. A batch runs under no
// caller's context (it works for all of them) but under groupTimeout.
type grouper[Req, Res any] struct {
	apply func(ctx context.Context, calls []*groupCall[Req, Res]) error
	life  queueLife // the store's Close and DB.Close wait for the flushes

	enqueued func()       // tests: called after a call is queued
	name     string       // for the batch-size metric
	tel      *dbTelemetry // nil: none

	mu       sync.Mutex
	queue    []*groupCall[Req, Res]
	inFlight int
}

type groupCall[Req, Res any] struct {
	req  Req
	res  Res
	err  error
	done chan struct{}
}

const (
	groupMaxBatch = 256
	groupInFlight = 4
	groupTimeout  = 30 * time.Second
)

// newGrouper returns a grouper of batches that apply applies; name names
// them in tel's batch-size metric (nil: none).
func newGrouper[Req, Res any](life queueLife, tel *dbTelemetry, name string, apply func(context.Context, []*groupCall[Req, Res]) error) *grouper[Req, Res] {
	return &grouper[Req, Res]{apply: apply, life: life, name: name, tel: tel}
}

// do queues req for the next batch and waits for its answer, or for ctx.
// Once the store or its DB is closed it refuses with errStoreClosed.
func (g *grouper[Req, Res]) do(ctx context.Context, req Req) (Res, error) {
	var zero Res
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	c := &groupCall[Req, Res]{req: req, done: make(chan struct{})}
	g.mu.Lock()
	start := g.inFlight < groupInFlight
	if start && !g.life.enter() || !start && g.life.isClosed() {
		g.mu.Unlock()
		return zero, errStoreClosed
	}
	g.queue = append(g.queue, c)
	if start {
		g.inFlight++
	}
	g.mu.Unlock()
	if g.enqueued != nil {
		g.enqueued()
	}
	if start {
		go g.flush()
	}
	select {
	case <-c.done:
		return c.res, c.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// flush applies queued calls, batch after batch, until none are left.
func (g *grouper[Req, Res]) flush() {
	defer g.life.exit()
	for {
		g.mu.Lock()
		n := min(len(g.queue), groupMaxBatch)
		if n == 0 {
			g.inFlight--
			g.mu.Unlock()
			return
		}
		batch := g.queue[:n:n]
		g.queue = append([]*groupCall[Req, Res](nil), g.queue[n:]...)
		g.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
		if g.tel != nil {
			g.tel.size(ctx, g.name, n)
		}
		err := g.apply(ctx, batch)
		cancel()
		for _, c := range batch {
			if err != nil {
				var zero Res
				c.res, c.err = zero, err
			}
			close(c.done)
		}
	}
}
