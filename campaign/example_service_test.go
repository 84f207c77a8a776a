package campaign_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/ledger"
)

// A bank's Spring Festival campaign: 3 prizes among 6 slots (a 50%
// chance), funded from marketing, opened at one instant, tried by users,
// swept at the end, and audited against the seed committed in advance.
func Example() {
	ctx := context.Background()
	cny := ledger.MustCurrency("CNY")
	opens := time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)
	now := opens.Add(-time.Minute)
	l := ledger.New(nil, ledger.Options{})
	svc, _ := campaign.New(campaign.Config{
		Ledger:        l,
		Eligibility:   campaign.EligibleFunc(func(context.Context, uuid.UUID, uuid.UUID) (bool, error) { return true, nil }),
		SingleProcess: true, // one process: its own MemoryLimiter will do
		Rand:          bytes.NewReader(make([]byte, 32)),
		Now:           func() time.Time { return now },
	})
	account := func(fen int64) uuid.UUID {
		id := uuid.New()
		l.CreateAccount(ctx, ledger.Account{ID: id, Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
		if fen > 0 {
			src := uuid.New()
			l.CreateAccount(ctx, ledger.Account{ID: src, Currency: cny})
			l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: src, CreditAccountID: id, Amount: ledger.NewMoney(fen, cny)})
		}
		return id
	}
	marketing := account(20000)
	c, _ := svc.Create(ctx, campaign.CreateRequest{
		ID: uuid.New(), Name: "抢快乐", Marketing: marketing, OpensAt: opens, EndsAt: opens.Add(time.Hour),
		Caps: campaign.Caps{TriesPerUser: 1, TriesPerDay: 1, WinsPerUser: 1, DayOffset: 8 * time.Hour},
		Prizes: []campaign.PrizeTier{
			{Prize: ledger.NewMoney(8888, cny), Count: 1},
			{Prize: ledger.NewMoney(888, cny), Count: 2},
			{Prize: ledger.NewMoney(0, cny), Count: 3},
		},
	})
	fmt.Println(c.Status, "budget", ledger.NewMoney(c.Budget, cny), "commitment", c.Commitment.String()[:16])

	_, err := svc.Try(ctx, campaign.TryRequest{Campaign: c.ID, User: uuid.New(), Account: account(0), Device: "phone-0", Seq: 1})
	fmt.Println("a minute early:", errors.Is(err, campaign.ErrNotOpen))
	now = opens
	for i := range 6 {
		wallet := account(0)
		t, err := svc.Try(ctx, campaign.TryRequest{Campaign: c.ID, User: uuid.New(), Account: wallet, Device: fmt.Sprint("phone-", i+1), Seq: 1})
		if err != nil {
			fmt.Println("tap", i+1, "sold out:", errors.Is(err, campaign.ErrSoldOut))
			continue
		}
		w, _ := l.Account(ctx, wallet)
		fmt.Println("tap", i+1, "slot", t.Slot, "prize", ledger.NewMoney(t.Prize, cny), "wallet", w.NetMoney())
	}
	now = opens.Add(time.Hour)
	n, _ := svc.Sweep(ctx, now)
	m, _ := l.Account(ctx, marketing)
	fmt.Println("swept", n, "marketing holds", m.NetMoney())
	seed, _ := svc.Reveal(ctx, c.ID)
	log, _ := svc.Log(ctx, c.ID, -1, 100)
	fmt.Println("audit of", len(log), "tries:", campaign.Audit(c.Schedule, c.Commitment, seed, log))
	// Output:
	// open budget 106.64 CNY commitment 66687aadf862bd77
	// a minute early: true
	// tap 1 slot 0 prize 0.00 CNY wallet 0.00 CNY
	// tap 2 slot 1 prize 88.88 CNY wallet 88.88 CNY
	// tap 3 slot 2 prize 8.88 CNY wallet 8.88 CNY
	// tap 4 slot 3 prize 8.88 CNY wallet 8.88 CNY
	// tap 5 sold out: true
	// tap 6 sold out: true
	// swept 1 marketing holds 93.36 CNY
	// audit of 4 tries: <nil>
}
