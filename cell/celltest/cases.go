package celltest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/cell"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
)

// raceK is how many identical calls each race case makes at once; they
// go through two instances of Cells on the same stores (e.instance), as
// a client's retries reach two instances of a service.
const raceK = 4

// testStore: the payment store's own promises, on the first cell's.
func testStore(t *testing.T, e *env) {
	s := e.stores.Records[0]
	at := ledgertest.Start
	var ps []cell.Payment
	for i := range 5 {
		p := e.payment(uuid.New(), uuid.New(), uuid.New(), uuid.New(), fmt.Sprintf("%d.00", i+1))
		p.PayerCell, p.PayeeCell = "x", "y"
		p.CreatedAt = at.Add(time.Duration(i%3) * time.Second)
		got, created, err := s.Begin(e.ctx, p, nil)
		if err != nil || !created || got.State != cell.StateOpen || !got.CreatedAt.Equal(p.CreatedAt) || got.Amount != p.Amount || got.PayeeCell != "y" {
			t.Fatalf("begin %d: %+v %v %v", i, got, created, err)
		}
		ps = append(ps, got)
	}
	// Begin again returns the record, whatever the request holds.
	other := ps[0]
	other.Amount = e.money("99.00")
	if got, created, err := s.Begin(e.ctx, other, nil); err != nil || created || got.Amount != ps[0].Amount {
		t.Fatalf("begin again: %+v %v %v", got, created, err)
	}
	// Open lists by (created, ID), pages with the cursor, and stops at before.
	var listed []cell.Payment
	for cur := (cell.Cursor{}); ; {
		page, err := s.Open(e.ctx, at.Add(time.Second), cur, 2)
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, page...)
		if len(page) < 2 {
			break
		}
		cur = cell.Next(page[len(page)-1])
	}
	mine := 0
	for i, p := range listed {
		if i > 0 && (p.CreatedAt.Before(listed[i-1].CreatedAt) || p.CreatedAt.Equal(listed[i-1].CreatedAt) && string(p.ID[:]) <= string(listed[i-1].ID[:])) {
			t.Fatalf("open listing out of order at %d", i)
		}
		if p.CreatedAt.After(at.Add(time.Second)) {
			t.Fatalf("listed a payment created after the bound: %+v", p)
		}
		for _, q := range ps {
			if q.ID == p.ID {
				mine++
			}
		}
	}
	if mine != 4 { // created at +0s, +1s, +0s, +1s; not the one at +2s
		t.Fatalf("listed %d of this test's payments, want 4", mine)
	}
	// Finish decides once.
	done, err := s.Finish(e.ctx, ps[0].ID, cell.StateReversed, "why", at.Add(time.Minute), nil)
	if err != nil || done.State != cell.StateReversed || done.Reason != "why" || !done.FinishedAt.Equal(at.Add(time.Minute)) {
		t.Fatalf("finish: %+v %v", done, err)
	}
	again, err := s.Finish(e.ctx, ps[0].ID, cell.StateCompleted, "", at.Add(time.Hour), nil)
	if err != nil || again.State != cell.StateReversed || !again.FinishedAt.Equal(done.FinishedAt) {
		t.Fatalf("finish again: %+v %v", again, err)
	}
	if got, err := s.Payment(e.ctx, ps[0].ID); err != nil || got.State != cell.StateReversed || got.Reason != "why" {
		t.Fatalf("payment: %+v %v", got, err)
	}
	if _, err := s.Payment(e.ctx, uuid.New()); !errors.Is(err, cell.ErrPaymentNotFound) {
		t.Fatalf("unknown payment: %v", err)
	}
	if _, err := s.Finish(e.ctx, uuid.New(), cell.StateCompleted, "", at, nil); !errors.Is(err, cell.ErrPaymentNotFound) {
		t.Fatalf("finish unknown payment: %v", err)
	}
	page, _ := s.Open(e.ctx, at.Add(time.Hour), cell.Cursor{}, 100)
	for _, p := range page {
		if p.ID == ps[0].ID {
			t.Fatal("a finished payment is listed open")
		}
	}
	// K racing finishes: one decides, every one returns its decision.
	states := []cell.State{cell.StateCompleted, cell.StateFailed, cell.StateReversed, cell.StateCompleted}
	got, errs := ledgertest.Concurrently(len(states), func(i int) (cell.Payment, error) {
		return s.Finish(e.ctx, ps[1].ID, states[i], states[i].String(), at.Add(time.Duration(i)*time.Second), nil)
	})
	for i := range got {
		if errs[i] != nil || got[i].State != got[0].State || got[i].Reason != got[0].Reason || !got[i].FinishedAt.Equal(got[0].FinishedAt) {
			t.Fatalf("racing finish %d: %+v %v; first %+v", i, got[i], errs[i], got[0])
		}
	}
	// K racing begins: one creates.
	p := e.payment(uuid.New(), uuid.New(), uuid.New(), uuid.New(), "1.00")
	p.CreatedAt = at
	begun, errs := ledgertest.Concurrently(raceK, func(int) (bool, error) {
		_, created, err := s.Begin(e.ctx, p, nil)
		return created, err
	})
	n := 0
	for i, c := range begun {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if c {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d racing begins created the record", n)
	}
	testForwardStore(t, e, s)
}

