package campaigntest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/ledger/ledgertest"
)

func testCreateAndRead(t *testing.T, e *env) {
	c := NewCampaign(sched(8888, 1, 888, 5, 0, 20), campaign.Caps{TriesPerUser: 3, TriesPerDay: 2, WinsPerUser: 2, DayOffset: 8 * time.Hour})
	got := e.create(c)
	if got.ID != c.ID || got.State != c.State {
		t.Fatalf("Create returned %+v", got)
	}
	read := e.get(c.ID)
	if read.Name != c.Name || read.Currency != c.Currency || !slices.Equal(read.Schedule, c.Schedule) ||
		read.Budget != c.Budget || read.Slots != c.Slots || read.PrizeEnd != c.PrizeEnd || read.Marketing != c.Marketing ||
		read.Escrow != c.Escrow || read.Commitment != c.Commitment || read.Seed != c.Seed || !read.OpensAt.Equal(c.OpensAt) ||
		!read.EndsAt.Equal(c.EndsAt) || read.Caps != c.Caps || !read.CreatedAt.Equal(c.CreatedAt) || read.State != c.State {
		t.Fatalf("read back:\n got %+v\nwant %+v", read, c)
	}
	if read.Draw == nil || read.Draw.Slots() != c.Slots {
		t.Fatal("a read campaign has no draw")
	}
	for i := range c.Slots {
		if read.Draw.Tier(i) != c.Draw.Tier(i) {
			t.Fatalf("slot %d: tier %d, created with %d", i, read.Draw.Tier(i), c.Draw.Tier(i))
		}
	}
	again := c
	again.Name = "another"
	stored, err := e.s.Create(e.ctx, again)
	wantErr(t, "create again", err, campaign.ErrCampaignExists)
	if stored.Name != c.Name {
		t.Fatalf("create again returned %q, want the stored campaign", stored.Name)
	}
	bad := NewCampaign(sched(100, 1), OneTry)
	bad.Commitment[0] ^= 1
	_, err = e.s.Create(e.ctx, bad)
	wantErr(t, "bad commitment", err, campaign.ErrInvalidCampaign)
	taken := NewCampaign(sched(100, 1), OneTry)
	taken.Status = campaign.StatusOpen
	_, err = e.s.Create(e.ctx, taken)
	wantErr(t, "created open", err, campaign.ErrInvalidCampaign)
	long := NewCampaign(sched(100, 1), OneTry)
	long.Name = string(make([]byte, campaign.MaxNameLen+1))
	_, err = e.s.Create(e.ctx, long)
	wantErr(t, "long name", err, campaign.ErrInvalidCampaign)
	for _, c := range []campaign.Campaign{bad, taken, long} {
		_, err := e.s.Campaign(e.ctx, c.ID)
		wantErr(t, "refused campaign read", err, campaign.ErrCampaignNotFound)
	}
}

func testNotFound(t *testing.T, e *env) {
	id, u := uuid.New(), uuid.New()
	_, err := e.s.Campaign(e.ctx, id)
	wantErr(t, "Campaign", err, campaign.ErrCampaignNotFound)
	_, err = e.s.Open(e.ctx, id)
	wantErr(t, "Open", err, campaign.ErrCampaignNotFound)
	_, err = e.s.Cancel(e.ctx, id)
	wantErr(t, "Cancel", err, campaign.ErrCampaignNotFound)
	_, err = e.s.Try(e.ctx, id, campaign.TryInput{User: u, Account: u, Seq: 1, At: start}, nil)
	wantErr(t, "Try", err, campaign.ErrCampaignNotFound)
	_, err = e.s.LookupTry(e.ctx, id, u, 1)
	wantErr(t, "LookupTry", err, campaign.ErrCampaignNotFound)
	_, err = e.s.MarkPaid(e.ctx, id, u, 1, false)
	wantErr(t, "MarkPaid", err, campaign.ErrCampaignNotFound)
	_, err = e.s.BeginSweep(e.ctx, id, start)
	wantErr(t, "BeginSweep", err, campaign.ErrCampaignNotFound)
	_, err = e.s.FinishSweep(e.ctx, id)
	wantErr(t, "FinishSweep", err, campaign.ErrCampaignNotFound)
	_, err = e.s.Settle(e.ctx, id)
	wantErr(t, "Settle", err, campaign.ErrCampaignNotFound)
	_, err = e.s.Tries(e.ctx, id, -1, 10)
	wantErr(t, "Tries", err, campaign.ErrCampaignNotFound)
	_, err = e.s.Unpaid(e.ctx, id, -1, 10)
	wantErr(t, "Unpaid", err, campaign.ErrCampaignNotFound)
	c := e.open(NewCampaign(sched(100, 1), OneTry))
	_, err = e.s.LookupTry(e.ctx, c.ID, u, 1)
	wantErr(t, "LookupTry of no try", err, campaign.ErrTryNotFound)
	_, err = e.s.MarkPaid(e.ctx, c.ID, u, 1, false)
	wantErr(t, "MarkPaid of no try", err, campaign.ErrTryNotFound)
}

