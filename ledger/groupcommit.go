package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/socialpay/socialpay/errcode"
	"go.opentelemetry.io/otel/metric"

	"github.com/socialpay/socialpay/internal/groupcommit"
	"github.com/socialpay/socialpay/internal/telemetry"
)

// GroupCommitOptions configure a GroupCommit. The zero value is usable.
type GroupCommitOptions struct {
	// MaxBatch bounds the transfers of one batch, except that a caller's
	// own batch bigger than that is never split. Default 1,000.
	MaxBatch int
	// MaxInFlight bounds the batches being applied at once: more use more
	// database connections in parallel, fewer make bigger batches and
	// spare an account that every transfer touches (its batches take turns
	// on its lock anyway). Default 1: one batch applied while the next one
	// gathers.
	MaxInFlight int
	// Regather, when positive, bounds a wait before each batch for the
	// callers the last batch answered: it ends once as many calls have
	// come as that batch answered (whoever makes them), or the next batch
	// is full. Callers that call again at once (a client's next request,
	// a busy service's next arrivals) then make one batch with those that
	// waited rather than two. It adds at most Regather to a batch whose
	// callers do not come, which callers that arrive on their own (a
	// service's users) pay. Zero: no wait. On PostgreSQL, 50 µs made a
	// hot account's single transfers 1.7x as fast with 8 clients calling
	// again at once; with clients that pause between calls, 500 µs cost
	// the stores' batches 9–15% and 50 µs nothing measurable
	// (docs/performance.md, 2026-12-05).
	Regather time.Duration
	// Timeout bounds each batch's call to the inner store. A batch works
	// for many callers, so it runs under none of their contexts.
	// Default 30 s.
	Timeout time.Duration
	// MeterProvider, when set, records each batch's size in transfers
	// (socialpay.ledger.group_commit.size, see docs/observability.md).
	MeterProvider metric.MeterProvider
}

// Unwrap returns the store a GroupCommit wraps, or s itself: the store
// whose transactions a feature store that pays in its own step (PaysOn)
// would share.
func Unwrap(s Store) Store {
	if g, ok := s.(*GroupCommit); ok {
		return g.Store
	}
	return s
}

// GroupCommit is a Store that gathers concurrent CreateTransfer calls, and
// concurrent independent (not linked) CreateTransfers calls, into
// independent batches: one inner CreateTransfers call (one transaction and
// one commit for a database store) carries the transfers of every caller
// that arrived while the previous batch was being applied, and each caller
// gets its own Results. A busy service pays one commit per batch instead of
// one per request, and an account that every transfer touches is locked
// once per batch instead of once per request.
//
// A transfer in a batch sees the effects of those before it, exactly as if
// the calls had come one after the other; a retried ID in the same batch is
// a duplicate of the first. A caller's own batch stays whole and in order.
// The batch is applied at the latest clock reading among its calls. Every
// other method, linked CreateTransfers included, goes straight to the
// inner store.
//
// When a caller's context ends before its batch is applied, CreateTransfer
// returns the context's error and the transfer may still be applied later:
// retry with the same ID, as after any lost answer. An error of the inner
// store reaches every caller of the batch.
//
// The batches are applied by goroutines of the GroupCommit's own, which
// end when no call is waiting; Close waits for them.
type GroupCommit struct {
	Store // the inner store

	q    *groupcommit.Queue[groupReq, []Result]
	life groupcommit.Lifetime // the goroutines applying batches
}

// ErrClosed: a call made after Close of the value that would handle it (a
// GroupCommit, a store or a service that owns goroutines). Nothing was
// done; make the call on another one.
var ErrClosed = errcode.New("shutting_down", errcode.Unavailable, "ledger: closed")

var errGroupClosed = fmt.Errorf("group commit: %w", ErrClosed)

var _ Store = (*GroupCommit)(nil)

// groupReq is one caller's transfers, in a batch's call.
type groupReq struct {
	ts  []Transfer
	now time.Time
}

