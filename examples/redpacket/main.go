// Command redpacket is a group chat on New Year's Eve, settled on
// socialpay's ledger (memory stores, a simulated clock): grandma sends a
// lucky packet and the whole family taps it at once; each claim is printed
// in claim order with best luck (手气最佳); an uncle's packet is only
// partly claimed and its remainder goes back to him when it expires; a
// password packet refuses a wrong phrase; then every balance, and the
// ledger's Verify.
//
//	go run ./examples/redpacket
//
// Who wins which share depends on who taps first, so it changes from run
// to run; the shares themselves come from a fixed seed.
package main

import (
	"context"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "redpacket:", err)
		os.Exit(1)
	}
}

// clock is the simulated clock of the ledger and the service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type member struct {
	name   string
	user   uuid.UUID
	wallet uuid.UUID
}

type chat struct {
	ctx     context.Context
	w       io.Writer
	clock   *clock
	l       *ledger.Ledger
	svc     *redpacket.Service
	group   uuid.UUID
	members []member
	byUser  map[uuid.UUID]string
	sent    int // packets sent: each send's idempotency key is the app's request number
}

func run(w io.Writer) error {
	ctx := context.Background()
	c := &chat{ctx: ctx, w: w, clock: &clock{t: time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)},
		group: uuid.New(), byUser: map[uuid.UUID]string{}}
	c.l = ledger.New(ledger.NewMemoryStore(), ledger.Options{Now: c.clock.Now})
	members := &redpacket.MemoryMembers{}
	// Password phrases are stored only as keyed hashes. A bank loads one
	// key from its KMS into every instance of its service; this one
	// process makes up its own.
	secret := make([]byte, redpacket.MinPasswordKeyLen)
	if _, err := cryptorand.Read(secret); err != nil {
		return err
	}
	key, err := redpacket.NewPasswordKey(secret)
	if err != nil {
		return err
	}
	svc, err := redpacket.New(redpacket.Config{
		Ledger: c.l, Store: redpacket.NewMemoryStore(c.l), Members: members, Now: c.clock.Now,
		Rand:        rand.NewChaCha8([32]byte([]byte("family chat, new year's eve 2026"))),
		PasswordKey: key,
	})
	if err != nil {
		return err
	}
	c.svc = svc
	cny := ledger.MustCurrency("CNY")
	bank, err := c.l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	if err != nil {
		return err
	}
	for _, name := range []string{"奶奶", "爸爸", "妈妈", "舅舅", "小明", "小红", "表哥", "表妹"} {
		wallet, err := c.l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits,
			Metadata: map[string]string{"name": name}})
		if err != nil {
			return err
		}
		m := member{name: name, user: uuid.New(), wallet: wallet.ID}
		c.members = append(c.members, m)
		c.byUser[m.user] = name
		members.Add(c.group, m.user)
		if _, err := c.l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: m.wallet,
			Amount: money("500.00")}); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "家人群: %d members, 500.00 CNY each\n\n", len(c.members))

	// 1. Grandma's lucky packet; everyone taps at once.
	grandma, uncle := c.members[0], c.members[3]
	p, err := c.send(redpacket.SendRequest{Kind: redpacket.Lucky, Sender: grandma.user, SenderAccount: grandma.wallet,
		Amount: money("88.88"), Count: 5})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s sends a lucky packet: %v in %d shares\n", grandma.name, p.Total, p.Count)
	won, soldOut, err := c.storm(p.ID, c.members, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d taps at once: %d shares, %d told it is sold out\n", len(c.members), won, soldOut)
	if err := c.show(p.ID); err != nil {
		return err
	}

	// 2. The uncle's packet: three grab, then it expires.
	c.clock.Advance(time.Minute)
	q, err := c.send(redpacket.SendRequest{Kind: redpacket.Lucky, Sender: uncle.user, SenderAccount: uncle.wallet,
		Amount: money("66.66"), Count: 6})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s sends a lucky packet: %v in %d shares\n", uncle.name, q.Total, q.Count)
	if _, _, err := c.storm(q.ID, c.members[4:7], ""); err != nil {
		return err
	}
	if err := c.show(q.ID); err != nil {
		return err
	}
	c.clock.Advance(24 * time.Hour)
	_, err = c.svc.Claim(ctx, redpacket.ClaimRequest{Packet: q.ID, User: c.members[7].user, Account: c.members[7].wallet})
	fmt.Fprintf(w, "24 hours later %s taps: %v\n", c.members[7].name, errors.Is(err, redpacket.ErrExpired))
	for range 2 { // the sweep runs again: nothing is refunded twice
		n, err := c.svc.RefundExpired(ctx, c.clock.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "refund sweep: %d packet(s) refunded\n", n)
	}
	v, err := c.svc.View(ctx, q.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s gets back %v (status %v)\n", uncle.name, v.Refund, v.Packet.Status)

	// 3. A password packet from mum.
	mum := c.members[2]
	r, err := c.send(redpacket.SendRequest{Kind: redpacket.Password, Sender: mum.user, SenderAccount: mum.wallet,
		Amount: money("20.26"), Count: 2, Password: "恭喜发财，大吉大利"})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s sends a password packet (口令 \"恭喜发财，大吉大利\"): %v in %d shares\n", mum.name, r.Total, r.Count)
	_, err = c.svc.Claim(ctx, redpacket.ClaimRequest{Packet: r.ID, User: c.members[4].user, Account: c.members[4].wallet, Password: "恭喜发财"})
	fmt.Fprintf(w, "%s types 恭喜发财: wrong password %v\n", c.members[4].name, errors.Is(err, redpacket.ErrWrongPassword))
	if _, _, err := c.storm(r.ID, c.members[4:6], " 恭喜发财,大吉大利"); err != nil { // an ASCII comma and a stray space match too
		return err
	}
	if err := c.show(r.ID); err != nil {
		return err
	}

	// 4. Balances and the ledger's own proof.
	fmt.Fprintln(w, "\nbalances:")
	var sum int64
	for _, m := range c.members {
		a, err := c.l.Account(ctx, m.wallet)
		if err != nil {
			return err
		}
		sum += a.Balance.Net()
		fmt.Fprintf(w, "  %s %12v\n", m.name, a.NetMoney())
	}
	fmt.Fprintf(w, "  all  %12v (8 × 500.00: nothing created or lost)\n", ledger.NewMoney(sum, cny))
	for _, id := range []uuid.UUID{p.ID, q.ID, r.ID} {
		pk, err := c.svc.Store().Packet(ctx, id)
		if err != nil {
			return err
		}
		esc, err := c.l.Account(ctx, pk.Escrow)
		if err != nil {
			return err
		}
		if !esc.Balance.IsZero() || esc.Status != ledger.AccountClosed {
			return fmt.Errorf("packet %s: escrow %v %v, want zero and closed", id, esc.NetMoney(), esc.Status)
		}
	}
	fmt.Fprintln(w, "every packet's escrow account: 0.00 CNY, closed")
	rep, err := c.l.Verify(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "ledger verified: %d accounts, %d entries, debits = credits\n", rep.Accounts, rep.Entries)
	if sum != 8*500_00 {
		return fmt.Errorf("wallets hold %d, want %d", sum, 8*500_00)
	}
	return nil
}

func money(s string) ledger.Money {
	m, err := ledger.ParseAmount(s, "CNY")
	if err != nil {
		panic(err) // constants of this program
	}
	return m
}

func (c *chat) send(req redpacket.SendRequest) (redpacket.Packet, error) {
	c.sent++
	req.Key, req.Group = "chat-request-"+strconv.Itoa(c.sent), c.group
	return c.svc.Send(c.ctx, req)
}

// storm has every one of ms tap packet at the same instant.
func (c *chat) storm(packet uuid.UUID, ms []member, password string) (won, soldOut int, err error) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	start := make(chan struct{})
	for _, m := range ms {
		wg.Go(func() {
			<-start
			_, e := c.svc.Claim(c.ctx, redpacket.ClaimRequest{Packet: packet, User: m.user, Account: m.wallet, Password: password})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case e == nil:
				won++
			case errors.Is(e, redpacket.ErrSoldOut):
				soldOut++
			case err == nil:
				err = e
			}
		})
	}
	close(start)
	wg.Wait()
	return won, soldOut, err
}

// show prints a packet's claims in claim order, what is left, and best luck.
func (c *chat) show(packet uuid.UUID) error {
	v, err := c.svc.View(c.ctx, packet)
	if err != nil {
		return err
	}
	for i, cl := range v.Claims {
		fmt.Fprintf(c.w, "  #%d %s %10v  %s\n", i+1, c.byUser[cl.User], cl.Amount, cl.ClaimedAt.Format("01-02 15:04"))
	}
	fmt.Fprintf(c.w, "  left: %d shares, %v\n", v.Remaining, v.RemainingAmount)
	if v.BestLuck >= 0 {
		best := v.Claims[v.BestLuck]
		fmt.Fprintf(c.w, "  手气最佳 best luck: %s, %v\n", c.byUser[best.User], best.Amount)
	}
	return nil
}
