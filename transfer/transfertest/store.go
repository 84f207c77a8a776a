package transfertest

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/transfer"
)

// testLimits are small caps for the store tests: 1,000.00 per transfer,
// 1,500.00 a day, 100.00 to a first-time payee.
func testLimits() transfer.Limits {
	return transfer.Limits{PerTransfer: fen(1_000_00), PerDay: fen(1_500_00), FirstPayee: fen(100_00)}
}

var day0 = transfer.DayOf(Start, time.UTC)

// NewRecord returns a valid new record (as Send would build it, before
// Store.Create) of payer paying amount to holder at institution "local",
// created at Start on day DayOf(Start, time.UTC), with a random ID and
// idempotency key. Store tests start from it and edit what they test.
func NewRecord(payer, holder uuid.UUID, amount ledger.Money, arrival transfer.Arrival) transfer.Record {
	id := uuid.New()
	r := transfer.Record{
		ID:          id,
		Key:         unique("key"),
		RequestHash: sha256.Sum256(id[:]),
		Payer:       payer,
		From:        uuid.New(),
		Payee: transfer.RecordPayee{
			Phone: "+8613912345678", Institution: "local", Holder: holder, Account: uuid.New(), MaskedName: "*三",
		},
		Amount:    amount,
		Arrival:   arrival,
		Memo:      "饭钱",
		Day:       day0,
		CreatedAt: Start,
		DueAt:     Start.Add(arrival.Delay()),
	}
	if arrival == transfer.ArriveOnAccept {
		r.DueAt = Start.Add(transfer.DefaultChatTimeout)
	}
	return r
}

// rec is NewRecord in fen.
func rec(payer, holder uuid.UUID, amount int64, arrival transfer.Arrival) transfer.Record {
	return NewRecord(payer, holder, fen(amount), arrival)
}

func create(t testing.TB, s transfer.Store, r transfer.Record) transfer.Record {
	t.Helper()
	out, created, err := s.Create(context.Background(), r, testLimits())
	must(t, err)
	if !created {
		t.Fatalf("record %s: not created", r.ID)
	}
	return out
}

func total(t testing.TB, s transfer.Store, payer uuid.UUID, day transfer.Day) int64 {
	t.Helper()
	m, err := s.DailyTotal(context.Background(), payer, day, cny)
	must(t, err)
	if !m.IsZero() && m.Currency() != cny {
		t.Fatalf("daily total %v is not in CNY", m)
	}
	return m.Units()
}

func testCreateAndGet(t *testing.T, newEnv func(testing.TB) Env) {
	s, ctx := newEnv(t).Store, context.Background()
	r := rec(uuid.New(), uid("bob"), 12_34, transfer.Arrive2h)
	r.CreatedAt = Start.Add(123456789 * time.Nanosecond) // rounded to µs when stored
	r.DueAt = r.CreatedAt.Add(2 * time.Hour)
	r.LookupID = uuid.New()
	r.Refund = true
	got := create(t, s, r)
	stored, err := s.Get(ctx, r.ID)
	must(t, err)
	want := r
	want.CreatedAt = ledger.Timestamp(r.CreatedAt)
	want.DueAt = ledger.Timestamp(r.DueAt)
	want.FirstPayee = true
	want.Attempts = 1 // the creator's
	for _, g := range []transfer.Record{got, stored} {
		if !sameRecord(g, want) {
			t.Fatalf("stored\n%+v\nwant\n%+v", g, want)
		}
	}
	if _, err := s.Get(ctx, uuid.New()); !errors.Is(err, transfer.ErrRecordNotFound) {
		t.Fatalf("Get of an unknown ID: %v, want ErrRecordNotFound", err)
	}

	// Records that are not valid new records are refused.
	for name, edit := range map[string]func(*transfer.Record){
		"no ID":             func(r *transfer.Record) { r.ID = uuid.Nil },
		"no key":            func(r *transfer.Record) { r.Key = "" },
		"no payer":          func(r *transfer.Record) { r.Payer = uuid.Nil },
		"no payee account":  func(r *transfer.Record) { r.Payee.Account = uuid.Nil },
		"self":              func(r *transfer.Record) { r.Payee.Account = r.From },
		"no institution":    func(r *transfer.Record) { r.Payee.Institution = "" },
		"zero amount":       func(r *transfer.Record) { r.Amount = fen(0) },
		"no currency":       func(r *transfer.Record) { r.Amount = ledger.Money{} },
		"bad arrival":       func(r *transfer.Record) { r.Arrival = 9 },
		"not pending":       func(r *transfer.Record) { r.State = transfer.StateSettled },
		"due before create": func(r *transfer.Record) { r.DueAt = r.CreatedAt.Add(-time.Second) },
		"control in memo":   func(r *transfer.Record) { r.Memo = "a\x00b" },
	} {
		bad := rec(uuid.New(), uid("bob"), 1, transfer.Arrive2h)
		edit(&bad)
		if _, _, err := s.Create(ctx, bad, testLimits()); !errors.Is(err, transfer.ErrInvalidRecord) {
			t.Errorf("%s: Create = %v, want ErrInvalidRecord", name, err)
		}
	}
}

