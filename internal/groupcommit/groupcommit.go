// Package groupcommit gathers concurrent calls into batches that one
// function applies together (group commit): a call waits while up to
// MaxInFlight batches are being applied and joins the next one, and each
// caller gets its own answer. ledger.GroupCommit batches transfers with it,
// and the PostgreSQL stores their claims, marks, postings and tries.
//
// A batch runs under none of its callers' contexts (it works for all of
// them) but under a timeout of its own. A caller whose context ends stops
// waiting with the context's error while its call stays in its batch. An
// error of a batch as a whole reaches every caller of that batch and no
// other. The goroutines that apply batches are counted in a Life, so that
// their owner's Close can refuse new calls and wait for them.
package groupcommit

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Call is one caller's request and, once its batch is applied, its answer.
type Call[Req, Res any] struct {
	Req  Req
	Res  Res   // set by Apply
	Err  error // set by Apply, or the error of the whole batch
	done chan struct{}
}

func (c *Call[Req, Res]) wait(ctx context.Context) (Res, error) {
	select {
	case <-c.done:
		return c.Res, c.Err
	case <-ctx.Done():
		var zero Res
		return zero, ctx.Err()
	}
}

// Life counts the goroutines that apply batches.
type Life interface {
	Enter() bool  // counts one in; false, counting none, once closed
	Exit()        // counts one out
	Closed() bool // whether Enter refuses
}

// A Life that also has Done, a channel closed as it closes, ends the
// goroutines' Regather waits then: no call can join any more.
type doneLife interface {
	Done() <-chan struct{}
}

// Lifetime is a Life of its own, which Close ends. The zero value is open.
type Lifetime struct {
	Closing func() // tests: called by Close before it waits

	mu     sync.Mutex
	closed bool
	done   chan struct{} // closed by Close; nil until Done or Close
	wg     sync.WaitGroup
}

// Done returns a channel that Close closes.
func (l *Lifetime) Done() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done == nil {
		l.done = make(chan struct{})
	}
	return l.done
}

// Enter implements Life.
func (l *Lifetime) Enter() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.wg.Add(1)
	return true
}

// Exit implements Life.
func (l *Lifetime) Exit() { l.wg.Done() }

// Closed implements Life.
func (l *Lifetime) Closed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// Close refuses goroutines from now on and waits for those counted in.
// Calling it again waits the same way.
func (l *Lifetime) Close() {
	l.mu.Lock()
	if !l.closed {
		if l.done == nil {
			l.done = make(chan struct{})
		}
		close(l.done)
	}
	l.closed = true
	hook := l.Closing
	l.mu.Unlock()
	if hook != nil {
		hook()
	}
	l.wg.Wait()
}

// Config configures a queue.
type Config[Req, Res any] struct {
	// Apply applies a batch, in the order the calls came: it sets each
	// call's Res or Err. An error it returns is every call's answer
	// instead. Required.
	Apply func(ctx context.Context, calls []*Call[Req, Res]) error
	// Size is a request's share of MaxBatch; nil: 1 each.
	Size func(Req) int
	// MaxBatch bounds the total Size of a batch, except that a batch's
	// first call goes however big it is. Default 1,000.
	MaxBatch int
	// MaxInFlight bounds the batches being applied at once (per key for a
	// Keyed queue). Default 1.
	MaxInFlight int
	// Timeout bounds each call of Apply. Default 30 s.
	Timeout time.Duration
	// Life counts the goroutines that apply batches. Required.
	Life Life
	// ErrClosed is the answer to calls once Life is closed.
	ErrClosed error
	// Observe, when set, is told each batch's total Size before it is
	// applied (for a metric).
	Observe func(ctx context.Context, size int)
	// Regather, when positive, bounds a wait before each batch after the
	// first for the callers the last batch answered: until as many calls
	// have joined since its answers as it answered (whoever makes them),
	// or Regather has passed. Callers that call again at once then join
	// the next batch rather than the one after it, which would leave each
	// batch half of them. Zero: no wait.
	Regather time.Duration
}