func testOpenAndCancel(t *testing.T, e *env) {
	c := NewCampaign(sched(100, 1), OneTry)
	e.create(c)
	_, err := e.try(&c, uuid.New(), 1, start)
	wantErr(t, "try funding", err, campaign.ErrNotFunded)
	_, err = e.s.BeginSweep(e.ctx, c.ID, c.EndsAt)
	wantErr(t, "sweep funding", err, campaign.ErrNotFunded)
	if st, err := e.s.Open(e.ctx, c.ID); err != nil || st.Status != campaign.StatusOpen {
		t.Fatalf("Open: %v %v", st.Status, err)
	}
	if st, err := e.s.Open(e.ctx, c.ID); err != nil || st.Status != campaign.StatusOpen {
		t.Fatalf("Open again: %v %v", st.Status, err)
	}
	_, err = e.s.Cancel(e.ctx, c.ID)
	wantErr(t, "cancel open", err, campaign.ErrAlreadyFunded)
	d := NewCampaign(sched(100, 1), OneTry)
	e.create(d)
	if st, err := e.s.Cancel(e.ctx, d.ID); err != nil || st.Status != campaign.StatusCancelled {
		t.Fatalf("Cancel: %v %v", st.Status, err)
	}
	_, err = e.s.Open(e.ctx, d.ID)
	wantErr(t, "open cancelled", err, campaign.ErrCancelled)
	_, err = e.try(&d, uuid.New(), 1, start)
	wantErr(t, "try cancelled", err, campaign.ErrCancelled)
	if got := e.get(d.ID); got.Status != campaign.StatusCancelled {
		t.Fatalf("status %v after refusals", got.Status)
	}
}

func testTryInOrder(t *testing.T, e *env) {
	c := e.open(NewCampaign(sched(500, 3, 100, 3, 0, 4), campaign.Caps{TriesPerUser: 3, TriesPerDay: 3, WinsPerUser: 3}))
	var made []campaign.Try
	users := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	for i, u := range users {
		r := e.mustTry(&c, u, 1, start.Add(time.Duration(i)*time.Second))
		if r.Existing || r.Try.Slot != i || r.Try.Prize != prize(&c, i) || r.Try.User != u || r.Try.Seq != 1 || r.Try.Paid {
			t.Fatalf("try %d: %+v", i, r)
		}
		if r.State.Taken != i+1 {
			t.Fatalf("state after try %d: %+v", i, r.State)
		}
		made = append(made, r.Try)
	}
	r := e.mustTry(&c, users[0], 2, start.Add(time.Minute))
	if r.Try.Slot != 3 || r.Try.Seq != 2 {
		t.Fatalf("second try of a user: %+v", r.Try)
	}
	made = append(made, r.Try)
	// Retries return the recorded try, whatever the time and account.
	for _, want := range made {
		again, err := e.s.Try(e.ctx, c.ID, campaign.TryInput{User: want.User, Account: uuid.New(), Seq: want.Seq, At: c.EndsAt.Add(time.Hour)}, nil)
		if err != nil || !again.Existing {
			t.Fatalf("retry: %+v %v", again, err)
		}
		sameTry(t, "retry", again.Try, want)
		got, err := e.s.LookupTry(e.ctx, c.ID, want.User, want.Seq)
		if err != nil {
			t.Fatal(err)
		}
		sameTry(t, "LookupTry", got, want)
	}
	log := e.tries(c.ID)
	if len(log) != len(made) {
		t.Fatalf("log of %d tries, want %d", len(log), len(made))
	}
	for i := range log {
		sameTry(t, "log", log[i], made[i])
	}
	page, err := e.s.Tries(e.ctx, c.ID, 1, 2)
	if err != nil || len(page) != 2 || page[0].Slot != 2 || page[1].Slot != 3 {
		t.Fatalf("Tries after slot 1, 2 of them: %+v %v", page, err)
	}
	var won int64
	winners := 0
	for _, tr := range made {
		won += tr.Prize
		if tr.Won() {
			winners++
		}
	}
	if got := e.get(c.ID); got.Taken != 4 || got.Won != won || got.Winners != winners {
		t.Fatalf("state %+v, want 4 taken, %d won by %d", got.State, won, winners)
	}
}