// testForwardStore: the payment store's promises for forwards.
func testForwardStore(t *testing.T, e *env, s cell.Store) {
	at := ledgertest.Start
	var fs []cell.Forward
	for i := range 4 {
		f := cell.Forward{ID: uuid.New(), Packet: uuid.New(), Sender: uuid.New(), Claimer: uuid.New(), Account: uuid.New(),
			CreatedAt: at.Add(time.Duration(i%2) * time.Second)}
		got, created, err := s.BeginForward(e.ctx, f)
		if err != nil || !created || got != f {
			t.Fatalf("begin forward %d: %+v %v %v", i, got, created, err)
		}
		fs = append(fs, got)
	}
	other := fs[0]
	other.Account = uuid.New()
	if got, created, err := s.BeginForward(e.ctx, other); err != nil || created || got != fs[0] {
		t.Fatalf("begin forward again: %+v %v %v", got, created, err)
	}
	done, err := s.FinishForward(e.ctx, fs[0].ID, at.Add(time.Minute))
	if err != nil || !done.FinishedAt.Equal(at.Add(time.Minute)) || done.Account != fs[0].Account {
		t.Fatalf("finish forward: %+v %v", done, err)
	}
	if again, err := s.FinishForward(e.ctx, fs[0].ID, at.Add(time.Hour)); err != nil || !again.FinishedAt.Equal(done.FinishedAt) {
		t.Fatalf("finish forward again: %+v %v", again, err)
	}
	if _, err := s.FinishForward(e.ctx, uuid.New(), at); !errors.Is(err, cell.ErrPaymentNotFound) {
		t.Fatalf("finish an unknown forward: %v", err)
	}
	var listed []cell.Forward
	for cur := (cell.Cursor{}); ; {
		page, err := s.OpenForwards(e.ctx, at, cur, 1)
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, page...)
		if len(page) < 1 {
			break
		}
		cur = cell.Cursor{CreatedAt: page[0].CreatedAt, ID: page[0].ID}
	}
	// fs[0] is finished; fs[1] and fs[3] were created after the bound.
	if len(listed) != 1 || listed[0] != fs[2] {
		t.Fatalf("open forwards: %+v, want %+v", listed, fs[2])
	}
}