// core is what Queue and Keyed share: a queue's configuration, the lock
// over its lines and the batching of a line.
type core[Req, Res any] struct {
	cfg      Config[Req, Res]
	Enqueued func() // tests: called after a call is queued

	mu sync.Mutex
}

// line is the calls waiting for a batch, in arrival order, and the
// goroutines applying them.
type line[Req, Res any] struct {
	waiting  []*Call[Req, Res]
	inFlight int
	idle     func() // called under mu once no goroutine applies the line's calls; nil: none

	joined  int      // calls queued so far
	waiters []waiter // the goroutines in a Regather wait
}

// waiter is a goroutine waiting until its line's joined reaches want.
type waiter struct {
	want int
	wake chan struct{} // closed then
}

func newCore[Req, Res any](cfg Config[Req, Res]) core[Req, Res] {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 1000
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return core[Req, Res]{cfg: cfg}
}

// newCall returns the call of req, unless ctx has ended.
func newCall[Req, Res any](ctx context.Context, req Req) (*Call[Req, Res], error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &Call[Req, Res]{Req: req, done: make(chan struct{})}, nil
}

// join queues c on l, under q.mu, and reports whether a goroutine must
// start to apply it; it refuses with ErrClosed once Life is closed.
func (q *core[Req, Res]) join(l *line[Req, Res], c *Call[Req, Res]) (start bool, err error) {
	start = l.inFlight < q.cfg.MaxInFlight
	if start && !q.cfg.Life.Enter() || !start && q.cfg.Life.Closed() {
		return false, q.cfg.ErrClosed
	}
	l.waiting = append(l.waiting, c)
	l.joined++
	l.waiters = slices.DeleteFunc(l.waiters, func(w waiter) bool {
		if l.joined >= w.want {
			close(w.wake)
			return true
		}
		return false
	})
	if start {
		l.inFlight++
	}
	return start, nil
}

// await starts a goroutine to apply l's calls when join said so, and
// waits for c's answer: join's error, c's, or ctx's.
func (q *core[Req, Res]) await(ctx context.Context, c *Call[Req, Res], l *line[Req, Res], start bool, err error) (Res, error) {
	if err != nil {
		var zero Res
		return zero, err
	}
	if q.Enqueued != nil {
		q.Enqueued()
	}
	if start {
		go q.flush(l)
	}
	return c.wait(ctx)
}

