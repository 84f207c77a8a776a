package ledger

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Close answers every call already queued, ends the goroutines that
// applied them, and refuses calls from then on; a second Close is a
// no-op.
func TestGroupCommitClose(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	inner := newBatchStore()
	g := NewGroupCommit(inner, GroupCommitOptions{MaxInFlight: 1})
	queued := make(chan struct{}, 10)
	g.q.Enqueued = func() { queued <- struct{}{} }
	marked := make(chan struct{})
	var once sync.Once
	g.life.Closing = func() { once.Do(func() { close(marked) }) }
	ctx := context.Background()

	errs := make(chan error, 4)
	call := func() {
		go func() {
			_, err := g.CreateTransfer(ctx, valid(0), time.Time{})
			errs <- err
		}()
		<-queued
	}
	call()
	<-inner.batches // the first call's batch is being applied
	<-inner.nows
	for range 3 {
		call() // these wait for the next batch
	}

	closed := make(chan struct{})
	go func() {
		g.Close()
		close(closed)
	}()
	<-marked
	if _, err := g.CreateTransfer(ctx, valid(0), time.Time{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after Close: %v, want ErrClosed", err)
	}
	select {
	case <-closed:
		t.Fatal("Close returned while a batch was being applied")
	default:
	}
	inner.release <- nil
	if b := <-inner.batches; len(b) != 3 {
		t.Fatalf("the calls queued before Close made a batch of %d, want 3", len(b))
	}
	<-inner.nows
	inner.release <- nil
	<-closed
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("a call queued before Close: %v", err)
		}
	}
	g.Close() // again: returns at once
	if _, err := g.CreateTransfers(ctx, []Transfer{valid(0)}, false, time.Time{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("batch after Close: %v, want ErrClosed", err)
	}
}
