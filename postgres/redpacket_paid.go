package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

var _ redpacket.PayingStore = (*RedPacketStore)(nil)

// PaysOn implements redpacket.PayingStore: ClaimPaid pays on a ledger
// LedgerStore of this package on the same database and schema as s (the same
// pool and Schema), so that a claim and its payment share one transaction.
func (s *RedPacketStore) PaysOn(ls ledger.Store) bool {
	st, ok := ls.(*LedgerStore)
	return ok && st.db.pool == s.db.pool && st.db.schema == s.db.schema
}

// ClaimPaid implements redpacket.PayingStore: Claim and the payment of the
// claim's share on the ledger in one transaction, two round trips and one
// commit. Concurrent calls are gathered into one transaction, as claims
// are (see Claim):
//
//  1. it begins, locks the packets claimed (in ID order), reads the
//     claimers' claims, and locks the accounts every call's payment
//     would name (each packet's escrow and each claimer's wallet, in ID
//     order, as the LedgerStore does: payment of a claim without its
//     share says which) and loads the transfers of their IDs;
//  2. redpacket.Packet.Take hands out the next shares in arrival order,
//     payment builds each new claim's transfer, and ledger.ApplyBatch
//     decides the transfers, each on its own. If it refuses one, the
//     packets go back to the state read under the lock and the shares are
//     handed out and paid again without that caller, who gets the
//     refusal, until none is refused; then redpacket.Packet.MarkPosted
//     records each claim paid, and the second round trip inserts the
//     claims, updates the packets, writes the ledger's rows and commits.
//
// Locks are taken packets first, then accounts in ID order, and no other
// transaction takes an account lock before a packet lock (the ledger's
// transactions lock accounts only, the red-packet store's packets only),
// so these transactions queue and never deadlock. A caller whose context
// ends first gets its error, and its claim may still be recorded and paid
// (claiming again returns it).
//
// Errors: redpacket.ErrPacketNotFound, ErrNotFunded, ErrPacketCancelled,
// ErrRefunded, ErrSoldOut, ErrExpired; the ledger's refusal of the payment
// (a *ledger.TransferError, Index 0, wrapping the reason — a
// *ledger.AccountError with ledger.ErrAccountNotFound, ErrAccountClosed
// or ErrAccountFrozen, ledger.ErrCurrencyMismatch, or ValidateTransfer's
// error), with nothing recorded; and the infrastructure errors of this
// package, after which the claim may or may not be recorded and paid.
func (s *RedPacketStore) ClaimPaid(ctx context.Context, id, user, account uuid.UUID, now, paidAt time.Time, payment func(redpacket.Claim) ledger.Transfer) (redpacket.ClaimResult, error) {
	return s.paid.Do(ctx, paidCall{claimCall: claimCall{packet: id, user: user, account: account, now: now}, paidAt: paidAt, payment: payment})
}

type paidCall struct {
	claimCall
	paidAt  time.Time
	payment func(redpacket.Claim) ledger.Transfer
}

// paidRound is one decision of a batch of paid claims: the claims Take
// handed out, in arrival order, and their payments.
type paidRound struct {
	claims    []redpacket.Claim
	transfers []ledger.Transfer
	owner     []int              // the call of each claim
	first     map[claimKey]int   // the claim of each (packet, user), by index in claims
	changed   map[uuid.UUID]bool // the packets that took claims
}

