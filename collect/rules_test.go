package collect_test

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/socialpay/socialpay/collect"
	"github.com/socialpay/socialpay/ledger"
)

func TestEqualSplitRemainderRule(t *testing.T) {
	got, err := collect.EqualSplit(10000, 3)
	if err != nil || !slices.Equal(got, []int64{3334, 3333, 3333}) {
		t.Fatalf("100.00 / 3 = %v, %v; want 33.34 + 33.33 + 33.33", got, err)
	}
	got, _ = collect.EqualSplit(10002, 4) // 25.01 × 2 + 25.00 × 2
	if !slices.Equal(got, []int64{2501, 2501, 2500, 2500}) {
		t.Fatalf("100.02 / 4 = %v", got)
	}
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 100).Draw(t, "n")
		total := rapid.Int64Range(int64(n), math.MaxInt64).Draw(t, "total")
		shares, err := collect.EqualSplit(total, n)
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for i, s := range shares {
			sum += s
			if i > 0 && s > shares[i-1] { // extra units only on the first
				t.Fatalf("share %d = %d above share %d = %d", i, s, i-1, shares[i-1])
			}
		}
		if sum != total || shares[0]-shares[n-1] > 1 {
			t.Fatalf("%d / %d = %v", total, n, shares)
		}
	})
}

func TestEqualSplitRefusals(t *testing.T) {
	if _, err := collect.EqualSplit(2, 3); !errors.Is(err, collect.ErrShareTooSmall) {
		t.Fatalf("0.02 / 3: %v, want ErrShareTooSmall", err)
	}
	if _, err := collect.EqualSplit(100, 0); !errors.Is(err, collect.ErrNoMembers) {
		t.Fatalf("split 0 ways: %v, want ErrNoMembers", err)
	}
}

func TestRulesCheck(t *testing.T) {
	r := collect.DefaultRules()
	r.MaxMembers = 3
	cases := []struct {
		shares  []int64
		self    bool
		want    error
		wantSum int64
	}{
		{[]int64{5}, true, collect.ErrNoMembers, 0},
		{nil, false, collect.ErrNoMembers, 0},
		{[]int64{1, 1, 1, 1}, false, collect.ErrTooManyMembers, 0},
		{[]int64{1, 0}, false, collect.ErrShareTooSmall, 0},
		{[]int64{1, -5}, false, collect.ErrShareTooSmall, 0},
		{[]int64{r.MaxShare + 1}, false, collect.ErrShareTooLarge, 0},
		{[]int64{5, 7}, true, nil, 12},
	}
	for _, c := range cases {
		sum, err := r.Check(c.shares, c.self)
		if !errors.Is(err, c.want) || (err == nil && sum != c.wantSum) {
			t.Errorf("Check(%v, %t) = %d, %v; want %d, %v", c.shares, c.self, sum, err, c.wantSum, c.want)
		}
	}
	r.MaxShare = math.MaxInt64
	if _, err := r.Check([]int64{math.MaxInt64, 1}, false); !errors.Is(err, collect.ErrOverflow) {
		t.Fatalf("overflowing sum: %v", err)
	}
	if err := (collect.Rules{}).Validate(); !errors.Is(err, collect.ErrInvalidRules) {
		t.Fatalf("zero rules: %v", err)
	}
}

var t0 = time.Date(2026, 1, 28, 20, 0, 0, 0, time.UTC)

// newRequest returns an open request: the requester's own share first, then
// members a, b with 33.33 each of 100.00.
func newRequest() (r collect.Request, requester, a, b uuid.UUID) {
	requester, a, b = uuid.New(), uuid.New(), uuid.New()
	r = collect.Request{
		ID: uuid.New(), Requester: requester, Account: uuid.New(), Group: uuid.New(), Title: "dinner",
		Currency: ledger.MustCurrency("CNY"), Total: 10000,
		Shares: []collect.Share{
			{Member: requester, Amount: 3334, Status: collect.ShareOwn},
			{Member: a, Amount: 3333, Status: collect.SharePending},
			{Member: b, Amount: 3333, Status: collect.SharePending},
		},
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour),
		State: collect.State{Status: collect.StatusOpen},
	}
	return r, requester, a, b
}

func TestValidate(t *testing.T) {
	r, _, _, _ := newRequest()
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	breakers := map[string]func(*collect.Request){
		"no ID":          func(r *collect.Request) { r.ID = uuid.Nil },
		"long title":     func(r *collect.Request) { r.Title = string(make([]byte, collect.MaxTitleLen+1)) },
		"NUL in title":   func(r *collect.Request) { r.Title = "a\x00b" },
		"bad UTF-8":      func(r *collect.Request) { r.Title = "\xff" },
		"member twice":   func(r *collect.Request) { r.Shares[2].Member = r.Shares[1].Member },
		"sum":            func(r *collect.Request) { r.Total++ },
		"zero share":     func(r *collect.Request) { r.Shares[1].Amount = 0; r.Total -= 3333 },
		"foreign own":    func(r *collect.Request) { r.Shares[1].Status = collect.ShareOwn },
		"expiry":         func(r *collect.Request) { r.ExpiresAt = r.CreatedAt },
		"counts":         func(r *collect.Request) { r.Paid = 1 },
		"ended but open": func(r *collect.Request) { r.EndedAt = t0 },
		"only own": func(r *collect.Request) {
			r.Shares = r.Shares[:1]
			r.Total = 3334
		},
	}
	for name, f := range breakers {
		r, _, _, _ := newRequest()
		f(&r)
		if err := r.Validate(); !errors.Is(err, collect.ErrInvalidRequest) {
			t.Errorf("%s: %v, want ErrInvalidRequest", name, err)
		}
	}
}

