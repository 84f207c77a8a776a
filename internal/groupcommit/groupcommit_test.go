package groupcommit

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var errClosed = errors.New("closed")

// held is an Apply that reports each batch's requests and holds the batch
// until the test releases it, with nil (each call answers twice its
// request, or errOdd for an odd one when odd is set) or with an error of
// the whole batch.
type held struct {
	batches chan []int
	release chan error
	odd     bool
}

var errOdd = errors.New("odd request")

func newHeld() *held { return &held{batches: make(chan []int, 64), release: make(chan error)} }

func (h *held) apply(_ context.Context, calls []*Call[int, int]) error {
	reqs := make([]int, len(calls))
	for i, c := range calls {
		reqs[i] = c.Req
	}
	h.batches <- reqs
	if err := <-h.release; err != nil {
		return err
	}
	for _, c := range calls {
		if h.odd && c.Req%2 != 0 {
			c.Err = errOdd
			continue
		}
		c.Res = 2 * c.Req
	}
	return nil
}

type answer struct {
	req, res int
	err      error
}

// harness runs calls of q in goroutines and waits until each is queued.
type harness struct {
	t       *testing.T
	do      func(context.Context, int) (int, error)
	queued  chan struct{}
	answers chan answer
}

func newHarness(t *testing.T, c *core[int, int], do func(context.Context, int) (int, error)) *harness {
	h := &harness{t: t, do: do, queued: make(chan struct{}, 256), answers: make(chan answer, 256)}
	c.Enqueued = func() { h.queued <- struct{}{} }
	return h
}

// answered checks the next n answers: each twice its request, no error.
func (h *harness) answered(n int) {
	h.t.Helper()
	for range n {
		if a := <-h.answers; a.err != nil || a.res != 2*a.req {
			h.t.Fatalf("caller %d got %d, %v", a.req, a.res, a.err)
		}
	}
}

// call makes a call of req under ctx and returns once it is queued.
func (h *harness) call(ctx context.Context, req int) {
	go func() {
		res, err := h.do(ctx, req)
		h.answers <- answer{req, res, err}
	}()
	<-h.queued
}

// K callers at once: the calls queued while the first batch is held make
// the next one, whole; every call is applied once and every caller gets
// its own answer.
func TestConcurrentCallers(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const k = 50
	h := newHeld()
	var life Lifetime
	q := New(Config[int, int]{Apply: h.apply, Life: &life, ErrClosed: errClosed})
	queued := make(chan struct{}, k)
	q.Enqueued = func() { queued <- struct{}{} }
	ctx := context.Background()
	answers := make(chan answer, k)
	start := make(chan struct{})
	for i := range k {
		go func() {
			<-start
			res, err := q.Do(ctx, i)
			answers <- answer{i, res, err}
		}()
	}
	close(start)
	first := <-h.batches // held until every call is queued
	for range k {
		<-queued
	}
	h.release <- nil
	var second []int // the calls that came after the first batch was taken
	if len(first) < k {
		second = <-h.batches
		h.release <- nil
	}
	all := append(slices.Clone(first), second...)
	slices.Sort(all)
	if len(all) != k {
		t.Fatalf("batches of %d and %d, want the %d calls in two", len(first), len(second), k)
	}
	for i, r := range all {
		if r != i {
			t.Fatalf("batches %v and %v: not every call once", first, second)
		}
	}
	for range k {
		if a := <-answers; a.err != nil || a.res != 2*a.req {
			t.Fatalf("caller %d got %d, %v", a.req, a.res, a.err)
		}
	}
	life.Close()
}

// Each call's own error reaches its caller alone; an error of a batch as a
// whole reaches every caller of that batch and no other; MaxBatch splits
// what waited.
func TestBatchErrors(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := newHeld()
	h.odd = true
	var life Lifetime
	q := New(Config[int, int]{Apply: h.apply, MaxBatch: 3, Life: &life, ErrClosed: errClosed})
	hs := newHarness(t, &q.core, q.Do)
	ctx := context.Background()
	hs.call(ctx, 0)
	<-h.batches
	for i := 1; i <= 6; i++ {
		hs.call(ctx, i)
	}
	h.release <- nil
	if b := <-h.batches; !slices.Equal(b, []int{1, 2, 3}) {
		t.Fatalf("second batch %v, want [1 2 3]", b)
	}
	broken := errors.New("database on fire")
	h.release <- broken
	if b := <-h.batches; !slices.Equal(b, []int{4, 5, 6}) {
		t.Fatalf("third batch %v, want [4 5 6]", b)
	}
	h.release <- nil
	for range 7 {
		a := <-hs.answers
		var want error
		switch {
		case a.req >= 1 && a.req <= 3:
			want = broken
		case a.req%2 != 0:
			want = errOdd
		}
		if !errors.Is(a.err, want) || want == nil && a.res != 2*a.req || want != nil && a.res != 0 {
			t.Fatalf("caller %d got %d, %v; want error %v", a.req, a.res, a.err, want)
		}
	}
	life.Close()
}

