package postgres

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
	"github.com/socialpay/socialpay/redpacket/redpackettest"
)

var cnyTest = ledger.MustCurrency("CNY")

// payWorld is the red-packet service on PostgreSQL, ledger and red packets
// on one schema, with a group of members who each have a wallet.
type payWorld struct {
	t       *testing.T
	ctx     context.Context
	db      *DB
	l       *ledger.Ledger
	store   *RedPacketStore
	svc     *redpacket.Service
	group   uuid.UUID
	members *redpacket.MemoryMembers
	bank    uuid.UUID
}

func newPayWorld(t *testing.T, ls func(*DB) ledger.Store) *payWorld {
	t.Helper()
	db := freshDB(t)
	w := &payWorld{t: t, ctx: context.Background(), db: db, store: NewRedPacketStore(db), group: uuid.New(), members: &redpacket.MemoryMembers{}}
	w.l = ledger.New(ls(db), ledger.Options{})
	svc, err := redpacket.New(redpacket.Config{Ledger: w.l, Store: w.store, Members: w.members, PasswordKey: testRedPacketKey})
	if err != nil {
		t.Fatal(err)
	}
	w.svc = svc
	w.bank = w.account(0)
	return w
}

func (w *payWorld) account(flags ledger.AccountFlags) uuid.UUID {
	w.t.Helper()
	a, err := w.l.CreateAccount(w.ctx, ledger.Account{ID: uuid.New(), Currency: cnyTest, Flags: flags})
	if err != nil {
		w.t.Fatal(err)
	}
	return a.ID
}

// member adds a member with a wallet.
func (w *payWorld) member() (user, wallet uuid.UUID) {
	user, wallet = uuid.New(), w.account(ledger.DebitsMustNotExceedCredits)
	w.members.Add(w.group, user)
	return user, wallet
}

// send has a new member send a normal packet of count shares of each fen.
func (w *payWorld) send(count int, each int64) redpacket.Packet {
	w.t.Helper()
	sender, wallet := w.member()
	for range count { // the group must be at least as big as the count
		w.member()
	}
	if _, err := w.l.Transfer(w.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: w.bank, CreditAccountID: wallet, Amount: ledger.NewMoney(int64(count)*each, cnyTest)}); err != nil {
		w.t.Fatal(err)
	}
	p, err := w.svc.Send(w.ctx, redpacket.SendRequest{
		Key: uuid.NewString(), Kind: redpacket.Normal, Sender: sender, SenderAccount: wallet, Group: w.group,
		Amount: ledger.NewMoney(each, cnyTest), Count: count,
	})
	if err != nil {
		w.t.Fatalf("send: %v", err)
	}
	return p
}

func (w *payWorld) net(account uuid.UUID) int64 {
	w.t.Helper()
	a, err := w.l.Account(w.ctx, account)
	if err != nil {
		w.t.Fatal(err)
	}
	return a.Balance.Net()
}

func (w *payWorld) transferExists(id uuid.UUID) bool {
	w.t.Helper()
	_, err := w.l.LookupTransfer(w.ctx, id)
	if err != nil && !errors.Is(err, ledger.ErrTransferNotFound) {
		w.t.Fatal(err)
	}
	return err == nil
}

func (w *payWorld) verify() {
	w.t.Helper()
	if _, err := w.l.Verify(w.ctx); err != nil {
		w.t.Fatalf("ledger Verify: %v", err)
	}
}

