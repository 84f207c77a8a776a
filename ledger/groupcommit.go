package ledger

import (
	"context"
	"slices"
	"sync"
	"time"
)

// GroupCommitOptions configure a GroupCommit. The zero value is usable.
type GroupCommitOptions struct {
	// MaxBatch bounds the transfers of one batch. Default 1,000.
	MaxBatch int
	// MaxInFlight bounds the batches being applied at once: more use more
	// database connections in parallel, fewer make bigger batches and
	// spare an account that every transfer touches (its batches take turns
	// on its lock anyway). Default 1: one batch applied while the next one
	// gathers.
	MaxInFlight int
	// Timeout bounds each batch's call to the inner store. A batch works
	// for many callers, so it runs under none of their contexts.
	// Default 30 s.
	Timeout time.Duration
}

// GroupCommit is a Store that gathers concurrent CreateTransfer calls into
// independent batches: one inner CreateTransfers call (one transaction and
// one commit for a database store) carries the transfers of every caller
// that arrived while the previous batch was being applied, and each caller
// gets its own Result. A busy service pays one commit per batch instead of
// one per transfer, and an account that every transfer touches is locked
// once per batch.
//
// A transfer in a batch sees the effects of those before it, exactly as if
// the calls had come one after the other; a retried ID in the same batch is
// a duplicate of the first. The batch is applied at the latest clock
// reading among its calls. Every other method, CreateTransfers included,
// goes straight to the inner store.
//
// When a caller's context ends before its batch is applied, CreateTransfer
// returns the context's error and the transfer may still be applied later:
// retry with the same ID, as after any lost answer. An error of the inner
// store reaches every caller of the batch.
type GroupCommit struct {
	Store // the inner store

	maxBatch, maxInFlight int
	timeout               time.Duration

	mu       sync.Mutex
	queue    []*groupCall
	inFlight int
	enqueued func() // tests: called after a call is queued
}

var _ Store = (*GroupCommit)(nil)

type groupCall struct {
	t    Transfer
	now  time.Time
	done chan struct{}
	res  Result
	err  error
}

// NewGroupCommit returns a GroupCommit over inner.
func NewGroupCommit(inner Store, opts GroupCommitOptions) *GroupCommit {
	g := &GroupCommit{Store: inner, maxBatch: opts.MaxBatch, maxInFlight: opts.MaxInFlight, timeout: opts.Timeout}
	if g.maxBatch <= 0 {
		g.maxBatch = 1000
	}
	if g.maxInFlight <= 0 {
		g.maxInFlight = 1
	}
	if g.timeout <= 0 {
		g.timeout = 30 * time.Second
	}
	return g
}

// CreateTransfer implements Store: it queues t for the next batch and
// waits for its result.
//
// Errors: the inner store's, and ctx's error when ctx ends first.
func (g *GroupCommit) CreateTransfer(ctx context.Context, t Transfer, now time.Time) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	c := &groupCall{t: t, now: now, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	start := g.inFlight < g.maxInFlight
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
		return Result{}, ctx.Err()
	}
}

// flush applies queued calls, batch after batch, until none are left.
func (g *GroupCommit) flush() {
	for {
		g.mu.Lock()
		n := min(len(g.queue), g.maxBatch)
		if n == 0 {
			g.inFlight--
			g.mu.Unlock()
			return
		}
		batch := g.queue[:n:n]
		if n == len(g.queue) {
			g.queue = nil
		} else {
			g.queue = slices.Clone(g.queue[n:])
		}
		g.mu.Unlock()
		g.apply(batch)
	}
}

func (g *GroupCommit) apply(batch []*groupCall) {
	ts := make([]Transfer, len(batch))
	now := batch[0].now
	for i, c := range batch {
		ts[i] = c.t
		now = laterOf(now, c.now)
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	results, err := g.Store.CreateTransfers(ctx, ts, false, now)
	cancel()
	for i, c := range batch {
		if err != nil {
			c.err = err
		} else {
			c.res = results[i]
			if te, ok := c.res.Err.(*TransferError); ok {
				// Each caller submitted one transfer: index 0.
				own := *te
				own.Index = 0
				c.res.Err = &own
			}
		}
		close(c.done)
	}
}