func sameRecord(a, b transfer.Record) bool {
	ta, tb := []*time.Time{&a.CreatedAt, &a.DueAt, &a.ResolvedAt}, []*time.Time{&b.CreatedAt, &b.DueAt, &b.ResolvedAt}
	for i := range ta {
		if !ta[i].Equal(*tb[i]) {
			return false
		}
		*ta[i], *tb[i] = time.Time{}, time.Time{}
	}
	return a == b
}

func testStoreIdempotency(t *testing.T, newEnv func(testing.TB) Env) {
	s, ctx := newEnv(t).Store, context.Background()
	payer := uuid.New()
	r := rec(payer, uid("bob"), 50_00, transfer.ArriveNow)
	create(t, s, r)

	// The same request again: the stored record, nothing counted twice.
	again := r
	again.CreatedAt = Start.Add(time.Minute) // a retry a minute later
	got, created, err := s.Create(ctx, again, testLimits())
	must(t, err)
	if created || !got.CreatedAt.Equal(Start) || got.ID != r.ID {
		t.Fatalf("retry: created %v, record %+v; want the original", created, got)
	}
	if n := total(t, s, payer, day0); n != 50_00 {
		t.Fatalf("daily total after a retry: %d, want 5000", n)
	}
	// Another request under the same ID (key): refused.
	other := r
	other.RequestHash[0] ^= 1
	other.Amount = fen(60_00)
	if _, _, err := s.Create(ctx, other, testLimits()); !errors.Is(err, transfer.ErrIdempotencyConflict) {
		t.Fatalf("same ID, other request: %v, want ErrIdempotencyConflict", err)
	}
	// A retry is answered even once it settled, and even when the limits
	// would refuse it now.
	if _, err := s.Transition(ctx, r.ID, transfer.StateSettled, "", Start); err != nil {
		t.Fatal(err)
	}
	tight := testLimits()
	tight.PerTransfer, tight.FirstPayee = fen(1), fen(1)
	got, created, err = s.Create(ctx, r, tight)
	if err != nil || created || got.State != transfer.StateSettled {
		t.Fatalf("retry of a settled record: %v, created %v, state %v", err, created, got.State)
	}
}

func testLookupOnce(t *testing.T, newEnv func(testing.TB) Env) {
	s, ctx := newEnv(t).Store, context.Background()
	payer, lookup := uuid.New(), uuid.New()
	a := rec(payer, uid("bob"), 10_00, transfer.ArriveNow)
	a.LookupID = lookup
	create(t, s, a)
	b := rec(payer, uid("bob"), 10_00, transfer.ArriveNow)
	b.LookupID = lookup
	if _, _, err := s.Create(ctx, b, testLimits()); !errors.Is(err, transfer.ErrLookupUsed) {
		t.Fatalf("second record with one lookup token: %v, want ErrLookupUsed", err)
	}
	if n := total(t, s, payer, day0); n != 10_00 {
		t.Fatalf("a refused record counted: total %d", n)
	}
	// The first record's retry is still fine; records without a token too.
	if _, created, err := s.Create(ctx, a, testLimits()); err != nil || created {
		t.Fatalf("retry: %v, created %v", err, created)
	}
	create(t, s, rec(payer, uid("bob"), 10_00, transfer.ArriveNow))
	create(t, s, rec(payer, uid("bob"), 10_00, transfer.ArriveNow))
}

