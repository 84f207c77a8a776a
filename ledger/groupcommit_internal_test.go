package ledger

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
)

// batchStore records the batches a GroupCommit sends and holds each until
// the test releases it.
type batchStore struct {
	Store
	batches chan []Transfer
	nows    chan time.Time
	release chan error // nil: apply; else fail the batch with it
}

func (s *batchStore) CreateTransfers(_ context.Context, ts []Transfer, linked bool, now time.Time) ([]Result, error) {
	if linked {
		panic("group commit sent a linked batch")
	}
	s.batches <- ts
	s.nows <- now
	if err := <-s.release; err != nil {
		return nil, err
	}
	rs := make([]Result, len(ts))
	for i, t := range ts {
		if t.Code == 13 { // refused, as a rule would
			rs[i].Err = &TransferError{Index: i, ID: t.ID, Err: ErrInsufficientFunds}
			continue
		}
		rs[i].Transfer = t
	}
	return rs, nil
}

func newBatchStore() *batchStore {
	return &batchStore{batches: make(chan []Transfer, 10), nows: make(chan time.Time, 10), release: make(chan error)}
}

// valid returns a valid transfer with the given code (GroupCommit
// validates each caller's transfers before it queues them).
func valid(code uint16) Transfer {
	return Transfer{ID: uuid.New(), DebitAccountID: uuid.New(), CreditAccountID: uuid.New(), Amount: NewMoney(1, MustCurrency("CNY")), Code: code}
}

type callResult struct {
	id  uuid.UUID
	res Result
	err error
}

// The calls that arrive while a batch is applied make the next batch, and
// each caller gets its own result.
func TestGroupCommitBatches(t *testing.T) {
	inner := newBatchStore()
	g := NewGroupCommit(inner, GroupCommitOptions{MaxInFlight: 1})
	queued := make(chan struct{}, 100)
	g.q.Enqueued = func() { queued <- struct{}{} }
	ctx := context.Background()
	base := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)

	results := make(chan callResult, 100)
	call := func(code uint16, now time.Time) uuid.UUID {
		t := valid(code)
		go func() {
			r, err := g.CreateTransfer(ctx, t, now)
			results <- callResult{t.ID, r, err}
		}()
		<-queued
		return t.ID
	}

	first := call(0, base)
	if b := <-inner.batches; len(b) != 1 || b[0].ID != first {
		t.Fatalf("first batch %v", b)
	}
	<-inner.nows
	// While it is applied, eight more callers arrive, one of them refused.
	want := map[uuid.UUID]bool{}
	var refused uuid.UUID
	for i := range 8 {
		code := uint16(0)
		if i == 5 {
			code = 13
		}
		id := call(code, base.Add(time.Duration(i)*time.Second))
		want[id] = true
		if code == 13 {
			refused = id
		}
	}
	inner.release <- nil
	if r := <-results; r.id != first || r.err != nil || r.res.Transfer.ID != first {
		t.Fatalf("first caller got %+v", r)
	}
	second := <-inner.batches
	if len(second) != 8 {
		t.Fatalf("second batch has %d transfers, want all 8 that waited", len(second))
	}
	if now := <-inner.nows; !now.Equal(base.Add(7 * time.Second)) {
		t.Fatalf("batch applied at %s, want the latest call's clock", now)
	}
	inner.release <- nil
	for range 8 {
		r := <-results
		if !want[r.id] || r.err != nil {
			t.Fatalf("unexpected result %+v", r)
		}
		delete(want, r.id)
		if r.id == refused {
			var te *TransferError
			if !errors.As(r.res.Err, &te) || te.ID != refused || te.Index != 0 || !errors.Is(r.res.Err, ErrInsufficientFunds) {
				t.Fatalf("refused transfer's result: %+v", r.res)
			}
			continue
		}
		if r.res.Err != nil || r.res.Transfer.ID != r.id {
			t.Fatalf("caller %s got %+v", r.id, r.res)
		}
	}
}