// TestRedPacketPaysOn: the store pays on the LedgerStore of its own
// schema, also behind a GroupCommit (whose inner store the service asks
// about), and on nothing else.
func TestRedPacketPaysOn(t *testing.T) {
	db, other := freshDB(t), freshDB(t)
	s := NewRedPacketStore(db)
	for _, tc := range []struct {
		name string
		ls   ledger.Store
		want bool
	}{
		{"same schema", NewLedgerStore(db), true},
		{"other schema", NewLedgerStore(other), false},
		{"memory", ledger.NewMemoryStore(), false},
		{"group commit (the service unwraps it)", ledger.NewGroupCommit(NewLedgerStore(db), ledger.GroupCommitOptions{}), false},
	} {
		if got := s.PaysOn(tc.ls); got != tc.want {
			t.Errorf("PaysOn(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// claimSnapshot reads the transaction that wrote a claim's row, whether
// the row says posted, and the transaction that wrote its payment; ok is
// false when the claim row is not there.
func (w *payWorld) claimSnapshot(packet, user uuid.UUID) (claimXmin, transferXmin string, posted, ok bool) {
	w.t.Helper()
	err := w.db.pool.QueryRow(w.ctx, w.db.qualify(`select c.xmin::text, c.posted, coalesce((select t.xmin::text from $S.transfers t where t.id = $3), '')
		from $S.redpacket_claims c where c.packet_id = $1 and c.user_id = $2`), packet, user, w.svc.ClaimTransferID(packet, user)).
		Scan(&claimXmin, &posted, &transferXmin)
	if err != nil && !strings.Contains(err.Error(), "no rows") {
		w.t.Fatal(err)
	}
	return claimXmin, transferXmin, posted, err == nil
}

// TestRedPacketClaimOneCommit: through the service, a claim on PostgreSQL
// with the ledger on the same schema — directly or behind a GroupCommit —
// is recorded posted by the very transaction that writes its ledger
// transfer, and a packet that sells out settles.
func TestRedPacketClaimOneCommit(t *testing.T) {
	for _, tc := range []struct {
		name string
		ls   func(*DB) ledger.Store
	}{
		{"direct", func(db *DB) ledger.Store { return NewLedgerStore(db) }},
		{"group commit", func(db *DB) ledger.Store {
			return ledger.NewGroupCommit(NewLedgerStore(db), ledger.GroupCommitOptions{})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newPayWorld(t, tc.ls)
			p := w.send(3, 100)
			for range 3 {
				user, wallet := w.member()
				c, err := w.svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: p.ID, User: user, Account: wallet})
				if err != nil {
					t.Fatalf("Claim: %v", err)
				}
				cx, tx, posted, ok := w.claimSnapshot(p.ID, user)
				if !ok || !c.Posted || !posted || cx == "" || cx != tx {
					t.Fatalf("claim row written by transaction %q (posted %v), its transfer by %q: want one transaction, posted", cx, posted, tx)
				}
				if w.net(wallet) != 100 {
					t.Fatalf("wallet holds %d, want 100", w.net(wallet))
				}
			}
			stored, err := w.store.Packet(w.ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.Status != redpacket.StatusSoldOut || stored.Posted != 3 || !stored.Settled {
				t.Fatalf("packet %+v, want sold out, 3 posted, settled", stored.State)
			}
			w.verify()
		})
	}
}

// TestRedPacketClaimPaidWriteFails: when writing the batch fails (a
// trigger refuses the ledger's entries for one wallet), neither the claim
// nor its payment is stored, nor any change of the packet or the escrow;
// once the failure is gone, the claim goes through, paid once.
func TestRedPacketClaimPaidWriteFails(t *testing.T) {
	w := newPayWorld(t, func(db *DB) ledger.Store { return NewLedgerStore(db) })
	p := w.send(2, 100)
	user, wallet := w.member()
	exec(t, w.db, `create function $S.fail_entry() returns trigger language plpgsql as $f$
		begin
			if new.account_id = '`+wallet.String()+`'::uuid then raise exception 'forced failure'; end if;
			return new;
		end $f$`)
	exec(t, w.db, `create trigger fail_entry before insert on $S.entries for each row execute function $S.fail_entry()`)
	_, err := w.svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: p.ID, User: user, Account: wallet})
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Message != "forced failure" || ledger.Refused(err) {
		t.Fatalf("Claim while the ledger write fails: %v, want the forced failure", err)
	}
	if _, _, _, ok := w.claimSnapshot(p.ID, user); ok || w.transferExists(w.svc.ClaimTransferID(p.ID, user)) {
		t.Fatal("a failed batch left its claim or its transfer")
	}
	stored, err := w.store.Packet(w.ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Claimed != 0 || stored.Posted != 0 || w.net(p.Escrow) != 200 || w.net(wallet) != 0 {
		t.Fatalf("after a failed batch: packet %+v, escrow %d, wallet %d; want nothing changed", stored.State, w.net(p.Escrow), w.net(wallet))
	}
	exec(t, w.db, `drop trigger fail_entry on $S.entries`)
	for range 2 { // the second is a retry: the same claim, paid once
		c, err := w.svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: p.ID, User: user, Account: wallet})
		if err != nil || c.Index != 0 || !c.Posted {
			t.Fatalf("Claim after the failure: %+v, %v", c, err)
		}
	}
	if w.net(wallet) != 100 || w.net(p.Escrow) != 100 {
		t.Fatalf("wallet %d, escrow %d; want 100, 100", w.net(wallet), w.net(p.Escrow))
	}
	// A caller whose context is done before its claim is asked for gets
	// the context's error, and nothing is recorded.
	other, otherWallet := w.member()
	ctx, cancel := context.WithCancel(w.ctx)
	cancel()
	if _, err := w.svc.Claim(ctx, redpacket.ClaimRequest{Packet: p.ID, User: other, Account: otherWallet}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Claim with a cancelled context: %v", err)
	}
	if _, _, _, ok := w.claimSnapshot(p.ID, other); ok || w.net(otherWallet) != 0 {
		t.Fatal("a cancelled claim was recorded or paid")
	}
	w.verify()
}

