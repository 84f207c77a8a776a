package collect_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/collect"
	"github.com/socialpay/socialpay/ledger"
)

// failingStore fails Expire for one request while bad is set.
type failingStore struct {
	collect.Store
	bad uuid.UUID
}

var errStore = errors.New("store down")

func (s *failingStore) Expire(ctx context.Context, id uuid.UUID, now time.Time) (collect.Request, bool, error) {
	if id == s.bad {
		return collect.Request{}, false, errStore
	}
	return s.Store.Expire(ctx, id, now)
}

// Maintain expires the requests past their expiry, as of the time it is
// given, going on past one that fails: the others expire, the failure is
// reported with its request, and a later run expires it.
func TestMaintain(t *testing.T) {
	ctx := context.Background()
	cny := ledger.MustCurrency("CNY")
	now := time.Date(2026, 1, 28, 20, 0, 0, 0, time.UTC)
	l := ledger.New(nil, ledger.Options{Now: func() time.Time { return now }})
	store := &failingStore{Store: collect.NewMemoryStore()}
	svc, err := collect.New(collect.Config{Ledger: l, Store: store, Members: everyone{}, Now: func() time.Time { return now },
		Notifier: collect.NotifierFunc(func(context.Context, collect.Request, []uuid.UUID) error { return nil })})
	if err != nil {
		t.Fatal(err)
	}
	wallet, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	ann, bo := uuid.New(), uuid.New()
	var ids []uuid.UUID
	for range 3 {
		r, err := svc.Create(ctx, collect.CreateRequest{Requester: ann, Account: wallet.ID, Group: uuid.New(), Title: "dinner",
			Members: []uuid.UUID{ann, bo}, Total: ledger.NewMoney(100_00, cny), TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	store.bad = ids[1]
	rep, err := svc.Maintain(ctx, now.Add(2*time.Hour))
	if !errors.Is(err, errStore) || rep.Expired != 2 || len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0], ids[1].String()) {
		t.Fatalf("Maintain with one request failing: %+v, %v", rep, err)
	}
	b, err := json.Marshal(collect.MaintainReport{Expired: 2, Errors: []string{"x"}})
	if err != nil || string(b) != `{"expired":2,"reconcile":{"recorded":0,"reconciled":0},"errors":["x"]}` {
		t.Fatalf("JSON %s, %v", b, err)
	}
	store.bad = uuid.Nil
	if rep, err := svc.Maintain(ctx, now.Add(2*time.Hour)); err != nil || rep.Expired != 1 {
		t.Fatalf("Maintain again: %+v, %v", rep, err)
	}
}
