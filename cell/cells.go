package cell

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

// Cell is one ledger with the records of the payments its users pay to
// other cells. On PostgreSQL a cell is a schema (postgres.DB.WithSchema):
// its ledger store and its payment store on the same DB.
type Cell struct {
	Name   string         // as the Router knows it
	Ledger *ledger.Ledger // the cell's ledger
	Store  Store          // the payments this cell's users pay out to other cells
}

// Config configures Cells.
type Config struct {
	// Router routes users to cells. Required.
	Router *Router
	// Cells are the cells, one for each of the Router's names. Required.
	Cells []Cell
	// Namespace is the UUIDv5 namespace of every ID Cells derives
	// (transfers, clearing accounts). It must never change for a given set
	// of ledgers. Zero means DefaultNamespace().
	Namespace uuid.UUID
	// ClearingShards is how many clearing accounts each cell has per
	// currency: every payment between cells posts to one of its payer
	// cell's and one of its payee cell's, picked by the payment's ID, so
	// that payments do not queue on one account. It must never change for
	// a given set of ledgers. Default 8.
	ClearingShards int
	// Code is stamped on the clearing accounts and on every transfer Cells
	// makes; its meaning is the bank's.
	Code uint16
	// Now is the clock of the payment records; nil means time.Now.
	Now func() time.Time
	// ReconcileAfter is how old an open payment must be before Reconcile
	// finishes it, so that Reconcile leaves payments in flight to
	// themselves (acting on them is safe, only wasted work). Default 1
	// minute; negative means 0.
	ReconcileAfter time.Duration
}

// DefaultNamespace returns the namespace of derived IDs when
// Config.Namespace is zero: the UUIDv5 of
// "https://github.com/socialpay/socialpay/cell" in the URL namespace.
func DefaultNamespace() uuid.UUID {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/socialpay/socialpay/cell"))
}

// Cells is a bank's set of cells, and the payments between them.
//
// A payment between two cells is settled with the ledger's own two-phase
// transfers, each under an ID derived from the payment's ID:
//
//  1. the payment is recorded, open, in the payer's cell (Store.Begin);
//  2. hold: a pending transfer in the payer's cell from the payer's
//     account to the cell's clearing account;
//  3. credit: a transfer in the payee's cell from its clearing account to
//     the payee's account;
//  4. post: the hold is posted; the record is completed.
//
// When the payer cell's Store composes with its ledger (Store.PaysOn:
// postgres.CellStore beside the cell's ledger Store), steps 1 and 2 are
// one transaction and so are the post and the outcome: three commits per
// payment instead of five, and a hold is only ever written with its
// record. If the hold is refused nothing moved and the payment fails; if
// the credit is refused the hold is voided and the payment is reversed. A
// refused step is fenced before the payment is failed or reversed: its ID
// is taken by a tombstone (a pending transfer from the clearing account to
// the cell's fence account, voided in the same batch), so that a copy of
// the step still in flight, from a duplicate request or a process that
// crashed, can never land afterwards. Whoever writes a step's ID first
// decides it, on the ledger itself; every step is idempotent, so any
// number of duplicate calls, and Reconcile, drive one payment to one end.
//
// Cells is safe for concurrent use.
type Cells struct {
	router *Router
	cells  map[string]*Cell
	ns     uuid.UUID
	shards int
	code   uint16
	now    func() time.Time
	after  time.Duration
	ready  sync.Map // clearingKey → struct{}: the accounts exist (a fact that never changes)
	// composes: the cell's Store makes the hold, post and void in the
	// transactions of its record (Store.PaysOn).
	composes map[string]bool
}