func testStoreLimits(t *testing.T, newEnv func(testing.TB) Env) {
	s, ctx := newEnv(t).Store, context.Background()
	payer := uuid.New()
	// The per-transfer cap, for a known payee (settle one first).
	known := rec(payer, uid("known"), 1_00, transfer.ArriveNow)
	create(t, s, known)
	_, err := s.Transition(ctx, known.ID, transfer.StateSettled, "", Start)
	must(t, err)
	for _, c := range []struct {
		amount int64
		err    error
	}{{99_999, nil}, {1_000_00, nil}, {1_000_01, transfer.ErrOverTransferLimit}} {
		r := rec(payer, uid("known"), c.amount, transfer.ArriveNow)
		r.Day = day0 + 10 + transfer.Day(c.amount%7) // other days: only the per-transfer cap matters
		_, _, err := s.Create(ctx, r, testLimits())
		if !errors.Is(err, c.err) && (c.err != nil || err != nil) {
			t.Errorf("amount %d: %v, want %v", c.amount, err, c.err)
		}
	}
	// Another currency than the limits'.
	r := rec(payer, uid("known"), 1, transfer.ArriveNow)
	r.Amount = ledger.NewMoney(1, ledger.MustCurrency("USD"))
	if _, _, err := s.Create(ctx, r, testLimits()); !errors.Is(err, transfer.ErrCurrencyMismatch) {
		t.Errorf("USD against CNY limits: %v", err)
	}
	// Invalid limits.
	if _, _, err := s.Create(ctx, rec(payer, uid("known"), 1, transfer.ArriveNow), transfer.Limits{}); !errors.Is(err, transfer.ErrInvalidLimits) {
		t.Errorf("zero limits: %v", err)
	}
}

func testDailyTotals(t *testing.T, newEnv func(testing.TB) Env) {
	s, ctx := newEnv(t).Store, context.Background()
	payer, other := uuid.New(), uuid.New()
	// Make every payee known, so that only the daily cap binds.
	for _, p := range []uuid.UUID{payer, other} {
		k := rec(p, uid("bob"), 1, transfer.ArriveNow)
		k.Day = day0 - 1
		create(t, s, k)
		_, err := s.Transition(ctx, k.ID, transfer.StateSettled, "", Start)
		must(t, err)
	}
	// 1,500.00 a day: 1,000.00 + 499.99 fit, then 0.02 does not, 0.01 does.
	a := create(t, s, rec(payer, uid("bob"), 1_000_00, transfer.ArriveNow))
	b := create(t, s, rec(payer, uid("bob"), 499_99, transfer.Arrive2h))
	if n := total(t, s, payer, day0); n != 1_499_99 {
		t.Fatalf("total %d, want 149999", n)
	}
	_, _, err := s.Create(ctx, rec(payer, uid("bob"), 2, transfer.ArriveNow), testLimits())
	var le *transfer.LimitError
	if !errors.As(err, &le) || !errors.Is(err, transfer.ErrOverDailyLimit) || le.Remaining != fen(1) {
		t.Fatalf("over the daily cap: %v, want ErrOverDailyLimit with 0.01 remaining", err)
	}
	c := create(t, s, rec(payer, uid("bob"), 1, transfer.ArriveNow))
	if n := total(t, s, payer, day0); n != 1_500_00 {
		t.Fatalf("total %d, want 150000 (at the cap)", n)
	}
	// Another payer and another day have totals of their own.
	create(t, s, rec(other, uid("bob"), 1_000_00, transfer.ArriveNow))
	next := rec(payer, uid("bob"), 1_000_00, transfer.ArriveNow)
	next.Day = day0 + 1
	create(t, s, next)
	if n := total(t, s, payer, day0+1); n != 1_000_00 {
		t.Fatalf("next day's total %d", n)
	}
	// Settling keeps a transfer counted; cancelling or failing takes it
	// out, once.
	_, err = s.Transition(ctx, a.ID, transfer.StateSettled, "", Start)
	must(t, err)
	_, err = s.Transition(ctx, b.ID, transfer.StateCancelled, transfer.ReasonCancelled, Start)
	must(t, err)
	_, err = s.Transition(ctx, c.ID, transfer.StateFailed, "insufficient_funds", Start)
	must(t, err)
	if _, err = s.Transition(ctx, c.ID, transfer.StateFailed, "insufficient_funds", Start); !errors.Is(err, transfer.ErrStateConflict) {
		t.Fatalf("failing twice: %v", err)
	}
	if n := total(t, s, payer, day0); n != 1_000_00 {
		t.Fatalf("total after settle, cancel, fail: %d, want 100000", n)
	}
	// The room freed can be used again.
	create(t, s, rec(payer, uid("bob"), 500_00, transfer.ArriveNow))
	if n := total(t, s, uuid.New(), day0); n != 0 {
		t.Fatalf("a payer who never paid has total %d", n)
	}
}