// TestRedPacketClaimPaidBatch drives one batch directly: claimers whose
// wallets the ledger refuses (missing, closed, frozen) come first, each
// before a good claimer, on a packet with fewer shares than claimers, and
// one good claimer asks twice. The refused get their refusal and record
// and move nothing; the good ones get the shares in arrival order, the
// last one sold out; all in one transaction.
func TestRedPacketClaimPaidBatch(t *testing.T) {
	w := newPayWorld(t, func(db *DB) ledger.Store { return NewLedgerStore(db) })
	p := w.send(3, 100)
	good := make([][2]uuid.UUID, 4)
	for i := range good {
		good[i][0], good[i][1] = w.member()
	}
	bad := make([][2]uuid.UUID, 3)
	for i := range bad {
		bad[i][0], bad[i][1] = w.member()
	}
	bad[0][1] = uuid.New() // missing
	if _, err := w.l.Close(w.ctx, bad[1][1]); err != nil {
		t.Fatal(err)
	}
	if _, err := w.l.Freeze(w.ctx, bad[2][1]); err != nil {
		t.Fatal(err)
	}
	wantBad := []error{ledger.ErrAccountNotFound, ledger.ErrAccountClosed, ledger.ErrAccountFrozen}
	order := [][2]uuid.UUID{bad[0], good[0], bad[1], good[1], bad[2], good[2], good[0], good[3]}
	now := ledger.Timestamp(time.Now())
	calls := make([]*groupCall[paidCall, redpacket.ClaimResult], len(order))
	for i, u := range order {
		calls[i] = &groupCall[paidCall, redpacket.ClaimResult]{Req: paidCall{
			claimCall: claimCall{packet: p.ID, user: u[0], account: u[1], now: now}, paidAt: now,
			payment: func(c redpacket.Claim) ledger.Transfer {
				return ledger.Transfer{ID: w.svc.ClaimTransferID(c.PacketID, c.User), DebitAccountID: p.Escrow, CreditAccountID: c.Account, Amount: c.Amount}
			},
		}}
	}
	if err := w.store.claimPaidBatch(w.ctx, calls); err != nil {
		t.Fatalf("claimPaidBatch: %v", err)
	}
	for i, j := range []int{0, 2, 4} {
		if err := calls[j].Err; !ledger.Refused(err) || !errors.Is(err, wantBad[i]) {
			t.Fatalf("bad claimer %d: %v, want %v", i, err, wantBad[i])
		}
		if _, _, _, ok := w.claimSnapshot(p.ID, order[j][0]); ok || w.transferExists(w.svc.ClaimTransferID(p.ID, order[j][0])) {
			t.Fatalf("bad claimer %d: a claim or a transfer was stored", i)
		}
	}
	var xmin string
	for i, j := range []int{1, 3, 5} {
		r, err := calls[j].Res, calls[j].Err
		if err != nil || r.Existing || r.Claim.Index != i || !r.Claim.Posted || r.State.Claimed != 3 || r.State.Posted != 3 || r.State.Status != redpacket.StatusSoldOut {
			t.Fatalf("good claimer %d: %+v, %v; want share %d, posted, and the packet sold out", i, r, err, i)
		}
		cx, tx, posted, ok := w.claimSnapshot(p.ID, order[j][0])
		if !ok || !posted || cx != tx || (xmin != "" && cx != xmin) {
			t.Fatalf("good claimer %d: claim row by %q (posted %v), transfer by %q, others by %q: want one transaction", i, cx, posted, tx, xmin)
		}
		xmin = cx
		if w.net(order[j][1]) != 100 {
			t.Fatalf("good claimer %d: wallet %d, want 100", i, w.net(order[j][1]))
		}
	}
	if r, err := calls[6].Res, calls[6].Err; err != nil || !r.Existing || r.Claim.Index != 0 || !r.Claim.Posted {
		t.Fatalf("the first good claimer again in the batch: %+v, %v; want its claim as existing", r, err)
	}
	if err := calls[7].Err; !errors.Is(err, redpacket.ErrSoldOut) {
		t.Fatalf("the fourth good claimer: %v, want ErrSoldOut", err)
	}
	if w.net(p.Escrow) != 0 {
		t.Fatalf("escrow %d, want 0", w.net(p.Escrow))
	}
	w.verify()
}

