package ledger

import (
	"errors"
	"fmt"
	"math/bits"
	"sort"

	"github.com/google/uuid"
)

// VerifyReport says what Verify checked.
type VerifyReport struct {
	Accounts   int              `json:"accounts"`
	Entries    int64            `json:"entries"`
	Currencies []CurrencyTotals `json:"currencies"` // ordered by currency code
}

// CurrencyTotals are the sums over every account of one currency. For a
// sound ledger debits equal credits, posted and pending alike.
type CurrencyTotals struct {
	Currency       Currency `json:"currency"`
	Accounts       int      `json:"accounts"`
	DebitsPosted   Uint128  `json:"debits_posted"`
	CreditsPosted  Uint128  `json:"credits_posted"`
	DebitsPending  Uint128  `json:"debits_pending"`
	CreditsPending Uint128  `json:"credits_pending"`
}

// Uint128 is an unsigned 128-bit sum, so totals over many accounts never
// overflow.
type Uint128 struct{ Hi, Lo uint64 }

func (u Uint128) add(v int64) Uint128 {
	lo, carry := bits.Add64(u.Lo, uint64(v), 0) // v ≥ 0: balances never go negative
	return Uint128{Hi: u.Hi + carry, Lo: lo}
}

// String formats the sum in decimal.
func (u Uint128) String() string {
	if u.Hi == 0 {
		return fmt.Sprint(u.Lo)
	}
	return u.big().String()
}

// maxVerifyProblems bounds how many problems one Verify reports.
const maxVerifyProblems = 100

// Verifier checks a ledger from its accounts and their entries, streamed by
// a store from one consistent snapshot:
//
//   - every account's entries are numbered 1, 2, 3… without gaps, each hash
//     chains from the previous one (from GenesisHash for the first), so an
//     edited, inserted or deleted entry is detected;
//   - replaying the entries' deltas gives each entry's running balance and
//     the account's balance, and replaying its events gives its status;
//     every running balance respects the account's flags;
//   - per currency, debits equal credits, posted and pending;
//   - from the transfers (Transfer): every resolved hold has exactly one
//     post or void that names it and that it names, of the kind its status
//     says; an open or expired hold has none; every reversal and the
//     transfer it reverses name each other, once; and each account's
//     pending debits and credits equal the sums of its open holds.
//
// A store feeds every account (Account, then its entries, then Done) and
// every transfer (Transfer), in any order between the two kinds, and calls
// Finish.
type Verifier struct {
	totals   map[Currency]*CurrencyTotals
	report   VerifyReport
	problems []error

	pending   map[uuid.UUID]Balance   // every account's pending debits and credits, as stored
	holds     map[uuid.UUID]*Transfer // pending transfers
	open      map[uuid.UUID]Balance   // per account: the sums of its open holds (pending fields only)
	resolvers map[uuid.UUID][]Transfer
	reversals map[uuid.UUID][]uuid.UUID // reversed transfer → reversals naming it
	reversed  map[uuid.UUID]uuid.UUID   // transfer → the reversal it names (ReversedBy)
	kinds     map[uuid.UUID]TransferKind
}

// NewVerifier returns an empty Verifier.
func NewVerifier() *Verifier {
	return &Verifier{
		totals: make(map[Currency]*CurrencyTotals), pending: make(map[uuid.UUID]Balance),
		holds: make(map[uuid.UUID]*Transfer), open: make(map[uuid.UUID]Balance),
		resolvers: make(map[uuid.UUID][]Transfer), reversals: make(map[uuid.UUID][]uuid.UUID),
		reversed: make(map[uuid.UUID]uuid.UUID), kinds: make(map[uuid.UUID]TransferKind),
	}
}