// Size weighs each call against MaxBatch; a batch's first call goes
// however big it is; Observe is told each batch's total size.
func TestSizes(t *testing.T) {
	h := newHeld()
	var life Lifetime
	sizes := make(chan int, 8)
	q := New(Config[int, int]{Apply: h.apply, Size: func(r int) int { return r }, MaxBatch: 5, Life: &life, ErrClosed: errClosed,
		Observe: func(_ context.Context, n int) { sizes <- n }})
	hs := newHarness(t, &q.core, q.Do)
	ctx := context.Background()
	hs.call(ctx, 1)
	<-h.batches
	for _, r := range []int{7, 2, 3, 1} {
		hs.call(ctx, r)
	}
	h.release <- nil
	for _, want := range [][]int{{7}, {2, 3}, {1}} {
		if b := <-h.batches; !slices.Equal(b, want) {
			t.Fatalf("batch %v, want %v", b, want)
		}
		h.release <- nil
	}
	for _, want := range []int{1, 7, 5, 1} {
		if n := <-sizes; n != want {
			t.Fatalf("observed size %d, want %d", n, want)
		}
	}
	hs.answered(5)
	life.Close()
}

// Close refuses calls from then on and returns once the calls waiting
// when it began have their answers and the goroutines that applied them
// have ended.
func TestCloseWhileWaiting(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := newHeld()
	var life Lifetime
	q := New(Config[int, int]{Apply: h.apply, MaxInFlight: 1, Life: &life, ErrClosed: errClosed})
	hs := newHarness(t, &q.core, q.Do)
	ctx := context.Background()
	hs.call(ctx, 0)
	<-h.batches
	for i := 1; i <= 3; i++ {
		hs.call(ctx, i)
	}
	marked, closed := make(chan struct{}), make(chan struct{})
	life.Closing = func() { close(marked) }
	go func() {
		life.Close()
		close(closed)
	}()
	<-marked
	if _, err := q.Do(ctx, 9); !errors.Is(err, errClosed) {
		t.Fatalf("call after Close: %v, want ErrClosed", err)
	}
	h.release <- nil
	if b := <-h.batches; len(b) != 3 {
		t.Fatalf("the calls waiting at Close made a batch of %d, want 3", len(b))
	}
	select {
	case <-closed:
		t.Fatal("Close returned while a batch was being applied")
	default:
	}
	h.release <- nil
	<-closed
	for range 4 {
		if a := <-hs.answers; a.err != nil || a.res != 2*a.req {
			t.Fatalf("caller %d, queued before Close, got %d, %v", a.req, a.res, a.err)
		}
	}
	life.Closing = nil
	life.Close() // again: returns at once
}

// A caller whose context ends while its call waits gets the context's
// error at once; its call stays in its batch. A call with an ended
// context is never queued.
func TestCancelWhileQueued(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := newHeld()
	var life Lifetime
	q := New(Config[int, int]{Apply: h.apply, Life: &life, ErrClosed: errClosed})
	hs := newHarness(t, &q.core, q.Do)
	hs.call(context.Background(), 0)
	<-h.batches
	ctx, cancel := context.WithCancel(context.Background())
	hs.call(ctx, 1)
	cancel()
	if a := <-hs.answers; a.req != 1 || !errors.Is(a.err, context.Canceled) {
		t.Fatalf("cancelled caller: %+v", a)
	}
	if _, err := q.Do(ctx, 2); !errors.Is(err, context.Canceled) {
		t.Fatalf("call with an ended context: %v", err)
	}
	h.release <- nil
	if b := <-h.batches; !slices.Equal(b, []int{1}) {
		t.Fatalf("next batch %v, want the cancelled call alone", b)
	}
	h.release <- nil
	if a := <-hs.answers; a.req != 0 || a.err != nil {
		t.Fatalf("first caller: %+v", a)
	}
	life.Close()
}