// NewGroupCommit returns a GroupCommit over inner.
func NewGroupCommit(inner Store, opts GroupCommitOptions) *GroupCommit {
	g := &GroupCommit{Store: inner}
	var observe func(context.Context, int)
	if f := telemetry.New("ledger", telemetry.Providers{MeterProvider: opts.MeterProvider}); f.Metered() {
		sizes := f.Histogram(telemetry.GroupCommitSize)
		observe = func(ctx context.Context, n int) { sizes.Record(ctx, float64(n)) }
	}
	g.q = groupcommit.New(groupcommit.Config[groupReq, []Result]{
		Apply: g.apply, Size: func(r groupReq) int { return len(r.ts) },
		MaxBatch: opts.MaxBatch, MaxInFlight: opts.MaxInFlight, Timeout: opts.Timeout, Regather: opts.Regather,
		Life: &g.life, ErrClosed: errGroupClosed, Observe: observe,
	})
	return g
}

// CreateTransfer implements Store: it queues t for the next batch and
// waits for its result.
//
// Errors: a *TransferError wrapping ValidateTransfer's error, before
// anything is queued; ErrClosed after Close; the inner store's; and ctx's
// error when ctx ends first.
func (g *GroupCommit) CreateTransfer(ctx context.Context, t Transfer, now time.Time) (Result, error) {
	rs, err := g.wait(ctx, []Transfer{t}, now)
	if err != nil {
		return Result{}, err
	}
	return rs[0], nil
}

// CreateTransfers implements Store: an independent batch joins the next
// batch, whole; a linked one goes straight to the inner store.
//
// Errors: ErrEmptyBatch; for an independent batch, a *TransferError (Index
// and ID of the first invalid transfer) wrapping ValidateTransfer's error,
// before anything is queued; ErrClosed after Close; the inner store's; and
// ctx's error when ctx ends first.
func (g *GroupCommit) CreateTransfers(ctx context.Context, ts []Transfer, linked bool, now time.Time) ([]Result, error) {
	if linked {
		return g.Store.CreateTransfers(ctx, ts, true, now)
	}
	if len(ts) == 0 {
		return nil, ErrEmptyBatch
	}
	return g.wait(ctx, ts, now)
}

// wait queues ts for the next batch and waits for their results. It
// validates ts first, so that a caller's invalid transfer is refused to
// that caller alone, as the inner store would refuse it (a store may
// refuse a whole batch holding one), and never fails the other callers of
// its batch.
func (g *GroupCommit) wait(ctx context.Context, ts []Transfer, now time.Time) ([]Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i := range ts {
		if err := ValidateTransfer(&ts[i]); err != nil {
			return nil, &TransferError{Index: i, ID: ts[i].ID, Err: err}
		}
	}
	return g.q.Do(ctx, groupReq{ts: ts, now: now})
}

// Close stops taking calls (they return ErrClosed from then on) and waits
// until every call already queued has its answer and the goroutines that
// applied them have ended. It does not close the inner store. Calling it
// again waits the same way.
func (g *GroupCommit) Close() { g.life.Close() }

// apply applies a batch of calls as one independent batch of the inner
// store, at the latest of their clocks, and gives each call its own
// results, with the indexes of its own request.
func (g *GroupCommit) apply(ctx context.Context, calls []*groupcommit.Call[groupReq, []Result]) error {
	size, now := 0, calls[0].Req.now
	for _, c := range calls {
		size += len(c.Req.ts)
		now = laterOf(now, c.Req.now)
	}
	ts := make([]Transfer, 0, size)
	for _, c := range calls {
		ts = append(ts, c.Req.ts...)
	}
	results, err := g.Store.CreateTransfers(ctx, ts, false, now)
	if err != nil {
		return err
	}
	off := 0
	for _, c := range calls {
		n := len(c.Req.ts)
		c.Res = results[off : off+n : off+n]
		for i := range c.Res {
			c.Res[i].Err = Reindexed(c.Res[i].Err, i)
		}
		off += n
	}
	return nil
}
