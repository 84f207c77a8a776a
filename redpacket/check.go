package redpacket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

// ErrCheck: a packet's or a claim's record disagrees with the ledger (or
// the store's records disagree among themselves). Service.Check and
// Service.Reconcile return it joined with one *Problem per disagreement.
var ErrCheck = errcode.New("records_disagree", errcode.Internal, "redpacket: records disagree with the ledger")

// ProblemKind says how a record disagrees with the ledger.
type ProblemKind uint8

// Problem kinds.
const (
	// ProblemClaimUnpaid: a claim recorded paid (Posted) whose payment,
	// or the return of its share, is not on the ledger. Reconcile pays it.
	ProblemClaimUnpaid ProblemKind = iota + 1
	// ProblemPaymentUnrecorded: a claim's payment (or the return of its
	// share) is on the ledger, the claim recorded unpaid, for longer than
	// Config.ReconcileAfter. Reconcile records it paid.
	ProblemPaymentUnrecorded
	// ProblemPaidWithoutClaim: a transfer from or to the packet's escrow
	// account that no record explains, such as a claim's payment with no
	// claim recorded. Reconcile cannot tell whose claim it was: it reports
	// it.
	ProblemPaidWithoutClaim
	// ProblemRefundNotMoved: the packet is recorded refunded with a
	// remainder, and the refund is not on the ledger. Reconcile moves it.
	ProblemRefundNotMoved
	// ProblemRefundUnrecorded: the refund is on the ledger, the packet
	// recorded as neither refunding nor refunded. Reconcile closes the
	// packet for claims and records the refund (an open packet), or
	// reports it (a sold-out one).
	ProblemRefundUnrecorded
	// ProblemFunding: the packet is recorded funded (open or later)
	// without its funding transfer on the ledger, or cancelled with it.
	ProblemFunding
	// ProblemAmount: a transfer of the packet moved another amount, or to
	// another account, than its record says.
	ProblemAmount
	// ProblemRecords: the store's records disagree among themselves: the
	// claim and paid counters with the claims, a claim's share with the
	// packet's, a settled packet with an escrow account still open.
	ProblemRecords
)

// String describes the kind.
func (k ProblemKind) String() string {
	switch k {
	case ProblemClaimUnpaid:
		return "claim recorded paid, payment not on the ledger"
	case ProblemPaymentUnrecorded:
		return "payment on the ledger, claim recorded unpaid"
	case ProblemPaidWithoutClaim:
		return "escrow transfer without a record"
	case ProblemRefundNotMoved:
		return "refund recorded, not on the ledger"
	case ProblemRefundUnrecorded:
		return "refund on the ledger, not recorded"
	case ProblemFunding:
		return "funding recorded and ledger disagree"
	case ProblemAmount:
		return "transfer differs from its record"
	case ProblemRecords:
		return "records disagree among themselves"
	}
	return fmt.Sprintf("ProblemKind(%d)", uint8(k))
}

// Problem is one disagreement between a packet's records and the ledger.
// It is an error that matches ErrCheck.
type Problem struct {
	Kind     ProblemKind `json:"kind"`
	Packet   uuid.UUID   `json:"packet"`
	User     uuid.UUID   `json:"user,omitzero"`     // the claimer, for a claim's problem; else zero
	Transfer uuid.UUID   `json:"transfer,omitzero"` // the ledger transfer concerned, if any; else zero
	Detail   string      `json:"detail,omitempty"`
}

func (p *Problem) Error() string {
	s := "redpacket: packet " + p.Packet.String()
	if p.User != uuid.Nil {
		s += ", claim of " + p.User.String()
	}
	s += ": " + p.Kind.String()
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	return s
}

// Unwrap returns ErrCheck.
func (p *Problem) Unwrap() error { return ErrCheck }

// CheckReport is what Check looked at and found.
type CheckReport struct {
	Packets  int       `json:"packets"` // packets audited
	Claims   int       `json:"claims"`  // claims audited
	Problems []Problem `json:"problems"`
}