// testWithin: a payment within one cell is one ledger transfer.
func testWithin(t *testing.T, e *env) {
	a, b := e.user(0, 0), e.user(0, 1)
	wa, wb := e.wallet(a, "10.00"), e.wallet(b, "")
	p, err := e.c.Pay(e.ctx, e.payment(a, b, wa, wb, "3.00"))
	if err != nil || p.State != cell.StateCompleted || p.PayerCell != p.PayeeCell {
		t.Fatalf("pay within: %+v %v", p, err)
	}
	e.wantNet(a, wa, 700)
	e.wantNet(b, wb, 300)
	if _, err := e.ledgerOf(a).LookupTransfer(e.ctx, e.c.TransferID(p.ID, "transfer")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Payment(e.ctx, a, p.ID); !errors.Is(err, cell.ErrPaymentNotFound) {
		t.Fatalf("a payment within a cell has a record: %v", err)
	}
	_, err = e.c.Pay(e.ctx, e.payment(a, b, wa, wb, "8.00"))
	if !errors.Is(err, cell.ErrPaymentFailed) || !errors.Is(err, ledger.ErrInsufficientFunds) {
		t.Fatalf("overdraft within: %v", err)
	}
	e.check()
}

// testAcross: payments between cells reach the payee, settle the
// clearing accounts and are recorded completed in the payer's cell.
func testAcross(t *testing.T, e *env) {
	a, b, c := e.user(0, 0), e.user(1, 0), e.user(2, 0)
	wa, wb, wc := e.wallet(a, "100.00"), e.wallet(b, "10.00"), e.wallet(c, "")
	for _, x := range []struct {
		from, to     uuid.UUID
		wFrom, wTo   uuid.UUID
		amount       string
		wantF, wantT int64
	}{
		{a, b, wa, wb, "30.00", 7000, 4000},
		{b, c, wb, wc, "40.00", 0, 4000},
		{c, a, wc, wa, "15.50", 2450, 8550},
	} {
		p, err := e.c.Pay(e.ctx, e.payment(x.from, x.to, x.wFrom, x.wTo, x.amount))
		if err != nil || p.State != cell.StateCompleted || p.PayerCell == p.PayeeCell || p.FinishedAt.IsZero() {
			t.Fatalf("pay %s → %s: %+v %v", x.from, x.to, p, err)
		}
		e.wantNet(x.from, x.wFrom, x.wantF)
		e.wantNet(x.to, x.wTo, x.wantT)
		rec, err := e.c.Payment(e.ctx, x.from, p.ID)
		if err != nil || rec.State != cell.StateCompleted || rec.PayerCell != e.router.Cell(x.from) || rec.PayeeCell != e.router.Cell(x.to) {
			t.Fatalf("record: %+v %v", rec, err)
		}
		hold, err := e.ledgerOf(x.from).LookupTransfer(e.ctx, e.c.TransferID(p.ID, "hold"))
		if err != nil || hold.Status != ledger.StatusPosted {
			t.Fatalf("hold: %+v %v", hold, err)
		}
		if _, err := e.ledgerOf(x.to).LookupTransfer(e.ctx, e.c.TransferID(p.ID, "credit")); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := e.c.CheckClearing(e.ctx, e.cny)
	if err != nil || rep.Posted != 3000+4000+1550 || rep.Credited != rep.Posted || rep.Held != 0 {
		t.Fatalf("clearing: %+v %v", rep, err)
	}
	e.check()
}

// testIdempotency: a retry returns the recorded payment and moves
// nothing; the same ID for another payment is a conflict.
func testIdempotency(t *testing.T, e *env) {
	a, b := e.user(0, 0), e.user(1, 0)
	wa, wb := e.wallet(a, "10.00"), e.wallet(b, "")
	req := e.payment(a, b, wa, wb, "4.00")
	first, err := e.c.Pay(e.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	again, err := e.c.Pay(e.ctx, req)
	if err != nil || again != first {
		t.Fatalf("retry: %+v %v, first %+v", again, err, first)
	}
	e.wantNet(a, wa, 600)
	e.wantNet(b, wb, 400)
	other := req
	other.Amount = e.money("5.00")
	if _, err := e.c.Pay(e.ctx, other); !errors.Is(err, ledger.ErrIdempotencyConflict) {
		t.Fatalf("other amount under the same ID: %v", err)
	}
	other = req
	other.PayeeAccount = e.wallet(b, "")
	if _, err := e.c.Pay(e.ctx, other); !errors.Is(err, ledger.ErrIdempotencyConflict) {
		t.Fatalf("other payee account under the same ID: %v", err)
	}
	bad := req
	bad.ID = uuid.New()
	bad.Payee = uuid.Nil
	if _, err := e.c.Pay(e.ctx, bad); !errors.Is(err, cell.ErrInvalidPayment) {
		t.Fatalf("no payee: %v", err)
	}
	bad.Payee, bad.PayeeAccount = b, wa
	if _, err := e.c.Pay(e.ctx, bad); !errors.Is(err, cell.ErrInvalidPayment) {
		t.Fatalf("paying oneself: %v", err)
	}
	bad.PayeeAccount, bad.Amount = wb, e.money("-1.00")
	if _, err := e.c.Pay(e.ctx, bad); !errors.Is(err, cell.ErrInvalidPayment) {
		t.Fatalf("negative amount: %v", err)
	}
	e.check()
}

// testHoldRefused: a hold the payer's cell refuses fails the payment;
// the failure is final (a retry after the payer is funded still fails)
// and the hold's ID is fenced: a late copy of the hold cannot land.
func testHoldRefused(t *testing.T, e *env) {
	a, b := e.user(0, 0), e.user(1, 0)
	wa, wb := e.wallet(a, "1.00"), e.wallet(b, "")
	req := e.payment(a, b, wa, wb, "2.00")
	p, err := e.c.Pay(e.ctx, req)
	if !errors.Is(err, cell.ErrPaymentFailed) || !errors.Is(err, ledger.ErrInsufficientFunds) || p.State != cell.StateFailed {
		t.Fatalf("overdraft: %+v %v", p, err)
	}
	e.wallet(a, "") // unrelated
	if _, err := e.ledgerOf(a).Transfer(e.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: e.bank[e.c.CellOf(a).Name], CreditAccountID: wa, Amount: e.money("5.00")}); err != nil {
		t.Fatal(err)
	}
	again, err := e.c.Pay(e.ctx, req)
	if !errors.Is(err, cell.ErrPaymentFailed) || !errors.Is(err, ledger.ErrInsufficientFunds) || again != p {
		t.Fatalf("retry after funding: %+v %v; first %+v", again, err, p)
	}
	// A store that makes the hold with its record never writes the hold's
	// ID but with the record; otherwise the refused hold's ID is fenced.
	if !e.composes(a) {
		late := ledger.Transfer{ID: e.c.TransferID(req.ID, "hold"), Kind: ledger.KindPending, DebitAccountID: wa,
			CreditAccountID: e.c.ClearingAccountID(e.c.CellOf(a).Name, e.cny, 0), Amount: req.Amount}
		if _, err := e.ledgerOf(a).Transfer(e.ctx, late); !errors.Is(err, ledger.ErrIdempotencyConflict) {
			t.Fatalf("a late hold under the fenced ID: %v", err)
		}
	}
	e.wantNet(a, wa, 600)
	e.wantNet(b, wb, 0)
	// An account that is not in the payer's cell fails the same way.
	_, err = e.c.Pay(e.ctx, e.payment(a, b, wb, wa, "1.00"))
	if !errors.Is(err, cell.ErrPaymentFailed) || !errors.Is(err, ledger.ErrAccountNotFound) {
		t.Fatalf("payer account in another cell: %v", err)
	}
	e.check()
}

// testCreditRefused: a credit the payee's cell refuses (a closed account,
// an account that is not there) reverses the payment: the hold is voided,
// the credit's ID fenced, and the clearing accounts settle.
func testCreditRefused(t *testing.T, e *env) {
	a, b := e.user(0, 0), e.user(1, 0)
	wa, wb := e.wallet(a, "10.00"), e.wallet(b, "")
	if _, err := e.ledgerOf(b).Close(e.ctx, wb); err != nil {
		t.Fatal(err)
	}
	req := e.payment(a, b, wa, wb, "4.00")
	p, err := e.c.Pay(e.ctx, req)
	if !errors.Is(err, cell.ErrPaymentReversed) || !errors.Is(err, ledger.ErrAccountClosed) || p.State != cell.StateReversed {
		t.Fatalf("closed payee: %+v %v", p, err)
	}
	if again, err := e.c.Pay(e.ctx, req); !errors.Is(err, cell.ErrPaymentReversed) || again != p {
		t.Fatalf("retry: %+v %v", again, err)
	}
	hold, err := e.ledgerOf(a).LookupTransfer(e.ctx, e.c.TransferID(req.ID, "hold"))
	if err != nil || hold.Status != ledger.StatusVoided {
		t.Fatalf("hold: %+v %v", hold, err)
	}
	late := ledger.Transfer{ID: e.c.TransferID(req.ID, "credit"), DebitAccountID: e.c.ClearingAccountID(e.c.CellOf(b).Name, e.cny, 0),
		CreditAccountID: e.wallet(b, ""), Amount: req.Amount}
	if _, err := e.ledgerOf(b).Transfer(e.ctx, late); !errors.Is(err, ledger.ErrIdempotencyConflict) {
		t.Fatalf("a late credit under the fenced ID: %v", err)
	}
	e.wantNet(a, wa, 1000)
	_, err = e.c.Pay(e.ctx, e.payment(a, b, wa, uuid.New(), "1.00"))
	if !errors.Is(err, cell.ErrPaymentReversed) || !errors.Is(err, ledger.ErrAccountNotFound) {
		t.Fatalf("payee account not there: %v", err)
	}
	e.wantNet(a, wa, 1000)
	e.check()
}

// testPostRefused: a payer account frozen between the credit and the
// post leaves the payment in flight (the payee has the money, the payer's
// hold stands); once unfrozen, Reconcile completes it.
func testPostRefused(t *testing.T, e *env) {
	a, b := e.user(0, 0), e.user(1, 0)
	wa, wb := e.wallet(a, "10.00"), e.wallet(b, "")
	// A process that freezes the payer right after the credit.
	c := &crasher{}
	procCells := e.cells(c)
	req := e.payment(a, b, wa, wb, "4.00")
	// Run the steps up to the credit, then freeze, then go on.
	c.n = 3 // begin, hold, credit: crash after the credit
	c.after = true
	if _, err := procCells.Pay(e.ctx, req); !errors.Is(err, cell.ErrPaymentInFlight) {
		t.Fatalf("crashed pay: %v", err)
	}
	if _, err := e.ledgerOf(a).Freeze(e.ctx, wa); err != nil {
		t.Fatal(err)
	}
	p, err := e.c.Pay(e.ctx, req)
	if !errors.Is(err, cell.ErrPaymentInFlight) || !errors.Is(err, ledger.ErrAccountFrozen) || p.State != cell.StateOpen {
		t.Fatalf("frozen payer: %+v %v", p, err)
	}
	rep, err := e.c.CheckClearing(e.ctx, e.cny)
	if err != nil || rep.Held != 400 || rep.Credited != 400 || rep.Posted != 0 || rep.Settled() {
		t.Fatalf("clearing in flight: %+v %v", rep, err)
	}
	e.wantNet(b, wb, 400)
	later := e.clock.Now().Add(time.Hour)
	if r, err := e.c.Reconcile(e.ctx, later); !errors.Is(err, ledger.ErrAccountFrozen) || r.StillOpen != 1 || len(r.Errors) != 1 {
		t.Fatalf("reconcile while frozen: %+v %v", r, err)
	}
	if _, err := e.ledgerOf(a).Unfreeze(e.ctx, wa); err != nil {
		t.Fatal(err)
	}
	if r, err := e.c.Maintain(e.ctx, later); err != nil || r.Reconcile.Completed != 1 || len(r.Errors) != 0 {
		t.Fatalf("maintain: %+v %v", r, err)
	}
	e.wantNet(a, wa, 600)
	e.check()
}

// testRaceExactBalance: K identical payments between cells at once from a
// wallet holding exactly their amount. One payment moves once, and every
// call gets the same answer: never the refusal the first one caused.
func testRaceExactBalance(t *testing.T, e *env) {
	for i := range ledgertest.RaceIterations(t, 20) {
		a, b := e.user(i%3, 0), e.user((i+1)%3, 1)
		wa, wb := e.wallet(a, "1.00"), e.wallet(b, "")
		req := e.payment(a, b, wa, wb, "1.00")
		got, errs := ledgertest.Concurrently(raceK, func(j int) (cell.Payment, error) { return e.instance(j).Pay(e.ctx, req) })
		for j := range got {
			if errs[j] != nil || got[j] != got[0] || got[j].State != cell.StateCompleted {
				t.Fatalf("call %d: %+v %v; call 0: %+v %v", j, got[j], errs[j], got[0], errs[0])
			}
		}
		e.wantNet(a, wa, 0)
		e.wantNet(b, wb, 100)
	}
	e.check()
}

// testRaceRefusals: K identical payments at once that the payer's cell
// refuses all fail alike; K that the payee's cell refuses are all
// reversed alike; the money stays put.
func testRaceRefusals(t *testing.T, e *env) {
	for i := range ledgertest.RaceIterations(t, 10) {
		a, b := e.user(i%3, 0), e.user((i+2)%3, 1)
		wa, wb := e.wallet(a, "1.00"), e.wallet(b, "")
		for _, x := range []struct {
			amount string
			to     uuid.UUID
			want   error
		}{
			{"1.01", wb, cell.ErrPaymentFailed},
			{"1.00", uuid.New(), cell.ErrPaymentReversed},
		} {
			req := e.payment(a, b, wa, x.to, x.amount)
			got, errs := ledgertest.Concurrently(raceK, func(j int) (cell.Payment, error) { return e.instance(j).Pay(e.ctx, req) })
			for j := range got {
				if !errors.Is(errs[j], x.want) || errs[j].Error() != errs[0].Error() || got[j] != got[0] {
					t.Fatalf("%s call %d: %+v %v; call 0: %+v %v", x.amount, j, got[j], errs[j], got[0], errs[0])
				}
			}
		}
		e.wantNet(a, wa, 100)
		e.wantNet(b, wb, 0)
	}
	e.check()
}

// testConcurrentPayments: many different payments at once from one
// wallet to users of every cell; exactly those that fit complete.
func testConcurrentPayments(t *testing.T, e *env) {
	const n, fits = 60, 40
	a := e.user(0, 0)
	wa := e.wallet(a, "40.00")
	var to []uuid.UUID
	var tw []uuid.UUID
	for c := range 3 {
		u := e.user(c, 2)
		to, tw = append(to, u), append(tw, e.wallet(u, ""))
	}
	_, errs := ledgertest.Concurrently(n, func(i int) (cell.Payment, error) {
		return e.c.Pay(e.ctx, e.payment(a, to[i%3], wa, tw[i%3], "1.00"))
	})
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ledger.ErrInsufficientFunds):
			t.Fatal(err)
		}
	}
	if ok != fits {
		t.Fatalf("%d payments completed, want %d", ok, fits)
	}
	e.wantNet(a, wa, 0)
	var total int64
	for c := range 3 {
		total += e.net(to[c], tw[c])
	}
	if total != fits*100 {
		t.Fatalf("payees received %d, want %d", total, fits*100)
	}
	e.check()
}

