// Package pointstest is the conformance suite every points.Store runs:
//
//	func TestMyStore(t *testing.T) {
//		pointstest.Run(t, func(testing.TB) points.Store { return mystore.New(db) }, ledgerStore)
//	}
//
// The suite checks every store rule through the Store interface alone:
// recording operations (validation, duplicates, conflicts), credits
// pending until posted, debits taking the oldest lots first and never an
// expired lot, failures undoing, one expiry per due lot, the listings of
// due lots and pending operations paged by cursor, and versioned rates.
// Its concurrency cases hammer one user's lots, one lot's expiry and one
// rate version from many goroutines. Then RunRace holds two Services on
// the store (and the given ledger store) to exactly once under concurrent
// identical requests at each boundary.
//
// newStore is called for every subtest. It may hand out the same store
// each time: the suite uses fresh random users and IDs, its store cases'
// lots expire after the year 2900 (in time windows of their own), and its
// race cases' in 2025.
package pointstest

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/points"
)

// Options size the suite for a store. The zero value gives the full sizes.
type Options struct {
	// Goroutines is how many goroutines contend in the concurrency cases.
	// Default 100.
	Goroutines int
	// RaceIterations is how often each case of RunRace repeats (before
	// ledgertest.RaceIterations scales it). Default 50.
	RaceIterations int
}

// Run runs the suite with the default options; ls is the ledger store the
// race cases' services pay on.
func Run(t *testing.T, newStore func(testing.TB) points.Store, ls ledger.Store) {
	RunWith(t, newStore, ls, Options{})
}

// RunWith runs the suite with opts.
func RunWith(t *testing.T, newStore func(testing.TB) points.Store, ls ledger.Store, opts Options) {
	if opts.Goroutines <= 0 {
		opts.Goroutines = 100
	}
	tests := []struct {
		name string
		f    func(*testing.T, *env)
	}{
		{"RecordAndPost", testRecordAndPost},
		{"RecordDuplicate", testRecordDuplicate},
		{"SpendOldestFirst", testSpendOldestFirst},
		{"SpendExpiredLot", testSpendExpiredLot},
		{"Fail", testFail},
		{"ExpireOnce", testExpireOnce},
		{"DuePaging", testDuePaging},
		{"PendingPaging", testPendingPaging},
		{"Rates", testRates},
		{"ConcurrentSpends", testConcurrentSpends},
		{"ConcurrentExpiries", testConcurrentExpiries},
		{"ConcurrentRates", testConcurrentRates},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f(t, &env{t: t, ctx: context.Background(), s: newStore(t), opts: opts})
		})
	}
	RunRace(t, RaceConfig{Ledger: ls, Store: newStore(t), Iterations: opts.RaceIterations})
}

type env struct {
	t    *testing.T
	ctx  context.Context
	s    points.Store
	opts Options
}

// far is the suite's own time: its lots expire after it.
var far = time.Date(2950, 1, 10, 0, 0, 0, 0, time.UTC)

var cny = ledger.MustCurrency("CNY")

// Credit returns a valid pending earn of p points by user into the lot of
// month m, expiring at exp, created at now: what a store's own tests can
// record.
func Credit(user uuid.UUID, p int64, m points.Month, exp, now time.Time) points.Op {
	return points.Op{ID: uuid.New(), User: user, Kind: points.KindEarn, Key: uuid.NewString(), Name: "test",
		Requested: 0, Points: p, Month: m, LotExpiresAt: exp, Account: uuid.New(), Counter: uuid.New(),
		Status: points.StatusPending, CreatedAt: now}
}

// Debit returns a valid pending redemption of p points by user for 1 fen,
// created at now.
func Debit(user uuid.UUID, p int64, now time.Time) points.Op {
	return points.Op{ID: uuid.New(), User: user, Kind: points.KindRedeem, Key: uuid.NewString(), Name: "CNY",
		Requested: p, Points: p, Account: uuid.New(), Counter: uuid.New(),
		Rate: points.Rate{Name: "redeem/CNY", Version: 1, From: p, To: 1, SetAt: now}, Other: 1,
		Currency: cny, Wallet: uuid.New(), Conversion: uuid.New(), Status: points.StatusPending, CreatedAt: now}
}