// New returns the Cells cfg describes.
//
// Errors: ErrInvalidCell (no Router, a cell the Router does not name or
// a name without a cell, a cell without a Ledger or Store, a negative
// ClearingShards).
func New(cfg Config) (*Cells, error) {
	if cfg.Router == nil {
		return nil, fmt.Errorf("%w: no Router", ErrInvalidCell)
	}
	c := &Cells{
		router: cfg.Router, cells: make(map[string]*Cell, len(cfg.Cells)), composes: make(map[string]bool, len(cfg.Cells)),
		ns: cfg.Namespace, shards: cfg.ClearingShards, code: cfg.Code, now: cfg.Now, after: cfg.ReconcileAfter,
	}
	for i := range cfg.Cells {
		cl := cfg.Cells[i]
		switch {
		case cl.Ledger == nil || cl.Store == nil:
			return nil, fmt.Errorf("%w: cell %q has no Ledger or no Store", ErrInvalidCell, cl.Name)
		case c.cells[cl.Name] != nil:
			return nil, fmt.Errorf("%w: cell %q given twice", ErrInvalidCell, cl.Name)
		}
		c.cells[cl.Name] = &cl
		c.composes[cl.Name] = cl.Store.PaysOn(cl.Ledger.Store())
	}
	for _, n := range cfg.Router.names {
		if c.cells[n] == nil {
			return nil, fmt.Errorf("%w: the Router names cell %q, which has no Cell", ErrInvalidCell, n)
		}
	}
	if len(c.cells) != len(cfg.Router.names) {
		return nil, fmt.Errorf("%w: %d cells for a Router of %d", ErrInvalidCell, len(c.cells), len(cfg.Router.names))
	}
	switch {
	case c.shards < 0:
		return nil, fmt.Errorf("%w: ClearingShards %d", ErrInvalidCell, c.shards)
	case c.shards == 0:
		c.shards = 8
	}
	if c.ns == uuid.Nil {
		c.ns = DefaultNamespace()
	}
	if c.now == nil {
		c.now = time.Now
	}
	switch {
	case c.after == 0:
		c.after = time.Minute
	case c.after < 0:
		c.after = 0
	}
	return c, nil
}

// Router returns the router.
func (c *Cells) Router() *Router { return c.router }

// Cell returns the cell named name, or nil.
func (c *Cells) Cell(name string) *Cell { return c.cells[name] }

// CellOf returns the cell user lives in.
func (c *Cells) CellOf(user uuid.UUID) *Cell { return c.cells[c.router.Cell(user)] }

// The IDs Cells derives.

// TransferID returns the ID of a step of payment id: "transfer" (a
// payment within one cell), "hold", "credit", "post" or "void".
func (c *Cells) TransferID(id uuid.UUID, step string) uuid.UUID {
	return ledger.DeriveID(c.ns, "cell", "payment", id.String(), step)
}

// ClearingAccountID returns the ID of clearing account shard of cell in
// currency cur.
func (c *Cells) ClearingAccountID(cell string, cur ledger.Currency, shard int) uuid.UUID {
	return ledger.DeriveID(c.ns, "cell", cell, "clearing", cur.Code(), strconv.Itoa(shard))
}

// FenceAccountID returns the ID of cell's fence account in currency cur:
// the credit side of the tombstones that fence refused steps.
func (c *Cells) FenceAccountID(cell string, cur ledger.Currency) uuid.UUID {
	return ledger.DeriveID(c.ns, "cell", cell, "fence", cur.Code())
}

func (c *Cells) shard(id uuid.UUID) int {
	h := fnv.New64a()
	h.Write(id[:])
	return int(h.Sum64() % uint64(c.shards))
}

// ClearingShards returns how many clearing accounts each cell has per
// currency.
func (c *Cells) ClearingShards() int { return c.shards }

