package postgres

import (
	"context"
	"fmt"
	"github.com/google/uuid"
	"os"
	"testing"

	"github.com/socialpay/socialpay/cell"
	"github.com/socialpay/socialpay/cell/celltest"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/redpacket"
)

// Cells on PostgreSQL are schemas of one database on one pool: the
// payments between them pass the suite with every cell a schema of its own.
func TestCells(t *testing.T) {
	celltest.Run(t, func(t testing.TB, n int) celltest.Stores {
		return cellStores(t, n, freshDB)
	})
}

// cellStores returns n cells, each a schema that fresh makes.
func cellStores(t testing.TB, n int, fresh func(testing.TB) *DB) celltest.Stores {
	var s celltest.Stores
	for i := range n {
		db := fresh(t)
		s.Names = append(s.Names, fmt.Sprintf("cell_%d", i))
		s.Ledgers = append(s.Ledgers, NewLedgerStore(db))
		s.Records = append(s.Records, NewCellStore(db))
		s.Packets = append(s.Packets, NewRedPacketStore(db))
	}
	return s
}

// The ledger's suite on cells: two schemas of one database on one pool,
// each a cell, both at once. Every case of the suite runs in a schema of
// its own in TestStore; here the concurrency cases (races included) run
// on two cells at the same time, each cell one schema for all its cases,
// as a bank's cells share a server. scripts/citus.sh runs the whole suite
// this way on Citus (SOCIALPAY_TEST_CELLS_FULL=1 does here).
func TestCellLedgers(t *testing.T) {
	runCellLedgers(t, 2, freshDB, os.Getenv("SOCIALPAY_TEST_CELLS_FULL") != "")
}

func runCellLedgers(t *testing.T, n int, fresh func(testing.TB) *DB, full bool) {
	suite := ledgertest.RunRaces
	if full {
		suite = ledgertest.Run
	}
	for i := range n {
		t.Run(fmt.Sprintf("cell_%d", i), func(t *testing.T) {
			t.Parallel()
			s := NewLedgerStore(fresh(t))
			suite(t, func(testing.TB) ledger.Store { return s })
		})
	}
}

// Open payment records in a schema the cells share a pool with are listed
// per schema: a cell never sees another's.
func TestCellStoreSchemas(t *testing.T) {
	ctx := context.Background()
	a, b := NewCellStore(freshDB(t)), NewCellStore(freshDB(t))
	p := cell.Payment{Payer: uuid.New(), Payee: uuid.New(), PayerCell: "a", PayeeCell: "b", Amount: ledger.NewMoney(1, ledger.MustCurrency("CNY"))}
	p.ID, p.PayerAccount, p.PayeeAccount = [16]byte{1}, [16]byte{2}, [16]byte{3}
	p.CreatedAt = ledgertest.Start
	if _, created, err := a.Begin(ctx, p, nil); err != nil || !created {
		t.Fatal(created, err)
	}
	if ps, err := b.Open(ctx, ledgertest.Start, cell.Cursor{}, 10); err != nil || len(ps) != 0 {
		t.Fatalf("another schema lists %d payments, %v", len(ps), err)
	}
	if ps, err := a.Open(ctx, ledgertest.Start, cell.Cursor{}, 10); err != nil || len(ps) != 1 || ps[0].ID != p.ID {
		t.Fatalf("own schema lists %+v, %v", ps, err)
	}
	// A store composes with the ledger of its own schema only.
	if !a.PaysOn(NewLedgerStore(a.db)) || a.PaysOn(NewLedgerStore(b.db)) ||
		a.PaysOn(ledger.NewMemoryStore()) || a.PaysOn(nil) {
		t.Fatal("PaysOn: want true for its own schema's ledger store only")
	}
	// The record is append-only but for its one state change.
	exec(t, a.db, "update $S.cell_payments set state = 1, finished_at = now() where id = $1", [16]byte(p.ID))
	for _, q := range []string{
		"update $S.cell_payments set state = 2 where id = $1",
		"update $S.cell_payments set amount = 2 where id = $1",
		"delete from $S.cell_payments where id = $1",
	} {
		if _, err := a.db.pool.Exec(ctx, a.db.qualify(q), [16]byte(p.ID)); err == nil {
			t.Fatalf("%s: allowed", q)
		}
	}
	// So is a forward's, but for its one finish.
	f := cell.Forward{ID: p.ID, Packet: p.Payer, Sender: p.Payer, Claimer: p.Payee, Account: p.PayeeAccount, CreatedAt: ledgertest.Start}
	if _, created, err := a.BeginForward(ctx, f); err != nil || !created {
		t.Fatal(created, err)
	}
	if fs, err := b.OpenForwards(ctx, ledgertest.Start, cell.Cursor{}, 10); err != nil || len(fs) != 0 {
		t.Fatalf("another schema lists %d forwards, %v", len(fs), err)
	}
	exec(t, a.db, "update $S.cell_forwards set finished_at = now() where id = $1", [16]byte(p.ID))
	for _, q := range []string{
		"update $S.cell_forwards set finished_at = now() where id = $1",
		"update $S.cell_forwards set account = packet where id = $1",
		"delete from $S.cell_forwards where id = $1",
	} {
		if _, err := a.db.pool.Exec(ctx, a.db.qualify(q), [16]byte(p.ID)); err == nil {
			t.Fatalf("%s: allowed", q)
		}
	}
}

