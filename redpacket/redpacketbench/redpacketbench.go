// Package redpacketbench drives red-packet claims at full speed, for the Go
// benchmarks of package redpacket and for the load generator
// (examples/bench). It builds a bank (a ledger, a red-packet service, users
// with wallets, one big group, senders) on any stores, sends the packets
// up front, and hands out numbered operations that any number of
// goroutines run at once:
//
//	w, err := redpacketbench.New(ctx, redpacketbench.Config{Claims: 1_000_000})
//	res, err := w.Run(ctx, 8, 1_000_000, w.Claim)  // every claim posted on the ledger
//	taps, err := w.Run(ctx, 8, 1_000_000, w.Tap)   // taps on sold-out packets: the fast path
//	err = w.Check(ctx)                             // every packet settled, ledger verified
//
// Claim i goes to one of Config.Packets packets open at the same time
// (consecutive claims hit different packets), and every packet is claimed
// by distinct users, so the load is many concurrent packets each selling
// out, the way a New Year's Eve peak looks.
//
// The service records paid marks in the background
// (redpacket.Config.AsyncMarks), as a deployment on a database would at
// peak; Config.Configure changes that or anything else of the service's
// configuration. Check waits for the marks before it looks.
package redpacketbench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// Config sizes a World. Zero fields take the defaults.
type Config struct {
	// Ledger is the ledger to settle on; nil means a new one on a memory
	// store. Store is the red-packet store; nil means memory.
	Ledger *ledger.Ledger
	Store  redpacket.Store
	// Claims is how many claims the World prepares packets for. Default
	// 100,000.
	Claims int
	// Packets is how many packets are being claimed at once. Default 1,024.
	Packets int
	// Shares is the share count of every packet. Default 10.
	Shares int
	// Users is the number of users (each with a wallet), all in one group.
	// Default 10,000; at least Shares.
	Users int
	// Seed makes the splits reproducible.
	Seed uint64
	// Configure, when set, adjusts the service's configuration before the
	// World builds the service (after setting its Ledger, Store, Members,
	// Rules, Rand, CacheSize and AsyncMarks = true).
	Configure func(*redpacket.Config)
}

func (c *Config) defaults() error {
	if c.Claims <= 0 {
		c.Claims = 100_000
	}
	if c.Packets <= 0 {
		c.Packets = 1024
	}
	if c.Shares <= 0 {
		c.Shares = 10
	}
	if c.Users <= 0 {
		c.Users = 10_000
	}
	if c.Users < c.Shares+1 {
		return fmt.Errorf("redpacketbench: %d users cannot claim %d shares each and leave someone to tap", c.Users, c.Shares)
	}
	return nil
}

// World is a bank ready to take claims.
type World struct {
	Ledger  *ledger.Ledger
	Service *redpacket.Service
	cfg     Config
	next    atomic.Int64 // NextClaim's counter
	group   uuid.UUID
	packets []uuid.UUID // in send order
	users   []uuid.UUID
	wallets []uuid.UUID
}

// everyone is a group everyone belongs to: the bank's membership service
// is not what is measured.
type everyone struct{ size int }

func (e everyone) IsMember(context.Context, uuid.UUID, uuid.UUID) (bool, error) { return true, nil }
func (e everyone) GroupSize(context.Context, uuid.UUID) (int, error)            { return e.size, nil }