// Pay moves p.Amount from the payer's account to the payee's and returns
// the payment as it ends. Within one cell it is one ledger transfer (ID
// TransferID(p.ID, "transfer")), answered as the ledger answers: a retry
// of a refused payment may succeed later. Between two cells it is
// recorded in the payer's cell and settled in the steps of Cells' doc; a
// retry with the same ID returns the recorded outcome, and a refusal is
// final.
//
// Errors: ErrInvalidPayment; ErrPaymentFailed (the payer's cell refused:
// nothing moved) and ErrPaymentReversed (the payee's cell refused: the
// hold was released), each wrapping the ledger's reason when known;
// ErrPaymentInFlight (wrapping why) when it could not finish: retry, or
// let Reconcile finish it; ledger.ErrIdempotencyConflict (the ID was used
// for another payment); for a payment within a cell, the ledger's
// *TransferError; and the stores' own errors.
func (c *Cells) Pay(ctx context.Context, p Payment) (Payment, error) {
	if err := validate(&p); err != nil {
		return Payment{}, err
	}
	p.PayerCell, p.PayeeCell = c.router.Cell(p.Payer), c.router.Cell(p.Payee)
	p.State, p.Reason, p.CreatedAt, p.FinishedAt = StateOpen, "", time.Time{}, time.Time{}
	if p.PayerCell == p.PayeeCell {
		return c.payWithin(ctx, p)
	}
	req := p
	payer, payee := c.cells[p.PayerCell], c.cells[p.PayeeCell]
	cur := p.Amount.Currency()
	if err := c.ensure(ctx, payer, cur); err != nil {
		return req, c.inFlight(p, "clearing accounts", err)
	}
	if err := c.ensure(ctx, payee, cur); err != nil {
		return req, c.inFlight(p, "clearing accounts", err)
	}
	var hold *Move
	if c.composes[payer.Name] {
		hold = &Move{Ledger: payer.Ledger, Transfer: c.hold(p)}
	}
	p.CreatedAt = ledger.Timestamp(c.now())
	stored, created, err := payer.Store.Begin(ctx, p, hold)
	if err != nil {
		return req, fmt.Errorf("%w: payment %s: recording: %w", ErrPaymentInFlight, p.ID, err)
	}
	if !created {
		if err := samePayment(&req, &stored); err != nil {
			return Payment{}, err
		}
	}
	if stored.State.Final() {
		return stored, outcome(stored)
	}
	return c.drive(ctx, stored, false, created && hold != nil)
}

// hold returns the hold of payment p: a pending transfer in the payer's
// cell from the payer's account to a clearing account.
func (c *Cells) hold(p Payment) ledger.Transfer {
	return ledger.Transfer{
		ID: c.TransferID(p.ID, "hold"), Kind: ledger.KindPending, DebitAccountID: p.PayerAccount,
		CreditAccountID: c.ClearingAccountID(p.PayerCell, p.Amount.Currency(), c.shard(p.ID)), Amount: p.Amount, Code: c.code,
	}
}

func (c *Cells) payWithin(ctx context.Context, p Payment) (Payment, error) {
	t, err := c.cells[p.PayerCell].Ledger.Transfer(ctx, ledger.Transfer{
		ID: c.TransferID(p.ID, "transfer"), DebitAccountID: p.PayerAccount, CreditAccountID: p.PayeeAccount,
		Amount: p.Amount, Code: c.code,
	})
	switch {
	case ledger.Refused(err):
		p.State, p.Reason = StateFailed, reason(err)
		return p, fmt.Errorf("payment %s: %w", p.ID, errcode.Because(ErrPaymentFailed, err))
	case err != nil:
		return p, fmt.Errorf("%w: payment %s: %w", ErrPaymentInFlight, p.ID, err)
	}
	p.State, p.CreatedAt, p.FinishedAt = StateCompleted, t.Timestamp, t.Timestamp
	return p, nil
}

// Payment returns the payment id that payer paid to another cell, as
// recorded in the payer's cell. Payments within one cell are ledger
// transfers (TransferID(id, "transfer")) and have no record.
//
// Errors: ErrPaymentNotFound, the store's.
func (c *Cells) Payment(ctx context.Context, payer, id uuid.UUID) (Payment, error) {
	return c.CellOf(payer).Store.Payment(ctx, id)
}

// outcome returns the error a final payment answers with.
func outcome(p Payment) error {
	switch p.State {
	case StateFailed:
		return fmt.Errorf("payment %s: %w", p.ID, errcode.Because(ErrPaymentFailed, refusal(p.Reason)))
	case StateReversed:
		return fmt.Errorf("payment %s: %w", p.ID, errcode.Because(ErrPaymentReversed, refusal(p.Reason)))
	}
	return nil
}

