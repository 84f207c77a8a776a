package redpacket_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// payingStore is a PayingStore over a MemoryStore (which the service no
// longer recognises behind it) that pays on one ledger store, and counts
// what it is asked.
type payingStore struct {
	*redpacket.MemoryStore
	ledger   ledger.Store
	asked    []ledger.Store // PaysOn's arguments
	claimed  int            // ClaimPaid calls
	claimErr error
}

func (s *payingStore) PaysOn(ls ledger.Store) bool {
	s.asked = append(s.asked, ls)
	return ls == s.ledger
}

func (s *payingStore) ClaimPaid(ctx context.Context, id, user, account uuid.UUID, now, paidAt time.Time, payment func(redpacket.Claim) ledger.Transfer) (redpacket.ClaimResult, error) {
	s.claimed++
	return redpacket.ClaimResult{}, s.claimErr
}

// TestPayingStoreChosen: the service claims through ClaimPaid exactly when
// the store says it pays on the ledger's store, which it asks about
// through a ledger.GroupCommit; a refusal ClaimPaid returns comes back
// wrapped with the packet.
func TestPayingStoreChosen(t *testing.T) {
	ctx := context.Background()
	inner := ledger.NewMemoryStore()
	for _, tc := range []struct {
		name   string
		ls     ledger.Store
		paysOn ledger.Store
		want   int
	}{
		{"same store", inner, inner, 1},
		{"behind a group commit", ledger.NewGroupCommit(inner, ledger.GroupCommitOptions{}), inner, 1},
		{"another store", inner, ledger.NewMemoryStore(), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := ledger.New(tc.ls, ledger.Options{})
			// Its sends are the MemoryStore's, on l.
			ps := &payingStore{MemoryStore: redpacket.NewMemoryStore(l), ledger: tc.paysOn,
				claimErr: &ledger.TransferError{Err: &ledger.AccountError{ID: uuid.New(), Err: ledger.ErrAccountFrozen}}}
			members := &redpacket.MemoryMembers{}
			svc, err := redpacket.New(redpacket.Config{Ledger: l, Store: ps, Members: members, SingleProcess: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(ps.asked) != 1 || ps.asked[0] != inner {
				t.Fatalf("PaysOn asked about %v, want the ledger's (inner) store once", ps.asked)
			}
			cny := ledger.MustCurrency("CNY")
			bank, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
			sender, friend := uuid.New(), uuid.New()
			wallet, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
			friendWallet, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
			if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: wallet.ID, Amount: ledger.NewMoney(100, cny)}); err != nil {
				t.Fatal(err)
			}
			p, err := svc.Send(ctx, redpacket.SendRequest{Key: uuid.NewString(), Kind: redpacket.Lucky, Sender: sender, SenderAccount: wallet.ID,
				Recipient: friend, Amount: ledger.NewMoney(100, cny), Count: 1})
			if err != nil {
				t.Fatal(err)
			}
			_, err = svc.Claim(ctx, redpacket.ClaimRequest{Packet: p.ID, User: friend, Account: friendWallet.ID})
			if ps.claimed != tc.want {
				t.Fatalf("ClaimPaid called %d times, want %d", ps.claimed, tc.want)
			}
			if tc.want == 1 && (!ledger.Refused(err) || !strings.HasPrefix(err.Error(), "claim packet "+p.ID.String())) {
				t.Fatalf("Claim: %v, want ClaimPaid's refusal wrapped with the packet", err)
			}
			if tc.want == 0 && err != nil {
				t.Fatalf("Claim on the store's own path: %v", err)
			}
		})
	}
}
