package campaign_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/ledger"
)

var t0 = time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)

func wantIs(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func TestRulesCheck(t *testing.T) {
	r := campaign.DefaultRules()
	b, n, err := r.Check(sched(8888, 10, 888, 1000, 88, 98990))
	if err != nil || b != 8888*10+888*1000+88*98990 || n != 100000 {
		t.Fatalf("Check: %d %d %v", b, n, err)
	}
	tiers := make(campaign.Schedule, 17)
	for i := range tiers {
		tiers[i] = campaign.Tier{Prize: 1, Count: 1}
	}
	cases := []struct {
		name string
		s    campaign.Schedule
		want error
	}{
		{"empty", nil, campaign.ErrInvalidSchedule},
		{"too many tiers", tiers, campaign.ErrInvalidSchedule},
		{"zero count", sched(100, 0), campaign.ErrInvalidSchedule},
		{"negative prize", sched(-1, 5, 100, 1), campaign.ErrInvalidSchedule},
		{"no prize", sched(0, 5), campaign.ErrInvalidSchedule},
		{"prize too large", sched(r.MaxPrize+1, 1), campaign.ErrInvalidSchedule},
		{"too many slots", sched(1, int64(r.MaxSlots), 0, 1), campaign.ErrInvalidSchedule},
		{"budget too large", sched(r.MaxPrize, 10001), campaign.ErrInvalidSchedule},
		{"slot overflow", sched(1, math.MaxInt32, 1, 1), campaign.ErrOverflow},
	}
	for _, c := range cases {
		if _, _, err := r.Check(c.s); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := (sched(math.MaxInt64/2, 3)).Budget(); !errors.Is(err, campaign.ErrOverflow) {
		t.Fatalf("budget overflow: %v", err)
	}
	if _, err := (sched(math.MaxInt64/2, 2, math.MaxInt64/2, 1)).Budget(); !errors.Is(err, campaign.ErrOverflow) {
		t.Fatalf("budget overflow across tiers: %v", err)
	}
	if err := (campaign.Rules{}).Validate(); !errors.Is(err, campaign.ErrInvalidRules) {
		t.Fatalf("zero rules: %v", err)
	}
}

func TestCapsValidate(t *testing.T) {
	ok := campaign.Caps{TriesPerUser: 3, TriesPerDay: 2, WinsPerUser: 1, DayOffset: 8 * time.Hour}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []campaign.Caps{
		{TriesPerUser: 0, TriesPerDay: 1, WinsPerUser: 1},
		{TriesPerUser: campaign.MaxTriesPerUser + 1, TriesPerDay: 1, WinsPerUser: 1},
		{TriesPerUser: 2, TriesPerDay: 3, WinsPerUser: 1},
		{TriesPerUser: 2, TriesPerDay: 0, WinsPerUser: 1},
		{TriesPerUser: 2, TriesPerDay: 1, WinsPerUser: 3},
		{TriesPerUser: 2, TriesPerDay: 1, WinsPerUser: 0},
		{TriesPerUser: 2, TriesPerDay: 1, WinsPerUser: 1, DayOffset: 15 * time.Hour},
	} {
		wantIs(t, "caps", c.Validate(), campaign.ErrInvalidCaps)
	}
	// Days turn at midnight in the offset's zone, also before 1970.
	c := campaign.Caps{DayOffset: 8 * time.Hour}
	before := time.Date(2026, 2, 16, 15, 59, 59, 0, time.UTC) // 23:59:59 in Beijing
	if c.Day(before)+1 != c.Day(before.Add(time.Second)) {
		t.Fatal("day does not turn at midnight +08:00")
	}
	old := time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC)
	if (campaign.Caps{}).Day(old) != -1 {
		t.Fatalf("day of 1969-12-31: %d", (campaign.Caps{}).Day(old))
	}
}

func TestDrawDeterministicAndComplete(t *testing.T) {
	s := sched(500, 3, 100, 20, 0, 77)
	var seed campaign.Seed
	seed[0] = 1
	a, err := campaign.NewDraw(seed, s)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := campaign.NewDraw(seed, s)
	counts := make([]int, len(s))
	differ := false
	for i := range a.Slots() {
		if a.Tier(i) != b.Tier(i) {
			t.Fatalf("slot %d: two draws of one seed differ", i)
		}
		counts[a.Tier(i)]++
	}
	for i, tier := range s {
		if counts[i] != tier.Count {
			t.Fatalf("tier %d: %d slots, want %d", i, counts[i], tier.Count)
		}
	}
	seed[0] = 2
	c, _ := campaign.NewDraw(seed, s)
	for i := range a.Slots() {
		differ = differ || a.Tier(i) != c.Tier(i)
	}
	if !differ {
		t.Fatal("another seed gives the same draw")
	}
	last := -1
	for i := range a.Slots() {
		if s[a.Tier(i)].Prize > 0 {
			last = i
		}
	}
	if a.PrizeEnd() != last+1 {
		t.Fatalf("PrizeEnd %d, last prize at %d", a.PrizeEnd(), last)
	}
}

// TestDrawKnownAnswer pins the draw's definition (NewDraw's doc): the
// layout, the hash stream and the rejection rule. Changing any of them
// breaks every published campaign's audit, so this test must fail then.
func TestDrawKnownAnswer(t *testing.T) {
	var seed campaign.Seed
	for i := range seed {
		seed[i] = byte(i)
	}
	d, err := campaign.NewDraw(seed, sched(3, 2, 2, 3, 1, 5))
	if err != nil {
		t.Fatal(err)
	}
	got := make([]int, d.Slots())
	for i := range got {
		got[i] = d.Tier(i)
	}
	want := referenceDraw(seed, []int{2, 3, 5})
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("draw %v, the reference computation gives %v", got, want)
		}
	}
	if c := campaign.Commit(seed).String(); c != "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd" {
		t.Fatalf("commitment %s", c)
	}
}