func testFirstPayee(t *testing.T, newEnv func(testing.TB) Env) {
	s, ctx := newEnv(t).Store, context.Background()
	payer := uuid.New()
	settled := func(holder uuid.UUID) bool {
		ok, err := s.SettledBefore(ctx, payer, "local", holder)
		must(t, err)
		return ok
	}
	// A first-time payee takes at most 100.00.
	if _, _, err := s.Create(ctx, rec(payer, uid("bob"), 100_01, transfer.ArriveNow), testLimits()); !errors.Is(err, transfer.ErrOverFirstPayeeLimit) {
		t.Fatalf("100.01 to a first-time payee: %v", err)
	}
	a := create(t, s, rec(payer, uid("bob"), 100_00, transfer.ArriveNow))
	if !a.FirstPayee || settled(uid("bob")) {
		t.Fatalf("first record: FirstPayee %v, settled before %v", a.FirstPayee, settled(uid("bob")))
	}
	// Pending is not settled: still first.
	if _, _, err := s.Create(ctx, rec(payer, uid("bob"), 100_01, transfer.ArriveNow), testLimits()); !errors.Is(err, transfer.ErrOverFirstPayeeLimit) {
		t.Fatalf("with a pending transfer only: %v", err)
	}
	// Neither is cancelled or failed.
	c := create(t, s, rec(payer, uid("bob"), 1_00, transfer.Arrive24h))
	_, err := s.Transition(ctx, c.ID, transfer.StateCancelled, transfer.ReasonCancelled, Start)
	must(t, err)
	f := create(t, s, rec(payer, uid("bob"), 1_00, transfer.ArriveNow))
	_, err = s.Transition(ctx, f.ID, transfer.StateFailed, "account_frozen", Start)
	must(t, err)
	if settled(uid("bob")) {
		t.Fatal("cancelled and failed transfers made bob a known payee")
	}
	// Settled: bob is known; 100.01 goes, and is not a first payment.
	_, err = s.Transition(ctx, a.ID, transfer.StateSettled, "", Start)
	must(t, err)
	if !settled(uid("bob")) {
		t.Fatal("settled, but not remembered")
	}
	b := create(t, s, rec(payer, uid("bob"), 100_01, transfer.ArriveNow))
	if b.FirstPayee {
		t.Fatal("second payee record is marked first")
	}
	// Known means this payer, this institution, this holder.
	if settled(uid("carol")) {
		t.Fatal("carol is known without a payment")
	}
	if ok, _ := s.SettledBefore(ctx, uuid.New(), "local", uid("bob")); ok {
		t.Fatal("another payer inherited bob")
	}
	if ok, _ := s.SettledBefore(ctx, payer, "other-bank", uid("bob")); ok {
		t.Fatal("bob at another institution is known")
	}
	r := rec(payer, uid("bob"), 100_01, transfer.ArriveNow)
	r.Payee.Institution = "other-bank"
	if _, _, err := s.Create(ctx, r, testLimits()); !errors.Is(err, transfer.ErrOverFirstPayeeLimit) {
		t.Fatalf("bob at another institution: %v", err)
	}
}