// claimPaidBatch records and pays a batch of claims in one transaction.
func (s *RedPacketStore) claimPaidBatch(ctx context.Context, calls []*groupCall[paidCall, redpacket.ClaimResult]) error {
	keys := make([]claimKey, len(calls))
	var paidAt time.Time
	for i, c := range calls {
		keys[i] = claimKey{c.Req.packet, c.Req.user}
		if c.Req.paidAt.After(paidAt) {
			paidAt = c.Req.paidAt
		}
	}
	lk := lockKeysOf(probes(calls))
	return s.db.run(ctx, "claim and pay red packets", func(ctx context.Context, conn *pgx.Conn) error {
		b := txBatch()
		lb := s.queueLockBatch(b, keys)
		v, err := s.ledger.lock(ctx, conn, b, lk)
		if err != nil {
			return err
		}
		lb.read()
		locked := make(map[uuid.UUID]redpacket.Packet, len(lb.packets)) // as read under the lock
		for id, p := range lb.packets {
			if p != nil {
				locked[id] = *p
			}
		}
		refused := make([]error, len(calls))
		for {
			r, ok := takePaid(calls, keys, lb, locked, refused)
			if !ok {
				continue // a payment was invalid: decide without it
			}
			if len(r.claims) == 0 {
				s.recordPaid(calls, keys, lb, &r, nil, paidAt)
				return nil // nothing to record; the transaction rolls back
			}
			if !lk.covers(r.transfers) {
				// Every payment names the accounts and ID its probe did.
				return fmt.Errorf("%w: claim payments name other accounts or IDs than their probes", ErrIntegrity)
			}
			out := ledger.ApplyBatch(v, r.transfers, false, paidAt)
			again := false
			for j := range out.Results {
				if err := out.Results[j].Err; err != nil {
					refused[r.owner[j]] = ledger.Reindexed(err, 0)
					again = true
				}
			}
			if again {
				continue
			}
			s.recordPaid(calls, keys, lb, &r, &out, paidAt)
			w := &pgx.Batch{}
			s.queueClaims(w, r.claims)
			s.queueStates(w, lb, r.changed)
			if changes(&out) {
				s.ledger.queueOutcome(w, &out)
			}
			queueCommit(w)
			return conn.SendBatch(ctx, w).Close()
		}
	})
}

// takePaid restores the packets to their state under the lock and lets
// Packet.Take hand out shares to the calls not refused, in arrival order,
// with each new claim's payment. It reports false after refusing a call
// whose payment is not a valid transfer.
func takePaid(calls []*groupCall[paidCall, redpacket.ClaimResult], keys []claimKey, lb *lockedBatch, locked map[uuid.UUID]redpacket.Packet, refused []error) (paidRound, bool) {
	for id, p := range locked {
		*lb.packets[id] = p
	}
	r := paidRound{first: map[claimKey]int{}, changed: map[uuid.UUID]bool{}}
	for i, c := range calls {
		c.Res, c.Err = redpacket.ClaimResult{}, refused[i]
		if c.Err != nil {
			continue
		}
		p := lb.packets[c.Req.packet]
		switch {
		case p == nil:
			c.Err = notFound(c.Req.packet)
			continue
		case lb.claims[keys[i]] != nil:
			c.Res = redpacket.ClaimResult{Claim: *lb.claims[keys[i]], Existing: true}
			continue
		}
		if _, ok := r.first[keys[i]]; ok {
			// The same user again in this batch: recordPaid answers with
			// the claim, unless its payment is refused.
			continue
		}
		nc, err := p.Take(c.Req.user, c.Req.account, c.Req.now)
		if err != nil {
			c.Err = err
			continue
		}
		t := c.Req.payment(nc)
		if err := ledger.ValidateTransfer(&t); err != nil {
			refused[i] = &ledger.TransferError{ID: t.ID, Err: err}
			return paidRound{}, false
		}
		r.first[keys[i]] = len(r.claims)
		r.claims = append(r.claims, nc)
		r.transfers = append(r.transfers, t)
		r.owner = append(r.owner, i)
		r.changed[p.ID] = true
	}
	return r, true
}

// probes returns the payment each call would make if it took a claim, with
// no amount: the accounts and ID of a payment depend on the claim's
// packet, user and account only (see redpacket.PayingStore), so the first
// round trip locks every account any round may pay, after the packets, in
// one statement and in ID order.
func probes(calls []*groupCall[paidCall, redpacket.ClaimResult]) []ledger.Transfer {
	out := make([]ledger.Transfer, len(calls))
	for i, c := range calls {
		out[i] = c.Req.payment(redpacket.Claim{PacketID: c.Req.packet, User: c.Req.user, Account: c.Req.account, ClaimedAt: c.Req.now})
	}
	return out
}

