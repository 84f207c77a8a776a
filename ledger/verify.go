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
	Accounts   int
	Entries    int64
	Currencies []CurrencyTotals // ordered by currency code
}

// CurrencyTotals are the sums over every account of one currency. For a
// sound ledger debits equal credits, posted and pending alike.
type CurrencyTotals struct {
	Currency       Currency
	Accounts       int
	DebitsPosted   Uint128
	CreditsPosted  Uint128
	DebitsPending  Uint128
	CreditsPending Uint128
}

// Uint128 is an unsigned 128-bit sum, so totals over many accounts never
// overflow.
type Uint128 struct{ Hi, Lo uint64 }

func (u Uint128) add(v int64) Uint128 {
	lo, carry := bits.Add64(u.Lo, uint64(v), 0) // v ≥ 0: balances never go negative
	return Uint128{Hi: u.Hi + carry, Lo: lo}
}

// String formats the sum in decimal when it fits 64 bits, else as hi:lo.
func (u Uint128) String() string {
	if u.Hi == 0 {
		return fmt.Sprint(u.Lo)
	}
	return fmt.Sprintf("%d:%d", u.Hi, u.Lo)
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
//   - per currency, debits equal credits, posted and pending.
type Verifier struct {
	totals   map[Currency]*CurrencyTotals
	report   VerifyReport
	problems []error
}

// NewVerifier returns an empty Verifier.
func NewVerifier() *Verifier {
	return &Verifier{totals: make(map[Currency]*CurrencyTotals)}
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