// MaxBatch splits what waited; an inner error reaches every caller of its
// batch and no other.
func TestGroupCommitLimitsAndErrors(t *testing.T) {
	inner := newBatchStore()
	g := NewGroupCommit(inner, GroupCommitOptions{MaxInFlight: 1, MaxBatch: 3})
	queued := make(chan struct{}, 100)
	g.q.Enqueued = func() { queued <- struct{}{} }
	ctx := context.Background()
	results := make(chan callResult, 100)
	call := func() {
		t := valid(0)
		go func() {
			r, err := g.CreateTransfer(ctx, t, time.Time{})
			results <- callResult{t.ID, r, err}
		}()
		<-queued
	}
	call()
	<-inner.batches
	<-inner.nows
	for range 5 {
		call()
	}
	broken := errors.New("database on fire")
	inner.release <- broken
	if r := <-results; !errors.Is(r.err, broken) {
		t.Fatalf("first caller: %+v", r)
	}
	if b := <-inner.batches; len(b) != 3 {
		t.Fatalf("batch of %d, want MaxBatch 3", len(b))
	}
	<-inner.nows
	inner.release <- nil
	if b := <-inner.batches; len(b) != 2 {
		t.Fatalf("batch of %d, want the 2 left", len(b))
	}
	<-inner.nows
	inner.release <- nil
	for range 5 {
		if r := <-results; r.err != nil || r.res.Transfer.ID != r.id {
			t.Fatalf("caller %s: %+v", r.id, r)
		}
	}
}

