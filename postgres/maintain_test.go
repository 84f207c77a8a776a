package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/collect"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/maintain"
	"github.com/socialpay/socialpay/points"
	"github.com/socialpay/socialpay/redpacket"
	"github.com/socialpay/socialpay/transfer"
)

var _ maintain.Lease = (*TaskLease)(nil)

// bankInstance is one instance of a bank's service: every feature on a
// pool of its own over the shared schema, and a maintenance runner.
type bankInstance struct {
	l      *ledger.Ledger
	rp     *redpacket.Service
	tr     *transfer.Service
	cp     *campaign.Service
	pt     *points.Service
	co     *collect.Service
	runner *maintain.Runner
}

// bankShared is what every instance is configured with alike.
type bankShared struct {
	clock   *ledgertest.Clock
	members *redpacket.MemoryMembers
	points  [3]uuid.UUID // issuance, redeemed, expired
}

type anyone struct{}

func (anyone) IsMember(context.Context, uuid.UUID, uuid.UUID) (bool, error) { return true, nil }

func newBankInstance(t *testing.T, db *DB, sh *bankShared, lease bool) *bankInstance {
	t.Helper()
	now := sh.clock.Now
	b := &bankInstance{l: ledger.New(NewLedgerStore(db), ledger.Options{Now: now})}
	var err error
	if b.rp, err = redpacket.New(redpacket.Config{Ledger: b.l, Store: NewRedPacketStore(db), Members: sh.members, PasswordKey: testRedPacketKey, Now: now}); err != nil {
		t.Fatal(err)
	}
	if b.tr, err = phoneService(db, now); err != nil {
		t.Fatal(err)
	}
	if b.cp, err = campaign.New(campaign.Config{Ledger: b.l, Store: NewCampaignStore(db), Limiter: NewCampaignLimiter(db), Now: now,
		Eligibility: campaign.EligibleFunc(func(context.Context, uuid.UUID, uuid.UUID) (bool, error) { return true, nil })}); err != nil {
		t.Fatal(err)
	}
	if b.pt, err = points.New(points.Config{Ledger: b.l, Store: NewPointsStore(db), ExpiryMonths: 1, Now: now,
		Rules:    []points.EarnRule{{Name: "signup", Kind: points.Fixed, Points: 500}},
		Issuance: sh.points[0], Redeemed: sh.points[1], Expired: sh.points[2]}); err != nil {
		t.Fatal(err)
	}
	if b.co, err = collect.New(collect.Config{Ledger: b.l, Store: NewCollectStore(db), Members: anyone{}, Now: now,
		Notifier: collect.NotifierFunc(func(context.Context, collect.Request, []uuid.UUID) error { return nil })}); err != nil {
		t.Fatal(err)
	}
	cfg := maintain.Config{Now: now, Tasks: []maintain.Task{
		maintain.TaskOf("redpacket", b.rp), maintain.TaskOf("transfer", b.tr), maintain.TaskOf("campaign", b.cp),
		maintain.TaskOf("points", b.pt), maintain.TaskOf("collect", b.co), maintain.TaskOf("ledger", b.l),
	}}
	if lease {
		cfg.Lease = NewTaskLease(db)
	}
	if b.runner, err = maintain.New(cfg); err != nil {
		t.Fatal(err)
	}
	return b
}

// dueItems are n items of every feature, all due a year later.
type dueItems struct {
	n                       int
	sender, payer, marketer uuid.UUID // wallets
	holdPayer               uuid.UUID
	campaigns               []uuid.UUID
	chats                   []uuid.UUID // their payer is payer
	requests                []uuid.UUID
	users                   []uuid.UUID // points
}

