package points_test

import (
	"errors"
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/points"
)

var (
	cny = ledger.MustCurrency("CNY")
	t0  = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
)

func TestMonthAndExpiry(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	// 2026-01-31 20:00 UTC is already February in Shanghai.
	at := time.Date(2026, 1, 31, 20, 0, 0, 0, time.UTC)
	if m := points.MonthOf(at, time.UTC); m.String() != "2026-01" {
		t.Fatalf("UTC month %v", m)
	}
	m := points.MonthOf(at, shanghai)
	if m.String() != "2026-02" {
		t.Fatalf("Shanghai month %v", m)
	}
	// Earned in February 2026, lasting 12 months: spendable to the end of
	// February 2027 in Shanghai.
	want := time.Date(2027, 3, 1, 0, 0, 0, 0, shanghai)
	if got := points.ExpiryOf(m, 12, shanghai); !got.Equal(want) {
		t.Fatalf("ExpiryOf = %v, want %v", got, want)
	}
	if got := points.ExpiryOf(points.MonthOf(time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), time.UTC), 1, time.UTC); !got.Equal(time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("December + 1: %v", got)
	}
}

// Convert never pays more than the rate allows, spends the fewest units
// worth the payout (never more than offered), and agrees with exact
// rational arithmetic.
func TestConvertExact(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := points.Rate{Name: "r", Version: 1, From: rapid.Int64Range(1, math.MaxInt64).Draw(t, "from"),
			To: rapid.Int64Range(1, math.MaxInt64).Draw(t, "to")}
		amount := rapid.Int64Range(1, math.MaxInt64).Draw(t, "amount")
		used, out, err := r.Convert(amount)
		a, f, to := big.NewInt(amount), big.NewInt(r.From), big.NewInt(r.To)
		wantOut := new(big.Int).Quo(new(big.Int).Mul(a, to), f)
		switch {
		case wantOut.Sign() == 0:
			if !errors.Is(err, points.ErrTooFewPoints) {
				t.Fatalf("converts to nothing: %v", err)
			}
			return
		case !wantOut.IsInt64():
			if !errors.Is(err, points.ErrOverflow) {
				t.Fatalf("overflowing payout: %v", err)
			}
			return
		case err != nil:
			t.Fatal(err)
		}
		if wantOut.Int64() != out {
			t.Fatalf("out %d, want %s", out, wantOut)
		}
		u, o := big.NewInt(used), big.NewInt(out)
		// out·From ≤ used·To: the payout is within the rate for what was used …
		if new(big.Int).Mul(o, f).Cmp(new(big.Int).Mul(u, to)) > 0 {
			t.Fatalf("%d for %d breaks %d:%d", out, used, r.From, r.To)
		}
		// … and one unit fewer would not be.
		if new(big.Int).Mul(o, f).Cmp(new(big.Int).Mul(new(big.Int).Sub(u, big.NewInt(1)), to)) <= 0 {
			t.Fatalf("%d for %d: %d would do", out, used, used-1)
		}
		if used > amount || used < 1 {
			t.Fatalf("used %d of %d", used, amount)
		}
	})
}

func TestConvertExamples(t *testing.T) {
	r := points.Rate{Name: "redeem/CNY", Version: 1, From: 100, To: 1} // 100 points = 0.01 CNY
	for _, c := range []struct{ amount, used, out int64 }{{100, 100, 1}, {150, 100, 1}, {12345, 12300, 123}} {
		used, out, err := r.Convert(c.amount)
		if err != nil || used != c.used || out != c.out {
			t.Errorf("Convert(%d) = %d, %d, %v; want %d, %d", c.amount, used, out, err, c.used, c.out)
		}
	}
	if _, _, err := r.Convert(99); !errors.Is(err, points.ErrTooFewPoints) {
		t.Errorf("99 points: %v", err)
	}
	if _, _, err := r.Convert(0); !errors.Is(err, points.ErrInvalidRequest) {
		t.Errorf("0 points: %v", err)
	}
	// 3 card points for 2 bank points: 10 card points give 6 (of 9 used).
	used, out, err := points.Rate{Name: "x", Version: 1, From: 3, To: 2}.Convert(10)
	if err != nil || used != 9 || out != 6 {
		t.Errorf("3:2 of 10 = %d, %d, %v", used, out, err)
	}
}