func TestCheckPayOrder(t *testing.T) {
	r, requester, a, b := newRequest()
	now := t0.Add(time.Minute)
	check := func(member uuid.UUID, amount int64, at time.Time, want error) {
		t.Helper()
		if _, _, err := r.CheckPay(member, amount, at); !errors.Is(err, want) {
			t.Fatalf("CheckPay(%v, %d): %v, want %v", member, amount, err, want)
		}
	}
	check(uuid.New(), 3333, now, collect.ErrNotMember)
	check(requester, 3334, now, collect.ErrOwnShare)
	check(a, 3334, now, collect.ErrWrongAmount)
	check(a, 3333, r.ExpiresAt, collect.ErrExpired) // at the instant of expiry
	check(a, 3333, r.ExpiresAt.Add(-time.Nanosecond), nil)
	if _, err := r.Decline(b, now); err != nil {
		t.Fatal(err)
	}
	check(b, 3333, now, collect.ErrDeclined)
	if ok, err := r.RecordPaid(a, uuid.New(), uuid.New(), now); !ok || err != nil {
		t.Fatal(ok, err)
	}
	// Paid, then everyone answered: complete. The payer's retry is its
	// original payment even now; the wrong amount is still refused.
	if r.Status != collect.StatusComplete || r.Paid != 1 || r.Declined != 1 || r.Collected != 3333 || !r.Reconciled {
		t.Fatalf("after the last answer: %+v", r.State)
	}
	if i, existing, err := r.CheckPay(a, 3333, r.ExpiresAt.Add(time.Hour)); i != 1 || !existing || err != nil {
		t.Fatalf("paid member's retry: %d %t %v", i, existing, err)
	}
	check(a, 1, now, collect.ErrWrongAmount)
	if _, err := r.Decline(a, now); !errors.Is(err, collect.ErrAlreadyPaid) {
		t.Fatalf("decline after paying: %v", err)
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestClosedRequestsRefuse(t *testing.T) {
	for _, end := range []string{"close", "expire"} {
		r, _, a, b := newRequest()
		want := collect.ErrClosed
		if end == "close" {
			if !r.Close(t0.Add(time.Minute)) || r.Close(t0.Add(2*time.Minute)) {
				t.Fatal("close is not once")
			}
		} else {
			want = collect.ErrExpired
			if _, err := r.Expire(r.ExpiresAt.Add(-1)); !errors.Is(err, collect.ErrNotExpired) {
				t.Fatalf("early expiry: %v", err)
			}
			if ok, err := r.Expire(r.ExpiresAt); !ok || err != nil {
				t.Fatal(ok, err)
			}
			if ok, err := r.Expire(r.ExpiresAt.Add(1)); ok || err != nil {
				t.Fatalf("second sweep: %t %v", ok, err)
			}
		}
		if _, _, err := r.CheckPay(a, 3333, t0.Add(time.Minute)); !errors.Is(err, want) {
			t.Fatalf("%s: pay: %v", end, err)
		}
		if _, err := r.Decline(b, t0.Add(time.Minute)); !errors.Is(err, want) {
			t.Fatalf("%s: decline: %v", end, err)
		}
		if _, err := r.Remind(t0.Add(time.Minute), time.Minute); !errors.Is(err, collect.ErrNothingToRemind) {
			t.Fatalf("%s: remind: %v", end, err)
		}
		if r.Reconciled || !r.MarkReconciled() || r.MarkReconciled() {
			t.Fatalf("%s: pending shares must be reconciled once", end)
		}
		// A payment the ledger made (a lost record) is recorded anyway.
		if ok, err := r.RecordPaid(a, uuid.New(), uuid.New(), t0); !ok || err != nil || r.Status == collect.StatusOpen {
			t.Fatalf("%s: late record: %t %v %v", end, ok, err, r.Status)
		}
	}
}

func TestRemindRateLimit(t *testing.T) {
	r, _, a, b := newRequest()
	every := 10 * time.Minute
	got, err := r.Remind(t0, every)
	if err != nil || !slices.Equal(got, []uuid.UUID{a, b}) {
		t.Fatalf("first reminder: %v %v", got, err)
	}
	if _, err := r.Remind(t0.Add(every-1), every); !errors.Is(err, collect.ErrRemindTooSoon) {
		t.Fatalf("too soon: %v", err)
	}
	r.RecordPaid(a, uuid.New(), uuid.New(), t0)
	if got, err := r.Remind(t0.Add(every), every); err != nil || !slices.Equal(got, []uuid.UUID{b}) {
		t.Fatalf("reminder after the interval: %v %v", got, err)
	}
}