// makeDue makes, through instance b, n holds that time out, n red packets
// of 2 shares with 1 claimed, n delayed phone transfers and n chat
// transfers, n campaigns with nobody trying, n points lots and n bills,
// all due (or expired) a year on.
func makeDue(t *testing.T, b *bankInstance, sh *bankShared, n int) *dueItems {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	account := func(fen int64, flags ledger.AccountFlags) uuid.UUID {
		a, err := b.l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cnyTest, Flags: flags})
		must(err)
		if fen > 0 {
			src, err := b.l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cnyTest})
			must(err)
			_, err = b.l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: src.ID, CreditAccountID: a.ID, Amount: ledger.NewMoney(fen, cnyTest)})
			must(err)
		}
		return a.ID
	}
	d := &dueItems{n: n, sender: account(1_000_00, ledger.DebitsMustNotExceedCredits), payer: account(1_000_00, ledger.DebitsMustNotExceedCredits),
		marketer: account(1_000_00, ledger.DebitsMustNotExceedCredits), holdPayer: account(1_000_00, ledger.DebitsMustNotExceedCredits)}
	shop := account(0, 0)
	group, sender, grabber := uuid.New(), uuid.New(), uuid.New()
	sh.members.Add(group, sender)
	sh.members.Add(group, grabber)
	grabberWallet := account(0, ledger.DebitsMustNotExceedCredits)
	payee := account(0, ledger.DebitsMustNotExceedCredits)
	phone := fmt.Sprintf("1380013%04d", time.Now().UnixNano()%10000)
	_, err := b.tr.Bind(ctx, transfer.BindRequest{Phone: phone, Holder: uid("payee-" + phone), Account: payee, Name: "Li Lei", VerifiedAt: sh.clock.Now()})
	must(err)
	for i := range n {
		_, err := b.l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), Kind: ledger.KindPending, DebitAccountID: d.holdPayer,
			CreditAccountID: shop, Amount: ledger.NewMoney(1_00, cnyTest), Timeout: time.Hour})
		must(err)

		p, err := b.rp.Send(ctx, redpacket.SendRequest{Key: fmt.Sprint("packet-", i), Kind: redpacket.Normal, Sender: sender, SenderAccount: d.sender,
			Group: group, Amount: ledger.NewMoney(1_00, cnyTest), Count: 2})
		must(err)
		if i == 0 { // one grabbed share: the refund is the rest
			_, err = b.rp.Claim(ctx, redpacket.ClaimRequest{Packet: p.ID, User: grabber, Account: grabberWallet})
			must(err)
		}

		_, err = b.tr.Send(ctx, transfer.Request{Key: fmt.Sprint("delayed-", group, i), Payer: uid("payer"), From: d.payer, Phone: phone,
			Amount: ledger.NewMoney(1_00, cnyTest), Arrival: transfer.Arrive2h})
		must(err)
		r, err := b.tr.Send(ctx, transfer.Request{Key: fmt.Sprint("chat-", group, i), Payer: uid("payer"), From: d.payer,
			To:     transfer.Recipient{Holder: uid("payee-" + phone), Account: payee},
			Amount: ledger.NewMoney(2_00, cnyTest), Arrival: transfer.ArriveOnAccept})
		must(err)
		d.chats = append(d.chats, r.ID)

		c, err := b.cp.Create(ctx, campaign.CreateRequest{ID: uuid.New(), Name: "spring", Marketing: d.marketer,
			OpensAt: sh.clock.Now(), EndsAt: sh.clock.Now().Add(time.Hour),
			Caps:   campaign.Caps{TriesPerUser: 1, TriesPerDay: 1, WinsPerUser: 1},
			Prizes: []campaign.PrizeTier{{Prize: ledger.NewMoney(1_00, cnyTest), Count: 2}, {Prize: ledger.NewMoney(0, cnyTest), Count: 2}}})
		must(err)
		d.campaigns = append(d.campaigns, c.ID)

		user := uuid.New()
		_, err = b.pt.Earn(ctx, points.EarnRequest{User: user, Rule: "signup", Key: "signup"})
		must(err)
		d.users = append(d.users, user)

		req, err := b.co.Create(ctx, collect.CreateRequest{Key: fmt.Sprint("dinner-", i), Requester: sender, Account: d.sender, Group: group, Title: "dinner",
			Members: []uuid.UUID{sender, grabber}, Total: ledger.NewMoney(10_00, cnyTest)})
		must(err)
		d.requests = append(d.requests, req.ID)
	}
	return d
}

