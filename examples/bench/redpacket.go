package main

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/postgres"
	"github.com/socialpay/socialpay/redpacket"
	"github.com/socialpay/socialpay/redpacket/redpacketbench"
)

// Red packets (issue 4): claims of lucky packets, many packets open at
// once, each claim recorded in the red-packet store and paid from the
// packet's escrow account on the ledger; and taps on sold-out packets, the
// fast path that answers from the service's cache.

func init() {
	register("redpacket", "claims of lucky red packets (10 shares of 0.10 CNY, 1,024 packets open at once), "+
		"the packets sent up front for -ops claims (default: an estimate from -duration)",
		func() Scenario { return &redPackets{} })
	register("redpacket-soldout", "taps on sold-out red packets by members without a share: the fast path "+
		"(the packets, -ops claims or 10,240, are sent and sold out before the clock starts)",
		func() Scenario { return &redPackets{soldOut: true} })
}

// Packets open at once and shares per packet: redpacketbench's defaults,
// spelled out because verification walks the packets in the same windows.
const (
	rpPackets = 1024
	rpShares  = 10
)

type redPackets struct {
	feature // acked: claims (or taps) answered with success
	soldOut bool
	w       *redpacketbench.World
	claims  int          // claims prepared (redpacket) or made in setup (redpacket-soldout)
	next    atomic.Int64 // the next claim or tap number
}

func (s *redPackets) Unit() string {
	if s.soldOut {
		return "taps"
	}
	return "claims"
}

func (s *redPackets) Setup(ctx context.Context, env *Env) error {
	s.setup(ctx, env)
	var store redpacket.Store // nil: the memory store
	if env.DB != nil {
		store = postgres.NewRedPacketStore(env.DB)
	}
	if s.soldOut {
		s.claims = rpPackets * rpShares
		if env.Opts.Ops > 0 {
			s.claims = env.Opts.Ops
		}
	} else {
		// About 1 µs a claim on the memory store, 1–2 ms on PostgreSQL at
		// 8 clients; running out early only shortens the run.
		s.claims = env.estimate(1_000_000, 5_000)
	}
	s.claims = (s.claims + rpShares - 1) / rpShares * rpShares // whole packets
	var err error
	s.w, err = redpacketbench.New(ctx, redpacketbench.Config{
		Ledger: env.Ledger, Store: store, Claims: s.claims, Packets: rpPackets, Shares: rpShares,
		Users: env.Opts.Accounts, Seed: env.Opts.Seed,
	})
	if err != nil {
		return err
	}
	// The World's IDs follow from the seed alone: on a schema that an
	// earlier run with the same -seed used, every claim would be that run's
	// claim again, answered without any work.
	for _, id := range []uuid.UUID{s.w.Packets()[0], s.w.Packets()[len(s.w.Packets())-1]} {
		p, err := s.w.Service.Store().Packet(ctx, id)
		switch {
		case err != nil:
			return err
		case p.Claimed > 0:
			return fmt.Errorf("packet %s is claimed already: an earlier run used seed %d on this schema; "+
				"use another -seed or -reset", id, env.Opts.Seed)
		}
	}
	if s.soldOut {
		if _, err := s.w.Run(ctx, env.Opts.Clients, s.claims, s.w.Claim); err != nil {
			return fmt.Errorf("sell the packets out: %w", err)
		}
	}
	return s.begin()
}

func (s *redPackets) Client(int, *rand.Rand) Client { return s }

// Do makes the next claim (or tap): one operation (feature.do), sent again
// while the store fails (the same claim, which the service answers once).
func (s *redPackets) Do(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err // before taking a number: Verify counts the numbers taken
	}
	i := int(s.next.Add(1) - 1)
	op := s.w.Tap
	if !s.soldOut {
		if i >= s.claims {
			return 0, errUsedUp
		}
		op = s.w.Claim
	}
	return s.do(ctx, func(ctx context.Context) error { return op(ctx, i) })
}