// testCrashEveryStep: a process crashes before and after each write of a
// payment (the record, the hold, the credit, the post, the fences, the
// void, the outcome), in each of the three ends a payment can come to;
// and again counting the payment records' writes only, which for a store
// that composes are the record with its hold and the outcome with its
// post or void.
// Then either the client retries (on a process that lives) or Reconcile
// runs; the payment ends completed, failed or reversed, money is
// conserved, no step lands twice, and the clearing accounts settle.
func testCrashEveryStep(t *testing.T, e *env) {
	type scenario struct {
		name   string
		amount string // the payer holds 5.00
		payee  func(b uuid.UUID) uuid.UUID
	}
	scenarios := []scenario{
		{"completes", "2.00", func(b uuid.UUID) uuid.UUID { return e.wallet(b, "") }},
		{"hold refused", "6.00", func(b uuid.UUID) uuid.UUID { return e.wallet(b, "") }},
		{"credit refused", "2.00", func(uuid.UUID) uuid.UUID { return uuid.New() }},
	}
	writes := map[string]int{}
	for _, sc := range scenarios {
		for _, after := range []bool{false, true} {
			for _, retry := range []bool{false, true} {
				for _, recordsOnly := range []bool{false, true} {
					for n := 1; ; n++ {
						if !recordsOnly {
							writes[sc.name] = max(writes[sc.name], n-1)
						}
						a, b := e.user(0, 3), e.user(1, 3)
						wa, wb := e.wallet(a, "5.00"), sc.payee(b)
						req := e.payment(a, b, wa, wb, sc.amount)
						c := &crasher{n: n, after: after, recordsOnly: recordsOnly}
						_, perr := e.cells(c).Pay(e.ctx, req)
						if !c.crashed() {
							break // the payment took fewer than n writes
						}
						where := fmt.Sprintf("%s, crash %s write %d of %s, then %s", sc.name, map[bool]string{false: "before", true: "after"}[after], n,
							map[bool]string{false: "every store", true: "the records"}[recordsOnly], map[bool]string{false: "reconcile", true: "retry"}[retry])
						if perr == nil {
							t.Fatalf("%s: a crashed payment answered success", where)
						}
						if retry {
							_, _ = e.c.Pay(e.ctx, req)
						}
						e.clock.Advance(time.Second)
						if _, err := e.c.Reconcile(e.ctx, e.clock.Now().Add(time.Hour)); err != nil {
							t.Fatalf("%s: reconcile: %v", where, err)
						}
						p, err := e.c.Payment(e.ctx, a, req.ID)
						moved := int64(0)
						switch {
						case errors.Is(err, cell.ErrPaymentNotFound) && n == 1 && !after && !retry:
							// Crashed before recording: nothing happened.
						case err != nil:
							t.Fatalf("%s: %v", where, err)
						case p.State == cell.StateCompleted:
							moved = req.Amount.Units()
						case p.State == cell.StateOpen:
							t.Fatalf("%s: still open after reconcile", where)
						}
						if sc.name != "completes" && p.State == cell.StateCompleted {
							t.Fatalf("%s: completed a payment that must not", where)
						}
						if sc.name == "completes" && retry && p.State != cell.StateCompleted {
							t.Fatalf("%s: a retried payment ended %s", where, p.State)
						}
						e.wantNet(a, wa, 500-moved)
						if sc.name != "credit refused" {
							e.wantNet(b, wb, moved)
						}
						e.check()
					}
				}
			}
		}
	}
	// The record, the hold, the credit, the post, the outcome; a refused
	// hold: the record, the hold, its fence, the outcome; a refused credit:
	// the record, the hold, the credit, its fence, the void, the outcome.
	if want := map[string]int{"completes": 5, "hold refused": 4, "credit refused": 6}; fmt.Sprint(writes) != fmt.Sprint(want) {
		t.Fatalf("writes per payment %v, want %v", writes, want)
	}
}

