package postgres

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// heldApply is a group-commit apply that reports each batch and holds it
// until the test releases it.
type heldApply struct {
	batches chan int
	release chan struct{}
}

func newHeldApply() *heldApply {
	return &heldApply{batches: make(chan int, 16), release: make(chan struct{})}
}

func (h *heldApply) apply(_ context.Context, calls []*groupCall[int, int]) error {
	h.batches <- len(calls)
	<-h.release
	for _, c := range calls {
		c.Res = c.Req * 2
	}
	return nil
}

// Closing a store's group commit, or the DB under it, answers the calls
// already queued, ends its goroutines and refuses calls from then on; a
// second Close is a no-op. No PostgreSQL needed: the apply is the test's.
func TestGrouperClose(t *testing.T) {
	for _, by := range []string{"store", "db"} {
		t.Run(by, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			db := &DB{life: new(lifetime)}
			life := newQueueLife(db)
			h := newHeldApply()
			g := newGrouper(life, nil, "test", groupDefault, h.apply)
			queued := make(chan struct{}, groupInFlight+8)
			g.Enqueued = func() { queued <- struct{}{} }
			marked := make(chan struct{})
			closing := func() { close(marked) }
			if by == "store" {
				life.own.Closing = closing
			} else {
				db.life.Closing = closing
			}
			ctx := context.Background()
			type answer struct{ res, req int }
			answers, errs := make(chan answer, groupInFlight+8), make(chan error, groupInFlight+8)
			call := func(req int) {
				go func() {
					res, err := g.Do(ctx, req)
					answers <- answer{res, req}
					errs <- err
				}()
			}
			// One batch per flush goroutine is held; then 8 calls queue.
			for i := range groupInFlight {
				call(i)
				<-queued
				<-h.batches
			}
			for i := range 8 {
				call(100 + i)
				<-queued
			}

			closed := make(chan struct{})
			go func() {
				if by == "store" {
					life.own.Close()
				} else {
					db.life.Close()
				}
				close(closed)
			}()
			<-marked
			if _, err := g.Do(ctx, 1); !errors.Is(err, ledger.ErrClosed) {
				t.Fatalf("call after Close: %v, want ledger.ErrClosed", err)
			}
			select {
			case <-closed:
				t.Fatal("Close returned while batches were being applied")
			default:
			}
			// The first flush released takes the 8 that queued as its next
			// batch; then the other three held ones and that one end.
			h.release <- struct{}{}
			if n := <-h.batches; n != 8 {
				t.Fatalf("the calls queued before Close made a batch of %d, want 8", n)
			}
			for range groupInFlight {
				h.release <- struct{}{}
			}
			<-closed
			for range groupInFlight + 8 {
				if a, err := <-answers, <-errs; err != nil || a.res != 2*a.req {
					t.Fatalf("a call queued before Close got %d, %v", a.res, err)
				}
			}
			life.own.Closing, db.life.Closing = nil, nil
			life.own.Close()
			db.life.Close()
		})
	}
}

// The campaign store's per-campaign queues close the same way.
func TestTryQueuesClose(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	db := &DB{life: new(lifetime)}
	batches, release := make(chan int, 4), make(chan struct{})
	life := newQueueLife(db)
	q := newTryQueues(life, func(_ context.Context, calls []*groupCall[tryCall, campaign.TryResult]) error {
		batches <- len(calls)
		<-release
		return nil
	})
	ctx := context.Background()
	errs := make(chan error, 2)
	for range 2 { // two campaigns, a flush each
		id := uuid.New()
		go func() {
			_, err := q.Do(ctx, tryCall{id: id})
			errs <- err
		}()
		<-batches
	}
	marked, closed := make(chan struct{}), make(chan struct{})
	life.own.Closing = func() { close(marked) }
	go func() {
		life.own.Close()
		close(closed)
	}()
	<-marked
	if _, err := q.Do(ctx, tryCall{id: uuid.New()}); !errors.Is(err, ledger.ErrClosed) {
		t.Fatalf("try after Close: %v, want ledger.ErrClosed", err)
	}
	release <- struct{}{}
	release <- struct{}{}
	<-closed
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("a try queued before Close: %v", err)
		}
	}
}

// On PostgreSQL: claims racing the red-packet store's Close either finish
// or fail with ledger.ErrClosed, never hang; claims after it fail so; and
// DB.Close ends every goroutine the DB and its stores started (the pool's
// included).
func TestStoreCloseOnPostgres(t *testing.T) {
	base := freshDB(t)
	ignore := goleak.IgnoreCurrent()
	db := instance(t, base) // a pool of its own, which Close closes
	w := &payWorld{t: t, ctx: context.Background(), db: db, store: NewRedPacketStore(db), group: uuid.New(), members: &redpacket.MemoryMembers{}}
	w.l = ledger.New(NewLedgerStore(db), ledger.Options{})
	svc, err := redpacket.New(redpacket.Config{Ledger: w.l, Store: w.store, Members: w.members, PasswordKey: testRedPacketKey})
	if err != nil {
		t.Fatal(err)
	}
	w.svc, w.bank = svc, w.account(0)
	camps := NewCampaignStore(db) // closed by DB.Close alone
	p := w.send(20, 100)

	const claimers = 20
	errs := make(chan error, claimers)
	start := make(chan struct{})
	for range claimers {
		user, wallet := w.member()
		go func() {
			<-start
			_, err := w.svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: p.ID, User: user, Account: wallet})
			errs <- err
		}()
	}
	close(start)
	w.store.Close()
	claimed := 0
	for range claimers {
		switch err := <-errs; {
		case err == nil:
			claimed++
		case !errors.Is(err, ledger.ErrClosed):
			t.Fatalf("a claim racing Close: %v", err)
		}
	}
	user, wallet := w.member()
	if _, err := w.svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: p.ID, User: user, Account: wallet}); !errors.Is(err, ledger.ErrClosed) {
		t.Fatalf("a claim after Close: %v, want ledger.ErrClosed", err)
	}
	v, err := w.svc.View(w.ctx, p.ID) // reads go on until the DB closes
	if err != nil || len(v.Claims) != claimed {
		t.Fatalf("%d claims recorded, %d answered (%v)", len(v.Claims), claimed, err)
	}
	w.verify()

	db.Close()
	if _, err := camps.Try(w.ctx, uuid.New(), campaign.TryInput{}, nil); !errors.Is(err, ledger.ErrClosed) {
		t.Fatalf("a try after DB.Close: %v, want ledger.ErrClosed", err)
	}
	db.Close() // again: a no-op
	goleak.VerifyNone(t, ignore)
}