// TestRedPacketClaimRefusedWallets: through the service, claimers whose
// wallets the ledger refuses tap at the same time as good claimers. They
// get the ledger's refusal, wrapped with the packet, and nothing is
// recorded or moved for them; the good claimers share the packet.
func TestRedPacketClaimRefusedWallets(t *testing.T) {
	w := newPayWorld(t, func(db *DB) ledger.Store { return NewLedgerStore(db) })
	const shares, goodN = 10, 10
	p := w.send(shares, 100)
	type claimer struct {
		user, wallet uuid.UUID
		want         error // nil: a share
	}
	var cs []claimer
	for range goodN {
		u, a := w.member()
		cs = append(cs, claimer{u, a, nil})
	}
	for i := range 9 {
		u, a := w.member()
		var want error
		switch i % 3 {
		case 0:
			a, want = uuid.New(), ledger.ErrAccountNotFound
		case 1:
			if _, err := w.l.Close(w.ctx, a); err != nil {
				t.Fatal(err)
			}
			want = ledger.ErrAccountClosed
		case 2:
			if _, err := w.l.Freeze(w.ctx, a); err != nil {
				t.Fatal(err)
			}
			want = ledger.ErrAccountFrozen
		}
		cs = append(cs, claimer{u, a, want})
	}
	got := make([]redpacket.Claim, len(cs))
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range cs {
		wg.Go(func() {
			<-start
			got[i], errs[i] = w.svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: p.ID, User: cs[i].user, Account: cs[i].wallet})
		})
	}
	close(start)
	wg.Wait()
	indexes := map[int]bool{}
	for i, c := range cs {
		if c.want != nil {
			if !errors.Is(errs[i], c.want) || !strings.Contains(errs[i].Error(), "claim packet "+p.ID.String()) {
				t.Fatalf("claimer %d: %v, want %v wrapped with the packet", i, errs[i], c.want)
			}
			if _, _, _, ok := w.claimSnapshot(p.ID, c.user); ok || w.transferExists(w.svc.ClaimTransferID(p.ID, c.user)) {
				t.Fatalf("refused claimer %d: a claim or a transfer was stored", i)
			}
			continue
		}
		if errs[i] != nil || !got[i].Posted || indexes[got[i].Index] || w.net(c.wallet) != 100 {
			t.Fatalf("claimer %d: %+v, %v (wallet %d)", i, got[i], errs[i], w.net(c.wallet))
		}
		indexes[got[i].Index] = true
	}
	stored, err := w.store.Packet(w.ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(indexes) != shares || stored.Status != redpacket.StatusSoldOut || stored.Posted != shares || !stored.Settled || w.net(p.Escrow) != 0 {
		t.Fatalf("packet %+v with %d winners, escrow %d; want sold out to %d, settled, escrow 0", stored.State, len(indexes), w.net(p.Escrow), shares)
	}
	w.verify()
}