// testRaceReconcile: K identical payments race Reconcile (which would
// abandon the payment if it found the hold missing). Whoever writes the
// hold's ID first decides; every call answers with the recorded end.
func testRaceReconcile(t *testing.T, e *env) {
	for i := range ledgertest.RaceIterations(t, 20) {
		a, b := e.user(i%3, 0), e.user((i+1)%3, 1)
		wa, wb := e.wallet(a, "1.00"), e.wallet(b, "")
		req := e.payment(a, b, wa, wb, "1.00")
		got, errs := ledgertest.Concurrently(raceK, func(j int) (cell.Payment, error) {
			if j == 0 {
				_, err := e.c.Reconcile(e.ctx, e.clock.Now().Add(time.Hour))
				return cell.Payment{}, err
			}
			return e.instance(j).Pay(e.ctx, req)
		})
		if errs[0] != nil {
			t.Fatalf("reconcile: %v", errs[0])
		}
		rec, err := e.c.Payment(e.ctx, a, req.ID)
		if err != nil || !rec.State.Final() {
			t.Fatalf("record: %+v %v", rec, err)
		}
		for j := 1; j < raceK; j++ {
			if got[j] != rec || (errs[j] == nil) != (rec.State == cell.StateCompleted) {
				t.Fatalf("call %d: %+v %v; recorded %+v", j, got[j], errs[j], rec)
			}
		}
		moved := int64(0)
		if rec.State == cell.StateCompleted {
			moved = 100
		}
		e.wantNet(a, wa, 100-moved)
		e.wantNet(b, wb, moved)
	}
	e.check()
}