func testTransitions(t *testing.T, newEnv func(testing.TB) Env) {
	s, ctx := newEnv(t).Store, context.Background()
	payer := uuid.New()
	at := Start.Add(90*time.Minute + 1234*time.Nanosecond)
	r := create(t, s, rec(payer, uid("bob"), 10_00, transfer.Arrive2h))
	got, err := s.Transition(ctx, r.ID, transfer.StateCancelled, transfer.ReasonCancelled, at)
	must(t, err)
	if got.State != transfer.StateCancelled || got.Reason != transfer.ReasonCancelled || !got.ResolvedAt.Equal(ledger.Timestamp(at)) {
		t.Fatalf("after cancel: %+v", got)
	}
	stored, err := s.Get(ctx, r.ID)
	must(t, err)
	if !sameRecord(stored, got) {
		t.Fatalf("stored %+v, returned %+v", stored, got)
	}
	// Final: every further transition is a conflict that returns the
	// record as it is.
	for _, to := range []transfer.State{transfer.StateSettled, transfer.StateCancelled, transfer.StateFailed} {
		reason := map[transfer.State]string{transfer.StateCancelled: transfer.ReasonCancelled, transfer.StateFailed: "x"}[to]
		cur, err := s.Transition(ctx, r.ID, to, reason, at)
		var se *transfer.StateError
		if !errors.As(err, &se) || se.State != transfer.StateCancelled || cur.State != transfer.StateCancelled {
			t.Fatalf("transition of a cancelled record to %v: %v, record state %v", to, err, cur.State)
		}
	}
	if _, err := s.Transition(ctx, uuid.New(), transfer.StateSettled, "", at); !errors.Is(err, transfer.ErrRecordNotFound) {
		t.Fatalf("unknown record: %v", err)
	}
	// Transitions the state machine does not have, and reasons that do
	// not fit the arrival, change nothing.
	now := create(t, s, rec(payer, uid("bob"), 10_00, transfer.ArriveNow))
	chat := create(t, s, rec(payer, uid("bob"), 10_00, transfer.ArriveOnAccept))
	delayed := create(t, s, rec(payer, uid("bob"), 10_00, transfer.Arrive24h))
	for _, c := range []struct {
		r      transfer.Record
		to     transfer.State
		reason string
	}{
		{now, transfer.StatePending, ""},
		{now, transfer.StateCancelled, transfer.ReasonCancelled},
		{now, transfer.StateSettled, "because"},
		{now, transfer.StateFailed, ""},
		{delayed, transfer.StateCancelled, transfer.ReasonDeclined},
		{chat, transfer.StateCancelled, transfer.ReasonCancelled},
		{chat, transfer.State(9), ""},
	} {
		if _, err := s.Transition(ctx, c.r.ID, c.to, c.reason, at); !errors.Is(err, transfer.ErrInvalidTransition) {
			t.Errorf("%v transfer to %v (%q): %v, want ErrInvalidTransition", c.r.Arrival, c.to, c.reason, err)
		}
		if cur, _ := s.Get(ctx, c.r.ID); cur.State != transfer.StatePending {
			t.Errorf("refused transition changed the record to %v", cur.State)
		}
	}
	for _, c := range []struct {
		r      transfer.Record
		to     transfer.State
		reason string
	}{
		{now, transfer.StateSettled, ""},
		{chat, transfer.StateCancelled, transfer.ReasonExpired},
		{delayed, transfer.StateFailed, "insufficient_funds"},
	} {
		got, err := s.Transition(ctx, c.r.ID, c.to, c.reason, at)
		if err != nil || got.State != c.to || got.Reason != c.reason {
			t.Errorf("%v transfer to %v (%q): %v, record %v %q", c.r.Arrival, c.to, c.reason, err, got.State, got.Reason)
		}
	}
}