// TestRedPacketClaimRetryPaysOnce: one user taps many times at once and
// again later: one claim, one transfer, the share paid once.
func TestRedPacketClaimRetryPaysOnce(t *testing.T) {
	w := newPayWorld(t, func(db *DB) ledger.Store { return NewLedgerStore(db) })
	p := w.send(5, 100)
	user, wallet := w.member()
	const taps = 20
	got := make([]redpacket.Claim, taps)
	errs := make([]error, taps)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range taps {
		wg.Go(func() {
			<-start
			got[i], errs[i] = w.svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: p.ID, User: user, Account: wallet})
		})
	}
	close(start)
	wg.Wait()
	for i := range taps {
		if errs[i] != nil || got[i].Index != 0 || !got[i].Posted {
			t.Fatalf("tap %d: %+v, %v; want the one claim", i, got[i], errs[i])
		}
	}
	again, err := w.svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: p.ID, User: user, Account: wallet})
	if err != nil || again.Index != 0 {
		t.Fatalf("a later retry: %+v, %v", again, err)
	}
	claims, err := w.store.Claims(w.ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(claims) != 1 || w.net(wallet) != 100 || w.net(p.Escrow) != 400 {
		t.Fatalf("%d claims, wallet %d, escrow %d; want 1, 100, 400", len(claims), w.net(wallet), w.net(p.Escrow))
	}
	w.verify()
}

// TestRedPacketStormGrouped: the storm with the ledger behind a
// GroupCommit (claims still pay in the red-packet store's transaction)
// and with the service's background marks and grouped payments on, which
// a claim paid in its own step does not need.
func TestRedPacketStormGrouped(t *testing.T) {
	db := freshDB(t)
	redpackettest.Storm(t, redpackettest.StormConfig{
		Ledger: ledger.NewGroupCommit(NewLedgerStore(db), ledger.GroupCommitOptions{}), Store: NewRedPacketStore(db),
		Grabbers: 300, Shares: 100,
		Configure: func(c *redpacket.Config) {
			c.AsyncMarks = true
			c.GroupPayments = &ledger.GroupCommitOptions{}
		},
	})
}

