package postgres

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// TestRedPacketCheckEditedRecords: red-packet rows edited behind the
// store's back (as an insider or a restored backup would) so that they
// disagree with the ledger on the same schema. redpacket.Service.Check
// reports each; Reconcile repairs what the ledger can tell it (a claim
// recorded paid and never paid, a paid claim recorded unpaid, a refund
// recorded and never moved) and reports the rest (a payment whose claim
// row is gone, a claim's amount changed).
func TestRedPacketCheckEditedRecords(t *testing.T) {
	w := newPayWorld(t, func(db *DB) ledger.Store { return NewLedgerStore(db) })
	later := time.Now().Add(48 * time.Hour) // every packet expired, nothing in flight
	audit, err := redpacket.New(redpacket.Config{Ledger: w.l, Store: w.store, Members: w.members, PasswordKey: testRedPacketKey, Now: func() time.Time { return later }})
	if err != nil {
		t.Fatal(err)
	}
	claim := func(p redpacket.Packet) (uuid.UUID, uuid.UUID) {
		t.Helper()
		u, wallet := w.member()
		if _, err := w.svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: p.ID, User: u, Account: wallet}); err != nil {
			t.Fatal(err)
		}
		return u, wallet
	}
	clean := w.send(3, 100)
	claim(clean)

	unpaid := w.send(2, 100)
	claim(unpaid)
	ghost, ghostWallet := w.member()
	exec(t, w.db, `insert into $S.redpacket_claims (packet_id, user_id, account, idx, amount, claimed_at, posted)
		values ($1, $2, $3, 1, 100, now(), true)`, unpaid.ID, ghost, ghostWallet)
	exec(t, w.db, `update $S.redpackets set claimed = 2, posted = 2, status = 3 where id = $1`, unpaid.ID)

	unmarked := w.send(3, 100)
	claim(unmarked)
	exec(t, w.db, `update $S.redpacket_claims set posted = false where packet_id = $1`, unmarked.ID)
	exec(t, w.db, `update $S.redpackets set posted = 0 where id = $1`, unmarked.ID)

	notMoved := w.send(3, 100)
	claim(notMoved)
	exec(t, w.db, `update $S.redpackets set status = 5 where id = $1`, notMoved.ID)

	deleted := w.send(3, 100)
	claim(deleted)
	gone, _ := claim(deleted)
	exec(t, w.db, `delete from $S.redpacket_claims where packet_id = $1 and user_id = $2`, deleted.ID, gone)
	exec(t, w.db, `update $S.redpackets set claimed = 1, posted = 1 where id = $1`, deleted.ID)

	edited := w.send(3, 100)
	claim(edited)
	exec(t, w.db, `update $S.redpacket_claims set amount = amount + 1 where packet_id = $1`, edited.ID)

	rep, err := audit.Check(w.ctx)
	if !errors.Is(err, redpacket.ErrCheck) || rep.Packets != 6 {
		t.Fatalf("Check: %d packets, %v; want 6 and ErrCheck", rep.Packets, err)
	}
	found := map[uuid.UUID][]redpacket.ProblemKind{}
	for _, p := range rep.Problems {
		found[p.Packet] = append(found[p.Packet], p.Kind)
	}
	for _, tc := range []struct {
		name string
		p    redpacket.Packet
		want redpacket.ProblemKind
	}{
		{"claim row recorded paid, never paid", unpaid, redpacket.ProblemClaimUnpaid},
		{"paid claim recorded unpaid", unmarked, redpacket.ProblemPaymentUnrecorded},
		{"recorded refunded, nothing moved", notMoved, redpacket.ProblemRefundNotMoved},
		{"claim row deleted", deleted, redpacket.ProblemPaidWithoutClaim},
		{"claim amount edited", edited, redpacket.ProblemRecords},
	} {
		ok := false
		for _, k := range found[tc.p.ID] {
			ok = ok || k == tc.want
		}
		if !ok {
			t.Errorf("%s: Check found %v, want %v", tc.name, found[tc.p.ID], tc.want)
		}
	}
	if len(found[clean.ID]) > 0 {
		t.Errorf("clean packet: Check found %v", found[clean.ID])
	}
	if t.Failed() {
		t.FailNow()
	}

	rec, err := audit.Reconcile(w.ctx, later)
	if !errors.Is(err, redpacket.ErrCheck) || rec.Repaid != 1 || rec.Marked != 1 || rec.RefundMoved != 1 || rec.Unrepaired < 2 {
		t.Fatalf("Reconcile: %+v, %v; want one claim paid, one marked, one refund moved, the deleted and the edited claims unrepaired", rec, err)
	}
	if got := w.net(ghostWallet); got != 100 {
		t.Fatalf("the claim recorded paid: wallet %d, want its share 100", got)
	}
	after, err := audit.Check(w.ctx)
	if !errors.Is(err, redpacket.ErrCheck) {
		t.Fatalf("Check after Reconcile: %v", err)
	}
	for _, p := range after.Problems {
		if p.Packet != deleted.ID && p.Packet != edited.ID {
			t.Fatalf("after Reconcile: %v", &p)
		}
	}
	for _, p := range []redpacket.Packet{unpaid, notMoved} {
		got, err := w.store.Packet(w.ctx, p.ID)
		if err != nil || !got.Settled {
			t.Fatalf("packet %s after Reconcile: %+v, %v; want settled", p.ID, got.State, err)
		}
	}
	w.verify()
}