// Check audits every packet the store holds against the ledger, as
// ledger.Verify audits the ledger: each claim recorded paid has its
// payment (or the return of its share) on the ledger, with its amount and
// wallet, and each payment on the ledger has its claim recorded paid; a
// packet recorded refunded has its refund on the ledger and the refund on
// the ledger is recorded; a packet recorded funded has its funding
// transfer and a cancelled one none; every transfer on a packet's escrow
// account is one of these; and the store's counters agree with its claims.
// States that requests in flight pass through (a claim recorded but not
// yet paid, or paid and not yet marked, funding not yet confirmed) count
// only once older than Config.ReconcileAfter; a claim recorded but unpaid
// is no disagreement (the record says so too; Reconcile pays it).
//
// It reads every packet, its claims and its escrow account's history: run
// it as an audit, not on a request's path.
//
// Errors: ErrCheck joined with each *Problem (also in the report); the
// errors of the store and the ledger, which end the check.
func (s *Service) Check(ctx context.Context) (CheckReport, error) {
	var rep CheckReport
	cutoff := s.now().Add(-s.reconcileAfter)
	cur := Cursor{}
	for {
		ps, err := s.store.Packets(ctx, cur, sweepPage)
		if err != nil {
			return rep, fmt.Errorf("check: %w", err)
		}
		for i := range ps {
			_, claims, a, err := s.auditPacket(ctx, ps[i].ID, cutoff)
			if err != nil {
				return rep, fmt.Errorf("check packet %s: %w", ps[i].ID, err)
			}
			rep.Packets++
			rep.Claims += len(claims)
			rep.Problems = append(rep.Problems, a.problems...)
		}
		if len(ps) < sweepPage {
			break
		}
		cur = CursorOf(&ps[len(ps)-1])
	}
	return rep, problemsErr(rep.Problems)
}

// auditPacket reads a packet with its claims as of one moment and audits
// them. A packet found in disagreement is read and audited again, and
// what the second audit finds is the answer: a request that changed the
// records or the ledger between the reads of the first (a refund begun and
// moved after the packet was read) is not a disagreement.
func (s *Service) auditPacket(ctx context.Context, id uuid.UUID, cutoff time.Time) (Packet, []Claim, audited, error) {
	var a audited
	var p Packet
	var claims []Claim
	for try := range 2 {
		var err error
		if p, claims, err = s.snapshot(ctx, id); err != nil {
			return p, nil, a, err
		}
		if a, err = s.audit(ctx, &p, claims, cutoff); err != nil || len(a.problems) == 0 || try == 1 {
			return p, claims, a, err
		}
	}
	return p, claims, a, nil
}

// snapshot reads a packet and its claims as of one moment: the packet, its
// claims, the packet again, until the two reads of the packet agree (a
// few tries; then the last reads).
func (s *Service) snapshot(ctx context.Context, id uuid.UUID) (Packet, []Claim, error) {
	p, err := s.store.Packet(ctx, id)
	if err != nil {
		return Packet{}, nil, err
	}
	for range 4 {
		claims, err := s.store.Claims(ctx, id)
		if err != nil {
			return Packet{}, nil, err
		}
		again, err := s.store.Packet(ctx, id)
		if err != nil {
			return Packet{}, nil, err
		}
		if again.State == p.State {
			return again, claims, nil
		}
		p = again
	}
	claims, err := s.store.Claims(ctx, id)
	return p, claims, err
}

// problemsErr joins ErrCheck with the problems, or returns nil.
func problemsErr(ps []Problem) error {
	if len(ps) == 0 {
		return nil
	}
	errs := make([]error, len(ps))
	for i := range ps {
		errs[i] = &ps[i]
	}
	return errors.Join(errs...)
}

// escrowMove is one transfer on a packet's escrow account as its history
// shows it.
type escrowMove struct {
	side   ledger.Side
	amount int64
}

// audited is what audit found of one packet.
type audited struct {
	problems []Problem
	// paid: the claims (by user) whose payment or return is on the ledger.
	paid map[uuid.UUID]bool
	// refunded: the refund is on the ledger, with this amount.
	refunded       bool
	refundedAmount int64
}