func testTryRefusals(t *testing.T, e *env) {
	c := NewCampaign(sched(100, 50, 0, 50), campaign.Caps{TriesPerUser: 3, TriesPerDay: 2, WinsPerUser: 3})
	c.EndsAt = start.Add(48 * time.Hour)
	c = e.open(c)
	u := uuid.New()
	check := func(what string, seq int, at time.Time, want error) {
		t.Helper()
		_, err := e.try(&c, u, seq, at)
		wantErr(t, what, err, want)
	}
	check("before opening", 1, start.Add(-time.Microsecond), campaign.ErrNotOpen)
	check("at the end", 1, c.EndsAt, campaign.ErrEnded)
	check("a gap", 2, start, campaign.ErrTryOutOfOrder)
	check("try 0", 0, start, campaign.ErrTryOutOfOrder)
	if n := len(e.tries(c.ID)); n != 0 {
		t.Fatalf("refusals recorded %d tries", n)
	}
	e.mustTry(&c, u, 1, start)
	e.mustTry(&c, u, 2, start.Add(time.Second))
	check("third on one day", 3, start.Add(2*time.Second), campaign.ErrDailyCap)
	e.mustTry(&c, u, 3, start.Add(4*time.Hour)) // midnight UTC: the next day
	if got := e.get(c.ID); got.Taken != 3 {
		t.Fatalf("taken %d, want 3", got.Taken)
	}
	check("a fourth try", 4, start.Add(30*time.Hour), campaign.ErrUserCap)
	if got := e.get(c.ID); got.Taken != 3 {
		t.Fatalf("refusals took slots: %+v", got.State)
	}
	w := e.open(NewCampaign(sched(100, 5), campaign.Caps{TriesPerUser: 2, TriesPerDay: 2, WinsPerUser: 1}))
	e.mustTry(&w, u, 1, start)
	_, err := e.try(&w, u, 2, start)
	wantErr(t, "after a win", err, campaign.ErrWinCap)
}

func testSoldOutAndPaid(t *testing.T, e *env) {
	c := e.open(NewCampaign(sched(300, 2, 100, 2, 0, 4), OneTry))
	var winners []campaign.Try
	for i := 0; ; i++ {
		r, err := e.try(&c, uuid.New(), 1, start)
		if err != nil {
			wantErr(t, "after the last prize", err, campaign.ErrSoldOut)
			if i != c.PrizeEnd {
				t.Fatalf("sold out after %d tries, prize end %d", i, c.PrizeEnd)
			}
			break
		}
		if r.Try.Won() {
			winners = append(winners, r.Try)
		}
	}
	got := e.get(c.ID)
	if got.Won != c.Budget || got.Winners != 4 || got.Paid != 0 || !got.SoldOut() {
		t.Fatalf("sold out state %+v", got.State)
	}
	unpaid, err := e.s.Unpaid(e.ctx, c.ID, -1, 10)
	if err != nil || len(unpaid) != 4 {
		t.Fatalf("Unpaid: %d %v", len(unpaid), err)
	}
	st, err := e.s.MarkPaid(e.ctx, c.ID, winners[0].User, 1, false)
	if err != nil || st.Paid != 1 {
		t.Fatalf("MarkPaid: %+v %v", st, err)
	}
	if st, err = e.s.MarkPaid(e.ctx, c.ID, winners[0].User, 1, true); err != nil || st.Paid != 1 {
		t.Fatalf("MarkPaid again: %+v %v", st, err)
	}
	if st, err = e.s.MarkPaid(e.ctx, c.ID, winners[1].User, 1, true); err != nil || st.Paid != 2 {
		t.Fatalf("MarkPaid forfeited: %+v %v", st, err)
	}
	if tr, _ := e.s.LookupTry(e.ctx, c.ID, winners[0].User, 1); !tr.Paid || tr.Forfeited {
		t.Fatalf("paid try %+v", tr)
	}
	if tr, _ := e.s.LookupTry(e.ctx, c.ID, winners[1].User, 1); !tr.Paid || !tr.Forfeited {
		t.Fatalf("forfeited try %+v", tr)
	}
	unpaid, _ = e.s.Unpaid(e.ctx, c.ID, -1, 10)
	if len(unpaid) != 2 || unpaid[0].Slot != winners[2].Slot {
		t.Fatalf("Unpaid after two marks: %+v", unpaid)
	}
	if page, _ := e.s.Unpaid(e.ctx, c.ID, winners[2].Slot, 10); len(page) != 1 || page[0].Slot != winners[3].Slot {
		t.Fatalf("Unpaid after a slot: %+v", page)
	}
	// Sold out: sweepable before the end, with nothing to refund.
	sw, err := e.s.BeginSweep(e.ctx, c.ID, start)
	if err != nil || sw.Status != campaign.StatusSweeping || sw.Refund() != 0 {
		t.Fatalf("sweep sold out: %+v %v", sw.State, err)
	}
}

