// Command cells runs a bank on four cells: four ledgers, each user's
// accounts in the one cell.Router gives them. 张三 pays 李四 in another
// cell and 吴九 in their own; a payment to a closed account in another cell
// is reversed; a payment is caught half done while the payee's cell is
// down, and Reconcile finishes it once the cell is back. Then 张三 sends a
// red packet to a group: 吴九 claims in 张三's cell, 李四 from another, and
// gets the share in their own (cell.Packets). The clearing accounts
// balance throughout and every cell's ledger verifies.
//
//	go run ./examples/cells                      # four in-memory ledgers
//	go run ./examples/cells -dsn 'postgres://root@127.0.0.1:5432/test?sslmode=disable'
//
// With -dsn each cell is a schema of its own on one pool (created, and
// dropped at the end); on a Citus coordinator whose connection string adds
// citus.enable_schema_based_sharding=on, each is a distributed schema on a
// node of Citus' choosing.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/socialpay/socialpay/cell"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/postgres"
	"github.com/socialpay/socialpay/redpacket"
)

func main() {
	dsn := flag.String("dsn", os.Getenv("SOCIALPAY_PG"), "PostgreSQL connection string (empty: in-memory ledgers)")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *dsn); err != nil {
		fmt.Fprintln(os.Stderr, "cells:", err)
		os.Exit(1)
	}
}

// flaky is a cell's ledger store that can be down.
type flaky struct {
	ledger.Store
	down atomic.Bool
}

var errDown = errors.New("cell is down")

func (f *flaky) CreateTransfer(ctx context.Context, t ledger.Transfer, now time.Time) (ledger.Result, error) {
	if f.down.Load() {
		return ledger.Result{}, errDown
	}
	return f.Store.CreateTransfer(ctx, t, now)
}

