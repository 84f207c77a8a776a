package ledgertest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// testConcurrentWallet: 1,000 goroutines spend from one wallet that holds
// enough for 600 of them. Exactly 600 succeed, the rest get insufficient
// funds, and the wallet ends at exactly zero.
func testConcurrentWallet(t *testing.T, e *env) {
	const spenders, fits = 1000, 600
	w := e.wallet("6.00") // 600 fen
	sinks := make([]uuid.UUID, 8)
	for i := range sinks {
		sinks[i] = e.wallet("")
	}
	var ok, poor atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range spenders {
		wg.Go(func() {
			<-start
			_, err := e.pay(w, sinks[i%len(sinks)], "0.01")
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ledger.ErrInsufficientFunds):
				poor.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	if ok.Load() != fits || poor.Load() != spenders-fits {
		t.Fatalf("%d succeeded, %d refused; want %d and %d", ok.Load(), poor.Load(), fits, spenders-fits)
	}
	e.balance(w, ledger.Balance{CreditsPosted: fits, DebitsPosted: fits})
	total := int64(0)
	for _, s := range sinks {
		total += e.get(s).Balance.Net()
	}
	if total != fits {
		t.Fatalf("sinks received %d, want %d", total, fits)
	}
	e.verify()
}

// testConcurrentRetries: 50 transfers, each submitted by 20 goroutines at
// once (as a client retrying on timeouts would). Each is applied once.
func testConcurrentRetries(t *testing.T, e *env) {
	const transfers, retries = 50, 20
	w := e.wallet("1000.00")
	to := e.wallet("")
	ts := make([]ledger.Transfer, transfers)
	for i := range ts {
		ts[i] = ledger.Transfer{ID: uuid.New(), DebitAccountID: w, CreditAccountID: to, Amount: e.money("1.00")}
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	stamps := make([][]ledger.Transfer, transfers)
	var mu sync.Mutex
	for i := range ts {
		for range retries {
			wg.Go(func() {
				<-start
				got, err := e.l.Transfer(e.ctx, ts[i])
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				stamps[i] = append(stamps[i], got)
				mu.Unlock()
			})
		}
	}
	close(start)
	wg.Wait()
	e.net(to, transfers*100)
	for i, got := range stamps {
		for _, g := range got {
			if !g.Timestamp.Equal(got[0].Timestamp) || g.ID != ts[i].ID {
				t.Fatalf("transfer %d: retries saw different originals: %+v vs %+v", i, g, got[0])
			}
		}
	}
	// And as linked batches retried concurrently.
	batch := []ledger.Transfer{
		{ID: uuid.New(), DebitAccountID: w, CreditAccountID: to, Amount: e.money("2.00")},
		{ID: uuid.New(), DebitAccountID: to, CreditAccountID: w, Amount: e.money("0.50")},
	}
	start = make(chan struct{})
	for range retries {
		wg.Go(func() {
			<-start
			if _, err := e.l.Linked(e.ctx, batch); err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	e.net(to, transfers*100+150)
	e.verify()
}

// testConcurrentResolve: many goroutines race to post or void each hold;
// exactly one wins per hold.
func testConcurrentResolve(t *testing.T, e *env) {
	const holds, racers = 20, 16
	w := e.wallet("100.00")
	to := e.wallet("")
	hs := make([]ledger.Transfer, holds)
	for i := range hs {
		hs[i] = e.hold(w, to, "1.00", 0)
	}
	var posted, voided, lost atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range hs {
		for r := range racers {
			wg.Go(func() {
				<-start
				var err error
				if r%2 == 0 {
					_, err = e.l.Post(e.ctx, uuid.New(), hs[i].ID, ledger.Money{})
				} else {
					_, err = e.l.Void(e.ctx, uuid.New(), hs[i].ID)
				}
				switch {
				case err == nil && r%2 == 0:
					posted.Add(1)
				case err == nil:
					voided.Add(1)
				case errors.Is(err, ledger.ErrPendingResolved):
					lost.Add(1)
				default:
					t.Error(err)
				}
			})
		}
	}
	close(start)
	wg.Wait()
	if posted.Load()+voided.Load() != holds || lost.Load() != holds*(racers-1) {
		t.Fatalf("posted %d voided %d lost %d", posted.Load(), voided.Load(), lost.Load())
	}
	e.balance(w, ledger.Balance{CreditsPosted: 10000, DebitsPosted: posted.Load() * 100})
	e.verify()
}

// testConcurrentLinked: linked batches over overlapping accounts in
// opposite orders must neither deadlock nor lose money.
func testConcurrentLinked(t *testing.T, e *env) {
	const n = 6
	ws := make([]uuid.UUID, n)
	for i := range ws {
		ws[i] = e.wallet("10.00")
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range 24 {
		wg.Go(func() {
			<-start
			for k := range 10 {
				a, b, c := ws[(g+k)%n], ws[(g+k+1)%n], ws[(g+2*k+3)%n]
				if c == a || c == b {
					c = ws[(g+k+2)%n]
				}
				batch := []ledger.Transfer{
					{ID: uuid.New(), DebitAccountID: a, CreditAccountID: b, Amount: e.money("0.30")},
					{ID: uuid.New(), DebitAccountID: b, CreditAccountID: c, Amount: e.money("0.20")},
					{ID: uuid.New(), DebitAccountID: c, CreditAccountID: a, Amount: e.money("0.10")},
				}
				if g%2 == 1 {
					batch[0], batch[2] = batch[2], batch[0]
				}
				if _, err := e.l.Linked(e.ctx, batch); err != nil && !errors.Is(err, ledger.ErrInsufficientFunds) {
					t.Error(err)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	total := int64(0)
	for _, w := range ws {
		b := e.get(w).Balance
		if b.Available() < 0 {
			t.Fatalf("wallet went negative: %+v", b)
		}
		total += b.Net()
	}
	if total != n*1000 {
		t.Fatalf("wallets hold %d, want %d", total, n*1000)
	}
	e.verify()
}