func testSweep(t *testing.T, e *env) {
	c := e.open(NewCampaign(sched(300, 2, 0, 2), OneTry))
	_, err := e.s.BeginSweep(e.ctx, c.ID, c.EndsAt.Add(-time.Microsecond))
	wantErr(t, "sweep before the end", err, campaign.ErrNotEnded)
	r := e.mustTry(&c, uuid.New(), 1, start)
	_, err = e.s.FinishSweep(e.ctx, c.ID)
	wantErr(t, "finish before begin", err, campaign.ErrNotSweeping)
	sw, err := e.s.BeginSweep(e.ctx, c.ID, c.EndsAt)
	if err != nil || sw.Status != campaign.StatusSweeping || sw.Refund() != c.Budget-r.Try.Prize {
		t.Fatalf("BeginSweep: %+v refund %d, %v", sw.State, sw.Refund(), err)
	}
	_, err = e.try(&c, uuid.New(), 1, start)
	wantErr(t, "try while sweeping", err, campaign.ErrClosed)
	again, err := e.s.BeginSweep(e.ctx, c.ID, c.EndsAt.Add(time.Hour))
	if err != nil || again.Refund() != sw.Refund() {
		t.Fatalf("BeginSweep again: refund %d, %v", again.Refund(), err)
	}
	_, err = e.s.Settle(e.ctx, c.ID)
	wantErr(t, "settle sweeping", err, campaign.ErrNotFinished)
	if st, err := e.s.FinishSweep(e.ctx, c.ID); err != nil || st.Status != campaign.StatusSwept {
		t.Fatalf("FinishSweep: %+v %v", st, err)
	}
	if st, err := e.s.FinishSweep(e.ctx, c.ID); err != nil || st.Status != campaign.StatusSwept {
		t.Fatalf("FinishSweep again: %+v %v", st, err)
	}
	if r.Try.Won() {
		_, err = e.s.Settle(e.ctx, c.ID)
		wantErr(t, "settle unpaid", err, campaign.ErrNotFinished)
		if _, err := e.s.MarkPaid(e.ctx, c.ID, r.Try.User, 1, false); err != nil {
			t.Fatal(err)
		}
	}
	if st, err := e.s.Settle(e.ctx, c.ID); err != nil || !st.Settled {
		t.Fatalf("Settle: %+v %v", st, err)
	}
	retry, err := e.try(&c, r.Try.User, 1, start)
	if err != nil || !retry.Existing {
		t.Fatalf("retry on a settled campaign: %+v %v", retry, err)
	}
}

func testUnsettledPaging(t *testing.T, e *env) {
	// Campaigns ending far in the future, after any other test's.
	base := time.Date(2090, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(time.Now().UnixNano()%1e6) * time.Hour)
	var mine []uuid.UUID
	for i := range 5 {
		c := NewCampaign(sched(100, 1), OneTry)
		c.OpensAt, c.EndsAt = base.Add(-time.Hour), base.Add(time.Duration(i%3)*time.Minute)
		e.create(c)
		mine = append(mine, c.ID)
	}
	cancelled := NewCampaign(sched(100, 1), OneTry)
	cancelled.OpensAt, cancelled.EndsAt = base.Add(-time.Hour), base
	e.create(cancelled)
	if _, err := e.s.Cancel(e.ctx, cancelled.ID); err != nil {
		t.Fatal(err)
	}
	var seen []campaign.Campaign
	cur := campaign.Cursor{EndsAt: base.Add(-time.Nanosecond)}
	for {
		page, err := e.s.Unsettled(e.ctx, cur, 2)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, page...)
		if len(page) < 2 {
			break
		}
		cur = campaign.CursorOf(&page[len(page)-1])
	}
	var got []uuid.UUID
	for i := range seen {
		if i > 0 && campaign.CursorOf(&seen[i-1]).EndsAt.After(seen[i].EndsAt) {
			t.Fatalf("Unsettled out of order at %d", i)
		}
		if slices.Contains(mine, seen[i].ID) {
			got = append(got, seen[i].ID)
		}
		if seen[i].ID == cancelled.ID {
			t.Fatal("a cancelled campaign is listed")
		}
	}
	if len(got) != len(mine) {
		t.Fatalf("listed %d of the test's 5 campaigns", len(got))
	}
}