func run(ctx context.Context, w io.Writer, dsn string) (err error) {
	now := time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	router, err := cell.NewRouter("cell_0", "cell_1", "cell_2", "cell_3")
	if err != nil {
		return err
	}
	var db *postgres.DB
	prefix := "socialpay_cells_" + hex.EncodeToString(random(4))
	if dsn != "" {
		cfg, err := postgres.ParseConfig(dsn)
		if err != nil {
			return err
		}
		cfg.Schema, cfg.Unsealed = prefix, true // a demo: a bank seals (postgres.NewHMACSealer)
		if db, err = postgres.OpenConfig(ctx, cfg); err != nil {
			return err
		}
		defer db.Close()
		defer func() {
			for _, s := range append(router.Names(), "") {
				name := prefix
				if s != "" {
					name += "_" + s
				}
				_, e := db.Pool().Exec(ctx, "drop schema if exists "+pgx.Identifier{name}.Sanitize()+" cascade")
				err = errors.Join(err, e)
			}
		}()
	}
	stores := map[string]*flaky{}
	packetStores := map[string]redpacket.Store{}
	var cs []cell.Cell
	for _, name := range router.Names() {
		var ls ledger.Store = ledger.NewMemoryStore()
		var rs cell.Store = cell.NewMemoryStore()
		packetStores[name] = redpacket.NewMemoryStore(ledger.New(ls, ledger.Options{}))
		if db != nil {
			cdb, err := db.WithSchema(ctx, prefix+"_"+name)
			if err != nil {
				return err
			}
			ls, rs, packetStores[name] = postgres.NewLedgerStore(cdb), postgres.NewCellStore(cdb), postgres.NewRedPacketStore(cdb)
		}
		stores[name] = &flaky{Store: ls}
		cs = append(cs, cell.Cell{Name: name, Ledger: ledger.New(stores[name], ledger.Options{Now: clock}), Store: rs})
	}
	cells, err := cell.New(cell.Config{Router: router, Cells: cs, Now: clock})
	if err != nil {
		return err
	}

	cny := ledger.MustCurrency("CNY")
	id := func(s string) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceOID, []byte("examples/cells "+s)) }
	// A user is a UUID the bank derives from its customer number
	// (docs/identity.md); here from the name.
	user := func(name string) uuid.UUID { return ledger.DeriveID(id("bank"), "customer", name) }
	wallets := map[string]uuid.UUID{}
	for _, u := range []string{"张三", "李四", "吴九", "赵六"} {
		l := cells.CellOf(user(u)).Ledger
		wallets[u] = id("wallet " + u)
		if _, err := l.CreateAccount(ctx, ledger.Account{ID: wallets[u], Currency: cny, Flags: ledger.DebitsMustNotExceedCredits}); err != nil {
			return err
		}
		fmt.Fprintf(w, "%s lives in %s\n", u, router.Cell(user(u)))
	}
	bank := id("bank " + router.Cell(user("张三")))
	l := cells.CellOf(user("张三")).Ledger
	if _, err := l.CreateAccount(ctx, ledger.Account{ID: bank, Currency: cny}); err != nil {
		return err
	}
	if _, err := l.Transfer(ctx, ledger.Transfer{ID: id("top-up"), DebitAccountID: bank, CreditAccountID: wallets["张三"], Amount: ledger.NewMoney(1000_00, cny)}); err != nil {
		return err
	}
	pay := func(what, to string, amount int64) (cell.Payment, error) {
		return cells.Pay(ctx, cell.Payment{ID: id(what), Payer: user("张三"), PayerAccount: wallets["张三"], Payee: user(to),
			PayeeAccount: wallets[to], Amount: ledger.NewMoney(amount, cny)})
	}
	balances := func() {
		for _, u := range []string{"张三", "李四", "吴九", "赵六"} {
			a, _ := cells.CellOf(user(u)).Ledger.Account(ctx, wallets[u])
			fmt.Fprintf(w, "  %s holds %s\n", u, a.NetMoney())
		}
	}

	p, err := pay("red envelope", "李四", 88_88)
	fmt.Fprintf(w, "张三 → 李四 (%s → %s) 88.88: %s %v\n", p.PayerCell, p.PayeeCell, p.State, err)
	p, err = pay("dinner", "吴九", 120_00)
	fmt.Fprintf(w, "张三 → 吴九 (%s → %s) 120.00: %s %v\n", p.PayerCell, p.PayeeCell, p.State, err)

	if _, err := cells.CellOf(user("赵六")).Ledger.Close(ctx, wallets["赵六"]); err != nil {
		return err
	}
	p, err = pay("to a closed account", "赵六", 50_00)
	fmt.Fprintf(w, "张三 → 赵六 (closed account, %s) 50.00: %s, reversed %v, because closed %v\n",
		p.PayeeCell, p.State, errors.Is(err, cell.ErrPaymentReversed), errors.Is(err, ledger.ErrAccountClosed))

	payee := router.Cell(user("李四"))
	stores[payee].down.Store(true)
	p, err = pay("while down", "李四", 10_00)
	fmt.Fprintf(w, "%s is down; 张三 → 李四 10.00: %s, in flight %v\n", payee, p.State, errors.Is(err, cell.ErrPaymentInFlight))
	rep, err := cells.CheckClearing(ctx, cny)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "clearing in flight: held %s, settled %v\n", ledger.NewMoney(rep.Held, cny), rep.Settled())
	balances()

	stores[payee].down.Store(false)
	now = now.Add(2 * time.Minute)
	r, err := cells.Reconcile(ctx, now)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s is back; reconcile completed %d\n", payee, r.Completed)
	balances()

	// A red packet lives in its sender's cell, on that cell's Service.
	members := &redpacket.MemoryMembers{}
	services := map[string]*redpacket.Service{}
	for _, name := range router.Names() {
		svc, err := redpacket.New(redpacket.Config{Ledger: cells.Cell(name).Ledger, Store: packetStores[name], Members: members, Now: clock,
			SingleProcess: true}) // a demo: a bank's Services share a PasswordKey
		if err != nil {
			return err
		}
		services[name] = svc
	}
	packets, err := cell.NewPackets(cells, services)
	if err != nil {
		return err
	}
	group := id("group")
	members.Add(group, user("张三"), user("李四"), user("吴九"))
	pkt, err := packets.Send(ctx, redpacket.SendRequest{Key: "new year", Kind: redpacket.Normal, Sender: user("张三"), SenderAccount: wallets["张三"],
		Group: group, Amount: ledger.NewMoney(8_88, cny), Count: 2})
	if err != nil {
		return err
	}
	for _, u := range []string{"吴九", "李四", "李四"} { // 李四's retry: one share, forwarded once
		c, err := packets.Claim(ctx, cell.ClaimRequest{Packet: pkt.ID, Sender: user("张三"), User: user(u), Account: wallets[u]})
		if err != nil {
			return err
		}
		how := "paid in " + router.Cell(user("张三"))
		if c.Forward.ID != uuid.Nil {
			how = fmt.Sprintf("forwarded %s → %s: %s", c.Forward.PayerCell, c.Forward.PayeeCell, c.Forward.State)
		}
		fmt.Fprintf(w, "%s (%s) claims 张三's red packet: %s, %s\n", u, router.Cell(user(u)), c.Claim.Amount, how)
	}
	balances()

	rep, err = cells.CheckClearing(ctx, cny)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "clearing: posted %s, credited %s, settled %v\n", ledger.NewMoney(rep.Posted, cny), ledger.NewMoney(rep.Credited, cny), rep.Settled())
	for _, name := range router.Names() {
		if _, err := cells.Cell(name).Ledger.Verify(ctx); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	fmt.Fprintln(w, "every cell's ledger verified")
	return nil
}

func random(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}