// settleIn settles a packet its claims completed (Packet.Complete: sold
// out, every claim paid) in the batch's outcome: its escrow account, at
// zero after the batch, is closed (ledger.ApplyAccountEvent) and the
// packet recorded settled (Packet.Settle), in the claims' commit. An
// escrow the rules will not close (not at zero: money moved into it
// behind the service's back) is left to Reconcile, which reports it.
func settleIn(out *ledger.BatchOutcome, p *redpacket.Packet, at time.Time) {
	if !p.Complete() || p.Settled {
		return
	}
	for i := range out.Accounts {
		st := out.Accounts[i] // a copy: kept only if the close is
		if st.Account.ID != p.Escrow {
			continue
		}
		e, changed, err := ledger.ApplyAccountEvent(&st, ledger.EventClose, at)
		if err != nil || !changed {
			return
		}
		if _, err := p.Settle(); err != nil {
			return
		}
		out.Accounts[i] = st
		out.Entries = append(out.Entries, e)
		return
	}
}

// recordPaid marks the round's claims posted (Packet.MarkPosted), settles
// the packets they completed when out (the batch's ledger outcome, applied
// at at) is given, and
// answers the calls: each its claim, a second call of the same user the
// same claim as existing, and every caller its packet's state after the
// batch.
func (s *RedPacketStore) recordPaid(calls []*groupCall[paidCall, redpacket.ClaimResult], keys []claimKey, lb *lockedBatch, r *paidRound, out *ledger.BatchOutcome, at time.Time) {
	for j := range r.claims {
		lb.packets[r.claims[j].PacketID].MarkPosted(&r.claims[j])
	}
	if out != nil {
		for id := range r.changed {
			settleIn(out, lb.packets[id], at)
		}
	}
	for i, c := range calls {
		if c.Err != nil {
			continue
		}
		if j, ok := r.first[keys[i]]; ok && !c.Res.Existing {
			c.Res = redpacket.ClaimResult{Claim: r.claims[j], Existing: r.owner[j] != i}
		}
		c.Res.State = lb.packets[c.Req.packet].State
	}
}

// SendPaid implements redpacket.PayingStore: CreatePacket and the
// packet's funding in one transaction, two round trips and one commit.
// The first inserts the packet (status funding; a packet of that ID
// already there ends the transaction) and locks the sender's and the
// escrow's accounts as the LedgerStore does. Then ledger.ApplyBatch
// decides the funding on them — with the escrow account as
// ledger.NewAccountState makes it when it is not there yet — and
// redpacket.Packet.Open (or, refused, Packet.Cancel with
// redpacket.FundingRefusal's reason) decides the packet; the second round
// trip writes the escrow account (only if funded), the ledger's rows and
// the packet's state, and commits.
//
// Errors: redpacket.ErrPacketExists (with the stored packet),
// Packet.Validate's, ledger.ValidateAccount's, ledger.ValidateTransfer's
// (a *ledger.TransferError), ledger.ErrIdempotencyConflict (an escrow
// account of that ID and other content), and the infrastructure errors of
// this package, after which the packet may or may not be recorded and
// funded.
func (s *RedPacketStore) SendPaid(ctx context.Context, p redpacket.Packet, escrow ledger.Account, fund ledger.Transfer, paidAt time.Time) (redpacket.Packet, error) {
	if err := p.Validate(); err != nil {
		return redpacket.Packet{}, err
	}
	if err := ledger.ValidateAccount(&escrow); err != nil {
		return redpacket.Packet{}, err
	}
	if err := ledger.ValidateTransfer(&fund); err != nil {
		return redpacket.Packet{}, &ledger.TransferError{ID: fund.ID, Err: err}
	}
	ts := []ledger.Transfer{fund}
	var out redpacket.Packet
	var exists bool
	err := s.db.run(ctx, "send red packet", func(ctx context.Context, conn *pgx.Conn) error {
		out, exists = p, false
		b := txBatch()
		b.Queue(s.q.insert, packetArgs(&p)...).Exec(func(ct pgconn.CommandTag) error {
			exists = ct.RowsAffected() == 0
			return nil
		})
		v, err := s.ledger.lock(ctx, conn, b, lockKeysOf(ts))
		if err != nil || exists {
			return err // exists: nothing to do, the transaction rolls back
		}
		var created *ledger.AccountState
		if st, ok := v.accounts[escrow.ID]; !ok {
			fresh := ledger.NewAccountState(escrow, paidAt) // the view hands out copies: it stays the row to insert
			created, v.accounts[escrow.ID] = &fresh, &fresh
		} else if err := ledger.SameAccount(&escrow, &st.Account); err != nil {
			return err
		}
		res := ledger.ApplyBatch(v, ts, false, paidAt)
		w := &pgx.Batch{}
		if refusal := res.Results[0].Err; refusal != nil {
			if _, err := out.Cancel(redpacket.FundingRefusal(refusal)); err != nil {
				return err
			}
		} else {
			if created != nil {
				w.Queue(s.ledger.q.insertAccount, newAccountArgs(created)...).Exec(expectRows(1))
			}
			if changes(&res) {
				s.ledger.queueOutcome(w, &res)
			}
			if _, err := out.Open(); err != nil {
				return err
			}
		}
		s.queueUpdate(w, &out)
		queueCommit(w)
		return conn.SendBatch(ctx, w).Close()
	})
	switch {
	case err != nil:
		return redpacket.Packet{}, err
	case exists:
		stored, err := s.Packet(ctx, p.ID)
		if err != nil {
			return redpacket.Packet{}, err
		}
		return stored, fmt.Errorf("packet %s: %w", p.ID, redpacket.ErrPacketExists)
	}
	out.Shares = slices.Clone(p.Shares)
	out.PasswordHash = slices.Clone(p.PasswordHash)
	return out, nil
}

