package campaign

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// TryRequest is one tap.
type TryRequest struct {
	Campaign uuid.UUID `json:"campaign"`
	User     uuid.UUID `json:"user"`
	Account  uuid.UUID `json:"account"` // the user's wallet, which a prize is paid to
	Device   string    `json:"device"`  // the device's ID, for the per-device rate limit: 1…MaxDeviceLen bytes
	// Seq is the user's try number, 1, 2, 3… with no gap: the try's
	// idempotency key is (Campaign, User, Seq). Sending a try again with
	// the same Seq returns the same try and pays its prize once.
	Seq int `json:"seq"`
}

// cache is the Service's in-process knowledge of campaigns: each one's
// fixed part, and once the store has said that the campaign takes no more
// tries (sold out, swept, cancelled), that final answer with each user's
// final number of tries. Only facts that never change are kept, so several
// processes may share one store. Campaigns are few; entries are kept for
// the Service's life.
type cache struct {
	m sync.Map // uuid.UUID → *cached: read by every try, written once per campaign
}

type cached struct {
	c       *Campaign // fixed part: no Seed, no Draw, State as first read (unused)
	cid     string    // c.ID.String()
	payment func(Try) ledger.Transfer
	closed  atomic.Pointer[closedState]
	loading sync.Mutex // held by the one goroutine loading the final counts
}

type closedState struct {
	err    error                               // ErrSoldOut, ErrClosed or ErrCancelled, wrapped with the campaign
	counts atomic.Pointer[map[uuid.UUID]int32] // each user's final number of tries, once loaded
}

func (s *Service) entry(ctx context.Context, id uuid.UUID) (*cached, error) {
	if e, ok := s.cache.m.Load(id); ok {
		return e.(*cached), nil
	}
	c, err := s.store.Campaign(ctx, id)
	if err != nil {
		return nil, err
	}
	fixed := c
	fixed.Seed, fixed.Draw, fixed.Schedule = Seed{}, nil, nil
	made := &cached{c: &fixed, cid: id.String()}
	// The closure captures made, never reassigned: e below is, and other
	// goroutines call payment while this one runs on.
	made.payment = func(t Try) ledger.Transfer { return s.prizeTransfer(made.c, made.cid, &t) }
	v, _ := s.cache.m.LoadOrStore(id, made)
	e := v.(*cached)
	if reason := closedStatus(c.Status); reason != nil {
		e.close(reason)
	}
	return e, nil
}

func closedStatus(st Status) error {
	switch st {
	case StatusSweeping, StatusSwept:
		return ErrClosed
	case StatusCancelled:
		return ErrCancelled
	}
	return nil
}

// closedErr returns the sentinel under which a store error says the
// campaign takes no more tries, for good, or nil.
func closedErr(err error) error {
	for _, target := range []error{ErrSoldOut, ErrClosed, ErrCancelled} {
		if errors.Is(err, target) {
			return target
		}
	}
	return nil
}

func (e *cached) close(reason error) {
	if e.closed.Load() == nil {
		e.closed.CompareAndSwap(nil, &closedState{err: fmt.Errorf("campaign %s: %w", e.cid, reason)})
	}
}

// answer is the fast path of a closed campaign: a try numbered past the
// user's final count is refused from memory. ok is false when the store
// must answer: the campaign is not known to be closed, its counts are
// being loaded by another goroutine, or the try is one the user made
// (a retry gets its recorded try).
func (e *cached) answer(ctx context.Context, store Store, user uuid.UUID, seq int) (err error, ok bool) {
	cl := e.closed.Load()
	if cl == nil {
		return nil, false
	}
	counts := cl.counts.Load()
	if counts == nil {
		if !e.loading.TryLock() {
			return nil, false
		}
		defer e.loading.Unlock()
		if counts = cl.counts.Load(); counts == nil {
			m, err := finalCounts(ctx, store, e.c.ID)
			if err != nil {
				return nil, false
			}
			counts = &m
			cl.counts.Store(counts)
		}
	}
	if seq > int((*counts)[user]) {
		return cl.err, true
	}
	return nil, false
}