// drive takes a recorded open payment as far as it can go: completed,
// failed or reversed. Each step finds its own earlier effect (or a
// tombstone in its place) by ID, so drive can start over at any point, as
// often as it is called. abandon is Reconcile's: a payment whose hold
// was never placed is failed rather than started. held says that Begin
// made the hold.
func (c *Cells) drive(ctx context.Context, p Payment, abandon, held bool) (Payment, error) {
	payer, payee := c.cells[p.PayerCell], c.cells[p.PayeeCell]
	if payer == nil || payee == nil {
		return p, fmt.Errorf("%w: payment %s: recorded between cells %q and %q, not both known", ErrInvalidCell, p.ID, p.PayerCell, p.PayeeCell)
	}
	cur := p.Amount.Currency()
	if err := c.ensure(ctx, payer, cur); err != nil {
		return p, c.inFlight(p, "clearing accounts", err)
	}
	if err := c.ensure(ctx, payee, cur); err != nil {
		return p, c.inFlight(p, "clearing accounts", err)
	}
	shard := c.shard(p.ID)
	holdID := c.TransferID(p.ID, "hold")

	// The hold.
	var cause error
	switch {
	case held:
	case abandon:
		switch t, err := payer.Ledger.LookupTransfer(ctx, holdID); {
		case errors.Is(err, ledger.ErrTransferNotFound):
			cause = ErrAbandoned
		case err != nil:
			return p, c.inFlight(p, "looking up the hold", err)
		case t.CreditAccountID == c.FenceAccountID(payer.Name, cur):
			return c.finish(ctx, p, StateFailed, t.Reference, nil) // fenced before
		}
	default:
		_, err := payer.Ledger.Transfer(ctx, c.hold(p))
		switch {
		case ledger.Refused(err):
			cause = err
		case err != nil:
			return p, c.inFlight(p, "hold", err)
		}
	}
	if cause != nil {
		fenced, why, err := c.fence(ctx, payer, holdID, p, shard, cause)
		switch {
		case err != nil:
			return p, c.inFlight(p, "fencing the hold", err)
		case fenced:
			return c.finish(ctx, p, StateFailed, why, nil)
		}
		// The hold is there after all: a duplicate placed it.
	}

	// The credit.
	_, err := payee.Ledger.Transfer(ctx, ledger.Transfer{
		ID: c.TransferID(p.ID, "credit"), DebitAccountID: c.ClearingAccountID(payee.Name, cur, shard),
		CreditAccountID: p.PayeeAccount, Amount: p.Amount, Code: c.code,
	})
	switch {
	case ledger.Refused(err):
		fenced, why, ferr := c.fence(ctx, payee, c.TransferID(p.ID, "credit"), p, shard, err)
		switch {
		case ferr != nil:
			return p, c.inFlight(p, "fencing the credit", ferr)
		case fenced:
			void := ledger.Transfer{ID: c.TransferID(p.ID, "void"), Kind: ledger.KindVoidPending, PendingID: holdID, Code: c.code}
			return c.finish(ctx, p, StateReversed, why, &void)
		}
		// The credit is there after all: a duplicate made it.
	case err != nil:
		return p, c.inFlight(p, "credit", err)
	}

	// The post. Only a frozen payer account refuses it (until unfrozen).
	post := ledger.Transfer{ID: c.TransferID(p.ID, "post"), Kind: ledger.KindPostPending, PendingID: holdID, Code: c.code}
	return c.finish(ctx, p, StateCompleted, "", &post)
}

func (c *Cells) inFlight(p Payment, step string, err error) error {
	return fmt.Errorf("%w: payment %s: %s: %w", ErrPaymentInFlight, p.ID, step, err)
}

// finish makes move (the hold's post or void, if any) and records the
// payment's end: in one transaction when the payer's store composes, else
// through the ledger first.
func (c *Cells) finish(ctx context.Context, p Payment, st State, why string, move *ledger.Transfer) (Payment, error) {
	payer := c.cells[p.PayerCell]
	var m *Move
	switch {
	case move == nil:
	case c.composes[payer.Name]:
		m = &Move{Ledger: payer.Ledger, Transfer: *move}
	default:
		if _, err := payer.Ledger.Transfer(ctx, *move); err != nil {
			return p, c.inFlight(p, move.Kind.String()+" of the hold", err)
		}
	}
	done, err := payer.Store.Finish(ctx, p.ID, st, why, ledger.Timestamp(c.now()), m)
	if err != nil {
		return p, c.inFlight(p, "recording the outcome", err)
	}
	return done, outcome(done)
}