func testConcurrentUsers(t *testing.T, e *env) {
	n := e.opts.Goroutines
	c := e.open(NewCampaign(sched(100, n/10, 0, n), OneTry))
	res, errs := ledgertest.Concurrently(n, func(int) (campaign.TryResult, error) { return e.try(&c, uuid.New(), 1, start) })
	slots := make([]bool, n)
	var won int64
	for i := range res {
		if errs[i] != nil {
			wantErr(t, "concurrent try", errs[i], campaign.ErrSoldOut)
			continue
		}
		s := res[i].Try.Slot
		if s >= n || slots[s] {
			t.Fatalf("slot %d handed out twice or out of range", s)
		}
		slots[s] = true
		if res[i].Try.Prize != prize(&c, s) {
			t.Fatalf("slot %d won %d, the draw says %d", s, res[i].Try.Prize, prize(&c, s))
		}
		won += res[i].Try.Prize
	}
	got := e.get(c.ID)
	for i := range got.Taken {
		if !slots[i] {
			t.Fatalf("slot %d of %d taken by nobody", i, got.Taken)
		}
	}
	if got.Won != won || got.Taken != min(n, c.PrizeEnd) {
		t.Fatalf("state %+v, tries won %d", got.State, won)
	}
}

func testConcurrentSameTry(t *testing.T, e *env) {
	c := e.open(NewCampaign(sched(100, 5, 0, 5), campaign.Caps{TriesPerUser: 2, TriesPerDay: 2, WinsPerUser: 2}))
	u := uuid.New()
	n := min(e.opts.Goroutines, 200)
	res, errs := ledgertest.Concurrently(n, func(i int) (campaign.TryResult, error) { return e.try(&c, u, 1+i%2, start) })
	var mu sync.Mutex
	bySeq := map[int]campaign.Try{}
	fresh := 0
	for i := range res {
		if errs[i] != nil {
			wantErr(t, "a second try before the first", errs[i], campaign.ErrTryOutOfOrder)
			continue
		}
		mu.Lock()
		if prev, ok := bySeq[res[i].Try.Seq]; ok {
			sameTry(t, "same try", res[i].Try, prev)
		}
		bySeq[res[i].Try.Seq] = res[i].Try
		mu.Unlock()
		if !res[i].Existing {
			fresh++
		}
	}
	if got := e.get(c.ID); got.Taken != len(bySeq) || fresh != len(bySeq) {
		t.Fatalf("%d slots taken, %d new answers, %d tries", got.Taken, fresh, len(bySeq))
	}
}

func testConcurrentSweepAndTries(t *testing.T, e *env) {
	n := e.opts.Goroutines
	c := e.open(NewCampaign(sched(100, n/2, 0, n/2), OneTry))
	type out struct {
		r      campaign.TryResult
		refund int64
		sweep  bool
	}
	res, errs := ledgertest.Concurrently(n, func(i int) (out, error) {
		if i%50 == 0 {
			sw, err := e.s.BeginSweep(e.ctx, c.ID, c.EndsAt)
			return out{refund: sw.Refund(), sweep: true}, err
		}
		r, err := e.try(&c, uuid.New(), 1, start)
		return out{r: r}, err
	})
	var won int64
	refund := int64(-1)
	for i := range res {
		switch {
		case res[i].sweep && errs[i] != nil:
			t.Fatalf("sweep: %v", errs[i])
		case res[i].sweep:
			if refund >= 0 && refund != res[i].refund {
				t.Fatalf("sweepers disagree: %d and %d", refund, res[i].refund)
			}
			refund = res[i].refund
		case errs[i] != nil:
			if !errors.Is(errs[i], campaign.ErrClosed) && !errors.Is(errs[i], campaign.ErrSoldOut) {
				t.Fatalf("try: %v", errs[i])
			}
		default:
			won += res[i].r.Try.Prize
		}
	}
	if won+refund != c.Budget {
		t.Fatalf("tries won %d and the sweep returns %d: budget %d", won, refund, c.Budget)
	}
}