// finalCounts reads a closed campaign's log once: each user's tries.
func finalCounts(ctx context.Context, store Store, id uuid.UUID) (map[uuid.UUID]int32, error) {
	m := make(map[uuid.UUID]int32)
	after := -1
	for {
		ts, err := store.Tries(ctx, id, after, 8192)
		if err != nil {
			return nil, err
		}
		for i := range ts {
			m[ts[i].User] = max(m[ts[i].User], int32(ts[i].Seq))
		}
		if len(ts) < 8192 {
			return m, nil
		}
		after = ts[len(ts)-1].Slot
	}
}

// Try takes a tap: the user's try number req.Seq. An accepted try takes
// the next slot of the draw and wins its prize (Prize 0: no prize); a
// prize is paid from the campaign's escrow to req.Account with ledger ID
// PrizeTransferID. On a store that pays in its own step (PaysOn: a
// MemoryStore given the ledger, or package postgres's CampaignStore with
// the ledger on the same schema) the try and its payment are one step;
// on others the try is recorded, then paid, then marked paid.
//
// A try is answered once: sending it again (same Campaign, User, Seq)
// returns the recorded try, paying its prize now if its payment was
// interrupted, never a second slot or a second payment. Before the
// opening instant, and once the store has said the campaign is sold out,
// swept or cancelled, a new try is refused from this process's memory,
// with no limiter, store or ledger call.
//
// Errors, checked in this order: ErrInvalidRequest; ErrCampaignNotFound;
// ErrNotOpen, or ErrSoldOut, ErrClosed, ErrCancelled of a campaign this
// process knows to be closed; ErrRateLimited (a *RateLimitError: every
// try costs a token, retries too); ErrNotEligible; then the store's
// (Campaign.Take's) ErrNotFunded, ErrCancelled, ErrClosed, ErrNotOpen,
// ErrEnded, ErrSoldOut, ErrTryOutOfOrder, ErrUserCap, ErrDailyCap,
// ErrWinCap. None of these records a try. A winning try whose payment
// failed is returned with ErrPaymentPending (a retry or Reconcile pays
// it), or with ErrPrizeForfeited when the wallet is closed or in another
// currency (the prize went back to the marketing account). Errors also
// include those of the limiter, of Eligibility and of the store failing,
// after which the try may or may not be recorded: sending it again
// returns it.
//
// On a store that takes the limiter's tokens in the try's own step
// (Store.LimitsOn: package postgres's CampaignStore and CampaignLimiter on
// one schema, one transaction instead of two), Eligibility is asked
// before the tokens are taken; the errors keep their order, and a try it
// refuses still costs its tokens.
func (s *Service) Try(ctx context.Context, req TryRequest) (_ Try, err error) {
	ctx, sp := s.tel.try.Start(ctx)
	var cur ledger.Currency // the campaign's, once known
	if sp.On() {
		sp.ID(req.Campaign)
		defer func() { sp.End(ctx, err, cur.Code()) }()
	}
	if req.Campaign == uuid.Nil || req.User == uuid.Nil || req.Account == uuid.Nil || req.Seq < 1 || req.Seq > MaxTriesPerUser ||
		req.Device == "" || len(req.Device) > MaxDeviceLen || !ledger.StorableText(req.Device) {
		return Try{}, fmt.Errorf("%w: a campaign, user, account, device (1–%d bytes) and try number 1–%d", ErrInvalidRequest, MaxDeviceLen, MaxTriesPerUser)
	}
	e, err := s.entry(ctx, req.Campaign)
	if err != nil {
		return Try{}, err
	}
	cur = e.c.Currency
	now := ledger.Timestamp(s.now())
	if now.Before(e.c.OpensAt) {
		return Try{}, fmt.Errorf("campaign %s: %w: opens %v", e.cid, ErrNotOpen, e.c.OpensAt)
	}
	if err, ok := e.answer(ctx, s.store, req.User, req.Seq); ok {
		return Try{}, err
	}
	in := TryInput{User: req.User, Account: req.Account, Seq: req.Seq, At: now}
	uk, dk := limitKeys(req.User, req.Device)
	keys := [2]LimitKey{{Key: uk, Rate: s.userRate}, {Key: dk, Rate: s.deviceRate}}
	if s.limits {
		// The store takes the tokens in the try's own step, so the bank's
		// answer comes first; a try it refuses still costs its tokens, and
		// a refusal of the limiter still comes before its own.
		ok, err := s.elig.Eligible(ctx, req.Campaign, req.User)
		if err != nil || !ok {
			if lerr := s.lim.Allow(ctx, now, keys[:]...); lerr != nil {
				return Try{}, fmt.Errorf("campaign %s: %w", e.cid, lerr)
			}
			if err != nil {
				return Try{}, fmt.Errorf("campaign %s: eligibility of user %s: %w", e.cid, req.User, err)
			}
			return Try{}, fmt.Errorf("campaign %s: user %s: %w", e.cid, req.User, ErrNotEligible)
		}
		in.Limits = keys[:]
	} else {
		if err := s.lim.Allow(ctx, now, keys[:]...); err != nil {
			return Try{}, fmt.Errorf("campaign %s: %w", e.cid, err)
		}
		ok, err := s.elig.Eligible(ctx, req.Campaign, req.User)
		switch {
		case err != nil:
			return Try{}, fmt.Errorf("campaign %s: eligibility of user %s: %w", e.cid, req.User, err)
		case !ok:
			return Try{}, fmt.Errorf("campaign %s: user %s: %w", e.cid, req.User, ErrNotEligible)
		}
	}
	var payment func(Try) ledger.Transfer
	if s.pays {
		payment = e.payment
	}
	res, err := s.store.Try(ctx, req.Campaign, in, payment)
	if err != nil {
		if reason := closedErr(err); reason != nil {
			e.close(reason)
		}
		return Try{}, err
	}
	if res.State.Status == StatusOpen && res.State.Taken >= e.c.PrizeEnd {
		e.close(ErrSoldOut)
	}
	t := res.Try
	switch {
	case !t.Won():
		return t, nil
	case t.Forfeited:
		return t, fmt.Errorf("campaign %s: try %d of user %s: %w", e.cid, t.Seq, t.User, ErrPrizeForfeited)
	case t.Paid:
		if res.State.Complete() && !res.State.Settled {
			_ = s.settle(ctx, e.c.ID, e.c.Escrow) // a failure is Reconcile's to finish; the prize is paid
		}
		return t, nil
	case res.PayErr != nil:
		return s.paid(ctx, e.c, e.cid, t, res.PayErr)
	}
	return s.pay(ctx, e.c, e.cid, t)
}