func TestDrawUniform(t *testing.T) {
	// Where the one prize lands, over 3,000 seeds and 6 slots: each slot
	// about 500 times (a bias of 20% would show).
	s := sched(100, 1, 0, 5)
	var hits [6]int
	for k := range 3000 {
		var seed campaign.Seed
		seed[0], seed[1] = byte(k), byte(k>>8)
		d, _ := campaign.NewDraw(seed, s)
		hits[d.PrizeEnd()-1]++
	}
	for i, h := range hits {
		if h < 400 || h > 600 {
			t.Fatalf("prize at slot %d %d times in 3,000: %v", i, h, hits)
		}
	}
}

func TestAudit(t *testing.T) {
	s := sched(500, 2, 0, 3)
	var seed campaign.Seed
	seed[5] = 9
	d, _ := campaign.NewDraw(seed, s)
	var log []campaign.Try
	for i := range 4 {
		log = append(log, campaign.Try{Slot: i, Prize: s[d.Tier(i)].Prize})
	}
	com := campaign.Commit(seed)
	if err := campaign.Audit(s, com, seed, log); err != nil {
		t.Fatal(err)
	}
	other := seed
	other[0] = 1
	wantIs(t, "other seed", campaign.Audit(s, com, other, log), campaign.ErrBadSeed)
	bad := append([]campaign.Try(nil), log...)
	bad[1].Prize = 500 - bad[1].Prize
	wantIs(t, "altered prize", campaign.Audit(s, com, seed, bad), campaign.ErrDrawMismatch)
	wantIs(t, "gap", campaign.Audit(s, com, seed, append(log[:1:1], log[2:]...)), campaign.ErrDrawMismatch)
}