// flush applies l's calls, batch after batch, until none are left.
func (q *core[Req, Res]) flush(l *line[Req, Res]) {
	defer q.cfg.Life.Exit()
	want := 0 // with Regather: l.joined once the last batch's callers are back
	for {
		q.mu.Lock()
		if want > 0 {
			q.regather(l, want)
		}
		batch, size := q.take(l)
		if batch == nil {
			l.inFlight--
			if l.inFlight == 0 && l.idle != nil {
				l.idle()
			}
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		if joined := q.apply(l, batch, size); q.cfg.Regather > 0 {
			want = joined + len(batch)
		}
	}
}

// regather waits, under q.mu (released meanwhile), until l.joined reaches
// want, a batch's worth of calls is waiting, or Regather has passed.
func (q *core[Req, Res]) regather(l *line[Req, Res], want int) {
	if n, size := q.extent(l); l.joined >= want || n < len(l.waiting) || size >= q.cfg.MaxBatch {
		return
	}
	wake := make(chan struct{})
	l.waiters = append(l.waiters, waiter{want, wake})
	q.mu.Unlock()
	var closing <-chan struct{}
	if d, ok := q.cfg.Life.(doneLife); ok {
		closing = d.Done()
	}
	t := time.NewTimer(q.cfg.Regather)
	select {
	case <-wake:
	case <-t.C:
	case <-closing:
	}
	t.Stop()
	q.mu.Lock()
	l.waiters = slices.DeleteFunc(l.waiters, func(w waiter) bool { return w.wake == wake })
}

// take removes the next batch from l, under q.mu.
func (q *core[Req, Res]) take(l *line[Req, Res]) ([]*Call[Req, Res], int) {
	n, size := q.extent(l)
	if n == 0 {
		return nil, 0
	}
	batch := l.waiting[:n:n]
	if n == len(l.waiting) {
		l.waiting = nil
	} else {
		l.waiting = slices.Clone(l.waiting[n:])
	}
	return batch, size
}

// extent returns how many of l's waiting calls make its next batch, under
// q.mu, and their total size: the first call and as many of the next
// ones as MaxBatch allows.
func (q *core[Req, Res]) extent(l *line[Req, Res]) (n, size int) {
	if len(l.waiting) == 0 {
		return 0, 0
	}
	if q.cfg.Size == nil {
		n = min(len(l.waiting), q.cfg.MaxBatch)
		return n, n
	}
	n, size = 1, q.cfg.Size(l.waiting[0].Req)
	for n < len(l.waiting) {
		s := q.cfg.Size(l.waiting[n].Req)
		if size+s > q.cfg.MaxBatch {
			break
		}
		size += s
		n++
	}
	return n, size
}

// apply applies a batch of l and answers its calls; it returns l.joined
// as it was just before the answers.
func (q *core[Req, Res]) apply(l *line[Req, Res], batch []*Call[Req, Res], size int) (joined int) {
	ctx, cancel := context.WithTimeout(context.Background(), q.cfg.Timeout)
	if q.cfg.Observe != nil {
		q.cfg.Observe(ctx, size)
	}
	err := q.cfg.Apply(ctx, batch)
	cancel()
	if q.cfg.Regather > 0 {
		q.mu.Lock()
		joined = l.joined
		q.mu.Unlock()
	}
	for _, c := range batch {
		if err != nil {
			var zero Res
			c.Res, c.Err = zero, err
		}
		close(c.done)
	}
	return joined
}

// Queue gathers every call into one line of batches.
type Queue[Req, Res any] struct {
	core[Req, Res]
	line line[Req, Res]
}

// New returns a queue that cfg configures.
func New[Req, Res any](cfg Config[Req, Res]) *Queue[Req, Res] {
	return &Queue[Req, Res]{core: newCore(cfg)}
}

// Do queues req for the next batch and waits for its answer.
//
// Errors: Apply's; cfg.ErrClosed once cfg.Life is closed; and ctx's error
// when ctx ends first (req may still be applied later).
func (q *Queue[Req, Res]) Do(ctx context.Context, req Req) (Res, error) {
	c, err := newCall[Req, Res](ctx, req)
	if err != nil {
		var zero Res
		return zero, err
	}
	q.mu.Lock()
	start, err := q.join(&q.line, c)
	q.mu.Unlock()
	return q.await(ctx, c, &q.line, start, err)
}

// Keyed gathers calls into one line of batches per key: batches of
// different keys are applied independently, each key's up to MaxInFlight
// at a time.
type Keyed[K comparable, Req, Res any] struct {
	core[Req, Res]
	key   func(Req) K
	lines map[K]*line[Req, Res] // those with calls waiting or being applied
}

// NewKeyed returns a queue that cfg configures, with a line of batches for
// each key that key returns.
func NewKeyed[K comparable, Req, Res any](key func(Req) K, cfg Config[Req, Res]) *Keyed[K, Req, Res] {
	return &Keyed[K, Req, Res]{core: newCore(cfg), key: key, lines: make(map[K]*line[Req, Res])}
}

// Do queues req for the next batch of its key and waits for its answer.
//
// Errors: as Queue.Do.
func (q *Keyed[K, Req, Res]) Do(ctx context.Context, req Req) (Res, error) {
	c, err := newCall[Req, Res](ctx, req)
	if err != nil {
		var zero Res
		return zero, err
	}
	k := q.key(req)
	q.mu.Lock()
	l, found := q.lines[k]
	if !found {
		l = &line[Req, Res]{idle: func() { delete(q.lines, k) }}
	}
	start, err := q.join(l, c)
	if err == nil && !found {
		q.lines[k] = l
	}
	q.mu.Unlock()
	return q.await(ctx, c, l, start, err)
}