func TestRateRules(t *testing.T) {
	for _, r := range []points.Rate{{Name: "", Version: 1, From: 1, To: 1}, {Name: "r", Version: 0, From: 1, To: 1},
		{Name: "r", Version: 1, From: 0, To: 1}, {Name: "r", Version: 1, From: 1, To: -1}, {Name: string(make([]byte, 65)), Version: 1, From: 1, To: 1}} {
		if err := r.Validate(); !errors.Is(err, points.ErrInvalidRate) {
			t.Errorf("%+v: %v", r, err)
		}
	}
	v2 := points.Rate{Name: "r", Version: 2, From: 100, To: 1}
	if ex, err := points.CheckNewRate(v2, nil, 1); ex || err != nil {
		t.Errorf("next version: %v %v", ex, err)
	}
	if _, err := points.CheckNewRate(v2, nil, 0); !errors.Is(err, points.ErrRateConflict) {
		t.Errorf("skipped version: %v", err)
	}
	if ex, err := points.CheckNewRate(v2, &v2, 2); !ex || err != nil {
		t.Errorf("same again: %v %v", ex, err)
	}
	other := v2
	other.To = 2
	if _, err := points.CheckNewRate(other, &v2, 2); !errors.Is(err, points.ErrRateConflict) {
		t.Errorf("other values for a version: %v", err)
	}
}

func TestEarnRules(t *testing.T) {
	perYuan := points.EarnRule{Name: "payment", Kind: points.PerAmount, Points: 1, Per: ledger.NewMoney(100, cny), Max: 500}
	if err := perYuan.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		amount int64
		want   int64
		err    error
	}{{8888, 88, nil}, {100, 1, nil}, {99, 0, points.ErrNothingEarned}, {100000, 500, nil}, {-100, 0, points.ErrInvalidRequest}} {
		got, err := perYuan.PointsFor(ledger.NewMoney(c.amount, cny))
		if got != c.want || !errors.Is(err, c.err) {
			t.Errorf("%d fen: %d, %v; want %d, %v", c.amount, got, err, c.want, c.err)
		}
	}
	if _, err := perYuan.PointsFor(ledger.NewMoney(100, ledger.MustCurrency("USD"))); !errors.Is(err, points.ErrInvalidRequest) {
		t.Errorf("USD: %v", err)
	}
	big := points.EarnRule{Name: "big", Kind: points.PerAmount, Points: math.MaxInt64 / 2, Per: ledger.NewMoney(1, cny)}
	if _, err := big.PointsFor(ledger.NewMoney(3, cny)); !errors.Is(err, points.ErrOverflow) {
		t.Errorf("overflow: %v", err)
	}
	signup := points.EarnRule{Name: "signup", Kind: points.Fixed, Points: 200}
	if p, err := signup.PointsFor(ledger.Money{}); p != 200 || err != nil {
		t.Errorf("signup: %d %v", p, err)
	}
	if _, err := signup.PointsFor(ledger.NewMoney(1, cny)); !errors.Is(err, points.ErrInvalidRequest) {
		t.Errorf("fixed with an amount: %v", err)
	}
	for _, r := range []points.EarnRule{{Name: "", Kind: points.Fixed, Points: 1}, {Name: "a", Kind: points.Fixed, Points: 0},
		{Name: "a", Kind: points.PerAmount, Points: 1}, {Name: "a", Kind: 9, Points: 1}, {Name: "a", Kind: points.Fixed, Points: 1, Max: -1},
		{Name: "a", Kind: points.Fixed, Points: 1, Per: ledger.NewMoney(1, cny)}} {
		if err := r.Validate(); !errors.Is(err, points.ErrInvalidRule) {
			t.Errorf("%+v: %v", r, err)
		}
	}
}

// holderOp returns a valid pending operation of user.
func holderOp(user uuid.UUID, kind points.Kind, p int64, m points.Month) points.Op {
	op := points.Op{ID: uuid.New(), User: user, Kind: kind, Key: "k", Points: p, Month: m,
		LotExpiresAt: points.ExpiryOf(m, 2, time.UTC), Account: uuid.New(), Counter: uuid.New(),
		Status: points.StatusPending, CreatedAt: t0}
	if kind != points.KindEarn {
		op.Rate = points.Rate{Name: "r", Version: 1, From: 1, To: 1}
	}
	return op
}

