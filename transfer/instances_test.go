package transfer_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/transfer"
)

// Issue 11: several instances must share the lookup budget and the
// token key.

// A bank runs several instances. Had each made up its own lookup limiter
// and token key, a prober spreading its lookups over them would get one
// budget per instance, and a token resolved on one would not pay on
// another. New refuses to make either up unless told it is the only
// instance.
func TestNewRefusesPerInstanceDefaults(t *testing.T) {
	l := ledger.New(nil, ledger.Options{})
	lim, err := transfer.NewMemoryLimiter(transfer.DefaultRateConfig())
	if err != nil {
		t.Fatal(err)
	}
	store, dir := transfer.NewMemoryStore(l), transfer.NewMemoryDirectory()
	for name, cfg := range map[string]transfer.Config{
		"nothing shared": {Ledger: l},
		"no store":       {Ledger: l, Directory: dir, Limiter: lim, TokenKey: testKey},
		"no directory":   {Ledger: l, Store: store, Limiter: lim, TokenKey: testKey},
		"no limiter":     {Ledger: l, Store: store, Directory: dir, TokenKey: testKey},
		"no token key":   {Ledger: l, Store: store, Directory: dir, Limiter: lim},
		"short key":      {Ledger: l, Store: store, Directory: dir, Limiter: lim, TokenKey: testKey[:transfer.MinTokenKeyLen-1]},
		"empty key":      {Ledger: l, Store: store, Directory: dir, Limiter: lim, TokenKey: []byte{}},
	} {
		_, err := transfer.New(cfg)
		if !errors.Is(err, transfer.ErrInvalidConfig) {
			t.Errorf("%s: %v, want ErrInvalidConfig", name, err)
			continue
		}
		if cfg.TokenKey == nil || cfg.Limiter == nil || cfg.Store == nil || cfg.Directory == nil {
			if !strings.Contains(err.Error(), "SingleProcess") {
				t.Errorf("%s: the error does not name the option: %v", name, err)
			}
		}
	}
	// Said explicitly, one process may keep its own.
	if _, err := transfer.New(transfer.Config{Ledger: l, SingleProcess: true}); err != nil {
		t.Errorf("single process: %v", err)
	}
	// A short key is refused even then.
	if _, err := transfer.New(transfer.Config{Ledger: l, SingleProcess: true, TokenKey: []byte("0123456789")}); !errors.Is(err, transfer.ErrInvalidConfig) {
		t.Errorf("single process, short key: %v", err)
	}
}

// Two instances configured alike (shared stores, limiter and key): a
// token resolved on one pays on the other, and the prober's lookups on
// both draw on one budget.
func TestInstancesShareTokensAndBudget(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.user("alice", "13900139000", "Alice", 100_00)
	bob := e.user("bob", "13800138000", "Bob Jones", 0)
	other, err := transfer.New(transfer.Config{Ledger: e.l, Store: e.svc.Store(), Directory: e.svc.Directory(), Limiter: e.lim, TokenKey: testKey, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.Resolve(e.ctx, uid("alice"), "138 0013 8000")
	if err != nil {
		t.Fatal(err)
	}
	r, err := other.Send(e.ctx, transfer.Request{Key: "k1", Payer: uid("alice"), From: alice, Token: res.Token, Amount: ledger.NewMoney(1_00, cny)})
	if err != nil || r.State != transfer.StateSettled {
		t.Fatalf("token of instance A paid on instance B: %v %+v", err, r)
	}
	if n, _ := e.l.Account(e.ctx, bob); n.Balance.Net() != 1_00 {
		t.Fatalf("bob has %d", n.Balance.Net())
	}
	// Missing numbers cost 20 of the payer's 100 tokens: five misses,
	// whichever instance they reach, and the sixth is refused.
	insts := []*transfer.Service{e.svc, other}
	misses := 0
	for i := range 10 {
		_, err := insts[i%2].Resolve(e.ctx, uid("mallory"), fmt.Sprintf("137 0000 %04d", i))
		if errors.Is(err, transfer.ErrRateLimited) {
			break
		}
		wantErr(t, err, transfer.ErrNotBound)
		misses++
	}
	if misses != 5 {
		t.Fatalf("the prober got %d misses over two instances, want 5 (one budget)", misses)
	}
}