func (s *Service) prizeTransfer(c *Campaign, cid string, t *Try) ledger.Transfer {
	return ledger.Transfer{
		ID: s.prizeTransferID(cid, t.User, t.Seq), DebitAccountID: c.Escrow, CreditAccountID: t.Account,
		Amount: ledger.NewMoney(t.Prize, c.Currency), Code: s.codes.Prize,
	}
}

// pay pays a recorded winning try and marks it paid.
func (s *Service) pay(ctx context.Context, c *Campaign, cid string, t Try) (Try, error) {
	_, err := s.l.Transfer(ctx, s.prizeTransfer(c, cid, &t))
	return s.paid(ctx, c, cid, t, err)
}

// paid finishes a winning try whose payment answered err: it marks it
// paid, or forfeits the prize when the wallet can never take it, or
// reports the payment pending.
func (s *Service) paid(ctx context.Context, c *Campaign, cid string, t Try, err error) (Try, error) {
	forfeited := false
	if err != nil {
		if !permanentRefusal(err, t.Account) {
			return t, fmt.Errorf("campaign %s: try %d of user %s: %w: %w", cid, t.Seq, t.User, ErrPaymentPending, err)
		}
		// The ledger refused the payment and always will: it never moved
		// and never can, so the prize may go back to marketing.
		_, ferr := s.l.Transfer(ctx, ledger.Transfer{
			ID: s.ForfeitTransferID(c.ID, t.User, t.Seq), DebitAccountID: c.Escrow, CreditAccountID: c.Marketing,
			Amount: ledger.NewMoney(t.Prize, c.Currency), Code: s.codes.Forfeit,
		})
		if ferr != nil {
			return t, fmt.Errorf("campaign %s: try %d of user %s: %w: %w; returning the prize: %w", cid, t.Seq, t.User, ErrPaymentPending, err, ferr)
		}
		forfeited = true
	}
	st, merr := s.store.MarkPaid(ctx, c.ID, t.User, t.Seq, forfeited)
	t.Paid, t.Forfeited = true, forfeited
	if merr == nil && st.Complete() && !st.Settled {
		_ = s.settle(ctx, c.ID, c.Escrow) // a failure is Reconcile's to finish; the prize moved
	}
	// A failed mark is the retry's or Reconcile's to record; the money moved.
	if forfeited {
		return t, fmt.Errorf("campaign %s: try %d of user %s: %w: %w", cid, t.Seq, t.User, ErrPrizeForfeited, err)
	}
	return t, nil
}

