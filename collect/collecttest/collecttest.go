// Package collecttest is the conformance suite every collect.Store runs:
//
//	func TestMemoryStore(t *testing.T) {
//		collecttest.Run(t, func(testing.TB) (collect.Store, ledger.Store) {
//			return collect.NewMemoryStore(), ledger.NewMemoryStore()
//		})
//	}
//
// newStore returns the store under test and the ledger store its payments
// are made on (a database store may want the ledger on the same database,
// to make each payment one transaction). The suite checks the store rules
// through the Store interface and a Service on it: recording requests
// (validation, duplicates), paying (each share once, the ledger's refusals
// recording nothing, every refusal moving nothing), declining, closing,
// the expiry sweep, rate-limited reminders shared by two instances, the
// listings paged by cursor, and Reconcile recording a payment whose record
// was lost. Then the race cases, each repeated ledgertest.RaceIterations
// times with K concurrent calls on two Service instances: identical pays
// by one member, a pay racing the requester's close, the last pay racing
// the expiry sweep, two sweepers, and concurrent reminders.
//
// newStore is called for every subtest; it may hand out the same stores
// each time: the suite uses fresh random IDs, and its listing tests look
// only at their own requests.
package collecttest

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/collect"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
)

// Options size the suite for a store. The zero value gives the full sizes.
type Options struct {
	// K is how many concurrent identical calls each race case makes.
	// Default 8.
	K int
	// RaceIterations is how often each race case repeats (before
	// ledgertest.RaceIterations scales it). Default 50.
	RaceIterations int
}

// Run runs the suite with the default options.
func Run(t *testing.T, newStore func(testing.TB) (collect.Store, ledger.Store)) {
	RunWith(t, newStore, Options{})
}

// RunWith runs the suite with opts.
func RunWith(t *testing.T, newStore func(testing.TB) (collect.Store, ledger.Store), opts Options) {
	if opts.K <= 0 {
		opts.K = 8
	}
	if opts.RaceIterations <= 0 {
		opts.RaceIterations = 50
	}
	tests := []struct {
		name string
		f    func(*testing.T, *env)
	}{
		{"CreateAndRead", testCreateAndRead},
		{"CreateDuplicate", testCreateDuplicate},
		{"CreateInvalid", testCreateInvalid},
		{"NotFound", testNotFound},
		{"PayAll", testPayAll},
		{"PayRefusals", testPayRefusals},
		{"PayRefusedByLedger", testPayRefusedByLedger},
		{"DeclineAndClose", testDeclineAndClose},
		{"Sweep", testSweep},
		{"RemindAcrossInstances", testRemindAcrossInstances},
		{"Listings", testListings},
		{"ReconcileLostRecord", testReconcileLostRecord},
		{"RaceSamePay", testRaceSamePay},
		{"RacePayClose", testRacePayClose},
		{"RaceLastPayExpiry", testRaceLastPayExpiry},
		{"RaceSweepers", testRaceSweepers},
		{"RaceReminders", testRaceReminders},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store, ls := newStore(t)
			tc.f(t, newEnv(t, store, ls, opts))
		})
	}
}

var cny = ledger.MustCurrency("CNY")

type env struct {
	t        *testing.T
	ctx      context.Context
	store    collect.Store
	l        *ledger.Ledger
	clock    *ledgertest.Clock
	svcs     [2]*collect.Service // two instances on one store and ledger
	reminded Reminders           // reminders the notifier sent
	group    uuid.UUID
	opts     Options
}

// groupMembers says every user is in every group but one: outsider.
type groupMembers struct{ outsider uuid.UUID }

func (g groupMembers) IsMember(_ context.Context, _, user uuid.UUID) (bool, error) {
	return user != g.outsider, nil
}

var outsider = uuid.MustParse("0b1e0000-0000-4000-8000-000000000001")