// Transfer records one stored transfer for the checks of its links (see
// Verifier); a store calls it for every transfer. Only holds, posts, voids,
// reversals and reversed transfers are kept, so memory follows their
// number, not the ledger's.
func (v *Verifier) Transfer(t *Transfer) {
	switch {
	case t.Kind == KindPending:
		h := *t
		h.Metadata = nil
		v.holds[t.ID] = &h
		if t.Status == StatusPending {
			d, c := v.open[t.DebitAccountID], v.open[t.CreditAccountID]
			d.DebitsPending, _ = addInt64(d.DebitsPending, t.Amount.Units())
			c.CreditsPending, _ = addInt64(c.CreditsPending, t.Amount.Units())
			v.open[t.DebitAccountID], v.open[t.CreditAccountID] = d, c
		}
	case t.Kind == KindPostPending || t.Kind == KindVoidPending:
		v.resolvers[t.PendingID] = append(v.resolvers[t.PendingID], Transfer{ID: t.ID, Kind: t.Kind})
	case t.Kind == KindReversal:
		v.reversals[t.ReversesID] = append(v.reversals[t.ReversesID], t.ID)
	}
	if t.ReversedBy != uuid.Nil {
		v.reversed[t.ID] = t.ReversedBy
	}
	if t.ReversedBy != uuid.Nil || t.Kind == KindReversal {
		v.kinds[t.ID] = t.Kind
	}
}

// checkTransfers runs the checks of Transfer's links (see Verifier).
func (v *Verifier) checkTransfers() {
	for id, h := range v.holds {
		rs := v.resolvers[id]
		var want TransferKind
		switch h.Status {
		case StatusPosted:
			want = KindPostPending
		case StatusVoided:
			want = KindVoidPending
		default:
			if len(rs) > 0 || h.ResolvedBy != uuid.Nil {
				v.problem(&TransferError{ID: id, Err: fmt.Errorf("hold is %s but is resolved by %v (resolved_by %s)", h.Status, ids(rs), h.ResolvedBy)})
			}
			continue
		}
		if len(rs) != 1 || rs[0].ID != h.ResolvedBy || rs[0].Kind != want {
			v.problem(&TransferError{ID: id, Err: fmt.Errorf("hold is %s by %s, but the transfers resolving it are %v", h.Status, h.ResolvedBy, ids(rs))})
		}
	}
	for pid, rs := range v.resolvers {
		if v.holds[pid] == nil {
			v.problem(&TransferError{ID: rs[0].ID, Err: fmt.Errorf("resolves %s, which is not a stored hold", pid)})
		}
	}
	for target, rs := range v.reversals {
		if len(rs) != 1 || v.reversed[target] != rs[0] {
			v.problem(&TransferError{ID: target, Err: fmt.Errorf("reversed by %v, but names %s as its reversal", rs, v.reversed[target])})
		}
	}
	for id, r := range v.reversed {
		if rs := v.reversals[id]; len(rs) != 1 || rs[0] != r || v.kinds[r] != KindReversal {
			v.problem(&TransferError{ID: id, Err: fmt.Errorf("names %s as its reversal, which does not name it", r)})
		}
	}
	for id, b := range v.pending {
		if o := v.open[id]; o.DebitsPending != b.DebitsPending || o.CreditsPending != b.CreditsPending {
			v.problem(&AccountError{ID: id, Err: fmt.Errorf("pending debits %d and credits %d, but its open holds sum to %d and %d",
				b.DebitsPending, b.CreditsPending, o.DebitsPending, o.CreditsPending)})
		}
	}
	for id := range v.open {
		if _, ok := v.pending[id]; !ok {
			v.problem(&AccountError{ID: id, Err: errors.New("open holds name an account that does not exist")})
		}
	}
}

func ids(ts []Transfer) []uuid.UUID {
	out := make([]uuid.UUID, len(ts))
	for i := range ts {
		out[i] = ts[i].ID
	}
	return out
}

func (v *Verifier) problem(err error) {
	if len(v.problems) < maxVerifyProblems {
		v.problems = append(v.problems, err)
	}
}

// Account starts checking one account; feed its entries in order to the
// returned check, then call Done.
func (v *Verifier) Account(st AccountState) *AccountCheck {
	v.report.Accounts++
	a := &st.Account
	t := v.totals[a.Currency]
	if t == nil {
		t = &CurrencyTotals{Currency: a.Currency}
		v.totals[a.Currency] = t
	}
	t.Accounts++
	t.DebitsPosted = t.DebitsPosted.add(a.Balance.DebitsPosted)
	t.CreditsPosted = t.CreditsPosted.add(a.Balance.CreditsPosted)
	t.DebitsPending = t.DebitsPending.add(a.Balance.DebitsPending)
	t.CreditsPending = t.CreditsPending.add(a.Balance.CreditsPending)
	v.pending[a.ID] = Balance{DebitsPending: a.Balance.DebitsPending, CreditsPending: a.Balance.CreditsPending}
	return &AccountCheck{v: v, st: st, head: GenesisHash(a.ID)}
}