// permanentRefusal reports whether err is the ledger refusing a payment to
// account for a reason that never passes: the account closed, or in
// another currency.
func permanentRefusal(err error, account uuid.UUID) bool {
	var ae *ledger.AccountError
	if !ledger.Refused(err) {
		return false
	}
	if errors.As(err, &ae) && ae.ID == account && errors.Is(ae.Err, ledger.ErrAccountClosed) {
		return true
	}
	return errors.Is(err, ledger.ErrCurrencyMismatch)
}

// settle closes a complete campaign's escrow account and records it.
func (s *Service) settle(ctx context.Context, id, escrow uuid.UUID) error {
	if _, err := s.l.Close(ctx, escrow); err != nil {
		return fmt.Errorf("settle campaign %s: close escrow: %w", id, err)
	}
	if _, err := s.store.Settle(ctx, id); err != nil {
		return fmt.Errorf("settle campaign %s: %w", id, err)
	}
	return nil
}

const sweepPage = 256

// Sweep closes every open campaign that has ended (EndsAt at or before
// now) or sold out: it closes the campaign for tries and fixes the refund
// in one atomic store step (Store.BeginSweep), moves exactly the
// unclaimed budget from escrow back to the marketing account (ledger ID
// SweepTransferID) and records it; a campaign whose every prize is paid
// then has its escrow account closed. Running it again, or from several
// processes at once, returns the budget once: the store agrees on one
// refund and the ledger applies its ID once. It also finishes sweeps a
// crash interrupted, and closes the escrow of swept campaigns whose last
// prize was paid after the sweep. It returns how many campaigns it swept and the
// errors of those it could not finish (it goes on past them). Maintain
// runs it, then Reconcile.
func (s *Service) Sweep(ctx context.Context, now time.Time) (n int, err error) {
	ctx, sw := s.tel.StartSweep(ctx, "sweep")
	defer func() { sw.End(ctx, err, swept(n)) }()
	return s.sweepAll(ctx, now)
}