// fence makes sure the step with ID id, which was refused (cause) or never
// taken, can never land: it writes a tombstone under its ID in cell, a
// pending transfer from a clearing account to the fence account with the
// reason as its reference, voided in the same linked batch. fenced is
// false when the step itself holds the ID (a duplicate took it meanwhile):
// then the payment goes on. why is the reason the tombstone holds (the
// first fencer's).
func (c *Cells) fence(ctx context.Context, cell *Cell, id uuid.UUID, p Payment, shard int, cause error) (fenced bool, why string, err error) {
	cur := p.Amount.Currency()
	why = reason(cause)
	tomb := ledger.Transfer{
		ID: id, Kind: ledger.KindPending, DebitAccountID: c.ClearingAccountID(cell.Name, cur, shard),
		CreditAccountID: c.FenceAccountID(cell.Name, cur), Amount: p.Amount, Code: c.code, Reference: why,
	}
	void := ledger.Transfer{ID: ledger.DeriveID(c.ns, "cell", "fence", id.String()), Kind: ledger.KindVoidPending, PendingID: id, Code: c.code}
	_, err = cell.Ledger.Linked(ctx, []ledger.Transfer{tomb, void})
	switch {
	case err == nil:
		return true, why, nil
	case !ledger.Refused(err):
		return false, "", err
	}
	// Something holds the ID: the step itself, or another fencer's
	// tombstone with a reason of its own.
	t, lerr := cell.Ledger.LookupTransfer(ctx, id)
	if lerr != nil {
		return false, "", fmt.Errorf("looking up %s after %w: %w", id, err, lerr)
	}
	if t.CreditAccountID != tomb.CreditAccountID {
		return false, "", nil
	}
	if t.Status != ledger.StatusVoided {
		return false, "", fmt.Errorf("tombstone %s is %s: %w", id, t.Status, err)
	}
	return true, t.Reference, nil
}

type clearingKey struct {
	cell string
	cur  ledger.Currency
}

// ensure creates cell's clearing and fence accounts in cur, once per
// process.
func (c *Cells) ensure(ctx context.Context, cell *Cell, cur ledger.Currency) error {
	k := clearingKey{cell.Name, cur}
	if _, ok := c.ready.Load(k); ok {
		return nil
	}
	ids := []uuid.UUID{c.FenceAccountID(cell.Name, cur)}
	for s := range c.shards {
		ids = append(ids, c.ClearingAccountID(cell.Name, cur, s))
	}
	for _, id := range ids {
		if _, err := cell.Ledger.CreateAccount(ctx, ledger.Account{ID: id, Currency: cur, Code: c.code}); err != nil {
			return err
		}
	}
	c.ready.Store(k, struct{}{})
	return nil
}

// refusals are the reasons a step may be refused for: a record keeps the
// reason's code, so that it reads back as the sentinel it was.
var refusals = []*errcode.Error{
	ledger.ErrInsufficientFunds, ledger.ErrExceedsDebits, ledger.ErrBalanceOverflow,
	ledger.ErrAccountNotFound, ledger.ErrAccountClosed, ledger.ErrAccountFrozen,
	ledger.ErrCurrencyMismatch, ledger.ErrIdempotencyConflict, ErrAbandoned,
}

// reason returns what a record keeps of a refusal: its code when it is a
// known one, else its text (cut to what a ledger reference holds).
func reason(err error) string {
	for _, r := range refusals {
		if errors.Is(err, r) {
			return r.Code()
		}
	}
	s := strings.ReplaceAll(err.Error(), "\x00", "")
	if len(s) > ledger.MaxReferenceLen {
		s = s[:ledger.MaxReferenceLen]
	}
	return strings.ToValidUTF8(s, "")
}

// refusal returns the error a recorded reason stands for.
func refusal(why string) error {
	for _, r := range refusals {
		if r.Code() == why {
			return r
		}
	}
	return errors.New(why)
}
