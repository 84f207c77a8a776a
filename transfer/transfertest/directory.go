package transfertest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/transfer"
)

var (
	numbers    atomic.Int64
	numberBase = time.Now().UnixNano() % 1e8 // differs between runs sharing a database
)

// number returns a fresh E.164 mobile number (as Normalize returns them).
func number() transfer.Phone {
	return transfer.Phone(fmt.Sprintf("+86137%08d", (numberBase+numbers.Add(1))%1e8))
}

// binding is a binding of phone to the user named holder.
func binding(phone transfer.Phone, holder, name string, at time.Time) transfer.Binding {
	return transfer.Binding{Phone: phone, Holder: uid(holder), Account: uuid.New(), Name: name, VerifiedAt: at.Add(-time.Minute), UpdatedAt: at}
}

func lookup(t testing.TB, d transfer.Directory, p transfer.Phone) (transfer.Binding, bool) {
	t.Helper()
	b, found, err := d.Lookup(context.Background(), p)
	must(t, err)
	return b, found
}

func sameBinding(a, b transfer.Binding) bool {
	return a.Phone == b.Phone && a.Holder == b.Holder && a.Account == b.Account && a.Name == b.Name && a.MaskedName == b.MaskedName &&
		a.VerifiedAt.Equal(b.VerifiedAt) && a.BoundAt.Equal(b.BoundAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

func testBind(t *testing.T, newEnv func(testing.TB) Env) {
	d, ctx := newEnv(t).Directory, context.Background()
	p := number()
	if _, found := lookup(t, d, p); found {
		t.Fatal("a fresh number is bound")
	}
	at := Start.Add(1234 * time.Nanosecond) // stored to the microsecond
	b := binding(p, "alice", "王小明", at)
	got, err := d.Bind(ctx, b, false)
	must(t, err)
	want := b
	want.VerifiedAt, want.UpdatedAt, want.BoundAt = ledger.Timestamp(b.VerifiedAt), ledger.Timestamp(at), ledger.Timestamp(at)
	want.MaskedName = "**明"
	stored, found := lookup(t, d, p)
	if !found || !sameBinding(got, want) || !sameBinding(stored, want) {
		t.Fatalf("bound\n%+v\nstored\n%+v\nwant\n%+v", got, stored, want)
	}
	// The same holder may change account, name and verification time;
	// BoundAt stays. One binding per number: one default account.
	later := Start.Add(time.Hour)
	b2 := binding(p, "alice", "王晓明", later)
	got, err = d.Bind(ctx, b2, false)
	must(t, err)
	stored, _ = lookup(t, d, p)
	if got.Account != b2.Account || stored.Account != b2.Account || stored.Name != "王晓明" || stored.MaskedName != "**明" ||
		!stored.BoundAt.Equal(want.BoundAt) || !stored.UpdatedAt.Equal(later) {
		t.Fatalf("update by the same holder: %+v", stored)
	}
	// Invalid bindings change nothing.
	for name, edit := range map[string]func(*transfer.Binding){
		"no phone":     func(b *transfer.Binding) { b.Phone = "" },
		"not E.164":    func(b *transfer.Binding) { b.Phone = "13800138000" },
		"no holder":    func(b *transfer.Binding) { b.Holder = uuid.Nil },
		"no account":   func(b *transfer.Binding) { b.Account = uuid.Nil },
		"no name":      func(b *transfer.Binding) { b.Name = " - " },
		"never":        func(b *transfer.Binding) { b.VerifiedAt = time.Time{} },
		"invalid UTF8": func(b *transfer.Binding) { b.Name = "\xff\xfe" },
	} {
		bad := binding(p, "alice", "王小明", later)
		edit(&bad)
		if _, err := d.Bind(ctx, bad, true); !errors.Is(err, transfer.ErrInvalidBinding) {
			t.Errorf("%s: %v, want ErrInvalidBinding", name, err)
		}
	}
	if cur, _ := lookup(t, d, p); !sameBinding(cur, stored) {
		t.Fatalf("invalid binds changed the binding: %+v", cur)
	}
}

func testRebind(t *testing.T, newEnv func(testing.TB) Env) {
	d, ctx := newEnv(t).Directory, context.Background()
	p := number()
	old := binding(p, "alice", "Alice Smith", Start)
	_, err := d.Bind(ctx, old, false)
	must(t, err)
	// The number was recycled: a new holder binding it is refused unless
	// the bank says rebind.
	later := Start.Add(90 * 24 * time.Hour)
	nb := binding(p, "bob", "Bob Jones", later)
	if _, err := d.Bind(ctx, nb, false); !errors.Is(err, transfer.ErrBoundToOtherHolder) {
		t.Fatalf("silent rebind: %v, want ErrBoundToOtherHolder", err)
	}
	if cur, _ := lookup(t, d, p); cur.Holder != uid("alice") || cur.Account != old.Account {
		t.Fatalf("refused rebind changed the binding: %+v", cur)
	}
	got, err := d.Bind(ctx, nb, true)
	must(t, err)
	cur, _ := lookup(t, d, p)
	if got.Holder != uid("bob") || cur.Holder != uid("bob") || cur.Account != nb.Account || !cur.BoundAt.Equal(later) {
		t.Fatalf("explicit rebind: %+v", cur)
	}
	// Rebind by the holder itself, or of a free number, is a plain bind.
	again := binding(p, "bob", "Bob Jones", later.Add(time.Hour))
	got, err = d.Bind(ctx, again, true)
	must(t, err)
	if !got.BoundAt.Equal(later) {
		t.Fatalf("rebind by the same holder restarted BoundAt: %v", got.BoundAt)
	}
	free := number()
	_, err = d.Bind(ctx, binding(free, "carol", "Carol", Start), true)
	must(t, err)
}

func testUnbind(t *testing.T, newEnv func(testing.TB) Env) {
	d, ctx := newEnv(t).Directory, context.Background()
	p := number()
	want(t, d.Unbind(ctx, p, uid("alice")), transfer.ErrNotBound)
	_, err := d.Bind(ctx, binding(p, "alice", "Alice", Start), false)
	must(t, err)
	want(t, d.Unbind(ctx, p, uid("bob")), transfer.ErrNotHolder)
	if _, found := lookup(t, d, p); !found {
		t.Fatal("unbind by another holder removed the binding")
	}
	must(t, d.Unbind(ctx, p, uid("alice")))
	if _, found := lookup(t, d, p); found {
		t.Fatal("still bound after unbind")
	}
	want(t, d.Unbind(ctx, p, uid("alice")), transfer.ErrNotBound)
	// A free number can be bound by anyone again, without rebind.
	_, err = d.Bind(ctx, binding(p, "bob", "Bob", Start.Add(time.Hour)), false)
	must(t, err)
}

// Many holders bind one free number at once without rebind: exactly one
// gets it.
func testConcurrentBind(t *testing.T, newEnv func(testing.TB) Env) {
	d, ctx := newEnv(t).Directory, context.Background()
	for range races {
		p := number()
		var won atomic.Int64
		var winner atomic.Value
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 8 {
			wg.Go(func() {
				<-start
				holder := fmt.Sprint("holder-", i)
				_, err := d.Bind(ctx, binding(p, holder, "Name "+holder, Start), false)
				switch {
				case err == nil:
					won.Add(1)
					winner.Store(uid(holder))
				case !errors.Is(err, transfer.ErrBoundToOtherHolder):
					t.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
		cur, _ := lookup(t, d, p)
		if won.Load() != 1 || cur.Holder != winner.Load() {
			t.Fatalf("%d binds won; bound to %s, winner %v", won.Load(), cur.Holder, winner.Load())
		}
	}
}