func (s *Service) sweepAll(ctx context.Context, now time.Time) (int, error) {
	n := 0
	var errs []error
	err := s.eachUnsettled(ctx, func(c *Campaign) {
		if c.Complete() { // swept, every prize paid: only the escrow is left to close
			if err := s.settle(ctx, c.ID, c.Escrow); err != nil {
				errs = append(errs, err)
			}
			return
		}
		if !(c.Status == StatusOpen && (!now.Before(c.EndsAt) || c.SoldOut())) && c.Status != StatusSweeping {
			return
		}
		if err := s.sweep(ctx, c.ID, now); err != nil {
			errs = append(errs, err)
		} else {
			n++
		}
	})
	return n, errors.Join(append(errs, err)...)
}

// SweepCampaign is Sweep for one campaign: once it has ended (EndsAt at
// or before now) or sold out, it returns its unclaimed budget exactly
// once, and closes its escrow account if every prize is paid. A campaign
// already swept is settled if it can be and otherwise left as it is.
//
// Errors: ErrCampaignNotFound, ErrNotFunded, ErrCancelled, ErrNotEnded,
// and those of the ledger and the store failing (run it again).
func (s *Service) SweepCampaign(ctx context.Context, id uuid.UUID, now time.Time) error {
	c, err := s.store.Campaign(ctx, id)
	switch {
	case err != nil:
		return fmt.Errorf("sweep campaign %s: %w", id, err)
	case c.Settled:
		return nil
	case c.Complete():
		return s.settle(ctx, id, c.Escrow)
	}
	return s.sweep(ctx, id, now)
}

func (s *Service) sweep(ctx context.Context, id uuid.UUID, now time.Time) error {
	c, err := s.store.BeginSweep(ctx, id, now)
	if err != nil {
		return fmt.Errorf("sweep campaign %s: %w", id, err)
	}
	return s.finishSweep(ctx, &c)
}

func (s *Service) finishSweep(ctx context.Context, c *Campaign) error {
	if c.Status == StatusSweeping {
		if r := c.Refund(); r > 0 {
			_, err := s.l.Transfer(ctx, ledger.Transfer{
				ID: s.SweepTransferID(c.ID), DebitAccountID: c.Escrow, CreditAccountID: c.Marketing,
				Amount: ledger.NewMoney(r, c.Currency), Code: s.codes.Sweep,
			})
			if err != nil {
				return fmt.Errorf("sweep campaign %s: %w", c.ID, err)
			}
		}
	}
	st, err := s.store.FinishSweep(ctx, c.ID)
	if err != nil {
		return fmt.Errorf("sweep campaign %s: %w", c.ID, err)
	}
	if e := s.cachedEntry(c.ID); e != nil {
		e.close(ErrClosed)
	}
	if st.Complete() && !st.Settled {
		return s.settle(ctx, c.ID, c.Escrow)
	}
	return nil
}

func (s *Service) cachedEntry(id uuid.UUID) *cached {
	if e, ok := s.cache.m.Load(id); ok {
		return e.(*cached)
	}
	return nil
}

// limitKeys returns the limiter's keys of a try, "user/" and the user's
// ID as text, and "device/" and the device's ID, in one allocation.
func limitKeys(u uuid.UUID, device string) (user, dev string) {
	const userLen = len("user/") + 36
	var buf [userLen + len("device/")]byte
	copy(buf[:], "user/")
	hex.Encode(buf[5:13], u[0:4])
	buf[13] = '-'
	hex.Encode(buf[14:18], u[4:6])
	buf[18] = '-'
	hex.Encode(buf[19:23], u[6:8])
	buf[23] = '-'
	hex.Encode(buf[24:28], u[8:10])
	buf[28] = '-'
	hex.Encode(buf[29:41], u[10:])
	copy(buf[userLen:], "device/")
	var b strings.Builder
	b.Grow(len(buf) + len(device))
	b.Write(buf[:])
	b.WriteString(device)
	s := b.String()
	return s[:userLen], s[userLen:]
}

func (s *Service) eachUnsettled(ctx context.Context, f func(*Campaign)) error {
	cur := Cursor{}
	for {
		cs, err := s.store.Unsettled(ctx, cur, sweepPage)
		if err != nil {
			return fmt.Errorf("list unsettled campaigns: %w", err)
		}
		for i := range cs {
			f(&cs[i])
		}
		if len(cs) < sweepPage {
			return nil
		}
		cur = CursorOf(&cs[len(cs)-1])
	}
}

