package redpacket_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// errCrash is what a crashed store answers.
var errCrash = errors.New("simulated crash")

// fault decides, per operation, whether a store has crashed. Operations
// are numbered from 0; from operation failAt on, the store is down: every
// operation fails. With applyThenFail, operation failAt itself is applied
// before it fails (the reply is lost, as when the process dies right after
// the commit). heal brings the store back, as after a restart.
type fault struct {
	mu            sync.Mutex
	ops           int
	failAt        int // -1: never
	applyThenFail bool
	calls         atomic.Int64 // every operation, for the fast-path test
}

func newFault() *fault { return &fault{failAt: -1} }

// crashAt arms the fault: operation n (from now) fails, and all after it.
func (f *fault) crashAt(n int, applyThenFail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops, f.failAt, f.applyThenFail = 0, n, applyThenFail
}

func (f *fault) heal() { f.crashAt(-1, false) }

// crashed reports whether the crash happened (some operation failed).
func (f *fault) crashed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failAt >= 0 && f.ops > f.failAt
}

// next numbers an operation: apply says whether to perform it, fail
// whether to report errCrash.
func (f *fault) next() (apply, fail bool) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.ops
	f.ops++
	switch {
	case f.failAt < 0 || n < f.failAt:
		return true, false
	case n == f.failAt:
		return f.applyThenFail, true
	}
	return false, true
}

func do[T any](f *fault, op func() (T, error)) (T, error) {
	apply, fail := f.next()
	var v T
	var err error
	if apply {
		v, err = op()
	}
	if fail {
		var zero T
		return zero, errCrash
	}
	return v, err
}

// faultyStore is a redpacket.Store that crashes on cue.
type faultyStore struct {
	s redpacket.Store
	f *fault
}

var _ redpacket.Store = faultyStore{}

func (s faultyStore) CreatePacket(ctx context.Context, p redpacket.Packet) (redpacket.Packet, error) {
	return do(s.f, func() (redpacket.Packet, error) { return s.s.CreatePacket(ctx, p) })
}

func (s faultyStore) Packet(ctx context.Context, id uuid.UUID) (redpacket.Packet, error) {
	return do(s.f, func() (redpacket.Packet, error) { return s.s.Packet(ctx, id) })
}

func (s faultyStore) Open(ctx context.Context, id uuid.UUID) (redpacket.State, error) {
	return do(s.f, func() (redpacket.State, error) { return s.s.Open(ctx, id) })
}

func (s faultyStore) Cancel(ctx context.Context, id uuid.UUID, reason string) (redpacket.State, error) {
	return do(s.f, func() (redpacket.State, error) { return s.s.Cancel(ctx, id, reason) })
}

func (s faultyStore) Claim(ctx context.Context, id, user, account uuid.UUID, now time.Time) (redpacket.ClaimResult, error) {
	return do(s.f, func() (redpacket.ClaimResult, error) { return s.s.Claim(ctx, id, user, account, now) })
}

func (s faultyStore) Claims(ctx context.Context, id uuid.UUID) ([]redpacket.Claim, error) {
	return do(s.f, func() ([]redpacket.Claim, error) { return s.s.Claims(ctx, id) })
}

func (s faultyStore) MarkPosted(ctx context.Context, id, user uuid.UUID) (redpacket.State, error) {
	return do(s.f, func() (redpacket.State, error) { return s.s.MarkPosted(ctx, id, user) })
}

func (s faultyStore) BeginRefund(ctx context.Context, id uuid.UUID, now time.Time) (redpacket.Packet, error) {
	return do(s.f, func() (redpacket.Packet, error) { return s.s.BeginRefund(ctx, id, now) })
}

func (s faultyStore) FinishRefund(ctx context.Context, id uuid.UUID) (redpacket.State, error) {
	return do(s.f, func() (redpacket.State, error) { return s.s.FinishRefund(ctx, id) })
}

func (s faultyStore) Settle(ctx context.Context, id uuid.UUID) (redpacket.State, error) {
	return do(s.f, func() (redpacket.State, error) { return s.s.Settle(ctx, id) })
}

func (s faultyStore) Expired(ctx context.Context, now time.Time, after redpacket.Cursor, limit int) ([]redpacket.Packet, error) {
	return do(s.f, func() ([]redpacket.Packet, error) { return s.s.Expired(ctx, now, after, limit) })
}

func (s faultyStore) Unsettled(ctx context.Context, after redpacket.Cursor, limit int) ([]redpacket.Packet, error) {
	return do(s.f, func() ([]redpacket.Packet, error) { return s.s.Unsettled(ctx, after, limit) })
}

// faultyLedger is a ledger.Store that crashes on cue. Only the operations
// the red-packet service uses are counted; the rest pass through.
type faultyLedger struct {
	ledger.Store
	f *fault
	// failTransfer, when set, fails transfers it returns true for with
	// errCrash (before applying), whatever the fault says; a batch with
	// one of them fails whole.
	failTransfer func(t *ledger.Transfer) bool
	// beforeTransfer, when set, is called with every transfer before it
	// is applied (with the store's own clock reading).
	beforeTransfer func(t *ledger.Transfer, now time.Time)
}

// intercept runs the hooks on ts and reports whether to fail them.
func (l *faultyLedger) intercept(ts []ledger.Transfer, now time.Time) (fail bool) {
	for i := range ts {
		if l.beforeTransfer != nil {
			l.beforeTransfer(&ts[i], now)
		}
		if l.failTransfer != nil && l.failTransfer(&ts[i]) {
			fail = true
		}
	}
	return fail
}

func (l *faultyLedger) CreateAccount(ctx context.Context, a ledger.Account, now time.Time) (ledger.Account, error) {
	return do(l.f, func() (ledger.Account, error) { return l.Store.CreateAccount(ctx, a, now) })
}

func (l *faultyLedger) ChangeAccount(ctx context.Context, id uuid.UUID, ev ledger.AccountEvent, now time.Time) (ledger.Account, error) {
	return do(l.f, func() (ledger.Account, error) { return l.Store.ChangeAccount(ctx, id, ev, now) })
}

func (l *faultyLedger) Account(ctx context.Context, id uuid.UUID) (ledger.AccountState, error) {
	return do(l.f, func() (ledger.AccountState, error) { return l.Store.Account(ctx, id) })
}

func (l *faultyLedger) CreateTransfer(ctx context.Context, t ledger.Transfer, now time.Time) (ledger.Result, error) {
	if l.intercept([]ledger.Transfer{t}, now) {
		return ledger.Result{}, errCrash
	}
	return do(l.f, func() (ledger.Result, error) { return l.Store.CreateTransfer(ctx, t, now) })
}

func (l *faultyLedger) CreateTransfers(ctx context.Context, ts []ledger.Transfer, linked bool, now time.Time) ([]ledger.Result, error) {
	if l.intercept(ts, now) {
		return nil, errCrash
	}
	return do(l.f, func() ([]ledger.Result, error) { return l.Store.CreateTransfers(ctx, ts, linked, now) })
}

func (l *faultyLedger) Transfer(ctx context.Context, id uuid.UUID) (ledger.Transfer, error) {
	return do(l.f, func() (ledger.Transfer, error) { return l.Store.Transfer(ctx, id) })
}

func (s faultyStore) Packets(ctx context.Context, after redpacket.Cursor, limit int) ([]redpacket.Packet, error) {
	return do(s.f, func() ([]redpacket.Packet, error) { return s.s.Packets(ctx, after, limit) })
}