// Verify checks, for claims: every claim is recorded once in the store and
// paid on the ledger (the transfer ClaimTransferID with the share's amount
// from the packet's escrow to the claimer's wallet); each packet's escrow
// holds exactly its total less its claims; the claims recorded are those
// acknowledged (plus at most those left unknown); the ledger moved exactly
// the sum of the shares; redpacketbench's Check (every packet of a
// complete window sold out and settled, its escrow closed at zero) and
// the ledger's Verify pass. Claims a failing store left unpaid are paid by
// the service's Reconcile first, as a bank's would (a run without store
// failures must leave none). For taps: the packets sold out in setup are
// settled, and the taps moved no money.
func (s *redPackets) Verify(ctx context.Context) (string, error) {
	svc := s.w.Service
	handed := min(int(s.next.Load()), s.claims)
	if s.soldOut {
		handed = s.claims
	}
	if err := svc.Flush(ctx); err != nil { // the paid marks in flight land first
		return "verify flush=FAILED", err
	}
	rec, err := svc.Reconcile(ctx, time.Now().Add(time.Hour))
	if err != nil {
		return "verify reconcile=FAILED", err
	}
	if rec != (redpacket.ReconcileReport{}) && s.env.errors.Load() == 0 && s.env.unknown.Load() == 0 {
		return fmt.Sprintf("verify reconcile=%+v", rec), errors.New("a run without store failures left work for Reconcile")
	}
	if err := s.w.Check(ctx, handed); err != nil {
		return "verify check=FAILED", err
	}
	var c claimCheck
	if !s.soldOut {
		// The packets of every window a claim reached.
		window := rpPackets * rpShares
		touched := min(len(s.w.Packets()), (handed+window-1)/window*rpPackets)
		if err := c.run(ctx, s.env, svc, s.w.Packets()[:touched]); err != nil {
			return "verify claims=FAILED", err
		}
	}
	after, err := snapshot(ctx, s.env.Ledger)
	if err != nil {
		return "verify ledger-verify=FAILED", err
	}
	mv := moved(s.before, after, ledger.MustCurrency("CNY"))
	if s.soldOut {
		report := fmt.Sprintf("verify taps=%d sold-out-packets=%d claims-before=%d moved=%s ledger-verify=ok accounts=%d entries=%d",
			s.next.Load(), len(s.w.Packets()), s.claims, mv, after.Accounts, after.Entries)
		if mv.Sign() != 0 {
			return report, fmt.Errorf("taps on sold-out packets moved %s", mv)
		}
		return report, nil
	}
	acked, unknown := int(s.acked.Load()), int(s.env.unknown.Load())
	report := fmt.Sprintf("verify acknowledged=%d recorded=%d paid=%d unknown=%d reconciled=%+v moved=%s sum-of-shares=%d "+
		"packets-checked=%d ledger-verify=ok accounts=%d entries=%d",
		acked, c.claims.Load(), c.paid.Load(), unknown, rec, mv, c.amount.Load(), c.packets.Load(), after.Accounts, after.Entries)
	var bad []error
	if n := int(c.claims.Load()); n < acked || n > acked+unknown {
		bad = append(bad, fmt.Errorf("%d claims recorded, %d acknowledged (%d unknown)", n, acked, unknown))
	}
	if c.paid.Load() != c.claims.Load() {
		bad = append(bad, fmt.Errorf("%d claims recorded, %d of them paid", c.claims.Load(), c.paid.Load()))
	}
	if mv.Cmp(big.NewInt(c.amount.Load())) != 0 {
		bad = append(bad, fmt.Errorf("the ledger moved %s, the claims' shares sum to %d", mv, c.amount.Load()))
	}
	return report, errors.Join(append(bad, c.errs...)...)
}

// claimCheck walks packets and checks their claims against the ledger.
type claimCheck struct {
	packets, claims, paid, amount atomic.Int64
	errs                          []error // the first few things found wrong
}

func (c *claimCheck) run(ctx context.Context, env *Env, svc *redpacket.Service, packets []uuid.UUID) error {
	errs := make(chan error, 10)
	err := inChunks(ctx, max(4, env.Opts.Clients), 500, packets, func(ctx context.Context, chunk []uuid.UUID) error {
		for _, e := range c.chunk(ctx, env, svc, chunk) {
			select {
			case errs <- e:
			default:
			}
		}
		return nil
	})
	close(errs)
	for e := range errs {
		c.errs = append(c.errs, e)
	}
	return err
}

// chunk checks some packets and returns what is wrong with them (or that
// the stores could not answer).
func (c *claimCheck) chunk(ctx context.Context, env *Env, svc *redpacket.Service, ids []uuid.UUID) []error {
	var bad []error
	var want []ledger.Transfer
	for _, id := range ids {
		p, err := svc.Store().Packet(ctx, id)
		if err != nil {
			return append(bad, err)
		}
		cl, err := svc.Store().Claims(ctx, id)
		if err != nil {
			return append(bad, err)
		}
		var sum int64
		for _, x := range cl {
			sum += x.Amount.Units()
			want = append(want, ledger.Transfer{ID: svc.ClaimTransferID(id, x.User), DebitAccountID: p.Escrow,
				CreditAccountID: x.Account, Amount: x.Amount})
		}
		if len(cl) != p.Claimed || p.Posted != p.Claimed {
			bad = append(bad, fmt.Errorf("packet %s: %d claims listed, state %+v", id, len(cl), p.State))
		}
		esc, err := env.Ledger.Account(ctx, p.Escrow)
		if err != nil {
			return append(bad, err)
		}
		if esc.Balance.Net() != p.Total.Units()-sum {
			bad = append(bad, fmt.Errorf("packet %s: escrow holds %d, total %d less claims %d", id, esc.Balance.Net(), p.Total.Units(), sum))
		}
		c.packets.Add(1)
		c.claims.Add(int64(len(cl)))
		c.amount.Add(sum)
	}
	paid, wrong, err := checkStored(ctx, env.lookup, 1, want)
	if err != nil {
		return append(bad, err)
	}
	c.paid.Add(int64(paid))
	return append(bad, wrong...)
}