// ReconcileReport says what Reconcile finished.
type ReconcileReport struct {
	Funded    int `json:"funded"`    // funding campaigns whose budget had reached escrow: opened
	Cancelled int `json:"cancelled"` // funding campaigns whose budget never came: cancelled
	Paid      int `json:"paid"`      // winning tries paid
	Forfeited int `json:"forfeited"` // winning tries whose wallet was closed: prizes returned
	Swept     int `json:"swept"`     // sweeps finished
	Settled   int `json:"settled"`   // escrow accounts closed
}

// Reconcile finishes what a crash (or a failing store or ledger) left half
// done, for campaigns that need it (Store.Unsettled):
//
//   - a campaign still funding, created before now − ReconcileAfter, is
//     opened if its funding transfer is on the ledger and cancelled
//     otherwise (see Create);
//   - a winning try recorded before now − ReconcileAfter but not paid is
//     paid (a duplicate on the ledger if it was paid before: nothing
//     moves) and marked paid, or forfeited (see Try);
//   - a sweep begun but not recorded as done is finished;
//   - a swept campaign with every prize paid has its escrow account
//     closed and is marked settled.
//
// It does not begin sweeps (Sweep does). Every step is idempotent, so
// Reconcile may run at any time, repeatedly and from several processes.
// Maintain runs it.
func (s *Service) Reconcile(ctx context.Context, now time.Time) (rep ReconcileReport, err error) {
	ctx, sw := s.tel.StartSweep(ctx, "reconcile")
	defer func() { sw.End(ctx, err, rep.items()...) }()
	return s.reconcileAll(ctx, now)
}

func (s *Service) reconcileAll(ctx context.Context, now time.Time) (ReconcileReport, error) {
	var rep ReconcileReport
	var errs []error
	cutoff := now.Add(-s.reconcileAfter)
	err := s.eachUnsettled(ctx, func(c *Campaign) {
		if err := s.reconcile(ctx, c, cutoff, &rep); err != nil {
			errs = append(errs, fmt.Errorf("reconcile campaign %s: %w", c.ID, err))
		}
	})
	return rep, errors.Join(append(errs, err)...)
}

func (s *Service) reconcile(ctx context.Context, c *Campaign, cutoff time.Time, rep *ReconcileReport) error {
	if c.Status == StatusFunding {
		if c.CreatedAt.After(cutoff) {
			return nil
		}
		st, err := s.resolveFunding(ctx, c)
		if err != nil {
			return err
		}
		if st.Status == StatusCancelled {
			rep.Cancelled++
			return nil
		}
		rep.Funded++
		c.State = st
	}
	cid := c.ID.String()
	for after := -1; c.Paid < c.Winners; {
		ts, err := s.store.Unpaid(ctx, c.ID, after, sweepPage)
		if err != nil {
			return err
		}
		for _, t := range ts {
			if t.At.After(cutoff) {
				continue
			}
			_, err := s.pay(ctx, c, cid, t)
			switch {
			case errors.Is(err, ErrPrizeForfeited):
				rep.Forfeited++
			case err != nil:
				return err
			default:
				rep.Paid++
			}
		}
		if len(ts) < sweepPage {
			break
		}
		after = ts[len(ts)-1].Slot
	}
	if c.Status == StatusSweeping {
		if err := s.finishSweep(ctx, c); err != nil {
			return err
		}
		rep.Swept++
	}
	cur, err := s.store.Campaign(ctx, c.ID)
	if err != nil {
		return err
	}
	if cur.Complete() && !cur.Settled {
		if err := s.settle(ctx, c.ID, c.Escrow); err != nil {
			return err
		}
		rep.Settled++
	}
	return nil
}