// RefundPaid implements redpacket.PayingStore: BeginRefund, the refund's
// payment and FinishRefund in one transaction, three round trips and one
// commit: the packet's row locked and read; redpacket.Packet.BeginRefund
// decides, and the refund's accounts are locked as the LedgerStore does;
// ledger.ApplyBatch decides the refund, Packet.FinishRefund the packet
// (not when the refund is refused), and the ledger's rows and the packet's
// state are written with the commit.
//
// Errors: redpacket.ErrPacketNotFound, those of Packet.BeginRefund, the
// ledger's refusal (a *ledger.TransferError, with the packet as recorded),
// and the infrastructure errors of this package, after which the packet
// may or may not be refunding or refunded.
func (s *RedPacketStore) RefundPaid(ctx context.Context, id uuid.UUID, now, paidAt time.Time, refund func(redpacket.Packet) ledger.Transfer) (redpacket.Packet, error) {
	var p redpacket.Packet
	var business, refusal error
	err := s.db.run(ctx, "refund red packet", func(ctx context.Context, conn *pgx.Conn) error {
		refusal = nil
		var err error
		if p, business, err = s.lockPacket(ctx, conn, id); err != nil || business != nil {
			return err // business: rolls back
		}
		changed, err := p.BeginRefund(now)
		if err != nil {
			business = err
			return nil
		}
		w := &pgx.Batch{}
		if p.Status == redpacket.StatusRefunding {
			if p.RemainingAmount().IsPositive() {
				ts := []ledger.Transfer{refund(p)}
				if err := ledger.ValidateTransfer(&ts[0]); err != nil {
					business = &ledger.TransferError{ID: ts[0].ID, Err: err}
					return nil
				}
				v, err := s.ledger.lock(ctx, conn, &pgx.Batch{}, lockKeysOf(ts))
				if err != nil {
					return err
				}
				res := ledger.ApplyBatch(v, ts, false, paidAt)
				if refusal = res.Results[0].Err; refusal == nil && changes(&res) {
					s.ledger.queueOutcome(w, &res)
				}
			}
			if refusal == nil {
				finished, err := p.FinishRefund()
				if err != nil {
					return err
				}
				changed = changed || finished
			}
		}
		if !changed {
			return nil // nothing to write
		}
		s.queueUpdate(w, &p)
		queueCommit(w)
		return conn.SendBatch(ctx, w).Close()
	})
	switch {
	case err != nil:
		return redpacket.Packet{}, err
	case business != nil:
		return redpacket.Packet{}, business
	}
	return p, refusal
}
