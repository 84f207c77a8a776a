package ledger

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// tamperWorld builds a small ledger and returns it with a wallet that has
// several entries.
func tamperWorld(t *testing.T) (*Ledger, *MemoryStore, *memAccount) {
	t.Helper()
	ctx := context.Background()
	s := NewMemoryStore()
	l := New(s, Options{})
	cny := MustCurrency("CNY")
	bank, _ := l.CreateAccount(ctx, Account{ID: uuid.New(), Currency: cny})
	w, _ := l.CreateAccount(ctx, Account{ID: uuid.New(), Currency: cny, Flags: DebitsMustNotExceedCredits})
	for i := 1; i <= 5; i++ {
		if _, err := l.Transfer(ctx, Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: w.ID, Amount: NewMoney(int64(i*100), cny)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Verify(ctx); err != nil {
		t.Fatalf("untouched ledger: %v", err)
	}
	return l, s, s.account(w.ID)
}

func wantVerifyFailure(t *testing.T, l *Ledger, mentions string) {
	t.Helper()
	_, err := l.Verify(context.Background())
	if !errors.Is(err, ErrVerify) {
		t.Fatalf("tampering not detected: %v", err)
	}
	if !strings.Contains(err.Error(), mentions) {
		t.Fatalf("verify error does not say %q: %v", mentions, err)
	}
}

// rebuild replaces an account's entries with the given ones.
func rebuild(a *memAccount, keep func(i int, r *entryRec) bool) {
	var fresh chunkList[entryRec]
	for i := range a.entries.len() {
		r := *a.entries.at(i)
		if keep(i, &r) {
			fresh.push(r)
		}
	}
	a.entries = fresh
}

func TestVerifyDetectsTampering(t *testing.T) {
	for name, c := range map[string]struct {
		tamper   func(a *memAccount)
		mentions string
	}{
		"edited amount": {func(a *memAccount) { a.entries.at(2).posted += 1 }, "hash chain broken"},
		"edited amount and balances": {func(a *memAccount) {
			// Make the balances agree with the edit; the chain still breaks.
			a.entries.at(4).posted += 1
			a.entries.at(4).balance.CreditsPosted += 1
			a.st.Account.Balance.CreditsPosted += 1
		}, "hash chain broken"},
		"edited time":        {func(a *memAccount) { a.entries.at(1).unixNano += 1000 }, "hash chain broken"},
		"edited transfer ID": {func(a *memAccount) { a.entries.at(0).transferID = uuid.New() }, "hash chain broken"},
		"edited running balance": {func(a *memAccount) {
			a.entries.at(3).balance.CreditsPosted++
		}, "running balance"},
		"deleted middle entry": {func(a *memAccount) {
			// The memory store numbers entries by position, so the next
			// entry's number (committed in its hash) no longer matches.
			rebuild(a, func(i int, _ *entryRec) bool { return i != 2 })
		}, "hash chain broken"},
		"deleted last entry": {func(a *memAccount) {
			rebuild(a, func(i int, _ *entryRec) bool { return i != 4 })
		}, "missing"},
		"deleted last entry, state rewound": {func(a *memAccount) {
			last := *a.entries.at(4)
			rebuild(a, func(i int, _ *entryRec) bool { return i != 4 })
			a.st.Seq--
			a.st.Account.Balance.CreditsPosted -= last.posted
			// The head still names the deleted entry.
		}, "chain head"},
		"edited account balance": {func(a *memAccount) { a.st.Account.Balance.CreditsPosted += 100 }, "balance"},
		"swapped entries": {func(a *memAccount) {
			x, y := a.entries.at(1), a.entries.at(2)
			*x, *y = *y, *x
		}, "hash chain broken"},
	} {
		t.Run(name, func(t *testing.T) {
			l, _, a := tamperWorld(t)
			c.tamper(a)
			wantVerifyFailure(t, l, c.mentions)
		})
	}
}

func TestVerifyDetectsUnbalancedCurrency(t *testing.T) {
	l, s, _ := tamperWorld(t)
	// A forged account holding credits no debit pays for: its own chain is
	// consistent, but CNY no longer balances.
	forged := NewAccountState(Account{ID: uuid.New(), Currency: MustCurrency("CNY")}, l.Now())
	e := chain(&forged, Balance{CreditsPosted: 999}, uuid.New(), EntryPosted, SideCredit, 999, 0, l.Now())
	ma := &memAccount{id: forged.Account.ID, st: forged}
	ma.append(&e)
	s.accountShard(ma.id).m[ma.id] = ma
	wantVerifyFailure(t, l, "does not balance")
}

// A rewrite that recomputes every hash after the edit passes Verify — the
// chain alone cannot tell — but not an anchor kept outside the store.
func TestAnchorsCatchAConsistentRewrite(t *testing.T) {
	l, _, a := tamperWorld(t)
	ctx := context.Background()
	anchors, err := l.Anchors(ctx, a.id)
	if err != nil {
		t.Fatal(err)
	}
	// Rewrite entry 3 and everything after it, consistently.
	prev := a.entries.at(1).hash
	delta := int64(0)
	for i := 2; i < a.entries.len(); i++ {
		r := a.entries.at(i)
		if i == 2 {
			r.posted++
			delta = 1
		}
		r.balance.CreditsPosted += delta
		e := a.entry(i)
		e.Hash = ChainHash(prev, &e)
		r.hash = e.Hash
		prev = e.Hash
	}
	a.st.Account.Balance.CreditsPosted += delta
	a.st.Head = prev
	// The rewritten chain verifies on its own (its counterparty no longer
	// balances, but a forger could rewrite that too); the anchor does not.
	v := NewVerifier()
	c := v.Account(a.st)
	for i := range a.entries.len() {
		c.Entry(a.entry(i))
	}
	c.Done()
	if len(v.problems) != 0 {
		t.Fatalf("rewritten chain does not verify on its own: %v", v.problems)
	}
	if err := l.CheckAnchors(ctx, anchors); !errors.Is(err, ErrVerify) {
		t.Fatalf("anchor missed the rewrite: %v", err)
	}
}