// testReconcileAbandons: a payment recorded whose hold was never placed
// (its request died) is failed by Reconcile, and its hold fenced; a
// payment recorded just now is left to its request.
func testReconcileAbandons(t *testing.T, e *env) {
	a, b := e.user(0, 0), e.user(2, 0)
	wa, wb := e.wallet(a, "5.00"), e.wallet(b, "")
	req := e.payment(a, b, wa, wb, "2.00")
	c := &crasher{n: 2} // the hold never happens
	if _, err := e.cells(c).Pay(e.ctx, req); err == nil {
		t.Fatal("crashed pay answered success")
	}
	if r, err := e.c.Reconcile(e.ctx, e.clock.Now()); err != nil || r.Completed+r.Failed+r.Reversed+r.StillOpen != 0 {
		t.Fatalf("reconcile of a fresh payment: %+v %v", r, err)
	}
	r, err := e.c.Reconcile(e.ctx, e.clock.Now().Add(time.Hour))
	if err != nil || r.Failed != 1 {
		t.Fatalf("reconcile: %+v %v", r, err)
	}
	p, err := e.c.Pay(e.ctx, req)
	if !errors.Is(err, cell.ErrPaymentFailed) || p.State != cell.StateFailed {
		t.Fatalf("retry after abandon: %+v %v", p, err)
	}
	late := ledger.Transfer{ID: e.c.TransferID(req.ID, "hold"), Kind: ledger.KindPending, DebitAccountID: wa,
		CreditAccountID: e.c.ClearingAccountID(e.c.CellOf(a).Name, e.cny, 0), Amount: req.Amount}
	if _, err := e.ledgerOf(a).Transfer(e.ctx, late); !errors.Is(err, ledger.ErrIdempotencyConflict) {
		t.Fatalf("a late hold after abandon: %v", err)
	}
	e.wantNet(a, wa, 500)
	e.check()
}