// Two instances of a bank's service, each on its own pool over one
// schema, run their maintenance rounds at once over the same due items,
// without a lease and then with one: every item is handled once (each
// hold voided once, each refund and budget returned once, each transfer
// landed or returned once, each lot and bill expired once), neither
// instance reports an error, the ledger verifies, and a further round
// finds nothing to do.
func TestMaintainTwoInstances(t *testing.T) {
	base := freshDB(t)
	sh := &bankShared{clock: ledgertest.NewClock(time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)), members: &redpacket.MemoryMembers{},
		points: [3]uuid.UUID{uuid.New(), uuid.New(), uuid.New()}}
	for _, lease := range []bool{false, true} {
		t.Run(fmt.Sprint("lease=", lease), func(t *testing.T) {
			a := newBankInstance(t, instance(t, base), sh, lease)
			b := newBankInstance(t, instance(t, base), sh, lease)
			ctx := context.Background()
			if err := a.pt.OpenSystemAccounts(ctx); err != nil {
				t.Fatal(err)
			}
			const n = 6
			d := makeDue(t, a, sh, n)
			before := map[uuid.UUID]int64{}
			for _, w := range []uuid.UUID{d.sender, d.payer, d.marketer, d.holdPayer} {
				before[w] = netOf(t, a.l, w)
			}
			sh.clock.Advance(400 * 24 * time.Hour)

			var rounds [2][]maintain.Result
			var wg sync.WaitGroup
			for i, inst := range []*bankInstance{a, b} {
				wg.Go(func() { rounds[i] = inst.runner.RunOnce(ctx) })
			}
			wg.Wait()
			sum := map[string]int{}
			for _, round := range rounds {
				for _, res := range round {
					if res.Err != nil {
						t.Errorf("task %s: %v", res.Task, res.Err)
					}
					switch r := res.Report.(type) {
					case transfer.MaintainReport:
						sum["released"] += r.Released
					case points.MaintainReport:
						sum["lots"] += r.Sweep.Lots
						sum["points"] += int(r.Sweep.Points)
					case collect.MaintainReport:
						sum["bills"] += r.Expired
					}
				}
			}
			// A chat hold is voided by the transfer task or, first, by the
			// ledger's own timeout: once either way.
			// Counts that add up across instances: each call counts the
			// items it moved. (A chat hold or a card hold may be voided by
			// the ledger's expiry, which ExpireChats also runs, without a
			// count; refunds and sweeps seen finishing are counted by
			// both: the money below says they moved once.)
			if sum["released"] != n || sum["lots"] != n || sum["points"] != 500*n || sum["bills"] != n {
				t.Fatalf("counts of both instances %v: want %d of each item handled once", sum, n)
			}
			// The money says each item was handled once.
			want := map[uuid.UUID]int64{
				d.sender:    before[d.sender] + (2*n-1)*1_00, // every unclaimed share came back once
				d.payer:     before[d.payer] - n*1_00,        // the delayed landed, the chats came back
				d.marketer:  before[d.marketer] + n*2_00,     // every budget came back once
				d.holdPayer: before[d.holdPayer],             // every hold voided
			}
			for w, fen := range want {
				if got := netOf(t, a.l, w); got != fen {
					t.Errorf("wallet %s holds %d, want %d", w, got, fen)
				}
			}
			for _, id := range d.chats {
				if r, err := a.tr.Get(ctx, uid("payer"), id); err != nil || r.State != transfer.StateCancelled {
					t.Errorf("chat transfer %s: %v %v, want returned", id, r.State, err)
				}
			}
			for _, id := range d.campaigns {
				if c, err := a.cp.Campaign(ctx, id); err != nil || !c.Settled {
					t.Errorf("campaign %s: settled %v %v, want swept and settled", id, c.Settled, err)
				}
			}
			if _, err := a.l.Verify(ctx); err != nil {
				t.Fatalf("ledger Verify: %v", err)
			}
			// Nothing is left: a second round finds nothing to do.
			for _, res := range b.runner.RunOnce(ctx) {
				if res.Err != nil || fmt.Sprint(res.Report) != fmt.Sprint(zeroReport(res.Report)) {
					t.Errorf("second round, %s: %+v %v", res.Task, res.Report, res.Err)
				}
			}
		})
	}
}

// zeroReport is the report of a run that found nothing to do.
func zeroReport(r any) any {
	switch r.(type) {
	case ledger.MaintainReport:
		return ledger.MaintainReport{}
	case redpacket.MaintainReport:
		return redpacket.MaintainReport{}
	case transfer.MaintainReport:
		return transfer.MaintainReport{}
	case campaign.MaintainReport:
		return campaign.MaintainReport{}
	case points.MaintainReport:
		return points.MaintainReport{}
	case collect.MaintainReport:
		return collect.MaintainReport{}
	}
	return nil
}

func netOf(t *testing.T, l *ledger.Ledger, account uuid.UUID) int64 {
	t.Helper()
	a, err := l.Account(context.Background(), account)
	if err != nil {
		t.Fatal(err)
	}
	return a.Balance.Net()
}

// TaskLease: one session holds a task's lease at a time, per schema; a
// released lease can be taken again.
func TestTaskLease(t *testing.T) {
	ctx := context.Background()
	base := freshDB(t)
	a, b := NewTaskLease(instance(t, base)), NewTaskLease(instance(t, base))
	other := NewTaskLease(freshDB(t)) // another schema on the same database
	release, ok, err := a.Acquire(ctx, "redpacket")
	if err != nil || !ok {
		t.Fatalf("first Acquire: %v %v", ok, err)
	}
	if _, ok, err := b.Acquire(ctx, "redpacket"); err != nil || ok {
		t.Fatalf("Acquire while another instance holds it: %v %v, want refused", ok, err)
	}
	rel2, ok, err := b.Acquire(ctx, "transfer")
	if err != nil || !ok {
		t.Fatalf("Acquire of another task: %v %v", ok, err)
	}
	rel3, ok, err := other.Acquire(ctx, "redpacket")
	if err != nil || !ok {
		t.Fatalf("Acquire of the task on another schema: %v %v", ok, err)
	}
	release()
	release() // again: a no-op
	rel4, ok, err := b.Acquire(ctx, "redpacket")
	if err != nil || !ok {
		t.Fatalf("Acquire after release: %v %v", ok, err)
	}
	rel2()
	rel3()
	rel4()
}