// TestRedPacketClaimPaidBatchRetryOtherWallet: a user taps twice in one
// batch, first with a wallet the ledger refuses, then with a good one. As
// if the calls came one after the other, the first gets the refusal and
// the second the share, paid to the good wallet: a later round's claimer
// whose first call was refused must be locked by the first round, not
// fail the whole batch.
func TestRedPacketClaimPaidBatchRetryOtherWallet(t *testing.T) {
	w := newPayWorld(t, func(db *DB) ledger.Store { return NewLedgerStore(db) })
	p := w.send(2, 100)
	user, good := w.member()
	frozen := w.account(ledger.DebitsMustNotExceedCredits)
	if _, err := w.l.Freeze(w.ctx, frozen); err != nil {
		t.Fatal(err)
	}
	other, otherWallet := w.member()
	now := ledger.Timestamp(time.Now())
	var calls []*groupCall[paidCall, redpacket.ClaimResult]
	for _, c := range [][2]uuid.UUID{{user, frozen}, {other, otherWallet}, {user, good}} {
		calls = append(calls, &groupCall[paidCall, redpacket.ClaimResult]{Req: paidCall{
			claimCall: claimCall{packet: p.ID, user: c[0], account: c[1], now: now}, paidAt: now,
			payment: func(c redpacket.Claim) ledger.Transfer {
				return ledger.Transfer{ID: w.svc.ClaimTransferID(c.PacketID, c.User), DebitAccountID: p.Escrow, CreditAccountID: c.Account, Amount: c.Amount}
			},
		}})
	}
	if err := w.store.claimPaidBatch(w.ctx, calls); err != nil {
		t.Fatalf("claimPaidBatch: %v", err)
	}
	if err := calls[0].Err; !ledger.Refused(err) || !errors.Is(err, ledger.ErrAccountFrozen) {
		t.Fatalf("the tap with the frozen wallet: %v, want ErrAccountFrozen", err)
	}
	for _, i := range []int{1, 2} {
		if r, err := calls[i].Res, calls[i].Err; err != nil || r.Existing || !r.Claim.Posted {
			t.Fatalf("call %d: %+v, %v; want a new claim, paid", i, r, err)
		}
	}
	if w.net(good) != 100 || w.net(otherWallet) != 100 || w.net(frozen) != 0 || w.net(p.Escrow) != 0 {
		t.Fatalf("wallets good %d, other %d, frozen %d, escrow %d; want 100, 100, 0, 0", w.net(good), w.net(otherWallet), w.net(frozen), w.net(p.Escrow))
	}
	w.verify()
}

// TestRedPacketClaimPaidBatchPaymentBreaksContract: a payment whose
// accounts depend on more than the claim's packet, user and account (here
// on its amount, which the first round's probes leave zero) names, when a
// refusal frees a share, an account the first round did not lock. The
// batch fails with ErrIntegrity and records nothing, rather than pay on an
// unlocked account.
func TestRedPacketClaimPaidBatchPaymentBreaksContract(t *testing.T) {
	w := newPayWorld(t, func(db *DB) ledger.Store { return NewLedgerStore(db) })
	p := w.send(1, 100)
	refusedUser, frozen := w.member()
	if _, err := w.l.Freeze(w.ctx, frozen); err != nil {
		t.Fatal(err)
	}
	user, wallet := w.member()
	_, elsewhere := w.member()
	now := ledger.Timestamp(time.Now())
	var calls []*groupCall[paidCall, redpacket.ClaimResult]
	for _, c := range [][2]uuid.UUID{{refusedUser, frozen}, {user, wallet}} {
		calls = append(calls, &groupCall[paidCall, redpacket.ClaimResult]{Req: paidCall{
			claimCall: claimCall{packet: p.ID, user: c[0], account: c[1], now: now}, paidAt: now,
			payment: func(c redpacket.Claim) ledger.Transfer {
				to := c.Account
				if c.Amount.IsZero() {
					to = elsewhere
				}
				return ledger.Transfer{ID: w.svc.ClaimTransferID(c.PacketID, c.User), DebitAccountID: p.Escrow, CreditAccountID: to, Amount: c.Amount}
			},
		}})
	}
	if err := w.store.claimPaidBatch(w.ctx, calls); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("claimPaidBatch: %v, want ErrIntegrity", err)
	}
	for _, u := range []uuid.UUID{refusedUser, user} {
		if _, _, _, ok := w.claimSnapshot(p.ID, u); ok || w.transferExists(w.svc.ClaimTransferID(p.ID, u)) {
			t.Fatalf("user %s: a claim or a transfer was stored", u)
		}
	}
	if w.net(p.Escrow) != 100 || w.net(wallet) != 0 || w.net(elsewhere) != 0 {
		t.Fatalf("escrow %d, wallet %d, elsewhere %d; want 100, 0, 0", w.net(p.Escrow), w.net(wallet), w.net(elsewhere))
	}
}