func testScan(t *testing.T, newEnv func(testing.TB) Env) {
	s, ctx := newEnv(t).Store, context.Background()
	payer := uuid.New()
	// Records created a minute apart, of every arrival, with equal times
	// too (then the ID orders them).
	var all []transfer.Record
	for i := range 12 {
		r := rec(payer, uid("bob"), 1_00, transfer.Arrival(i%4))
		r.CreatedAt = Start.Add(time.Duration(i/2) * time.Minute)
		r.DueAt = r.CreatedAt.Add(r.Arrival.Delay())
		if r.Arrival == transfer.ArriveOnAccept {
			r.DueAt = r.CreatedAt.Add(24 * time.Hour)
		}
		r.Day = day0 + transfer.Day(i) // keep clear of the daily cap
		all = append(all, create(t, s, r))
	}
	scan := func(ix transfer.Index, before time.Time, limit int) []uuid.UUID {
		var ids []uuid.UUID
		var cur transfer.Cursor
		for {
			page, err := s.Scan(ctx, transfer.ScanQuery{Index: ix, After: cur, Before: before, Limit: limit})
			must(t, err)
			if len(page) > limit {
				t.Fatalf("scan returned %d records, limit %d", len(page), limit)
			}
			for i := range page {
				c := transfer.CursorOf(ix, &page[i])
				if !cur.Less(c) {
					t.Fatalf("scan of index %d out of order: %+v after %+v", ix, c, cur)
				}
				cur = c
				ids = append(ids, page[i].ID)
			}
			if len(page) < limit {
				return ids
			}
		}
	}
	expect := func(ix transfer.Index, before time.Time, keep func(*transfer.Record) bool) []uuid.UUID {
		var ids []uuid.UUID
		for i := range all {
			c := transfer.CursorOf(ix, &all[i])
			if all[i].State == transfer.StatePending && keep(&all[i]) && !c.At.After(before) {
				ids = append(ids, all[i].ID)
			}
		}
		return ids
	}
	sameSet := func(name string, got, want []uuid.UUID) {
		t.Helper()
		seen := map[uuid.UUID]int{}
		for _, id := range got {
			seen[id]++
		}
		ok := len(got) == len(want)
		for _, id := range want {
			ok = ok && seen[id] == 1
		}
		if !ok {
			t.Fatalf("%s: scanned %d records %v, want %d %v", name, len(got), got, len(want), want)
		}
	}
	far := Start.Add(1000 * time.Hour)
	check := func() {
		t.Helper()
		for _, limit := range []int{1, 2, 5, 100} {
			sameSet("created", scan(transfer.IndexCreated, far, limit), expect(transfer.IndexCreated, far, func(*transfer.Record) bool { return true }))
			sameSet("releases", scan(transfer.IndexReleases, far, limit), expect(transfer.IndexReleases, far, func(r *transfer.Record) bool { return r.Arrival.Delayed() }))
			sameSet("chats", scan(transfer.IndexChats, far, limit), expect(transfer.IndexChats, far, func(r *transfer.Record) bool { return r.Arrival == transfer.ArriveOnAccept }))
		}
		// Before bounds the index's time, inclusively.
		cut := Start.Add(2*time.Hour + 2*time.Minute)
		sameSet("releases due", scan(transfer.IndexReleases, cut, 2), expect(transfer.IndexReleases, cut, func(r *transfer.Record) bool { return r.Arrival.Delayed() }))
		cut = Start.Add(3 * time.Minute)
		sameSet("created before", scan(transfer.IndexCreated, cut, 3), expect(transfer.IndexCreated, cut, func(*transfer.Record) bool { return true }))
	}
	check()
	// Records that leave pending leave every index.
	for i := range all {
		if i%3 != 0 {
			continue
		}
		to, reason := transfer.StateFailed, "account_frozen"
		if i%2 == 0 {
			to, reason = transfer.StateSettled, ""
		}
		got, err := s.Transition(ctx, all[i].ID, to, reason, Start)
		must(t, err)
		all[i] = got
	}
	check()
	if _, err := s.Scan(ctx, transfer.ScanQuery{Index: transfer.IndexCreated, Before: far}); err == nil {
		t.Fatal("a scan with limit 0 succeeded")
	}
}

