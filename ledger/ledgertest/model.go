package ledgertest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/socialpay/socialpay/ledger"
)

// The reference model: plain integers and statuses, written independently
// of the ledger's rules, as small as it can be.

type mAccount struct {
	id     uuid.UUID
	wallet bool // debits must not exceed credits
	bal    ledger.Balance
	frozen bool
}

type mTransfer struct {
	req       ledger.Transfer
	kind      ledger.TransferKind
	dr, cr    int   // account indexes
	amount    int64 // held, moved or released
	status    ledger.TransferStatus
	expiresAt time.Time
	reversed  bool
}

type model struct {
	accounts  []*mAccount
	transfers []*mTransfer
}

// move applies posted/pending deltas to both sides, or says which errors
// would stop it.
func (m *model) check(dr, cr int, posted, pending int64, releasing bool) []error {
	var errs []error
	a, b := m.accounts[dr], m.accounts[cr]
	if !releasing && (a.frozen || b.frozen) {
		errs = append(errs, ledger.ErrAccountFrozen)
	}
	if a.wallet && posted+pending > 0 && a.bal.DebitsPosted+a.bal.DebitsPending+posted+pending > a.bal.CreditsPosted {
		errs = append(errs, ledger.ErrInsufficientFunds)
	}
	return errs
}

func (m *model) move(dr, cr int, posted, pending int64) {
	a, b := m.accounts[dr], m.accounts[cr]
	a.bal.DebitsPosted += posted
	a.bal.DebitsPending += pending
	b.bal.CreditsPosted += posted
	b.bal.CreditsPending += pending
}