func (e *env) record(op points.Op, now time.Time) points.Op {
	e.t.Helper()
	got, existing, err := e.s.Record(e.ctx, op, now)
	if err != nil || existing {
		e.t.Fatalf("Record %v: existing %v, %v", op.Kind, existing, err)
	}
	return got
}

func (e *env) post(op points.Op) points.Op {
	e.t.Helper()
	got, err := e.s.Post(e.ctx, op.User, op.ID)
	if err != nil || got.Status != points.StatusPosted {
		e.t.Fatalf("Post: %+v, %v", got, err)
	}
	return got
}

// earn records and posts a credit of p points in month m expiring at exp.
func (e *env) earn(user uuid.UUID, p int64, m points.Month, exp time.Time) points.Op {
	e.t.Helper()
	return e.post(e.record(Credit(user, p, m, exp, far), far))
}

func (e *env) holder(user uuid.UUID) points.Holder {
	e.t.Helper()
	h, err := e.s.Holder(e.ctx, user)
	if err != nil {
		e.t.Fatal(err)
	}
	return h
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

// sameOp compares two operations field by field (times with Equal).
func sameOp(t *testing.T, got, want points.Op) {
	t.Helper()
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.LotExpiresAt.Equal(want.LotExpiresAt) || !got.Rate.SetAt.Equal(want.Rate.SetAt) {
		t.Fatalf("times: got %+v, want %+v", got, want)
	}
	g, w := got, want
	g.CreatedAt, g.LotExpiresAt, g.Rate.SetAt = w.CreatedAt, w.LotExpiresAt, w.Rate.SetAt
	if len(g.Takes) == 0 && len(w.Takes) == 0 {
		g.Takes = w.Takes
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("op:\n got %+v\nwant %+v", got, want)
	}
}

func testRecordAndPost(t *testing.T, e *env) {
	user := uuid.New()
	m := points.MonthOf(far, time.UTC)
	exp := far.AddDate(1, 0, 0)
	op := Credit(user, 100, m, exp, far)
	got := e.record(op, far)
	sameOp(t, got, op)
	stored, err := e.s.Op(e.ctx, op.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameOp(t, stored, op)
	// Recorded, not confirmed: pending in its lot, nothing spendable.
	h := e.holder(user)
	if len(h.Lots) != 1 || h.Lots[0].Pending != 100 || h.Lots[0].Remaining != 0 || !h.Lots[0].ExpiresAt.Equal(exp) || h.Earned != 0 {
		t.Fatalf("holder after record: %+v", h)
	}
	_, _, err = e.s.Record(e.ctx, Debit(user, 1, far), far)
	wantErr(t, "spending pending points", err, points.ErrInsufficientPoints)
	posted := e.post(op)
	if posted.Status != points.StatusPosted {
		t.Fatalf("posted: %+v", posted)
	}
	again, err := e.s.Post(e.ctx, user, op.ID)
	if err != nil || again.Status != points.StatusPosted {
		t.Fatalf("post again: %+v %v", again, err)
	}
	h = e.holder(user)
	if len(h.Lots) != 1 || h.Lots[0].Pending != 0 || h.Lots[0].Remaining != 100 || h.Lots[0].Credited != 100 || h.Earned != 100 {
		t.Fatalf("holder after post: %+v", h)
	}
	// A second credit in the same month adds to the same lot.
	e.earn(user, 5, m, exp)
	if h = e.holder(user); len(h.Lots) != 1 || h.Lots[0].Remaining != 105 {
		t.Fatalf("second credit: %+v", h)
	}
	// A debit round-trips with its takes and rate.
	d := Debit(user, 30, far)
	rd := e.record(d, far)
	d.Takes = []points.Take{{Month: m, Points: 30}}
	sameOp(t, rd, d)
	stored, _ = e.s.Op(e.ctx, d.ID)
	sameOp(t, stored, d)
	_, err = e.s.Op(e.ctx, uuid.New())
	wantErr(t, "Op of an unknown ID", err, points.ErrOpNotFound)
	_, err = e.s.Post(e.ctx, user, uuid.New())
	wantErr(t, "Post of an unknown ID", err, points.ErrOpNotFound)
	_, err = e.s.Post(e.ctx, uuid.New(), op.ID)
	wantErr(t, "Post of another user's op", err, points.ErrOpNotFound)
	if h := e.holder(uuid.New()); len(h.Lots) != 0 || h.Earned != 0 {
		t.Fatalf("unknown user: %+v", h)
	}
}

func testRecordDuplicate(t *testing.T, e *env) {
	user := uuid.New()
	m := points.MonthOf(far, time.UTC)
	op := Credit(user, 100, m, far.AddDate(1, 0, 0), far)
	e.record(op, far)
	// The same request again (even with other computed points) returns the
	// stored operation and changes nothing.
	again := op
	again.Points = 7
	got, existing, err := e.s.Record(e.ctx, again, far)
	if err != nil || !existing || got.Points != 100 {
		t.Fatalf("duplicate: %+v %v %v", got, existing, err)
	}
	if h := e.holder(user); h.Lots[0].Pending != 100 {
		t.Fatalf("duplicate changed the lot: %+v", h)
	}
	conflict := op
	conflict.Key = "other"
	_, _, err = e.s.Record(e.ctx, conflict, far)
	wantErr(t, "same ID, other key", err, points.ErrOpConflict)
	bad := Credit(user, 0, m, far, far)
	_, _, err = e.s.Record(e.ctx, bad, far)
	wantErr(t, "zero points", err, points.ErrInvalidOp)
	long := Credit(user, 1, m, far, far)
	long.Key = string(make([]byte, ledger.MaxKeyLen+1))
	_, _, err = e.s.Record(e.ctx, long, far)
	wantErr(t, "key too long", err, points.ErrInvalidOp)
	nul := Credit(user, 1, m, far, far)
	nul.Key = "a\x00b"
	_, _, err = e.s.Record(e.ctx, nul, far)
	wantErr(t, "key with NUL", err, points.ErrInvalidOp)
	wantErr(t, "key with NUL", err, ledger.ErrInvalidKey)
	if h := e.holder(user); len(h.Lots) != 1 || h.Lots[0].Pending != 100 {
		t.Fatalf("refused records changed the lots: %+v", h)
	}
}

func testSpendOldestFirst(t *testing.T, e *env) {
	user := uuid.New()
	m := points.MonthOf(far, time.UTC)
	// Recorded newest first: the order of lots is theirs, not the records'.
	e.earn(user, 50, m.Add(1), far.AddDate(0, 2, 0))
	e.earn(user, 100, m, far.AddDate(0, 1, 0))
	d := e.record(Debit(user, 120, far), far)
	if len(d.Takes) != 2 || d.Takes[0] != (points.Take{Month: m, Points: 100}) || d.Takes[1] != (points.Take{Month: m.Add(1), Points: 20}) {
		t.Fatalf("takes %+v", d.Takes)
	}
	h := e.holder(user)
	if h.Spent != 120 || len(h.Lots) != 1 || h.Lots[0].Month != m.Add(1) || h.Lots[0].Remaining != 30 {
		t.Fatalf("holder: %+v", h)
	}
	_, _, err := e.s.Record(e.ctx, Debit(user, 31, far), far)
	wantErr(t, "31 of 30", err, points.ErrInsufficientPoints)
	e.post(d)
	e.record(Debit(user, 30, far), far)
	if h := e.holder(user); h.Spent != 150 || len(h.Lots) != 0 {
		t.Fatalf("spent all: %+v", h)
	}
}

func testSpendExpiredLot(t *testing.T, e *env) {
	user := uuid.New()
	m := points.MonthOf(far, time.UTC)
	exp := far.AddDate(0, 1, 0)
	e.earn(user, 10, m, exp)
	_, _, err := e.s.Record(e.ctx, Debit(user, 10, exp), exp)
	wantErr(t, "spending at the expiry instant", err, points.ErrInsufficientPoints)
	e.record(Debit(user, 10, exp.Add(-time.Microsecond)), exp.Add(-time.Microsecond))
}

func testFail(t *testing.T, e *env) {
	user := uuid.New()
	m := points.MonthOf(far, time.UTC)
	exp := far.AddDate(0, 1, 0)
	e.earn(user, 10, m, exp)
	e.earn(user, 10, m.Add(1), exp.AddDate(0, 1, 0))
	d := e.record(Debit(user, 15, far), far)
	failed, err := e.s.Fail(e.ctx, user, d.ID)
	if err != nil || failed.Status != points.StatusFailed {
		t.Fatalf("Fail: %+v %v", failed, err)
	}
	if again, err := e.s.Fail(e.ctx, user, d.ID); err != nil || again.Status != points.StatusFailed {
		t.Fatalf("Fail again: %+v %v", again, err)
	}
	_, err = e.s.Post(e.ctx, user, d.ID)
	wantErr(t, "Post after Fail", err, points.ErrOpResolved)
	h := e.holder(user)
	if h.Spent != 0 || len(h.Lots) != 2 || h.Lots[0].Remaining != 10 || h.Lots[1].Remaining != 10 {
		t.Fatalf("after fail: %+v", h)
	}
	c := e.record(Credit(user, 5, m, exp, far), far)
	if _, err := e.s.Fail(e.ctx, user, c.ID); err != nil {
		t.Fatal(err)
	}
	if h := e.holder(user); h.Lots[0].Pending != 0 || h.Lots[0].Remaining != 10 {
		t.Fatalf("after failed credit: %+v", h)
	}
	p := e.post(e.record(Debit(user, 1, far), far))
	_, err = e.s.Fail(e.ctx, user, p.ID)
	wantErr(t, "Fail after Post", err, points.ErrOpResolved)
}

// expireReq returns an ExpireRequest whose IDs derive from user, month
// and sequence, as a Service's do.
func expireReq(user uuid.UUID) points.ExpireRequest {
	return points.ExpireRequest{Account: uuid.New(), Counter: uuid.New(), ID: func(m points.Month, seq int) uuid.UUID {
		return ledger.DeriveID(uuid.Nil, "expire", user.String(), m.String(), string(rune('0'+seq)))
	}}
}

func testExpireOnce(t *testing.T, e *env) {
	user := uuid.New()
	m := points.MonthOf(far, time.UTC)
	exp := far.AddDate(0, 1, 0)
	e.earn(user, 10, m, exp)
	d := e.record(Debit(user, 4, far), far)
	if _, ok, err := e.s.Expire(e.ctx, user, m, exp.Add(-time.Microsecond), expireReq(user)); ok || err != nil {
		t.Fatalf("expired before its instant: %v %v", ok, err)
	}
	op, ok, err := e.s.Expire(e.ctx, user, m, exp, expireReq(user))
	if err != nil || !ok || op.Points != 6 || op.Kind != points.KindExpire || op.Status != points.StatusPending || op.Month != m {
		t.Fatalf("Expire: %+v %v %v", op, ok, err)
	}
	stored, err := e.s.Op(e.ctx, op.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameOp(t, stored, op)
	if _, ok, err := e.s.Expire(e.ctx, user, m, exp, expireReq(user)); ok || err != nil {
		t.Fatalf("expired twice: %v %v", ok, err)
	}
	if _, ok, err := e.s.Expire(e.ctx, uuid.New(), m, exp, expireReq(user)); ok || err != nil {
		t.Fatalf("expired an unknown user's lot: %v %v", ok, err)
	}
	h := e.holder(user)
	if h.Expired != 6 || h.Spent != 4 || len(h.Lots) != 0 {
		t.Fatalf("after expiry: %+v", h)
	}
	// The debit recorded before the expiry failing brings its points back
	// to a lot past its expiry: due again, expired by a second expiry.
	if _, err := e.s.Fail(e.ctx, user, d.ID); err != nil {
		t.Fatal(err)
	}
	op2, ok, err := e.s.Expire(e.ctx, user, m, exp, expireReq(user))
	if err != nil || !ok || op2.Points != 4 || op2.ID == op.ID {
		t.Fatalf("second expiry: %+v %v %v", op2, ok, err)
	}
	e.post(op2)
	if h := e.holder(user); h.Expired != 10 || h.Spent != 0 {
		t.Fatalf("after second expiry: %+v", h)
	}
}

// window returns a time window of the suite's own for a listing test.
func window(t *testing.T, year int) time.Time {
	return time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(time.Now().UnixNano()%1000) * time.Hour)
}

func testDuePaging(t *testing.T, e *env) {
	base := window(t, 2960)
	m := points.MonthOf(base, time.UTC)
	type key struct {
		user uuid.UUID
		m    points.Month
	}
	var want []key
	for i := range 7 {
		user := uuid.New()
		exp := base.Add(time.Duration(i%3) * time.Second)
		e.earn(user, int64(i+1), m, exp)
		e.earn(user, 1, m.Add(-1), exp)
		want = append(want, key{user, m.Add(-1)}, key{user, m})
		if i == 6 { // spent: not due
			e.record(Debit(user, int64(i+2), far), far)
			want = want[:len(want)-2]
		}
	}
	now := base.Add(2 * time.Second)
	start := points.LotCursor{ExpiresAt: base.Add(-time.Microsecond)}
	var got []points.Lot
	for cur := start; ; {
		page, err := e.s.Due(e.ctx, now, cur, 4)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if len(page) < 4 {
			break
		}
		last := page[len(page)-1]
		cur = points.LotCursor{ExpiresAt: last.ExpiresAt, User: last.User, Month: last.Month}
	}
	if len(got) != len(want) {
		t.Fatalf("%d due lots, want %d: %+v", len(got), len(want), got)
	}
	seen := map[key]bool{}
	for i, l := range got {
		if i > 0 && !(points.LotCursor{ExpiresAt: got[i-1].ExpiresAt, User: got[i-1].User, Month: got[i-1].Month}).After(&l) {
			t.Fatalf("lot %d out of order: %+v after %+v", i, l, got[i-1])
		}
		if !l.Due(now) {
			t.Fatalf("listed a lot not due: %+v", l)
		}
		seen[key{l.User, l.Month}] = true
	}
	for _, k := range want {
		if !seen[k] {
			t.Fatalf("lot %v missing", k)
		}
	}
	// Not yet: at base − 1µs none of them is due.
	if page, err := e.s.Due(e.ctx, base.Add(-time.Microsecond), start, 10); err != nil || len(page) != 0 {
		t.Fatalf("before the window: %+v %v", page, err)
	}
}

func testPendingPaging(t *testing.T, e *env) {
	base := window(t, 2970)
	m := points.MonthOf(base, time.UTC)
	var want []uuid.UUID
	for i := range 9 {
		op := e.record(Credit(uuid.New(), 1, m, base.AddDate(1, 0, 0), base.Add(time.Duration(i%4)*time.Second)), base)
		if i%3 == 0 {
			e.post(op)
			continue
		}
		want = append(want, op.ID)
	}
	var got []points.Op
	for cur := (points.OpCursor{CreatedAt: base.Add(-time.Microsecond)}); ; {
		page, err := e.s.Pending(e.ctx, cur, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page {
			if o.CreatedAt.After(base.Add(time.Hour)) {
				break // another test's
			}
			got = append(got, o)
		}
		if len(page) < 2 || page[len(page)-1].CreatedAt.After(base.Add(time.Hour)) {
			break
		}
		cur = points.OpCursor{CreatedAt: page[len(page)-1].CreatedAt, ID: page[len(page)-1].ID}
	}
	if len(got) != len(want) {
		t.Fatalf("%d pending ops, want %d", len(got), len(want))
	}
	seen := map[uuid.UUID]bool{}
	for i, o := range got {
		if o.Status != points.StatusPending {
			t.Fatalf("listed %v", o.Status)
		}
		if i > 0 && !(points.OpCursor{CreatedAt: got[i-1].CreatedAt, ID: got[i-1].ID}).After(&o) {
			t.Fatalf("op %d out of order", i)
		}
		seen[o.ID] = true
	}
	for _, id := range want {
		if !seen[id] {
			t.Fatalf("op %s missing", id)
		}
	}
}

func testRates(t *testing.T, e *env) {
	name := "test/" + uuid.NewString()[:8]
	_, err := e.s.Rate(e.ctx, name, 0)
	wantErr(t, "no rate yet", err, points.ErrNoRate)
	v1 := points.Rate{Name: name, Version: 1, From: 100, To: 1, SetAt: far}
	if got, existing, err := e.s.SetRate(e.ctx, v1); err != nil || existing || got.Version != 1 {
		t.Fatalf("v1: %+v %v %v", got, existing, err)
	}
	if _, existing, err := e.s.SetRate(e.ctx, v1); err != nil || !existing {
		t.Fatalf("v1 again: %v %v", existing, err)
	}
	other := v1
	other.To = 2
	_, _, err = e.s.SetRate(e.ctx, other)
	wantErr(t, "v1 with other values", err, points.ErrRateConflict)
	v3 := points.Rate{Name: name, Version: 3, From: 1, To: 1, SetAt: far}
	_, _, err = e.s.SetRate(e.ctx, v3)
	wantErr(t, "skipping v2", err, points.ErrRateConflict)
	_, _, err = e.s.SetRate(e.ctx, points.Rate{Name: name, Version: 2, From: 0, To: 1})
	wantErr(t, "invalid", err, points.ErrInvalidRate)
	v2 := points.Rate{Name: name, Version: 2, From: 50, To: 1, SetAt: far.Add(time.Hour)}
	if _, _, err := e.s.SetRate(e.ctx, v2); err != nil {
		t.Fatal(err)
	}
	latest, err := e.s.Rate(e.ctx, name, 0)
	if err != nil || latest.Version != 2 || latest.From != 50 || !latest.SetAt.Equal(v2.SetAt) {
		t.Fatalf("latest: %+v %v", latest, err)
	}
	old, err := e.s.Rate(e.ctx, name, 1)
	if err != nil || old.From != 100 || old.To != 1 {
		t.Fatalf("v1 read back: %+v %v", old, err)
	}
	_, err = e.s.Rate(e.ctx, name, 3)
	wantErr(t, "v3", err, points.ErrNoRate)
}

// testConcurrentSpends: many distinct debits of one user at once, who
// holds exactly enough for half of them: exactly half are recorded, and
// the lots end at zero.
func testConcurrentSpends(t *testing.T, e *env) {
	user := uuid.New()
	m := points.MonthOf(far, time.UTC)
	n := e.opts.Goroutines
	e.earn(user, int64(n/2)*3, m, far.AddDate(0, 1, 0))
	_, errs := ledgertest.Concurrently(n, func(int) (points.Op, error) {
		op, _, err := e.s.Record(e.ctx, Debit(user, 3, far), far)
		return op, err
	})
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, points.ErrInsufficientPoints):
			t.Fatal(err)
		}
	}
	if h := e.holder(user); ok != n/2 || h.Spent != int64(n/2)*3 || len(h.Lots) != 0 {
		t.Fatalf("%d of %d debits recorded, holder %+v", ok, n, h)
	}
}

