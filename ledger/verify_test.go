package ledger_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// The Verifier's checks of transfers' links and of open holds, fed
// directly as a store would feed a ledger whose rows were edited
// consistently.
func TestVerifierLinks(t *testing.T) {
	cny := ledger.MustCurrency("CNY")
	wallet, bank := uuid.New(), uuid.New()
	hold := ledger.Transfer{ID: uuid.New(), Kind: ledger.KindPending, DebitAccountID: wallet, CreditAccountID: bank,
		Amount: ledger.NewMoney(50, cny), Status: ledger.StatusPending}
	post := ledger.Transfer{ID: uuid.New(), Kind: ledger.KindPostPending, PendingID: hold.ID, DebitAccountID: wallet, CreditAccountID: bank}
	payment := ledger.Transfer{ID: uuid.New(), DebitAccountID: bank, CreditAccountID: wallet, Amount: ledger.NewMoney(100, cny)}
	reversal := ledger.Transfer{ID: uuid.New(), Kind: ledger.KindReversal, ReversesID: payment.ID, DebitAccountID: wallet, CreditAccountID: bank}

	run := func(pendingDebits int64, ts ...ledger.Transfer) error {
		v := ledger.NewVerifier()
		for _, id := range []uuid.UUID{wallet, bank} {
			st := ledger.NewAccountState(ledger.Account{ID: id, Currency: cny}, time.Time{})
			if id == wallet {
				st.Account.Balance.DebitsPending = pendingDebits
			} else {
				st.Account.Balance.CreditsPending = pendingDebits
			}
			v.Account(st) // no entries fed: the chain checks are not these tests' business
		}
		for i := range ts {
			v.Transfer(&ts[i])
		}
		_, err := v.Finish()
		return err
	}
	posted := hold
	posted.Status, posted.ResolvedBy = ledger.StatusPosted, post.ID
	reversed := payment
	reversed.ReversedBy = reversal.ID
	for name, c := range map[string]struct {
		pending  int64
		ts       []ledger.Transfer
		mentions string // "" when sound
	}{
		"open hold, pending counted":      {50, []ledger.Transfer{hold}, ""},
		"open hold, pending missing":      {0, []ledger.Transfer{hold}, "open holds sum to 50"},
		"pending without a hold":          {50, nil, "open holds sum to 0"},
		"posted hold with its post":       {0, []ledger.Transfer{posted, post}, ""},
		"posted hold without a post":      {0, []ledger.Transfer{posted}, "hold is posted"},
		"posted hold, two posts":          {0, []ledger.Transfer{posted, post, {ID: uuid.New(), Kind: ledger.KindVoidPending, PendingID: hold.ID}}, "hold is posted"},
		"open hold with a post":           {50, []ledger.Transfer{hold, post}, "hold is pending but is resolved"},
		"post of no hold":                 {0, []ledger.Transfer{post}, "not a stored hold"},
		"reversal and reversed agree":     {0, []ledger.Transfer{reversed, reversal}, ""},
		"reversal the reversed ignores":   {0, []ledger.Transfer{payment, reversal}, "reversed by"},
		"reversed without a reversal":     {0, []ledger.Transfer{reversed}, "does not name it"},
		"reversed by a transfer of other": {0, []ledger.Transfer{reversed, {ID: reversal.ID, Kind: ledger.KindImmediate}}, "does not name it"},
	} {
		t.Run(name, func(t *testing.T) {
			err := run(c.pending, c.ts...)
			switch {
			case c.mentions == "" && err != nil:
				t.Fatalf("sound links refused: %v", err)
			case c.mentions != "" && (!errors.Is(err, ledger.ErrVerify) || !strings.Contains(err.Error(), c.mentions)):
				t.Fatalf("want a problem saying %q, got %v", c.mentions, err)
			}
		})
	}
}
