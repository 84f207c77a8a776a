package redpacket_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/socialpay/socialpay/redpacket"
)

// markStore is a Store whose paid marks fail while fail is set, and wait
// for release while it is not nil.
type markStore struct {
	redpacket.Store
	fail    atomic.Bool
	release chan struct{}
	marks   atomic.Int64
}

func (s *markStore) MarkPosted(ctx context.Context, id, user uuid.UUID) (redpacket.State, error) {
	s.marks.Add(1)
	if s.release != nil {
		<-s.release
	}
	if s.fail.Load() {
		return redpacket.State{}, errCrash
	}
	return s.Store.MarkPosted(ctx, id, user)
}

var asyncMode = mode{name: "other-async", other: true, async: true}

// TestAsyncMarksFail: with Config.AsyncMarks a claim returns paid before
// its mark is recorded; marks that fail leave the claims paid but read as
// unpaid; Flush reports them, once; Reconcile records them (paying again
// moves nothing) and the packet settles.
func TestAsyncMarksFail(t *testing.T) {
	ms := &markStore{Store: redpacket.NewMemoryStore(nil)}
	w := newWorld(t, inMode(asyncMode), withStores(nil, ms))
	sender := w.newUser(1000)
	us := w.users(3, 0)
	p := w.send(w.lucky(sender, 300, 3))
	ms.fail.Store(true)
	for _, u := range us {
		c := w.mustClaim(p.ID, u)
		if !c.Posted || w.balance(u.wallet) != c.Amount.Units() {
			t.Fatalf("claim %+v: not paid when Claim returned (wallet has %d)", c, w.balance(u.wallet))
		}
	}
	err := w.svc.Flush(w.ctx)
	if !errors.Is(err, errCrash) || !strings.Contains(err.Error(), "3 background paid marks failed") {
		t.Fatalf("Flush: %v, want the 3 failed marks", err)
	}
	if err := w.svc.Flush(w.ctx); err != nil {
		t.Fatalf("second Flush: %v, want the failures reported once", err)
	}
	ms.fail.Store(false)
	if st := w.packet(p.ID).State; st.Posted != 0 || st.Claimed != 3 || st.Settled {
		t.Fatalf("state %+v, want 3 claims read as unpaid", st)
	}
	if esc := w.account(p.Escrow); !esc.Balance.IsZero() {
		t.Fatalf("escrow %+v: the claimers were paid, it must be empty", esc.Balance)
	}
	rep, err := w.svc.Reconcile(w.ctx, w.clock.Now().Add(time.Hour))
	if err != nil || rep.Marked != 3 || rep.Paid != 0 {
		t.Fatalf("Reconcile: %+v, %v; want the 3 claims, paid on the ledger, recorded as paid (Marked)", rep, err)
	}
	w.checkFinished(p.ID) // each claim paid once, the escrow closed at zero
}

// TestAsyncMarksFlush: Flush waits for marks in flight (or for its
// context); a claim does not wait for its mark.
func TestAsyncMarksFlush(t *testing.T) {
	ms := &markStore{Store: redpacket.NewMemoryStore(nil), release: make(chan struct{})}
	w := newWorld(t, inMode(asyncMode), withStores(nil, ms))
	sender := w.newUser(1000)
	us := w.users(2, 0)
	p := w.send(w.lucky(sender, 200, 2))
	for _, u := range us {
		w.mustClaim(p.ID, u) // returns with its mark blocked
	}
	ctx, cancel := context.WithCancel(w.ctx)
	cancel()
	if err := w.svc.Flush(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Flush with marks blocked and its context over: %v", err)
	}
	close(ms.release)
	w.flush()
	if got := ms.marks.Load(); got != 2 {
		t.Fatalf("%d marks, want 2", got)
	}
	w.checkFinished(p.ID)
}

// TestAsyncMarksClose: Close waits for the marks in flight, and from then
// on a claim is recorded paid before it returns; the Service owns no
// goroutine afterwards.
func TestAsyncMarksClose(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ms := &markStore{Store: redpacket.NewMemoryStore(nil), release: make(chan struct{})}
	w := newWorld(t, inMode(asyncMode), withStores(nil, ms))
	sender := w.newUser(1000)
	us := w.users(3, 0)
	p := w.send(w.lucky(sender, 300, 3))
	for _, u := range us[:2] {
		w.mustClaim(p.ID, u) // returns with its mark blocked
	}
	closed := make(chan struct{})
	go func() {
		w.svc.Close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned with marks in flight")
	default:
	}
	close(ms.release)
	<-closed
	if st := w.packet(p.ID).State; st.Posted != 2 {
		t.Fatalf("after Close %d claims recorded paid, want the 2 whose marks were in flight", st.Posted)
	}
	w.mustClaim(p.ID, us[2])
	if st := w.packet(p.ID).State; st.Posted != 3 || !st.Settled {
		t.Fatalf("a claim after Close: state %+v, want it recorded paid (and the packet settled) when Claim returns", st)
	}
	w.svc.Close() // again: a no-op
	if err := w.svc.Flush(w.ctx); err != nil {
		t.Fatal(err)
	}
}