// AccountCheck replays one account's chain.
type AccountCheck struct {
	v       *Verifier
	st      AccountState
	seq     uint64
	head    Hash
	balance Balance
	status  AccountStatus
	broken  bool
}

func (c *AccountCheck) fail(format string, args ...any) {
	c.broken = true
	c.v.problem(&AccountError{ID: c.st.Account.ID, Err: fmt.Errorf(format, args...)})
}

// Entry checks the account's next entry.
func (c *AccountCheck) Entry(e Entry) {
	c.v.report.Entries++
	if c.broken {
		return
	}
	if e.AccountID != c.st.Account.ID {
		c.fail("entry %d belongs to account %s", e.Seq, e.AccountID)
		return
	}
	if e.Seq != c.seq+1 {
		c.fail("entry %d follows entry %d: an entry is missing or inserted", e.Seq, c.seq)
		return
	}
	if h := ChainHash(c.head, &e); h != e.Hash {
		c.fail("entry %d: hash chain broken (stored %s, computed %s)", e.Seq, e.Hash, h)
		return
	}
	switch e.Kind {
	case EntryFreeze:
		c.status = AccountFrozen
	case EntryUnfreeze:
		c.status = AccountOpen
	case EntryClose:
		c.status = AccountClosed
	default:
		b, err := addSide(c.balance, e.Side, e.PostedDelta, e.PendingDelta)
		if err != nil || e.Side == SideNone {
			c.fail("entry %d: deltas %d/%d do not apply", e.Seq, e.PostedDelta, e.PendingDelta)
			return
		}
		c.balance = b
		if err := c.st.Account.Flags.limit(b); err != nil {
			c.fail("entry %d: running balance %+v breaks the account's flags: %w", e.Seq, b, err)
			return
		}
	}
	if e.Balance != c.balance {
		c.fail("entry %d: running balance %+v, entries sum to %+v", e.Seq, e.Balance, c.balance)
		return
	}
	c.seq, c.head = e.Seq, e.Hash
}

// Done checks that the entries account for the whole account.
func (c *AccountCheck) Done() {
	if c.broken {
		return
	}
	a := &c.st.Account
	switch {
	case c.seq != c.st.Seq:
		c.fail("has %d entries, its state says %d: entries are missing", c.seq, c.st.Seq)
	case c.head != c.st.Head:
		c.fail("chain head %s, last entry %s", c.st.Head, c.head)
	case c.balance != a.Balance:
		c.fail("balance %+v, entries sum to %+v", a.Balance, c.balance)
	case c.status != a.Status:
		c.fail("status %s, its events say %s", a.Status, c.status)
	}
}

// Problem records a problem a store found itself (for example an entry of an
// unknown account).
func (v *Verifier) Problem(err error) { v.problem(err) }

// Finish checks the per-currency sums and returns the report. The error
// wraps ErrVerify and lists up to 100 problems.
func (v *Verifier) Finish() (VerifyReport, error) {
	v.checkTransfers()
	for _, t := range v.totals {
		if t.DebitsPosted != t.CreditsPosted || t.DebitsPending != t.CreditsPending {
			v.problem(fmt.Errorf("currency %s does not balance: posted debits %s credits %s, pending debits %s credits %s",
				t.Currency, t.DebitsPosted, t.CreditsPosted, t.DebitsPending, t.CreditsPending))
		}
		v.report.Currencies = append(v.report.Currencies, *t)
	}
	sort.Slice(v.report.Currencies, func(i, j int) bool {
		return v.report.Currencies[i].Currency.Code() < v.report.Currencies[j].Currency.Code()
	})
	if len(v.problems) > 0 {
		return v.report, fmt.Errorf("%w: %w", ErrVerify, errors.Join(v.problems...))
	}
	return v.report, nil
}

// AccountIDs sorts account IDs in the order stores lock them.
func AccountIDs(ids []uuid.UUID) {
	sort.Slice(ids, func(i, j int) bool { return lessID(ids[i], ids[j]) })
}

func lessID(a, b uuid.UUID) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