func newEnv(t *testing.T, store collect.Store, ls ledger.Store, opts Options) *env {
	// Far in the future, distinct per environment: the listing tests see
	// only their own requests.
	base := time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(time.Now().UnixNano()%1e15) * time.Microsecond)
	e := &env{t: t, ctx: context.Background(), store: store, clock: ledgertest.NewClock(ledger.Timestamp(base)), group: uuid.New(), opts: opts}
	e.l = ledger.New(ls, ledger.Options{Now: e.clock.Now})
	for i := range e.svcs {
		svc, err := collect.New(collect.Config{
			Ledger: e.l, Store: store, Members: groupMembers{outsider}, Now: e.clock.Now,
			Notifier:    &e.reminded,
			RemindEvery: 10 * time.Minute, ReconcileAfter: -1,
		})
		if err != nil {
			t.Fatal(err)
		}
		e.svcs[i] = svc
	}
	return e
}

func (e *env) svc(i int) *collect.Service { return e.svcs[i%len(e.svcs)] }

// wallet creates a funded wallet.
func (e *env) wallet(fen int64) uuid.UUID {
	e.t.Helper()
	id := uuid.New()
	if _, err := e.l.CreateAccount(e.ctx, ledger.Account{ID: id, Currency: cny, Flags: ledger.DebitsMustNotExceedCredits}); err != nil {
		e.t.Fatal(err)
	}
	if fen > 0 {
		bank := uuid.New()
		if _, err := e.l.CreateAccount(e.ctx, ledger.Account{ID: bank, Currency: cny}); err != nil {
			e.t.Fatal(err)
		}
		if _, err := e.l.Transfer(e.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank, CreditAccountID: id, Amount: ledger.NewMoney(fen, cny)}); err != nil {
			e.t.Fatal(err)
		}
	}
	return id
}

func (e *env) net(account uuid.UUID) int64 {
	e.t.Helper()
	a, err := e.l.Account(e.ctx, account)
	if err != nil {
		e.t.Fatal(err)
	}
	return a.Balance.Net()
}

// bill is a request of 100.00 among the requester (listed first: 33.34)
// and two members (33.33 each), each member's wallet funded with 50.00.
type bill struct {
	r                  collect.Request
	requester, account uuid.UUID
	members, wallets   []uuid.UUID
}