// A caller whose context ends stops waiting; the batch goes on.
func TestGroupCommitCancel(t *testing.T) {
	inner := newBatchStore()
	g := NewGroupCommit(inner, GroupCommitOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := g.CreateTransfer(ctx, valid(0), time.Time{})
		done <- err
	}()
	<-inner.batches
	<-inner.nows
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	inner.release <- nil
	if _, err := g.CreateTransfer(ctx, valid(0), time.Time{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("call with an ended context: %v", err)
	}
}

// Independent batches of concurrent callers join one batch, each whole and
// in order, with results and error indexes of its own; a batch bigger than
// MaxBatch is not split; linked batches go straight through.
func TestGroupCommitMergesBatches(t *testing.T) {
	inner := newBatchStore()
	g := NewGroupCommit(inner, GroupCommitOptions{MaxBatch: 4})
	queued := make(chan struct{}, 100)
	g.q.Enqueued = func() { queued <- struct{}{} }
	ctx := context.Background()
	type batchResult struct {
		ts  []Transfer
		rs  []Result
		err error
	}
	results := make(chan batchResult, 10)
	send := func(codes ...uint16) {
		ts := make([]Transfer, len(codes))
		for i, c := range codes {
			ts[i] = valid(c)
		}
		go func() {
			rs, err := g.CreateTransfers(ctx, ts, false, time.Time{})
			results <- batchResult{ts, rs, err}
		}()
		<-queued
	}
	send(0) // applied alone while the others gather
	<-inner.batches
	<-inner.nows
	send(0, 13, 0) // three, the second refused
	send(0)        // fits the same batch of at most 4
	send(0, 0, 0, 0, 0)
	inner.release <- nil
	if r := <-results; r.err != nil || len(r.rs) != 1 {
		t.Fatalf("first: %+v", r)
	}
	if b := <-inner.batches; len(b) != 4 {
		t.Fatalf("merged batch of %d, want 3+1", len(b))
	}
	<-inner.nows
	inner.release <- nil
	if b := <-inner.batches; len(b) != 5 {
		t.Fatalf("big batch of %d, want its 5 whole", len(b))
	}
	<-inner.nows
	inner.release <- nil
	for range 3 {
		r := <-results
		if r.err != nil || len(r.rs) != len(r.ts) {
			t.Fatalf("results %+v", r)
		}
		for i, res := range r.rs {
			if r.ts[i].Code == 13 {
				var te *TransferError
				if !errors.As(res.Err, &te) || te.Index != i || te.ID != r.ts[i].ID {
					t.Fatalf("refused transfer %d: %+v", i, res)
				}
				continue
			}
			if res.Err != nil || res.Transfer.ID != r.ts[i].ID {
				t.Fatalf("transfer %d of its batch: %+v", i, res)
			}
		}
	}
	if _, err := g.CreateTransfers(ctx, nil, false, time.Time{}); !errors.Is(err, ErrEmptyBatch) {
		t.Fatalf("empty batch: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("linked batch did not reach the inner store unchanged")
		}
	}()
	g.CreateTransfers(ctx, []Transfer{{ID: uuid.New()}}, true, time.Time{}) //nolint:errcheck // panics in batchStore
}

// A caller's invalid transfer is refused to that caller at once, as a
// store refuses it, and never reaches the inner store, where it could fail
// the other callers of its batch.
func TestGroupCommitValidatesEachCaller(t *testing.T) {
	inner := newBatchStore()
	g := NewGroupCommit(inner, GroupCommitOptions{})
	ctx := context.Background()
	bad := Transfer{ID: uuid.New(), DebitAccountID: uuid.New(), CreditAccountID: uuid.New()} // no amount
	_, err := g.CreateTransfers(ctx, []Transfer{valid(0), bad}, false, time.Time{})
	var te *TransferError
	if !errors.As(err, &te) || te.Index != 1 || te.ID != bad.ID || !errors.Is(err, ErrUnknownCurrency) {
		t.Fatalf("batch with an invalid transfer: %v, want a *TransferError at index 1", err)
	}
	if _, err := g.CreateTransfer(ctx, Transfer{ID: uuid.New()}, time.Time{}); !errors.Is(err, ErrInvalidTransfer) {
		t.Fatalf("invalid single transfer: %v", err)
	}
	if len(inner.batches) != 0 {
		t.Fatalf("an invalid call reached the inner store")
	}
	ok := valid(0)
	done := make(chan error, 1)
	go func() {
		r, err := g.CreateTransfer(ctx, ok, time.Time{})
		if err == nil && r.Transfer.ID != ok.ID {
			err = fmt.Errorf("result for %s", r.Transfer.ID)
		}
		done <- err
	}()
	if b := <-inner.batches; len(b) != 1 || b[0].ID != ok.ID {
		t.Fatalf("batch %v, want the valid call alone", b)
	}
	<-inner.nows
	inner.release <- nil
	if err := <-done; err != nil {
		t.Fatalf("valid call: %v", err)
	}
}

// With Regather, a caller the last batch answered that calls again joins
// the calls that waited in the next batch.
func TestGroupCommitRegather(t *testing.T) {
	inner := newBatchStore()
	g := NewGroupCommit(inner, GroupCommitOptions{Regather: time.Hour})
	queued := make(chan struct{}, 100)
	g.q.Enqueued = func() { queued <- struct{}{} }
	ctx := context.Background()
	results := make(chan callResult, 100)
	call := func() uuid.UUID {
		t := valid(0)
		go func() {
			r, err := g.CreateTransfer(ctx, t, time.Time{})
			results <- callResult{t.ID, r, err}
		}()
		<-queued
		return t.ID
	}
	first := call()
	<-inner.batches
	<-inner.nows
	waited := []uuid.UUID{call(), call()}
	inner.release <- nil
	if r := <-results; r.id != first || r.err != nil {
		t.Fatalf("first caller got %+v", r)
	}
	again := call() // the first caller's next request
	b := <-inner.batches
	<-inner.nows
	if len(b) != 3 || b[0].ID != waited[0] || b[1].ID != waited[1] || b[2].ID != again {
		t.Fatalf("next batch %v, want the two that waited and the answered caller's next", b)
	}
	inner.release <- nil
	for range 3 {
		if r := <-results; r.err != nil {
			t.Fatalf("caller got %+v", r)
		}
	}
	g.Close() // ends the wait for callers that do not come
}