// testConcurrentExpiries: many sweepers expire one due lot at once while
// debits race them: each point is spent or expired once.
func testConcurrentExpiries(t *testing.T, e *env) {
	user := uuid.New()
	m := points.MonthOf(far, time.UTC)
	exp := far.AddDate(0, 1, 0)
	n := e.opts.Goroutines
	e.earn(user, int64(n), m, exp)
	req := expireReq(user)
	var mu sync.Mutex
	var expired, spent int64
	_, errs := ledgertest.Concurrently(n, func(i int) (struct{}, error) {
		if i%2 == 0 {
			op, ok, err := e.s.Expire(e.ctx, user, m, exp, req)
			if ok {
				mu.Lock()
				expired += op.Points
				mu.Unlock()
			}
			return struct{}{}, err
		}
		op, _, err := e.s.Record(e.ctx, Debit(user, 1, exp.Add(-time.Microsecond)), exp.Add(-time.Microsecond))
		if err == nil {
			mu.Lock()
			spent += op.Points
			mu.Unlock()
		} else if errors.Is(err, points.ErrInsufficientPoints) {
			err = nil
		}
		return struct{}{}, err
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	h := e.holder(user)
	if expired+spent != int64(n) || h.Expired != expired || h.Spent != spent || len(h.Lots) != 0 {
		t.Fatalf("expired %d + spent %d of %d; holder %+v", expired, spent, n, h)
	}
}

// testConcurrentRates: setters of one new version with different values
// at once: one wins, the others get ErrRateConflict.
func testConcurrentRates(t *testing.T, e *env) {
	name := "test/" + uuid.NewString()[:8]
	n := min(e.opts.Goroutines, 20)
	got, errs := ledgertest.Concurrently(n, func(i int) (points.Rate, error) {
		r, _, err := e.s.SetRate(e.ctx, points.Rate{Name: name, Version: 1, From: int64(i + 1), To: 1, SetAt: far})
		return r, err
	})
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won < 0:
			won = i
		case err == nil:
			t.Fatalf("two winners: %+v and %+v", got[won], got[i])
		case !errors.Is(err, points.ErrRateConflict):
			t.Fatal(err)
		}
	}
	if r, err := e.s.Rate(e.ctx, name, 0); won < 0 || err != nil || r.From != int64(won+1) {
		t.Fatalf("winner %d, stored %+v %v", won, r, err)
	}
}