// A red packet claim on two cells, one caller: by a user of the sender's
// cell (one transaction) and by a user of the other cell (the forward's
// record, the claim, the payment between cells, the forward's end). Each
// packet has 64 shares for 64 claimers who have claimed before (their
// inbound accounts exist); a new packet is sent, off the clock, every 64
// claims.
func BenchmarkCellClaim(b *testing.B) {
	for _, across := range []bool{false, true} {
		b.Run(map[bool]string{false: "within", true: "across"}[across], func(b *testing.B) {
			benchCellClaim(b, across)
		})
	}
}

func benchCellClaim(b *testing.B, across bool) {
	ctx := context.Background()
	const shares = 64
	names := []string{"cell_0", "cell_1"}
	router, err := cell.NewRouter(names...)
	if err != nil {
		b.Fatal(err)
	}
	var cs []cell.Cell
	var pstores []redpacket.Store
	for _, n := range names {
		db := freshDB(b)
		cs = append(cs, cell.Cell{Name: n, Ledger: ledger.New(NewLedgerStore(db), ledger.Options{}), Store: NewCellStore(db)})
		pstores = append(pstores, NewRedPacketStore(db))
	}
	cells, err := cell.New(cell.Config{Router: router, Cells: cs})
	if err != nil {
		b.Fatal(err)
	}
	members := &redpacket.MemoryMembers{}
	svcs := map[string]*redpacket.Service{}
	for i, n := range names {
		if svcs[n], err = redpacket.New(redpacket.Config{Ledger: cs[i].Ledger, Store: pstores[i], Members: members, SingleProcess: true}); err != nil {
			b.Fatal(err)
		}
	}
	packets, err := cell.NewPackets(cells, svcs)
	if err != nil {
		b.Fatal(err)
	}
	userIn := func(c string) uuid.UUID {
		for {
			if u := uuid.New(); router.Cell(u) == c {
				return u
			}
		}
	}
	cny := ledger.MustCurrency("CNY")
	wallet := func(u uuid.UUID, funds int64) uuid.UUID {
		l := cells.CellOf(u).Ledger
		w, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
		if err != nil {
			b.Fatal(err)
		}
		if funds > 0 {
			bank, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
			if err == nil {
				_, err = l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: w.ID, Amount: ledger.NewMoney(funds, cny)})
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		return w.ID
	}
	sender := userIn("cell_0")
	ws := wallet(sender, 1e12)
	home := map[bool]string{false: "cell_0", true: "cell_1"}[across]
	claimers := make([]uuid.UUID, shares)
	for i := range claimers {
		claimers[i] = userIn(home)
	}
	wc := wallet(claimers[0], 0) // every claimer's share goes to one wallet
	group := uuid.New()
	members.Add(group, append(claimers, sender)...)
	var p redpacket.Packet
	send := func() {
		if p, err = packets.Send(ctx, redpacket.SendRequest{Key: uuid.NewString(), Kind: redpacket.Normal, Sender: sender, SenderAccount: ws,
			Group: group, Amount: ledger.NewMoney(1, cny), Count: shares}); err != nil {
			b.Fatal(err)
		}
	}
	claim := func(i int) {
		if _, err := packets.Claim(ctx, cell.ClaimRequest{Packet: p.ID, Sender: sender, User: claimers[i%shares], Account: wc}); err != nil {
			b.Fatal(err)
		}
	}
	send() // a first packet opens the claimers' inbound accounts
	for i := range shares {
		claim(i)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%shares == 0 {
			b.StopTimer()
			send()
			b.StartTimer()
		}
		claim(i)
	}
}
