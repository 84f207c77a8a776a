package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/campaign/campaigntest"
	"github.com/socialpay/socialpay/ledger"
)

// TestCampaignExpectedWinners: a batch whose winners are not those its
// first round trip expected (the store's count of slots taken is stale,
// as when another process took slots) still pays each winner once: with
// the missing wallet locked after those locked when that keeps the ID
// order, and decided again with every wallet locked when it does not.
func TestCampaignExpectedWinners(t *testing.T) {
	ctx := context.Background()
	db := freshDB(t)
	s, ls := NewCampaignStore(db), NewLedgerStore(db)
	l := ledger.New(ls, ledger.Options{})
	cny := ledger.MustCurrency("CNY")
	lo := uuid.MustParse("00000000-0000-4000-8000-000000000001")
	hi := uuid.MustParse("ffffffff-ffff-4fff-bfff-fffffffffffe")
	for _, w := range []uuid.UUID{lo, hi} {
		if _, err := l.CreateAccount(ctx, ledger.Account{ID: w, Currency: cny}); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2026, 2, 16, 20, 0, 1, 0, time.UTC)
	ns := uuid.New()
	for _, tc := range []struct {
		name      string
		predicted uuid.UUID // the wallet of the try expected to win: locked in the first round trip
		winner    uuid.UUID // the wallet of the try that wins
	}{
		{"MissingSortsAfter", lo, hi},
		{"MissingSortsBefore", hi, lo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A draw with slots k, k+1, k+2 losing, winning, losing, and
			// prizes after them (the campaign not sold out by the batch).
			var c campaign.Campaign
			k := -1
			for range 200 {
				c = campaigntest.NewCampaign(campaign.Schedule{{Prize: 100, Count: 6}, {Prize: 0, Count: 6}}, campaigntest.OneTry)
				win := func(i int) bool { return c.Schedule[c.Draw.Tier(i)].Prize > 0 }
				for i := 0; i+3 < c.PrizeEnd && k < 0; i++ {
					if !win(i) && win(i+1) && !win(i+2) {
						k = i
					}
				}
				if k >= 0 {
					break
				}
			}
			if k < 0 {
				t.Fatal("no draw with a losing, winning, losing run")
			}
			if _, err := l.CreateAccount(ctx, ledger.Account{ID: c.Escrow, Currency: cny, Flags: ledger.DebitsMustNotExceedCredits}); err != nil {
				t.Fatal(err)
			}
			src := uuid.New()
			if _, err := l.CreateAccount(ctx, ledger.Account{ID: src, Currency: cny}); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: src, CreditAccountID: c.Escrow, Amount: ledger.NewMoney(c.Budget, cny)}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Create(ctx, c); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Open(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
			pay := func(tr campaign.Try) ledger.Transfer {
				return ledger.Transfer{ID: uuid.NewSHA1(ns, append(tr.User[:], byte(tr.Seq))), DebitAccountID: c.Escrow,
					CreditAccountID: tr.Account, Amount: ledger.NewMoney(tr.Prize, cny)}
			}
			call := func(wallet uuid.UUID) *groupCall[tryCall, campaign.TryResult] {
				return &groupCall[tryCall, campaign.TryResult]{Req: tryCall{id: c.ID, payment: pay,
					in: campaign.TryInput{User: uuid.New(), Account: wallet, Seq: 1, At: at}}}
			}
			// k+1 tries take slots 0…k; the store is then told it had
			// taken one slot fewer: it expects the batch's first try at
			// slot k (losing) and the second, the predicted wallet's, at
			// k+1 (winning), while the first takes k+1 and wins.
			for range k + 1 {
				if _, err := s.Try(ctx, c.ID, campaign.TryInput{User: uuid.New(), Account: lo, Seq: 1, At: at}, pay); err != nil {
					t.Fatal(err)
				}
			}
			s.mu.Lock()
			s.hints[c.ID].taken = k
			s.mu.Unlock()
			before := balance(t, l, tc.winner)
			calls := []*groupCall[tryCall, campaign.TryResult]{call(tc.winner), call(tc.predicted)}
			if err := s.tryBatch(ctx, calls); err != nil {
				t.Fatal(err)
			}
			won, lost := calls[0], calls[1]
			if won.Err != nil || lost.Err != nil || won.Res.Try.Slot != k+1 || !won.Res.Try.Paid || won.Res.PayErr != nil ||
				lost.Res.Try.Slot != k+2 || lost.Res.Try.Won() {
				t.Fatalf("winner %+v %v, loser %+v %v", won.Res, won.Err, lost.Res, lost.Err)
			}
			if got := balance(t, l, tc.winner) - before; got != 100 {
				t.Fatalf("winner's wallet got %d, want 100", got)
			}
			got, err := s.Campaign(ctx, c.ID)
			if err != nil || got.Taken != k+3 || got.Paid != got.Winners {
				t.Fatalf("campaign %+v %v", got.State, err)
			}
			if esc := balance(t, l, c.Escrow); esc != c.Budget-got.Won {
				t.Fatalf("escrow %d, budget %d, won %d", esc, c.Budget, got.Won)
			}
		})
	}
}

func balance(t *testing.T, l *ledger.Ledger, id uuid.UUID) int64 {
	t.Helper()
	a, err := l.Account(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a.Balance.Net()
}

func TestOrderedAfter(t *testing.T) {
	a, b, c := uuid.MustParse("10000000-0000-4000-8000-000000000000"), uuid.MustParse("20000000-0000-4000-8000-000000000000"),
		uuid.MustParse("30000000-0000-4000-8000-000000000000")
	for _, tc := range []struct {
		locked, more []uuid.UUID
		want         bool
	}{
		{[]uuid.UUID{a}, []uuid.UUID{a, b}, true},
		{[]uuid.UUID{a, b}, []uuid.UUID{c, b}, true},
		{[]uuid.UUID{b}, []uuid.UUID{a, b}, false},
		{[]uuid.UUID{a, c}, []uuid.UUID{b}, false},
		{nil, []uuid.UUID{a}, true},
	} {
		if got := orderedAfter(tc.locked, tc.more); got != tc.want {
			t.Errorf("orderedAfter(%v, %v) = %v", tc.locked, tc.more, got)
		}
	}
}