// newCampaign returns an open campaign of s (seed 7), open t0 to t0+1h.
func newCampaign(t *testing.T, s campaign.Schedule, caps campaign.Caps) *campaign.Campaign {
	t.Helper()
	var seed campaign.Seed
	seed[0] = 7
	b, err := s.Budget()
	if err != nil {
		t.Fatal(err)
	}
	d, err := campaign.NewDraw(seed, s)
	if err != nil {
		t.Fatal(err)
	}
	c := &campaign.Campaign{
		ID: uuid.New(), Name: "抢快乐", Currency: ledger.MustCurrency("CNY"), Schedule: s, Budget: b,
		Slots: d.Slots(), PrizeEnd: d.PrizeEnd(), Marketing: uuid.New(), Escrow: uuid.New(),
		Commitment: campaign.Commit(seed), Seed: seed, OpensAt: t0, EndsAt: t0.Add(time.Hour), Caps: caps,
		CreatedAt: t0.Add(-time.Hour), State: campaign.State{Status: campaign.StatusFunding},
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTakeRefusalsInOrder(t *testing.T) {
	caps := campaign.Caps{TriesPerUser: 3, TriesPerDay: 2, WinsPerUser: 3}
	c := newCampaign(t, sched(100, 50, 0, 50), caps)
	c.EndsAt = t0.Add(72 * time.Hour)
	u, a := uuid.New(), uuid.New()
	var p campaign.Player
	_, err := c.Take(&p, u, a, 1, t0)
	wantIs(t, "funding", err, campaign.ErrNotFunded)
	if err := c.Open(); err != nil {
		t.Fatal(err)
	}
	_, err = c.Take(&p, u, a, 1, t0.Add(-time.Nanosecond))
	wantIs(t, "before opening", err, campaign.ErrNotOpen)
	_, err = c.Take(&p, u, a, 1, c.EndsAt)
	wantIs(t, "at the end", err, campaign.ErrEnded)
	_, err = c.Take(&p, u, a, 2, t0)
	wantIs(t, "a gap", err, campaign.ErrTryOutOfOrder)
	if p != (campaign.Player{}) || c.Taken != 0 {
		t.Fatalf("refusals changed state: %+v %+v", p, c.State)
	}
	tr, err := c.Take(&p, u, a, 1, t0) // at the opening instant
	if err != nil || tr.Slot != 0 || tr.Seq != 1 || tr.Prize != c.Schedule[c.Draw.Tier(0)].Prize {
		t.Fatalf("first try: %+v %v", tr, err)
	}
	_, err = c.Take(&p, u, a, 1, t0)
	wantIs(t, "the same number again", err, campaign.ErrTryOutOfOrder)
	if tr, err = c.Take(&p, u, a, 2, t0.Add(time.Minute)); err != nil || tr.Slot != 1 {
		t.Fatalf("second try: %+v %v", tr, err)
	}
	_, err = c.Take(&p, u, a, 3, t0.Add(2*time.Minute))
	wantIs(t, "third try on one day", err, campaign.ErrDailyCap)
	next := t0.Add(4 * time.Hour) // 00:00 the next day in UTC
	if _, err = c.Take(&p, u, a, 3, next); err != nil {
		t.Fatalf("third try the next day: %v", err)
	}
	_, err = c.Take(&p, u, a, 4, next.Add(24*time.Hour))
	wantIs(t, "fourth try", err, campaign.ErrUserCap)
	if p.Tries != 3 || p.DayTries != 1 || c.Taken != 3 {
		t.Fatalf("player %+v, state %+v", p, c.State)
	}
}

func TestTakeWinCap(t *testing.T) {
	c := newCampaign(t, sched(100, 5), campaign.Caps{TriesPerUser: 3, TriesPerDay: 3, WinsPerUser: 1})
	_ = c.Open()
	var p campaign.Player
	u := uuid.New()
	if tr, err := c.Take(&p, u, uuid.New(), 1, t0); err != nil || !tr.Won() {
		t.Fatalf("first try: %+v %v", tr, err)
	}
	_, err := c.Take(&p, u, uuid.New(), 2, t0)
	wantIs(t, "after a win", err, campaign.ErrWinCap)
}

func TestTakeWinCapAndSoldOut(t *testing.T) {
	caps := campaign.Caps{TriesPerUser: 10, TriesPerDay: 10, WinsPerUser: 1}
	c := newCampaign(t, sched(100, 3, 0, 3), caps)
	_ = c.Open()
	var won int64
	users := map[uuid.UUID]*campaign.Player{}
	// One user takes until they win; then they are refused.
	u := uuid.New()
	p := &campaign.Player{}
	users[u] = p
	for seq := 1; ; seq++ {
		tr, err := c.Take(p, u, uuid.New(), seq, t0)
		if err != nil {
			t.Fatal(err)
		}
		won += tr.Prize
		if tr.Won() {
			_, err := c.Take(p, u, uuid.New(), seq+1, t0)
			wantIs(t, "after a win", err, campaign.ErrWinCap)
			break
		}
	}
	for !c.SoldOut() {
		tr, err := c.Take(&campaign.Player{}, uuid.New(), uuid.New(), 1, t0)
		if err != nil {
			t.Fatal(err)
		}
		won += tr.Prize
	}
	if won != c.Budget || c.Won != c.Budget || c.Winners != 3 || c.Taken != c.PrizeEnd {
		t.Fatalf("sold out: won %d of %d, state %+v", won, c.Budget, c.State)
	}
	_, err := c.Take(&campaign.Player{}, uuid.New(), uuid.New(), 1, t0)
	wantIs(t, "sold out", err, campaign.ErrSoldOut)
}

func TestSweepTransitions(t *testing.T) {
	c := newCampaign(t, sched(100, 2, 0, 2), campaign.Caps{TriesPerUser: 1, TriesPerDay: 1, WinsPerUser: 1})
	wantIs(t, "sweep funding", c.BeginSweep(c.EndsAt), campaign.ErrNotFunded)
	wantIs(t, "finish before begin", c.FinishSweep(), campaign.ErrNotSweeping)
	_ = c.Open()
	wantIs(t, "cancel funded", c.Cancel(), campaign.ErrAlreadyFunded)
	wantIs(t, "sweep before end", c.BeginSweep(c.EndsAt.Add(-time.Nanosecond)), campaign.ErrNotEnded)
	tr, err := c.Take(&campaign.Player{}, uuid.New(), uuid.New(), 1, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.BeginSweep(c.EndsAt); err != nil {
		t.Fatal(err)
	}
	if c.Refund() != c.Budget-tr.Prize {
		t.Fatalf("refund %d after a try of %d", c.Refund(), tr.Prize)
	}
	_, err = c.Take(&campaign.Player{}, uuid.New(), uuid.New(), 1, t0)
	wantIs(t, "try while sweeping", err, campaign.ErrClosed)
	if err := c.BeginSweep(c.EndsAt); err != nil {
		t.Fatalf("second sweep: %v", err)
	}
	wantIs(t, "settle sweeping", c.Settle(), campaign.ErrNotFinished)
	if err := c.FinishSweep(); err != nil {
		t.Fatal(err)
	}
	if tr.Won() {
		wantIs(t, "settle unpaid", c.Settle(), campaign.ErrNotFinished)
		if !c.MarkPaid(&tr, false) || c.MarkPaid(&tr, false) {
			t.Fatal("MarkPaid twice")
		}
	}
	if err := c.Settle(); err != nil || !c.Settled {
		t.Fatalf("settle: %v", err)
	}
	// A campaign that sells out may be swept before its end.
	d := newCampaign(t, sched(100, 1), campaign.Caps{TriesPerUser: 1, TriesPerDay: 1, WinsPerUser: 1})
	_ = d.Open()
	if _, err := d.Take(&campaign.Player{}, uuid.New(), uuid.New(), 1, t0); err != nil {
		t.Fatal(err)
	}
	if err := d.BeginSweep(t0); err != nil || d.Refund() != 0 {
		t.Fatalf("sweep sold out: %v, refund %d", err, d.Refund())
	}
	e := newCampaign(t, sched(100, 1), campaign.Caps{TriesPerUser: 1, TriesPerDay: 1, WinsPerUser: 1})
	if err := e.Cancel(); err != nil {
		t.Fatal(err)
	}
	wantIs(t, "open cancelled", e.Open(), campaign.ErrCancelled)
}

func TestValidate(t *testing.T) {
	caps := campaign.Caps{TriesPerUser: 1, TriesPerDay: 1, WinsPerUser: 1}
	for name, breakIt := range map[string]func(*campaign.Campaign){
		"no ID":              func(c *campaign.Campaign) { c.ID = uuid.Nil },
		"escrow = marketing": func(c *campaign.Campaign) { c.Escrow = c.Marketing },
		"long name":          func(c *campaign.Campaign) { c.Name = string(make([]byte, campaign.MaxNameLen+1)) },
		"NUL in name":        func(c *campaign.Campaign) { c.Name = "a\x00" },
		"window":             func(c *campaign.Campaign) { c.EndsAt = c.OpensAt },
		"commitment":         func(c *campaign.Campaign) { c.Commitment[0] ^= 1 },
		"budget":             func(c *campaign.Campaign) { c.Budget++ },
		"slots":              func(c *campaign.Campaign) { c.Slots++ },
		"taken":              func(c *campaign.Campaign) { c.Taken = c.PrizeEnd + 1 },
		"settled":            func(c *campaign.Campaign) { c.Settled = true },
		"caps":               func(c *campaign.Campaign) { c.Caps.TriesPerUser = 0 },
	} {
		c := newCampaign(t, sched(100, 2, 0, 2), caps)
		breakIt(c)
		c.Draw = nil
		wantIs(t, name, c.Validate(), campaign.ErrInvalidCampaign)
	}
}

func TestRate(t *testing.T) {
	r := campaign.Rate{Burst: 3, Every: time.Second}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	wantIs(t, "zero burst", campaign.Rate{Every: time.Second}.Validate(), campaign.ErrInvalidRate)
	wantIs(t, "zero period", campaign.Rate{Burst: 1}.Validate(), campaign.ErrInvalidRate)
	var tat time.Time
	for i := range 3 {
		var ok bool
		if tat, ok, _ = r.Allow(tat, t0); !ok {
			t.Fatalf("try %d of a burst of 3 refused", i+1)
		}
	}
	next, ok, wait := r.Allow(tat, t0)
	if ok || wait != time.Second || !next.Equal(tat) {
		t.Fatalf("fourth try at once: ok %v wait %v", ok, wait)
	}
	if _, ok, _ := r.Allow(tat, t0.Add(time.Second-time.Nanosecond)); ok {
		t.Fatal("allowed before one period passed")
	}
	if _, ok, _ = r.Allow(tat, t0.Add(time.Second)); !ok {
		t.Fatal("refused after one period")
	}
	err := error(&campaign.RateLimitError{Key: "u", Wait: wait})
	wantIs(t, "RateLimitError", err, campaign.ErrRateLimited)
}