// audit compares packet p, as stored, and its claims with the ledger.
// cutoff is the age before which a state in flight counts.
func (s *Service) audit(ctx context.Context, p *Packet, claims []Claim, cutoff time.Time) (audited, error) {
	var a audited
	add := func(k ProblemKind, user, transfer uuid.UUID, format string, args ...any) {
		a.problems = append(a.problems, Problem{Kind: k, Packet: p.ID, User: user, Transfer: transfer, Detail: fmt.Sprintf(format, args...)})
	}
	money := func(units int64) ledger.Money { return ledger.NewMoney(units, p.Total.Currency()) }
	// The store's own records.
	posted := 0
	for i := range claims {
		c := &claims[i]
		if c.Posted {
			posted++
		}
		if c.Index != i || c.Index >= len(p.Shares) || c.Amount.Units() != p.Shares[c.Index] || c.Amount.Currency() != p.Total.Currency() {
			add(ProblemRecords, c.User, uuid.Nil, "claim %d of %v at index %d, the packet's share there differs", i, c.Amount, c.Index)
		}
	}
	if len(claims) != p.Claimed || posted != p.Posted {
		add(ProblemRecords, uuid.Nil, uuid.Nil, "packet counts %d claims, %d paid; %d claims recorded, %d paid", p.Claimed, p.Posted, len(claims), posted)
	}

	// The ledger's side: every transfer on the escrow account.
	esc, err := s.l.Account(ctx, p.Escrow)
	switch {
	case errors.Is(err, ledger.ErrAccountNotFound):
		if p.Status != StatusFunding && p.Status != StatusCancelled {
			add(ProblemFunding, uuid.Nil, uuid.Nil, "recorded %v, its escrow account %s is not on the ledger", p.Status, p.Escrow)
		}
		return a, nil
	case err != nil:
		return a, fmt.Errorf("escrow account: %w", err)
	}
	moves := map[uuid.UUID]escrowMove{}
	for after := uint64(0); ; {
		es, err := s.l.History(ctx, p.Escrow, after, 1000)
		if err != nil {
			return a, fmt.Errorf("escrow history: %w", err)
		}
		for i := range es {
			if es[i].TransferID == uuid.Nil {
				continue // an account event
			}
			m := moves[es[i].TransferID]
			m.side, m.amount = es[i].Side, m.amount+es[i].PostedDelta+es[i].PendingDelta
			moves[es[i].TransferID] = m
		}
		if len(es) < 1000 {
			break
		}
		after = es[len(es)-1].Seq
	}
	if p.Settled && esc.Status != ledger.AccountClosed {
		add(ProblemRecords, uuid.Nil, uuid.Nil, "recorded settled, escrow account %v", esc.Status)
	}

	// Funding.
	fundID := s.FundTransferID(p.ID)
	fund, funded := moves[fundID]
	delete(moves, fundID)
	switch {
	case p.Status == StatusFunding:
		if funded && !p.CreatedAt.After(cutoff) {
			add(ProblemFunding, uuid.Nil, fundID, "recorded funding, funded on the ledger")
		}
	case p.Status == StatusCancelled:
		if funded {
			add(ProblemFunding, uuid.Nil, fundID, "recorded cancelled, funded on the ledger")
		}
	case !funded:
		add(ProblemFunding, uuid.Nil, fundID, "recorded %v, funding transfer not on the ledger", p.Status)
	}
	if funded && (fund.side != ledger.SideCredit || fund.amount != p.Total.Units()) {
		add(ProblemAmount, uuid.Nil, fundID, "funding moved %v (%v), total %v", money(fund.amount), fund.side, p.Total)
	}

	// Claims.
	a.paid = make(map[uuid.UUID]bool, len(claims))
	pid := p.ID.String()
	for i := range claims {
		c := &claims[i]
		id := s.claimTransferID(pid, c.User)
		m, paid := moves[id]
		if !paid {
			id = s.returnTransferID(pid, c.User)
			m, paid = moves[id]
		}
		delete(moves, s.claimTransferID(pid, c.User))
		delete(moves, s.returnTransferID(pid, c.User))
		a.paid[c.User] = paid
		switch {
		case c.Posted && !paid:
			add(ProblemClaimUnpaid, c.User, s.claimTransferID(pid, c.User), "share %v", c.Amount)
			continue
		case !paid:
			continue
		case !c.Posted && !c.ClaimedAt.After(cutoff):
			add(ProblemPaymentUnrecorded, c.User, id, "share %v", c.Amount)
		}
		if m.side != ledger.SideDebit || m.amount != c.Amount.Units() {
			add(ProblemAmount, c.User, id, "paid %v (%v), share %v", money(m.amount), m.side, c.Amount)
			continue
		}
		t, err := s.l.LookupTransfer(ctx, id)
		if err != nil {
			return a, fmt.Errorf("claim of %s: %w", c.User, err)
		}
		want := c.Account
		if id == s.returnTransferID(pid, c.User) {
			want = p.SenderAccount
		}
		if t.CreditAccountID != want {
			add(ProblemAmount, c.User, id, "paid to %s, recorded %s", t.CreditAccountID, want)
		}
	}

	// The refund.
	refundID := s.RefundTransferID(p.ID)
	refund, refunded := moves[refundID]
	delete(moves, refundID)
	a.refunded, a.refundedAmount = refunded, refund.amount
	switch p.Status {
	case StatusRefunded:
		if rest := p.RemainingAmount(); !refunded && rest.IsPositive() {
			add(ProblemRefundNotMoved, uuid.Nil, refundID, "remainder %v", rest)
		}
	case StatusRefunding:
	default:
		if refunded {
			add(ProblemRefundUnrecorded, uuid.Nil, refundID, "recorded %v, %v refunded", p.Status, money(refund.amount))
		}
	}
	if refunded && (p.Status == StatusRefunding || p.Status == StatusRefunded) &&
		(refund.side != ledger.SideDebit || refund.amount != p.RemainingAmount().Units()) {
		add(ProblemAmount, uuid.Nil, refundID, "refunded %v (%v), remainder %v", money(refund.amount), refund.side, p.RemainingAmount())
	}

	// Whatever is left, no record explains.
	left := slices.SortedFunc(maps.Keys(moves), func(x, y uuid.UUID) int { return bytes.Compare(x[:], y[:]) })
	for _, id := range left {
		add(ProblemPaidWithoutClaim, uuid.Nil, id, "%v %v", moves[id].side, money(moves[id].amount))
	}
	return a, nil
}