// A Keyed queue applies batches of different keys at once and those of
// one key MaxInFlight at a time, and forgets a key once its calls are
// answered.
func TestKeyed(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := newHeld()
	var life Lifetime
	q := NewKeyed(func(r int) int { return r % 10 }, Config[int, int]{Apply: h.apply, Life: &life, ErrClosed: errClosed})
	hs := newHarness(t, &q.core, q.Do)
	ctx := context.Background()
	hs.call(ctx, 1)
	hs.call(ctx, 2)
	got := [][]int{<-h.batches, <-h.batches} // both keys' batches at once
	slices.SortFunc(got, func(a, b []int) int { return a[0] - b[0] })
	if !slices.Equal(got[0], []int{1}) || !slices.Equal(got[1], []int{2}) {
		t.Fatalf("first batches %v", got)
	}
	hs.call(ctx, 11)
	hs.call(ctx, 21)
	select {
	case b := <-h.batches:
		t.Fatalf("batch %v while its key's batch was applied", b)
	default:
	}
	h.release <- nil
	h.release <- nil
	if b := <-h.batches; !slices.Equal(b, []int{11, 21}) {
		t.Fatalf("key 1's next batch %v, want [11 21]", b)
	}
	h.release <- nil
	hs.answered(4)
	life.Close() // the goroutines have ended, and with them the lines
	q.mu.Lock()
	n := len(q.lines)
	q.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d keys kept after their calls were answered", n)
	}
	if _, err := q.Do(ctx, 3); !errors.Is(err, errClosed) {
		t.Fatalf("call after Close: %v, want ErrClosed", err)
	}
}

// With Regather, the callers a batch answered that call again join the
// next batch with the calls that waited, rather than the one after it.
func TestRegather(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := newHeld()
	var life Lifetime
	q := New(Config[int, int]{Apply: h.apply, Life: &life, ErrClosed: errClosed, Regather: time.Minute})
	hs := newHarness(t, &q.core, q.Do)
	ctx := context.Background()
	hs.call(ctx, 0)
	<-h.batches
	for i := 1; i <= 3; i++ {
		hs.call(ctx, i)
	}
	h.release <- nil
	if a := <-hs.answers; a.req != 0 || a.err != nil {
		t.Fatalf("first caller: %+v", a)
	}
	hs.call(ctx, 10) // the first caller again
	if b := <-h.batches; !slices.Equal(b, []int{1, 2, 3, 10}) {
		t.Fatalf("next batch %v, want the calls that waited and the answered caller's [1 2 3 10]", b)
	}
	h.release <- nil
	hs.answered(4)
	life.Close()
}

// The wait ends without the answered callers after Regather, at once
// when the next batch is full, and when the Life closes.
func TestRegatherBounded(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, c := range []struct {
		name     string
		regather time.Duration
		maxBatch int
	}{
		{"Regather passed", time.Millisecond, 10},
		{"batch full", time.Hour, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHeld()
			var life Lifetime
			q := New(Config[int, int]{Apply: h.apply, Life: &life, ErrClosed: errClosed, Regather: c.regather, MaxBatch: c.maxBatch})
			hs := newHarness(t, &q.core, q.Do)
			ctx := context.Background()
			hs.call(ctx, 0)
			<-h.batches
			for i := 1; i <= 3; i++ {
				hs.call(ctx, i)
			}
			h.release <- nil
			if b := <-h.batches; !slices.Equal(b, []int{1, 2, 3}) {
				t.Fatalf("next batch %v, want [1 2 3] without the first caller", b)
			}
			h.release <- nil
			hs.answered(4)
			life.Close() // ends the wait for these callers, which do not call again
		})
	}
}

// Every batch in flight waits for its own callers: with two, a call that
// ends both waits lets each take a batch.
func TestRegatherInFlight(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := newHeld()
	var life Lifetime
	q := New(Config[int, int]{Apply: h.apply, MaxInFlight: 2, Life: &life, ErrClosed: errClosed, Regather: time.Hour})
	hs := newHarness(t, &q.core, q.Do)
	ctx := context.Background()
	hs.call(ctx, 0)
	<-h.batches // taken before the next call comes, which starts a second
	hs.call(ctx, 1)
	<-h.batches // both in flight
	h.release <- nil
	h.release <- nil
	for range 2 {
		if a := <-hs.answers; a.err != nil {
			t.Fatalf("caller %d: %v", a.req, a.err)
		}
	}
	hs.call(ctx, 10) // both goroutines are waiting; this ends both waits
	if b := <-h.batches; !slices.Equal(b, []int{10}) {
		t.Fatalf("batch %v, want [10]", b)
	}
	hs.call(ctx, 11) // taken while [10] is applied
	if b := <-h.batches; !slices.Equal(b, []int{11}) {
		t.Fatalf("batch %v, want [11]", b)
	}
	h.release <- nil
	h.release <- nil
	hs.answered(2)
	life.Close()
}