func testModel(t *testing.T, outer *env) {
	newStore := outer.newStore
	rapid.Check(t, func(rt *rapid.T) {
		e := newEnv(t, newStore)
		m := &model{}
		cny := e.cny
		openAccount := func(wallet bool) {
			var flags ledger.AccountFlags
			if wallet {
				flags = ledger.DebitsMustNotExceedCredits
			}
			a, err := e.l.CreateAccount(e.ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: flags})
			if err != nil {
				rt.Fatal(err)
			}
			m.accounts = append(m.accounts, &mAccount{id: a.ID, wallet: wallet})
		}
		openAccount(false) // the bank's source of funds
		openAccount(true)
		openAccount(true)

		// expect runs req and checks the outcome against the model's
		// prediction: success (errs empty) or one of errs.
		expect := func(what string, err error, errs []error) bool {
			if len(errs) == 0 {
				if err != nil {
					rt.Fatalf("%s: model expects success, got %v", what, err)
				}
				return true
			}
			for _, want := range errs {
				if errors.Is(err, want) {
					return false
				}
			}
			rt.Fatalf("%s: model expects one of %v, got %v", what, errs, err)
			return false
		}
		pickPair := func() (int, int) {
			dr := rapid.IntRange(0, len(m.accounts)-1).Draw(rt, "dr")
			cr := rapid.IntRange(0, len(m.accounts)-2).Draw(rt, "cr")
			if cr >= dr {
				cr++
			}
			return dr, cr
		}
		pickTransfer := func(ok func(*mTransfer) bool) *mTransfer {
			var c []*mTransfer
			for _, x := range m.transfers {
				if ok(x) {
					c = append(c, x)
				}
			}
			if len(c) == 0 {
				return nil
			}
			return c[rapid.IntRange(0, len(c)-1).Draw(rt, "transfer")]
		}

		steps := rapid.IntRange(1, 40).Draw(rt, "steps")
		for step := range steps {
			op := rapid.SampledFrom([]string{"open", "pay", "pay", "hold", "post", "void", "reverse", "retry", "advance", "freeze", "linked"}).Draw(rt, "op")
			now := ledger.Timestamp(e.clock.Now())
			switch op {
			case "open":
				if len(m.accounts) < 6 {
					openAccount(rapid.Bool().Draw(rt, "wallet"))
				}
			case "pay", "hold":
				dr, cr := pickPair()
				amount := rapid.Int64Range(1, 3000).Draw(rt, "amount")
				req := ledger.Transfer{ID: uuid.New(), DebitAccountID: m.accounts[dr].id, CreditAccountID: m.accounts[cr].id,
					Amount: ledger.NewMoney(amount, cny)}
				posted, pending := amount, int64(0)
				if op == "hold" {
					req.Kind = ledger.KindPending
					req.Timeout = time.Duration(rapid.IntRange(0, 3).Draw(rt, "timeout")) * 30 * time.Minute
					posted, pending = 0, amount
				}
				_, err := e.l.Transfer(e.ctx, req)
				if expect(op, err, m.check(dr, cr, posted, pending, false)) {
					m.move(dr, cr, posted, pending)
					x := &mTransfer{req: req, kind: req.Kind, dr: dr, cr: cr, amount: amount, status: ledger.StatusCommitted}
					if op == "hold" {
						x.status = ledger.StatusPending
						if req.Timeout > 0 {
							x.expiresAt = now.Add(req.Timeout)
						}
					}
					m.transfers = append(m.transfers, x)
				}
			case "post", "void":
				h := pickTransfer(func(x *mTransfer) bool { return x.kind == ledger.KindPending })
				if h == nil {
					continue
				}
				req := ledger.Transfer{ID: uuid.New(), Kind: ledger.KindVoidPending, PendingID: h.req.ID}
				amount := h.amount
				if op == "post" {
					req.Kind = ledger.KindPostPending
					if p := rapid.Int64Range(0, h.amount+1).Draw(rt, "post amount"); p > 0 {
						req.Amount, amount = ledger.NewMoney(p, cny), p
					}
				}
				_, err := e.l.Transfer(e.ctx, req)
				var errs []error
				switch {
				case h.status == ledger.StatusExpired || (h.status == ledger.StatusPending && !h.expiresAt.IsZero() && !h.expiresAt.After(now)):
					errs = []error{ledger.ErrPendingExpired}
				case h.status != ledger.StatusPending:
					errs = []error{ledger.ErrPendingResolved}
				case amount > h.amount:
					errs = []error{ledger.ErrExceedsPending}
				case op == "post":
					errs = m.check(h.dr, h.cr, amount, -h.amount, false)
				}
				if expect(op, err, errs) {
					if op == "post" {
						m.move(h.dr, h.cr, amount, -h.amount)
						h.status = ledger.StatusPosted
						m.transfers = append(m.transfers, &mTransfer{req: req, kind: req.Kind, dr: h.dr, cr: h.cr, amount: amount, status: ledger.StatusCommitted})
					} else {
						m.move(h.dr, h.cr, 0, -h.amount)
						h.status = ledger.StatusVoided
					}
				}
			case "reverse":
				o := pickTransfer(func(x *mTransfer) bool { return x.kind != ledger.KindVoidPending })
				if o == nil {
					continue
				}
				req := ledger.Transfer{ID: uuid.New(), Kind: ledger.KindReversal, ReversesID: o.req.ID}
				_, err := e.l.Transfer(e.ctx, req)
				var errs []error
				switch {
				case o.kind != ledger.KindImmediate && o.kind != ledger.KindPostPending:
					errs = []error{ledger.ErrNotReversible}
				case o.reversed:
					errs = []error{ledger.ErrAlreadyReversed}
				default:
					errs = m.check(o.cr, o.dr, o.amount, 0, false)
				}
				if expect(op, err, errs) {
					m.move(o.cr, o.dr, o.amount, 0)
					o.reversed = true
					m.transfers = append(m.transfers, &mTransfer{req: req, kind: req.Kind, dr: o.cr, cr: o.dr, amount: o.amount, status: ledger.StatusCommitted})
				}
			case "retry":
				o := pickTransfer(func(*mTransfer) bool { return true })
				if o == nil {
					continue
				}
				got, err := e.l.Transfer(e.ctx, o.req)
				if err != nil || got.ID != o.req.ID {
					rt.Fatalf("retry of %s: %+v %v", o.req.ID, got, err)
				}
			case "advance":
				e.clock.Advance(time.Duration(rapid.IntRange(1, 90).Draw(rt, "minutes")) * time.Minute)
				if rapid.Bool().Draw(rt, "sweep") {
					now = ledger.Timestamp(e.clock.Now())
					if _, err := e.l.ExpirePending(e.ctx, now); err != nil {
						rt.Fatal(err)
					}
					for _, x := range m.transfers {
						if x.status == ledger.StatusPending && !x.expiresAt.IsZero() && !x.expiresAt.After(now) {
							m.move(x.dr, x.cr, 0, -x.amount)
							x.status = ledger.StatusExpired
						}
					}
				}
			case "freeze":
				i := rapid.IntRange(0, len(m.accounts)-1).Draw(rt, "account")
				a := m.accounts[i]
				var err error
				if a.frozen {
					_, err = e.l.Unfreeze(e.ctx, a.id)
				} else {
					_, err = e.l.Freeze(e.ctx, a.id)
				}
				if err != nil {
					rt.Fatal(err)
				}
				a.frozen = !a.frozen
			case "linked":
				dr1, cr1 := pickPair()
				dr2, cr2 := pickPair()
				a1 := rapid.Int64Range(1, 2000).Draw(rt, "a1")
				a2 := rapid.Int64Range(1, 2000).Draw(rt, "a2")
				reqs := []ledger.Transfer{
					{ID: uuid.New(), DebitAccountID: m.accounts[dr1].id, CreditAccountID: m.accounts[cr1].id, Amount: ledger.NewMoney(a1, cny)},
					{ID: uuid.New(), DebitAccountID: m.accounts[dr2].id, CreditAccountID: m.accounts[cr2].id, Amount: ledger.NewMoney(a2, cny)},
				}
				_, err := e.l.Linked(e.ctx, reqs)
				// Predict on a scratch copy: the second leg sees the first.
				saved := snapshot(m)
				errs := m.check(dr1, cr1, a1, 0, false)
				if len(errs) == 0 {
					m.move(dr1, cr1, a1, 0)
					errs = m.check(dr2, cr2, a2, 0, false)
				}
				restore(m, saved)
				if expect(op, err, errs) {
					m.move(dr1, cr1, a1, 0)
					m.move(dr2, cr2, a2, 0)
					m.transfers = append(m.transfers,
						&mTransfer{req: reqs[0], dr: dr1, cr: cr1, amount: a1, status: ledger.StatusCommitted},
						&mTransfer{req: reqs[1], dr: dr2, cr: cr2, amount: a2, status: ledger.StatusCommitted})
				}
			}
			// Every invariant after every step.
			for i, a := range m.accounts {
				got := e.get(a.id)
				if got.Balance != a.bal {
					rt.Fatalf("step %d (%s): account %d balance\n got %+v\nwant %+v", step, op, i, got.Balance, a.bal)
				}
				if a.wallet && got.Balance.Available() < 0 {
					rt.Fatalf("step %d: wallet %d below zero: %+v", step, i, got.Balance)
				}
			}
			for _, x := range m.transfers {
				if x.kind != ledger.KindPending {
					continue
				}
				got, err := e.l.LookupTransfer(e.ctx, x.req.ID)
				if err != nil || got.Status != x.status {
					rt.Fatalf("step %d: hold %s status %v (%v), model says %v", step, x.req.ID, got.Status, err, x.status)
				}
			}
			if _, err := e.l.Verify(e.ctx); err != nil {
				rt.Fatalf("step %d (%s): %v", step, op, err)
			}
		}
	})
}

func snapshot(m *model) []ledger.Balance {
	out := make([]ledger.Balance, len(m.accounts))
	for i, a := range m.accounts {
		out[i] = a.bal
	}
	return out
}

func restore(m *model, s []ledger.Balance) {
	for i := range s {
		m.accounts[i].bal = s[i]
	}
}