// A user's lots under the pure transitions: credits are pending until
// posted, debits spend the lots that expire first, expired lots are not
// spendable, failures undo, expiry takes a due lot's remainder once.
func TestHolderLifecycle(t *testing.T) {
	user := uuid.New()
	h := points.Holder{User: user}
	jan := points.MonthOf(t0, time.UTC)
	feb := jan.Add(1)
	e1, e2 := holderOp(user, points.KindEarn, 100, jan), holderOp(user, points.KindEarn, 50, feb)
	for _, op := range []*points.Op{&e1, &e2} {
		if err := h.Record(op, t0); err != nil {
			t.Fatal(err)
		}
	}
	// Pending points are not spendable.
	spend := holderOp(user, points.KindRedeem, 10, 0)
	spend.Wallet, spend.Conversion, spend.Currency, spend.Other = uuid.New(), uuid.New(), cny, 1
	if err := h.Record(&spend, t0); !errors.Is(err, points.ErrInsufficientPoints) {
		t.Fatalf("spending pending points: %v", err)
	}
	for _, op := range []*points.Op{&e1, &e2} {
		if ch, err := h.Post(op); !ch || err != nil {
			t.Fatal(ch, err)
		}
	}
	if ch, err := h.Post(&e1); ch || err != nil {
		t.Fatalf("second post: %v %v", ch, err)
	}
	if h.Earned != 150 || h.Available(t0) != 150 {
		t.Fatalf("earned %d available %d", h.Earned, h.Available(t0))
	}
	// 120 points: all of January's, 20 of February's.
	spend.Points = 120
	if err := h.Record(&spend, t0); err != nil {
		t.Fatal(err)
	}
	if len(spend.Takes) != 2 || spend.Takes[0] != (points.Take{Month: jan, Points: 100}) || spend.Takes[1] != (points.Take{Month: feb, Points: 20}) {
		t.Fatalf("takes %+v", spend.Takes)
	}
	if h.Spent != 120 || h.Available(t0) != 30 {
		t.Fatalf("spent %d available %d", h.Spent, h.Available(t0))
	}
	// Failing it puts the points back where they came from.
	if ch, err := h.Fail(&spend); !ch || err != nil {
		t.Fatal(ch, err)
	}
	if _, err := h.Post(&spend); !errors.Is(err, points.ErrOpResolved) {
		t.Fatalf("post after fail: %v", err)
	}
	if h.Spent != 0 || h.Available(t0) != 150 {
		t.Fatalf("after fail: spent %d available %d", h.Spent, h.Available(t0))
	}
	// At January's expiry only February's lot is spendable.
	janEnd := e1.LotExpiresAt
	if h.Available(janEnd) != 50 {
		t.Fatalf("available at January's expiry: %d", h.Available(janEnd))
	}
	late := holderOp(user, points.KindExchangeOut, 60, 0)
	if err := h.Record(&late, janEnd); !errors.Is(err, points.ErrInsufficientPoints) {
		t.Fatalf("spending an expired lot: %v", err)
	}
	req := points.ExpireRequest{Account: uuid.New(), Counter: uuid.New(), ID: func(points.Month, int) uuid.UUID { return uuid.New() }}
	if _, ok, _ := h.Expire(jan, janEnd.Add(-time.Microsecond), req); ok {
		t.Fatal("expired before its instant")
	}
	exp, ok, err := h.Expire(jan, janEnd, req)
	if !ok || err != nil || exp.Points != 100 || exp.Kind != points.KindExpire {
		t.Fatalf("expire: %+v %v %v", exp, ok, err)
	}
	if _, ok, _ := h.Expire(jan, janEnd, req); ok {
		t.Fatal("expired twice")
	}
	if h.Expired != 100 || h.Available(janEnd) != 50 {
		t.Fatalf("expired %d available %d", h.Expired, h.Available(janEnd))
	}
	// A record of another user's op, or an invalid one, changes nothing.
	other := holderOp(uuid.New(), points.KindEarn, 1, jan)
	if err := h.Record(&other, t0); !errors.Is(err, points.ErrInvalidOp) {
		t.Fatalf("other user's op: %v", err)
	}
	bad := holderOp(user, points.KindEarn, 0, jan)
	if err := h.Record(&bad, t0); !errors.Is(err, points.ErrInvalidOp) {
		t.Fatalf("zero points: %v", err)
	}
	for _, l := range h.Lots {
		if l.Credited != l.Remaining+l.Spent+l.Expired {
			t.Fatalf("lot %+v breaks Credited = Remaining + Spent + Expired", l)
		}
	}
}

func TestAllocateOldestFirst(t *testing.T) {
	lots := []points.Lot{
		{Month: 3, ExpiresAt: t0.Add(3 * time.Hour), Remaining: 5},
		{Month: 1, ExpiresAt: t0.Add(1 * time.Hour), Remaining: 5},
		{Month: 2, ExpiresAt: t0.Add(2 * time.Hour), Remaining: 0},
		{Month: 0, ExpiresAt: t0, Remaining: 100}, // expired at t0
	}
	takes, err := points.Allocate(lots, 7, t0)
	if err != nil || len(takes) != 2 || takes[0] != (points.Take{Month: 1, Points: 5}) || takes[1] != (points.Take{Month: 3, Points: 2}) {
		t.Fatalf("takes %+v, %v", takes, err)
	}
	if _, err := points.Allocate(lots, 11, t0); !errors.Is(err, points.ErrInsufficientPoints) {
		t.Fatalf("11 of 10: %v", err)
	}
}
