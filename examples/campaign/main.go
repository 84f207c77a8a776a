// Command campaign runs a bank's Spring Festival prize campaign (抢快乐) on
// the embedded ledger: the marketing account funds 100 prizes among 1,000
// slots, 2,000 users tap at the opening instant, the campaign sells out,
// the sweep returns what is left, and anyone can audit the draw with the
// seed revealed after it closes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/ledger"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "campaign:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	ctx := context.Background()
	cny := ledger.MustCurrency("CNY")
	opens := time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := opens.Add(-time.Minute)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	set := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
	l := ledger.New(nil, ledger.Options{})
	svc, err := campaign.New(campaign.Config{
		Ledger:        l,
		Eligibility:   campaign.EligibleFunc(func(context.Context, uuid.UUID, uuid.UUID) (bool, error) { return true, nil }),
		SingleProcess: true,
		Now:           clock,
	})
	if err != nil {
		return err
	}
	account := func(fen int64) (uuid.UUID, error) {
		id := uuid.New()
		if _, err := l.CreateAccount(ctx, ledger.Account{ID: id, Currency: cny, Flags: ledger.DebitsMustNotExceedCredits}); err != nil {
			return id, err
		}
		if fen > 0 {
			src := uuid.New()
			if _, err := l.CreateAccount(ctx, ledger.Account{ID: src, Currency: cny}); err != nil {
				return id, err
			}
			_, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: src, CreditAccountID: id, Amount: ledger.NewMoney(fen, cny)})
			return id, err
		}
		return id, nil
	}
	marketing, err := account(100_000_00)
	if err != nil {
		return err
	}
	c, err := svc.Create(ctx, campaign.CreateRequest{
		ID: uuid.New(), Name: "春节抢快乐", Marketing: marketing, OpensAt: opens, EndsAt: opens.Add(time.Hour),
		Caps: campaign.Caps{TriesPerUser: 1, TriesPerDay: 1, WinsPerUser: 1, DayOffset: 8 * time.Hour},
		Prizes: []campaign.PrizeTier{
			{Prize: ledger.NewMoney(8888, cny), Count: 10},
			{Prize: ledger.NewMoney(888, cny), Count: 90},
			{Prize: ledger.NewMoney(0, cny), Count: 900},
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "campaign %s: budget %v, published commitment %s\n", c.Status, ledger.NewMoney(c.Budget, cny), c.Commitment)

	set(opens)
	const users = 2000
	var wg sync.WaitGroup
	var won, lost, soldOut, other int
	var prizes int64
	var rmu sync.Mutex
	start := make(chan struct{})
	for i := range users {
		wg.Go(func() {
			w, err := account(0)
			<-start
			var t campaign.Try
			if err == nil {
				t, err = svc.Try(ctx, campaign.TryRequest{Campaign: c.ID, User: uuid.New(), Account: w, Device: fmt.Sprint("phone-", i), Seq: 1})
			}
			rmu.Lock()
			defer rmu.Unlock()
			switch {
			case errors.Is(err, campaign.ErrSoldOut):
				soldOut++
			case err != nil:
				other++
			case t.Won():
				won++
				prizes += t.Prize
			default:
				lost++
			}
		})
	}
	close(start)
	wg.Wait()
	if other > 0 {
		return fmt.Errorf("%d taps failed", other)
	}
	fmt.Fprintf(out, "%d taps at the opening instant: %d prizes (%v), %d no prize, %d told it is sold out\n",
		users, won, ledger.NewMoney(prizes, cny), lost, soldOut)

	set(opens.Add(time.Hour))
	n, err := svc.Sweep(ctx, opens.Add(time.Hour))
	if err != nil {
		return err
	}
	m, _ := l.Account(ctx, marketing)
	esc, _ := l.Account(ctx, c.Escrow)
	fmt.Fprintf(out, "sweep: %d campaign(s); marketing holds %v, escrow %v (%v)\n", n, m.NetMoney(), esc.NetMoney(), esc.Status)
	if m.NetMoney().Units()+prizes != 100_000_00 || esc.Balance.Net() != 0 {
		return errors.New("the money does not add up")
	}
	seed, err := svc.Reveal(ctx, c.ID)
	if err != nil {
		return err
	}
	log, err := svc.Log(ctx, c.ID, -1, 10_000)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "revealed seed %s…; audit of %d tries: %v\n", seed.String()[:16], len(log), campaign.Audit(c.Schedule, c.Commitment, seed, log))
	if _, err := l.Verify(ctx); err != nil {
		return err
	}
	fmt.Fprintln(out, "ledger verified")
	return nil
}