// New builds a World and sends ⌈Claims/Shares⌉ lucky packets of 0.10 CNY
// per share to the group, from 64 senders.
func New(ctx context.Context, cfg Config) (*World, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	l := cfg.Ledger
	if l == nil {
		l = ledger.New(nil, ledger.Options{})
	}
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], cfg.Seed)
	rules := redpacket.DefaultRules()
	rules.MaxCount = max(rules.MaxCount, cfg.Shares)
	cny := ledger.MustCurrency("CNY")
	svcCfg := redpacket.Config{
		Ledger: l, Store: cfg.Store, Members: everyone{cfg.Users},
		Rules: map[ledger.Currency]redpacket.Rules{cny: rules},
		Rand:  rand.NewChaCha8(seed), CacheSize: 4 * cfg.Packets,
		AsyncMarks: true,
		// One process; its packets are lucky ones, with no phrase to hash.
		SingleProcess: true,
	}
	if cfg.Configure != nil {
		cfg.Configure(&svcCfg)
	}
	svc, err := redpacket.New(svcCfg)
	if err != nil {
		return nil, err
	}
	ids := newIDs(cfg.Seed)
	w := &World{Ledger: l, Service: svc, cfg: cfg, group: ids.next()}
	bank, err := l.CreateAccount(ctx, ledger.Account{ID: ids.next(), Currency: cny})
	if err != nil {
		return nil, err
	}
	w.users = make([]uuid.UUID, cfg.Users)
	w.wallets = make([]uuid.UUID, cfg.Users)
	for i := range w.users {
		w.users[i] = ids.next()
		a, err := l.CreateAccount(ctx, ledger.Account{ID: ids.next(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
		if err != nil {
			return nil, err
		}
		w.wallets[i] = a.ID
	}
	n := (cfg.Claims + cfg.Shares - 1) / cfg.Shares
	const perShare = 10 // fen
	total := ledger.NewMoney(perShare*int64(cfg.Shares), cny)
	senders := min(64, cfg.Users)
	for i := range senders {
		fund, err := total.Mul(int64(n/senders + 1))
		if err != nil {
			return nil, err
		}
		if _, err := l.Transfer(ctx, ledger.Transfer{ID: ids.next(), DebitAccountID: bank.ID, CreditAccountID: w.wallets[i], Amount: fund}); err != nil {
			return nil, err
		}
	}
	w.packets = make([]uuid.UUID, n)
	key := func(i int) string { return "packet-" + strconv.Itoa(i) }
	for i := range w.packets {
		w.packets[i] = svc.PacketID(w.users[i%senders], key(i))
	}
	_, err = w.Run(ctx, 8, n, func(ctx context.Context, i int) error {
		s := i % senders
		_, err := svc.Send(ctx, redpacket.SendRequest{
			Key: key(i), Kind: redpacket.Lucky, Sender: w.users[s], SenderAccount: w.wallets[s],
			Group: w.group, Amount: total, Count: cfg.Shares,
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("redpacketbench: send packets: %w", err)
	}
	return w, nil
}

// Packets returns the IDs of the packets sent, in order.
func (w *World) Packets() []uuid.UUID { return w.packets }

// ErrExhausted: an operation number beyond what the World was built for.
var ErrExhausted = errcode.New("exhausted", errcode.Internal, "redpacketbench: no packet left for this claim")

// slot returns the packet and the share position of claim i. Claims come
// in windows of Packets packets; within a window consecutive claims go to
// different packets, and a window's packets sell out together.
func (w *World) slot(i int) (pk, j int, err error) {
	p, s := w.cfg.Packets, w.cfg.Shares
	if i < 0 || i >= len(w.packets)*s {
		return 0, 0, fmt.Errorf("%w: claim %d of %d", ErrExhausted, i, len(w.packets)*s)
	}
	base := i / (p * s) * p
	width := min(p, len(w.packets)-base)
	off := i - base*s
	return base + off%width, off / width, nil
}

// claimer returns the user (index) who makes share position j of packet pk:
// distinct for every j of one packet.
func (w *World) claimer(pk, j int) int { return (pk*w.cfg.Shares + j) % len(w.users) }

// Claim makes claim number i (0 ≤ i < Config.Claims): recorded in the store
// and paid on the ledger.
func (w *World) Claim(ctx context.Context, i int) error {
	pk, j, err := w.slot(i)
	if err != nil {
		return err
	}
	u := w.claimer(pk, j)
	_, err = w.Service.Claim(ctx, redpacket.ClaimRequest{Packet: w.packets[pk], User: w.users[u], Account: w.wallets[u]})
	return err
}

// NextClaim makes the next claim in order (claim 0, 1, 2… across every
// caller): the call for a duration-bound load generator. It returns
// ErrExhausted once Config.Claims claims were made.
func (w *World) NextClaim(ctx context.Context) error {
	return w.Claim(ctx, int(w.next.Add(1)-1))
}

// Claimed returns how many claims NextClaim handed out (some may still be
// running).
func (w *World) Claimed() int { return int(min(w.next.Load(), int64(len(w.packets)*w.cfg.Shares))) }

// Tap makes tap number i on a sold-out packet by a member who has no share
// of it, which must be answered redpacket.ErrSoldOut (the fast path). It
// taps the last Packets packets sent, which the claims must have sold out.
func (w *World) Tap(ctx context.Context, i int) error {
	width := min(w.cfg.Packets, len(w.packets))
	pk := len(w.packets) - 1 - i%width
	u := (pk*w.cfg.Shares + w.cfg.Shares + (i/width)%(len(w.users)-w.cfg.Shares)) % len(w.users)
	_, err := w.Service.Claim(ctx, redpacket.ClaimRequest{Packet: w.packets[pk], User: w.users[u], Account: w.wallets[u]})
	if errors.Is(err, redpacket.ErrSoldOut) {
		return nil
	}
	if err == nil {
		return fmt.Errorf("redpacketbench: tap %d on packet %d got a share: it was not sold out", i, pk)
	}
	return err
}

// Result is what Run measured.
type Result struct {
	Ops     int
	Elapsed time.Duration
}

// PerSecond returns operations per second.
func (r Result) PerSecond() float64 { return float64(r.Ops) / r.Elapsed.Seconds() }

func (r Result) String() string {
	return fmt.Sprintf("%d ops in %v: %.0f/s, %.2f µs/op", r.Ops, r.Elapsed.Round(time.Millisecond), r.PerSecond(), float64(r.Elapsed.Microseconds())/float64(r.Ops))
}

// Run runs op(ctx, 0) … op(ctx, n−1) from workers goroutines, each taking
// the next number in turn, and measures the wall time. It stops at the
// first error and returns it.
func (w *World) Run(ctx context.Context, workers, n int, op func(ctx context.Context, i int) error) (Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	start := time.Now()
	for range max(1, workers) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := op(ctx, i); err != nil {
					once.Do(func() { first = fmt.Errorf("op %d: %w", i, err); cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	return Result{Ops: n, Elapsed: time.Since(start)}, first
}

// Check verifies the World after claims: once the service's background
// paid marks have landed (Service.Flush), every packet whose shares were
// all claimed is sold out and settled with its escrow account closed at
// zero, and the ledger verifies.
func (w *World) Check(ctx context.Context, claims int) error {
	if err := w.Service.Flush(ctx); err != nil {
		return err
	}
	full := claims / (w.cfg.Packets * w.cfg.Shares) * w.cfg.Packets // packets in complete windows
	if claims >= len(w.packets)*w.cfg.Shares {
		full = len(w.packets)
	}
	for _, id := range w.packets[:full] {
		p, err := w.Service.Store().Packet(ctx, id)
		if err != nil {
			return err
		}
		if p.Status != redpacket.StatusSoldOut || !p.Settled {
			return fmt.Errorf("redpacketbench: packet %s: %+v, want sold out and settled", id, p.State)
		}
		esc, err := w.Ledger.Account(ctx, p.Escrow)
		if err != nil {
			return err
		}
		if !esc.Balance.IsZero() || esc.Status != ledger.AccountClosed {
			return fmt.Errorf("redpacketbench: packet %s: escrow %+v", id, esc.Balance)
		}
	}
	_, err := w.Ledger.Verify(ctx)
	return err
}

// ids hands out distinct UUIDs without crypto/rand, so that setting up a
// World measures nothing but what it must.
type ids struct{ n atomic.Uint64 }

func newIDs(seed uint64) *ids {
	g := &ids{}
	g.n.Store(seed << 32)
	return g
}

func (g *ids) next() uuid.UUID {
	var id uuid.UUID
	n := g.n.Add(1)
	binary.BigEndian.PutUint64(id[0:8], n*0x9E3779B97F4A7C15)
	binary.BigEndian.PutUint64(id[8:16], n)
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return id
}