// Many goroutines create records for one payer at once: exactly as many
// as the daily cap allows are created, and the total is exact.
func testConcurrentDailyCap(t *testing.T, newEnv func(testing.TB) Env) {
	s, ctx := newEnv(t).Store, context.Background()
	payer := uuid.New()
	k := rec(payer, uid("bob"), 1, transfer.ArriveNow)
	k.Day = day0 - 1
	create(t, s, k)
	_, err := s.Transition(ctx, k.ID, transfer.StateSettled, "", Start)
	must(t, err)
	const n, amount = 40, 70_00 // 1,500.00 / 70.00: 21 fit
	var ok, over atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, _, err := s.Create(ctx, rec(payer, uid("bob"), amount, transfer.ArriveNow), testLimits())
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, transfer.ErrOverDailyLimit):
				over.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1_500_00/amount || over.Load() != n-1_500_00/amount {
		t.Fatalf("%d created, %d over the cap; want %d and %d", ok.Load(), over.Load(), 1_500_00/amount, n-1_500_00/amount)
	}
	if got := total(t, s, payer, day0); got != ok.Load()*amount {
		t.Fatalf("total %d, want %d", got, ok.Load()*amount)
	}
}

// One record created from many goroutines at once: one creates it, the
// others get it back; it counts once.
func testConcurrentCreate(t *testing.T, newEnv func(testing.TB) Env) {
	s, ctx := newEnv(t).Store, context.Background()
	payer := uuid.New()
	r := rec(payer, uid("bob"), 99_00, transfer.ArriveNow)
	r.LookupID = uuid.New()
	var created atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			got, c, err := s.Create(ctx, r, testLimits())
			if err != nil || got.ID != r.ID {
				t.Error(err, got.ID)
			}
			if c {
				created.Add(1)
			}
		})
	}
	wg.Wait()
	if created.Load() != 1 {
		t.Fatalf("created %d times", created.Load())
	}
	if n := total(t, s, payer, day0); n != 99_00 {
		t.Fatalf("total %d, want 9900", n)
	}
}

// Racing transitions of one record: exactly one wins, its effects apply
// once.
func testConcurrentTransition(t *testing.T, newEnv func(testing.TB) Env) {
	s, ctx := newEnv(t).Store, context.Background()
	payer := uuid.New()
	var settledN int64
	for round := range races * 3 {
		r := create(t, s, rec(payer, uid("bob"), 10_00, transfer.Arrive2h))
		var wins [3]atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 12 {
			wg.Go(func() {
				<-start
				to, reason := transfer.StateSettled, ""
				switch i % 3 {
				case 1:
					to, reason = transfer.StateCancelled, transfer.ReasonCancelled
				case 2:
					to, reason = transfer.StateFailed, "account_frozen"
				}
				got, err := s.Transition(ctx, r.ID, to, reason, Start)
				switch {
				case err == nil:
					wins[i%3].Add(1)
				case errors.Is(err, transfer.ErrStateConflict):
					if got.State == transfer.StatePending {
						t.Error("conflict reported with a pending record")
					}
				default:
					t.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
		w := wins[0].Load() + wins[1].Load() + wins[2].Load()
		if w != 1 {
			t.Fatalf("round %d: %d transitions won", round, w)
		}
		final := func() transfer.Record { r, _ := s.Get(ctx, r.ID); return r }()
		settled := wins[0].Load() == 1
		if settled != (final.State == transfer.StateSettled) {
			t.Fatalf("round %d: settle won %v, final state %v", round, settled, final.State)
		}
		// Totals: settled transfers count; the others were taken out, once.
		if settled {
			settledN++
		}
		if got := total(t, s, payer, day0); got != settledN*10_00 {
			t.Fatalf("round %d: total %d, want %d", round, got, settledN*10_00)
		}
	}
}