// testClearingCatches: each of the clearing check's two inequalities
// catches the money it guards: a payer's cell posting into clearing what
// no payee was credited, and a payee's cell paying out of clearing what no
// payer's cell holds (money made between cells).
func testClearingCatches(t *testing.T, e *env) {
	a, b := e.user(0, 0), e.user(1, 0)
	wa, wb := e.wallet(a, "5.00"), e.wallet(b, "")
	if _, err := e.c.Pay(e.ctx, e.payment(a, b, wa, wb, "1.00")); err != nil {
		t.Fatal(err)
	}
	e.check()
	posted := ledger.Transfer{ID: uuid.New(), DebitAccountID: wa, CreditAccountID: e.c.ClearingAccountID(e.c.CellOf(a).Name, e.cny, 2), Amount: e.money("0.02")}
	if _, err := e.ledgerOf(a).Transfer(e.ctx, posted); err != nil {
		t.Fatal(err)
	}
	if rep, err := e.c.CheckClearing(e.ctx, e.cny); !errors.Is(err, cell.ErrClearing) || !strings.Contains(err.Error(), "before their payees were credited") {
		t.Fatalf("a posting without a credit: %+v %v", rep, err)
	}
	forged := ledger.Transfer{ID: uuid.New(), DebitAccountID: e.c.ClearingAccountID(e.c.CellOf(b).Name, e.cny, 1), CreditAccountID: wb, Amount: e.money("0.05")}
	if _, err := e.ledgerOf(b).Transfer(e.ctx, forged); err != nil {
		t.Fatal(err)
	}
	if rep, err := e.c.CheckClearing(e.ctx, e.cny); !errors.Is(err, cell.ErrClearing) || !strings.Contains(err.Error(), "that no payer's cell holds") {
		t.Fatalf("a credit without a hold: %+v %v", rep, err)
	}
}