func (e *env) bill(n int, ttl time.Duration) *bill {
	e.t.Helper()
	b := &bill{requester: uuid.New(), account: e.wallet(0)}
	list := []uuid.UUID{b.requester}
	for range n {
		m := uuid.New()
		b.members = append(b.members, m)
		b.wallets = append(b.wallets, e.wallet(5000))
		list = append(list, m)
	}
	r, err := e.svc(0).Create(e.ctx, collect.CreateRequest{
		ID: uuid.New(), Requester: b.requester, Account: b.account, Group: e.group, Title: "dinner 晚饭",
		Members: list, Total: ledger.NewMoney(10000, cny), TTL: ttl,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	b.r = r
	return b
}

func (b *bill) share(i int) ledger.Money { return b.r.Money(b.r.Shares[i+1].Amount) }

func (b *bill) pay(i int) collect.PayRequest {
	return collect.PayRequest{Request: b.r.ID, Member: b.members[i], Account: b.wallets[i], Amount: b.share(i)}
}

func (e *env) read(id uuid.UUID) collect.Request {
	e.t.Helper()
	r, err := e.store.Request(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := r.Validate(); err != nil {
		e.t.Fatalf("stored request breaks an invariant: %v", err)
	}
	return r
}

// checkMoney fails unless the requester's account holds exactly what the
// request records as collected, and every member's wallet lost exactly
// their share if paid and nothing otherwise.
func (e *env) checkMoney(b *bill) collect.Request {
	e.t.Helper()
	r := e.read(b.r.ID)
	if got := e.net(b.account); got != r.Collected {
		e.t.Fatalf("requester holds %d, request records %d collected", got, r.Collected)
	}
	for i := range b.members {
		want := int64(5000)
		if r.Shares[i+1].Status == collect.SharePaid {
			want -= r.Shares[i+1].Amount
		}
		if got := e.net(b.wallets[i]); got != want {
			e.t.Fatalf("member %d (%v) holds %d, want %d", i, r.Shares[i+1].Status, got, want)
		}
	}
	return r
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: %v, want %v", what, err, want)
	}
}

func testCreateAndRead(t *testing.T, e *env) {
	b := e.bill(2, 0)
	r := e.read(b.r.ID)
	if r.Title != "dinner 晚饭" || r.Total != 10000 || r.Status != collect.StatusOpen || len(r.Shares) != 3 ||
		r.Shares[0].Status != collect.ShareOwn || r.Shares[0].Amount != 3334 || r.Shares[2].Amount != 3333 ||
		!r.ExpiresAt.Equal(r.CreatedAt.Add(collect.DefaultRules().DefaultTTL)) || !r.CreatedAt.Equal(b.r.CreatedAt) {
		t.Fatalf("stored %+v", r)
	}
	if !slices.Equal(r.Pending(), b.members) || r.Due() != 6666 {
		t.Fatalf("pending %v due %d", r.Pending(), r.Due())
	}
}

func testCreateDuplicate(t *testing.T, e *env) {
	b := e.bill(2, 0)
	again := b.r.Clone()
	again.Title = "other"
	got, err := e.store.CreateRequest(e.ctx, again)
	wantErr(t, "second create", err, collect.ErrRequestExists)
	if got.Title != "dinner 晚饭" {
		t.Fatalf("duplicate returned %q, want the stored request", got.Title)
	}
	// Through the service: the same content is the stored request, other
	// content a conflict.
	req := collect.CreateRequest{ID: b.r.ID, Requester: b.requester, Account: b.account, Group: e.group, Title: "dinner 晚饭",
		Members: append([]uuid.UUID{b.requester}, b.members...), Total: ledger.NewMoney(10000, cny)}
	e.clock.Set(e.clock.Now().Add(time.Second))
	if r, err := e.svc(1).Create(e.ctx, req); err != nil || !r.CreatedAt.Equal(b.r.CreatedAt) {
		t.Fatalf("identical create: %v, %v", r.CreatedAt, err)
	}
	req.Total = ledger.NewMoney(10001, cny)
	_, err = e.svc(1).Create(e.ctx, req)
	wantErr(t, "create with other content", err, collect.ErrRequestConflict)
}

func testCreateInvalid(t *testing.T, e *env) {
	b := e.bill(2, 0)
	bad := b.r.Clone()
	bad.ID = uuid.New()
	bad.Total++
	_, err := e.store.CreateRequest(e.ctx, bad)
	wantErr(t, "sum other than total", err, collect.ErrInvalidRequest)
	paid := b.r.Clone()
	paid.ID = uuid.New()
	paid.Status, paid.EndedAt = collect.StatusClosed, paid.CreatedAt
	_, err = e.store.CreateRequest(e.ctx, paid)
	wantErr(t, "closed new request", err, collect.ErrInvalidRequest)
	_, err = e.store.Request(e.ctx, bad.ID)
	wantErr(t, "refused request read", err, collect.ErrRequestNotFound)

	base := collect.CreateRequest{Requester: uuid.New(), Account: uuid.New(), Group: e.group,
		Members: []uuid.UUID{uuid.New(), uuid.New()}, Total: ledger.NewMoney(100, cny)}
	cases := map[string]struct {
		f    func(*collect.CreateRequest)
		want error
	}{
		"no requester":  {func(r *collect.CreateRequest) { r.Requester = uuid.Nil }, collect.ErrInvalidRequest},
		"long title":    {func(r *collect.CreateRequest) { r.Title = string(make([]byte, collect.MaxTitleLen+1)) }, collect.ErrInvalidRequest},
		"member twice":  {func(r *collect.CreateRequest) { r.Members[1] = r.Members[0] }, collect.ErrInvalidRequest},
		"total+amounts": {func(r *collect.CreateRequest) { r.Amounts = []ledger.Money{r.Total, r.Total} }, collect.ErrInvalidRequest},
		"amounts count": {func(r *collect.CreateRequest) {
			r.Total = ledger.Money{}
			r.Amounts = []ledger.Money{ledger.NewMoney(1, cny)}
		}, collect.ErrInvalidRequest},
		"currency":       {func(r *collect.CreateRequest) { r.Total = ledger.NewMoney(100, ledger.MustCurrency("USD")) }, collect.ErrUnsupportedCurrency},
		"too small":      {func(r *collect.CreateRequest) { r.Total = ledger.NewMoney(1, cny) }, collect.ErrShareTooSmall},
		"only requester": {func(r *collect.CreateRequest) { r.Members = []uuid.UUID{r.Requester} }, collect.ErrNoMembers},
		"outsider":       {func(r *collect.CreateRequest) { r.Members[1] = outsider }, collect.ErrNotMember},
		"ttl":            {func(r *collect.CreateRequest) { r.TTL = 365 * 24 * time.Hour }, collect.ErrBadExpiry},
		"too many": {func(r *collect.CreateRequest) {
			r.Members = make([]uuid.UUID, 101)
			for i := range r.Members {
				r.Members[i] = uuid.New()
			}
		}, collect.ErrTooManyMembers},
	}
	for name, c := range cases {
		req := base
		req.ID = uuid.New()
		req.Members = slices.Clone(base.Members)
		c.f(&req)
		_, err := e.svc(0).Create(e.ctx, req)
		wantErr(t, name, err, c.want)
		if _, err := e.store.Request(e.ctx, req.ID); !errors.Is(err, collect.ErrRequestNotFound) {
			t.Fatalf("%s: a refused create left %v", name, err)
		}
	}
}

func testNotFound(t *testing.T, e *env) {
	id := uuid.New()
	_, err := e.store.Request(e.ctx, id)
	wantErr(t, "request", err, collect.ErrRequestNotFound)
	_, err = e.store.Close(e.ctx, id, e.clock.Now())
	wantErr(t, "close", err, collect.ErrRequestNotFound)
	_, _, err = e.store.Expire(e.ctx, id, e.clock.Now())
	wantErr(t, "expire", err, collect.ErrRequestNotFound)
	_, err = e.store.Decline(e.ctx, id, uuid.New(), e.clock.Now())
	wantErr(t, "decline", err, collect.ErrRequestNotFound)
	_, _, err = e.store.Remind(e.ctx, id, e.clock.Now(), time.Minute)
	wantErr(t, "remind", err, collect.ErrRequestNotFound)
	_, err = e.store.RecordPaid(e.ctx, id, uuid.New(), uuid.New(), uuid.New(), e.clock.Now())
	wantErr(t, "record paid", err, collect.ErrRequestNotFound)
	_, err = e.store.MarkReconciled(e.ctx, id)
	wantErr(t, "mark reconciled", err, collect.ErrRequestNotFound)
	_, err = e.svc(0).Pay(e.ctx, collect.PayRequest{Request: id, Member: uuid.New(), Account: uuid.New(), Amount: ledger.NewMoney(1, cny)})
	wantErr(t, "pay", err, collect.ErrRequestNotFound)
}

func testPayAll(t *testing.T, e *env) {
	b := e.bill(2, 0)
	sh, err := e.svc(0).Pay(e.ctx, b.pay(0))
	if err != nil || sh.Status != collect.SharePaid || sh.TransferID != e.svc(0).TransferID(b.r.ID, b.members[0]) || sh.Account != b.wallets[0] {
		t.Fatalf("pay: %+v, %v", sh, err)
	}
	// A retry, on the other instance, is the original payment.
	again, err := e.svc(1).Pay(e.ctx, b.pay(0))
	if err != nil || again != sh {
		t.Fatalf("retry: %+v, %v; want %+v", again, err, sh)
	}
	tr, err := e.l.LookupTransfer(e.ctx, sh.TransferID)
	if err != nil || tr.Amount != b.share(0) || tr.DebitAccountID != b.wallets[0] || tr.CreditAccountID != b.account {
		t.Fatalf("ledger transfer %+v, %v", tr, err)
	}
	if r := e.checkMoney(b); r.Status != collect.StatusOpen || r.Paid != 1 || r.Collected != 3333 {
		t.Fatalf("after one payment: %+v", r.State)
	}
	if _, err := e.svc(1).Pay(e.ctx, b.pay(1)); err != nil {
		t.Fatal(err)
	}
	r := e.checkMoney(b)
	if r.Status != collect.StatusComplete || r.Paid != 2 || r.Collected != 6666 || !r.Reconciled || r.EndedAt.IsZero() {
		t.Fatalf("everyone paid: %+v", r.State)
	}
	// The requester's own share was never collected.
	if r.Shares[0].Status != collect.ShareOwn {
		t.Fatalf("own share %v", r.Shares[0].Status)
	}
}

func testPayRefusals(t *testing.T, e *env) {
	b := e.bill(3, 0)
	svc := e.svc(0)
	refuse := func(what string, req collect.PayRequest, want error) {
		t.Helper()
		_, err := svc.Pay(e.ctx, req)
		wantErr(t, what, err, want)
		e.checkMoney(b)
	}
	p := b.pay(0)
	p.Member = uuid.New()
	refuse("not a member", p, collect.ErrNotMember)
	p = b.pay(0)
	p.Member = b.requester
	refuse("own share", p, collect.ErrOwnShare)
	p = b.pay(0)
	p.Amount = ledger.NewMoney(1000, cny)
	refuse("wrong amount", p, collect.ErrWrongAmount)
	p = b.pay(0)
	p.Amount = ledger.NewMoney(p.Amount.Units(), ledger.MustCurrency("USD"))
	refuse("currency", p, collect.ErrInvalidRequest)
	p = b.pay(0)
	p.Account = b.account
	refuse("requester's account", p, collect.ErrInvalidRequest)
	if _, err := svc.Decline(e.ctx, b.r.ID, b.members[1]); err != nil {
		t.Fatal(err)
	}
	refuse("declined", b.pay(1), collect.ErrDeclined)
	if _, err := svc.Pay(e.ctx, b.pay(0)); err != nil {
		t.Fatal(err)
	}
	_, err := svc.Decline(e.ctx, b.r.ID, b.members[0])
	wantErr(t, "decline after paying", err, collect.ErrAlreadyPaid)
	// At the instant of expiry, before any sweep.
	e.clock.Set(b.r.ExpiresAt)
	refuse("expired", b.pay(2), collect.ErrExpired)
	e.clock.Set(b.r.ExpiresAt.Add(-time.Second))
	if _, err := svc.Close(e.ctx, b.r.ID, b.requester); err != nil {
		t.Fatal(err)
	}
	refuse("closed", b.pay(2), collect.ErrClosed)
	_, err = svc.Decline(e.ctx, b.r.ID, b.members[2])
	wantErr(t, "decline when closed", err, collect.ErrClosed)
	// The paid member's retry is still their payment.
	if sh, err := svc.Pay(e.ctx, b.pay(0)); err != nil || sh.Status != collect.SharePaid {
		t.Fatalf("paid member after close: %+v %v", sh, err)
	}
	if r := e.checkMoney(b); r.Paid != 1 || r.Declined != 1 || r.Status != collect.StatusClosed {
		t.Fatalf("after refusals: %+v", r.State)
	}
}

func testPayRefusedByLedger(t *testing.T, e *env) {
	b := e.bill(2, 0)
	poor := e.wallet(100)
	p := b.pay(0)
	p.Account = poor
	_, err := e.svc(0).Pay(e.ctx, p)
	wantErr(t, "insufficient funds", err, ledger.ErrInsufficientFunds)
	if r := e.read(b.r.ID); r.Paid != 0 || r.Shares[1].Status != collect.SharePending {
		t.Fatalf("a refused payment was recorded: %+v", r.Shares[1])
	}
	if e.net(poor) != 100 || e.net(b.account) != 0 {
		t.Fatal("a refused payment moved money")
	}
	// Paying from a funded wallet afterwards goes through.
	if _, err := e.svc(0).Pay(e.ctx, b.pay(0)); err != nil {
		t.Fatal(err)
	}
	e.checkMoney(b)
}

func testDeclineAndClose(t *testing.T, e *env) {
	b := e.bill(2, 0)
	svc := e.svc(0)
	_, err := svc.Close(e.ctx, b.r.ID, b.members[0])
	wantErr(t, "close by a member", err, collect.ErrNotRequester)
	if _, err := svc.Decline(e.ctx, b.r.ID, b.members[0]); err != nil {
		t.Fatal(err)
	}
	if r, err := svc.Decline(e.ctx, b.r.ID, b.members[0]); err != nil || r.Declined != 1 {
		t.Fatalf("declining again: %+v %v", r.State, err)
	}
	_, err = svc.Decline(e.ctx, b.r.ID, b.requester)
	wantErr(t, "requester declines own share", err, collect.ErrOwnShare)
	if _, err := svc.Pay(e.ctx, b.pay(1)); err != nil {
		t.Fatal(err)
	}
	// Everyone answered: complete. A close afterwards answers with that.
	r, err := svc.Close(e.ctx, b.r.ID, b.requester)
	if err != nil || r.Status != collect.StatusComplete || r.Paid != 1 || r.Declined != 1 {
		t.Fatalf("close after completion: %+v %v", r.State, err)
	}
	b2 := e.bill(2, 0)
	r, err = svc.Close(e.ctx, b2.r.ID, b2.requester)
	if err != nil || r.Status != collect.StatusClosed || r.Reconciled {
		t.Fatalf("close: %+v %v", r.State, err)
	}
}

func testSweep(t *testing.T, e *env) {
	short := e.bill(2, time.Minute)
	long := e.bill(2, time.Hour)
	e.clock.Set(short.r.ExpiresAt.Add(-time.Nanosecond))
	if _, _, err := e.store.Expire(e.ctx, short.r.ID, e.clock.Now()); !errors.Is(err, collect.ErrNotExpired) {
		t.Fatalf("early expiry: %v", err)
	}
	e.clock.Set(short.r.ExpiresAt)
	n, err := e.svc(0).Sweep(e.ctx)
	if err != nil || n < 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	if r := e.read(short.r.ID); r.Status != collect.StatusExpired || !r.EndedAt.Equal(short.r.ExpiresAt) {
		t.Fatalf("swept: %+v", r.State)
	}
	if r := e.read(long.r.ID); r.Status != collect.StatusOpen {
		t.Fatalf("not yet due: %v", r.Status)
	}
	if n, err := e.svc(1).Sweep(e.ctx); err != nil || n != 0 {
		t.Fatalf("second sweep: %d %v", n, err)
	}
}

func testRemindAcrossInstances(t *testing.T, e *env) {
	b := e.bill(2, 0)
	got, err := e.svc(0).Remind(e.ctx, b.r.ID, b.requester)
	if err != nil || !slices.Equal(got, b.members) || e.reminded.Len() != 1 {
		t.Fatalf("remind: %v %v (%d sent)", got, err, e.reminded.Len())
	}
	_, err = e.svc(0).Remind(e.ctx, b.r.ID, b.members[0])
	wantErr(t, "remind by a member", err, collect.ErrNotRequester)
	e.clock.Set(e.clock.Now().Add(10*time.Minute - time.Microsecond))
	_, err = e.svc(1).Remind(e.ctx, b.r.ID, b.requester)
	wantErr(t, "other instance, too soon", err, collect.ErrRemindTooSoon)
	if _, err := e.svc(1).Pay(e.ctx, b.pay(0)); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(e.clock.Now().Add(time.Microsecond))
	got, err = e.svc(1).Remind(e.ctx, b.r.ID, b.requester)
	if err != nil || !slices.Equal(got, b.members[1:]) || e.reminded.Len() != 2 {
		t.Fatalf("remind after the interval: %v %v", got, err)
	}
	if _, err := e.svc(1).Close(e.ctx, b.r.ID, b.requester); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(e.clock.Now().Add(time.Hour))
	_, err = e.svc(0).Remind(e.ctx, b.r.ID, b.requester)
	wantErr(t, "remind when closed", err, collect.ErrNothingToRemind)
}

func testListings(t *testing.T, e *env) {
	var bills []*bill
	for range 5 {
		bills = append(bills, e.bill(1, time.Minute))
	}
	e.clock.Set(bills[4].r.ExpiresAt)
	var got []uuid.UUID
	var cur collect.Cursor
	for {
		page, err := e.store.Due(e.ctx, e.clock.Now(), cur, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			got = append(got, r.ID)
		}
		if len(page) < 2 {
			break
		}
		cur = collect.Cursor{At: page[len(page)-1].ExpiresAt, ID: page[len(page)-1].ID}
	}
	for _, b := range bills {
		if !slices.Contains(got, b.r.ID) {
			t.Fatalf("due listing %v misses %s", got, b.r.ID)
		}
	}
	// Closed with a share pending: listed for Reconcile until reconciled.
	now := e.clock.Now()
	for _, b := range bills[:3] {
		if _, err := e.store.Close(e.ctx, b.r.ID, now); err != nil {
			t.Fatal(err)
		}
	}
	page, err := e.store.Unreconciled(e.ctx, now, collect.Cursor{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []uuid.UUID
	for _, r := range page {
		ids = append(ids, r.ID)
	}
	for _, b := range bills[:3] {
		if !slices.Contains(ids, b.r.ID) {
			t.Fatalf("unreconciled listing misses %s", b.r.ID)
		}
	}
	if _, err := e.store.MarkReconciled(e.ctx, bills[0].r.ID); err != nil {
		t.Fatal(err)
	}
	page, _ = e.store.Unreconciled(e.ctx, now, collect.Cursor{}, 100)
	for _, r := range page {
		if r.ID == bills[0].r.ID {
			t.Fatal("a reconciled request is listed")
		}
	}
	page, err = e.store.Unreconciled(e.ctx, now.Add(-time.Microsecond), collect.Cursor{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range page {
		for _, b := range bills {
			if r.ID == b.r.ID {
				t.Fatalf("request %s ended at %v is listed before %v", r.ID, r.EndedAt, now)
			}
		}
	}
}

func testReconcileLostRecord(t *testing.T, e *env) {
	b := e.bill(2, 0)
	// A payment the ledger made whose record was lost (the store failed
	// after the transfer): the ledger has it, the store does not.
	svc := e.svc(0)
	if _, err := e.l.Transfer(e.ctx, ledger.Transfer{ID: svc.TransferID(b.r.ID, b.members[0]), DebitAccountID: b.wallets[0],
		CreditAccountID: b.account, Amount: b.share(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Close(e.ctx, b.r.ID, b.requester); err != nil {
		t.Fatal(err)
	}
	rep, err := svc.Reconcile(e.ctx, e.clock.Now())
	if err != nil || rep.Recorded < 1 || rep.Reconciled < 1 {
		t.Fatalf("reconcile: %+v %v", rep, err)
	}
	r := e.checkMoney(b)
	if r.Paid != 1 || !r.Reconciled || r.Shares[1].Status != collect.SharePaid {
		t.Fatalf("after reconcile: %+v", r.State)
	}
	// The member's retry on a closed request is their payment, found on
	// the ledger.
	b2 := e.bill(2, 0)
	if _, err := e.l.Transfer(e.ctx, ledger.Transfer{ID: svc.TransferID(b2.r.ID, b2.members[1]), DebitAccountID: b2.wallets[1],
		CreditAccountID: b2.account, Amount: b2.share(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Close(e.ctx, b2.r.ID, b2.requester); err != nil {
		t.Fatal(err)
	}
	if sh, err := svc.Pay(e.ctx, b2.pay(1)); err != nil || sh.Status != collect.SharePaid {
		t.Fatalf("retry after a lost record: %+v %v", sh, err)
	}
	e.checkMoney(b2)
}

func (e *env) iterations() int { return ledgertest.RaceIterations(e.t, e.opts.RaceIterations) }

func testRaceSamePay(t *testing.T, e *env) {
	for range e.iterations() {
		b := e.bill(2, 0)
		shares, errs := ledgertest.Concurrently(e.opts.K, func(i int) (collect.Share, error) {
			return e.svc(i).Pay(e.ctx, b.pay(0))
		})
		for i, err := range errs {
			if err != nil || shares[i] != shares[0] || shares[i].Status != collect.SharePaid {
				t.Fatalf("call %d: %+v %v; want the winner's %+v", i, shares[i], err, shares[0])
			}
		}
		if r := e.checkMoney(b); r.Paid != 1 || r.Collected != 3333 {
			t.Fatalf("K identical pays: %+v", r.State)
		}
	}
}

func testRacePayClose(t *testing.T, e *env) {
	won := map[bool]int{}
	for it := range e.iterations() {
		b := e.bill(2, 0)
		_, errs := ledgertest.Concurrently(e.opts.K, func(i int) (collect.Request, error) {
			if i%2 == 0 {
				sh, err := e.svc(i/2).Pay(e.ctx, b.pay(0))
				return collect.Request{Shares: []collect.Share{sh}}, err
			}
			jitter(it)
			return e.svc(i/2).Close(e.ctx, b.r.ID, b.requester)
		})
		r := e.checkMoney(b)
		paid := r.Shares[1].Status == collect.SharePaid
		won[paid]++
		for i, err := range errs {
			switch {
			case i%2 == 1 && err != nil:
				t.Fatalf("close %d: %v", i, err)
			case i%2 == 0 && paid && err != nil:
				t.Fatalf("pay %d: %v, but the payment won", i, err)
			case i%2 == 0 && !paid && !errors.Is(err, collect.ErrClosed):
				t.Fatalf("pay %d: %v, but the close won", i, err)
			}
		}
		if r.Status != collect.StatusClosed {
			t.Fatalf("after pay and close: %v", r.Status)
		}
	}
	t.Logf("pay won %d, close won %d", won[true], won[false])
}

func testRaceLastPayExpiry(t *testing.T, e *env) {
	won := map[bool]int{}
	for it := range e.iterations() {
		b := e.bill(1, time.Minute)
		e.clock.Set(b.r.ExpiresAt.Add(-time.Microsecond))
		sweepAt := b.r.ExpiresAt
		_, errs := ledgertest.Concurrently(e.opts.K, func(i int) (bool, error) {
			if i%2 == 0 {
				_, err := e.svc(i/2).Pay(e.ctx, b.pay(0))
				return false, err
			}
			jitter(it)
			_, expired, err := e.store.Expire(e.ctx, b.r.ID, sweepAt)
			return expired, err
		})
		r := e.checkMoney(b)
		paid := r.Shares[1].Status == collect.SharePaid
		won[paid]++
		if paid && r.Status != collect.StatusComplete || !paid && r.Status != collect.StatusExpired {
			t.Fatalf("paid %t, status %v", paid, r.Status)
		}
		for i, err := range errs {
			if i%2 == 0 && (paid && err != nil || !paid && !errors.Is(err, collect.ErrExpired)) {
				t.Fatalf("pay %d: %v (paid %t)", i, err, paid)
			}
			if i%2 == 1 && err != nil {
				t.Fatalf("sweep %d: %v", i, err)
			}
		}
		e.clock.Set(b.r.ExpiresAt.Add(time.Hour))
	}
	t.Logf("pay won %d, sweep won %d", won[true], won[false])
}

// jitter lets the other side of a race start first in some iterations:
// a varying number of yields, no sleep.
func jitter(it int) {
	for range it % 16 * 8 {
		runtime.Gosched()
	}
}

func testRaceSweepers(t *testing.T, e *env) {
	for range e.iterations() {
		b := e.bill(2, time.Minute)
		e.clock.Set(b.r.ExpiresAt)
		counts, errs := ledgertest.Concurrently(e.opts.K, func(i int) (int, error) {
			_, expired, err := e.store.Expire(e.ctx, b.r.ID, b.r.ExpiresAt)
			if expired {
				return 1, err
			}
			return 0, err
		})
		total := 0
		for i := range counts {
			if errs[i] != nil {
				t.Fatalf("sweeper %d: %v", i, errs[i])
			}
			total += counts[i]
		}
		if r := e.read(b.r.ID); total != 1 || r.Status != collect.StatusExpired {
			t.Fatalf("%d sweepers expired it, status %v", total, r.Status)
		}
	}
	// Whole sweeps on both instances.
	b := e.bill(2, time.Minute)
	e.clock.Set(b.r.ExpiresAt)
	counts, errs := ledgertest.Concurrently(2, func(i int) (int, error) { return e.svc(i).Sweep(e.ctx) })
	if errs[0] != nil || errs[1] != nil || counts[0]+counts[1] < 1 {
		t.Fatalf("two sweeps: %v %v", counts, errs)
	}
	if r := e.read(b.r.ID); r.Status != collect.StatusExpired {
		t.Fatalf("after two sweeps: %v", r.Status)
	}
}

func testRaceReminders(t *testing.T, e *env) {
	for range e.iterations() {
		b := e.bill(2, 0)
		before := e.reminded.Len()
		_, errs := ledgertest.Concurrently(e.opts.K, func(i int) ([]uuid.UUID, error) {
			return e.svc(i).Remind(e.ctx, b.r.ID, b.requester)
		})
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, collect.ErrRemindTooSoon):
				t.Fatalf("reminder %d: %v", i, err)
			}
		}
		if sent := e.reminded.Len() - before; ok != 1 || sent != 1 {
			t.Fatalf("%d reminders recorded, %d sent; want 1", ok, sent)
		}
	}
}
