// Command maintain runs socialpay's periodic work the way a bank runs it:
// every instance of the service has a maintain.Runner over the Maintain of
// each feature, and the runners of two instances on one PostgreSQL schema
// share the work through postgres.TaskLease (one instance runs a task at a
// time, the other skips it) — though each item would be handled once
// without the lease as well.
//
//	go run ./examples/maintain -dsn 'postgres://root@127.0.0.1:5432/test?sslmode=disable'
//
// The DSN's role must be able to create schemas; the program works in a
// schema of its own and drops it at the end. Alice sends three red packets
// of two shares each and Bob grabs one share; a day later both instances'
// rounds run at once and every unclaimed share goes back to Alice, once.
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/maintain"
	"github.com/socialpay/socialpay/postgres"
	"github.com/socialpay/socialpay/redpacket"
)

func main() {
	dsn := flag.String("dsn", cmp.Or(os.Getenv("SOCIALPAY_PG"), "postgres://root@127.0.0.1:5432/test?sslmode=disable"),
		"PostgreSQL connection string of a role that may create schemas")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *dsn); err != nil {
		fmt.Fprintln(os.Stderr, "maintain:", err)
		os.Exit(1)
	}
}

// instance is one instance of the bank's service.
type instance struct {
	name    string
	db      *postgres.DB
	l       *ledger.Ledger
	packets *redpacket.Service
	runner  *maintain.Runner
}

func run(ctx context.Context, out io.Writer, dsn string) (err error) {
	var b [4]byte
	rand.Read(b[:])
	schema := "socialpay_maintain_" + hex.EncodeToString(b[:])
	now := time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	members := &redpacket.MemoryMembers{} // the bank's chat groups
	// Every instance loads the same phrase key from the bank's KMS.
	key, err := redpacket.NewPasswordKey([]byte("from the bank's KMS, 32 bytes at least"))
	if err != nil {
		return err
	}
	// Logs as a service would write them, without times for a stable run.
	logger := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey || a.Key == "duration" {
			return slog.Attr{}
		}
		return a
	}}))

	// Every instance seals ledger entries with the bank's seal key (from
	// its KMS; made up here for the run).
	seal := make([]byte, 32)
	rand.Read(seal)
	sealer, err := postgres.NewHMACSealer(postgres.SealKey{ID: 1, Secret: seal})
	if err != nil {
		return err
	}
	open := func(name string) (*instance, error) {
		cfg, err := postgres.ParseConfig(dsn)
		if err != nil {
			return nil, err
		}
		cfg.Schema, cfg.Sealer = schema, sealer
		db, err := postgres.OpenConfig(ctx, cfg) // migrates, under the library's lock, if needed
		if err != nil {
			return nil, err
		}
		in := &instance{name: name, db: db, l: ledger.New(postgres.NewLedgerStore(db), ledger.Options{Now: clock})}
		if in.packets, err = redpacket.New(redpacket.Config{Ledger: in.l, Store: postgres.NewRedPacketStore(db), Members: members, PasswordKey: key, Now: clock}); err != nil {
			db.Close()
			return nil, err
		}
		in.runner, err = maintain.New(maintain.Config{
			Tasks:  []maintain.Task{maintain.TaskOf("redpacket", in.packets), maintain.TaskOf("ledger", in.l)},
			Now:    clock,
			Lease:  postgres.NewTaskLease(db),
			Logger: logger.With("instance", name),
		})
		if err != nil {
			db.Close()
			return nil, err
		}
		return in, nil
	}
	a, err := open("A")
	if err != nil {
		return err
	}
	defer func() {
		_, derr := a.db.Pool().Exec(context.Background(), "drop schema "+schema+" cascade")
		a.db.Close()
		err = errors.Join(err, derr)
	}()
	bi, err := open("B")
	if err != nil {
		return err
	}
	defer bi.db.Close()

	// Alice sends three packets of 1.00 CNY a share, two shares each, to
	// her group; Bob grabs one share of the first.
	cny := ledger.MustCurrency("CNY")
	account := func(fen int64) (uuid.UUID, error) {
		acc, err := a.l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
		if err != nil || fen == 0 {
			return acc.ID, err
		}
		bank, err := a.l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
		if err != nil {
			return uuid.Nil, err
		}
		_, err = a.l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: acc.ID, Amount: ledger.NewMoney(fen, cny)})
		return acc.ID, err
	}
	aliceWallet, err := account(100_00)
	if err != nil {
		return err
	}
	bobWallet, err := account(0)
	if err != nil {
		return err
	}
	group, alice, bob := uuid.New(), uuid.New(), uuid.New()
	members.Add(group, alice)
	members.Add(group, bob)
	for i := range 3 {
		p, err := a.packets.Send(ctx, redpacket.SendRequest{Key: "alice-" + strconv.Itoa(i), Kind: redpacket.Normal, Sender: alice, SenderAccount: aliceWallet,
			Group: group, Amount: ledger.NewMoney(1_00, cny), Count: 2})
		if err != nil {
			return err
		}
		if i == 0 {
			if _, err := bi.packets.Claim(ctx, redpacket.ClaimRequest{Packet: p.ID, User: bob, Account: bobWallet}); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(out, "Alice sent 3 packets of 2.00 CNY, Bob grabbed 1.00 CNY; Alice holds %s\n", netMoney(ctx, a.l, aliceWallet))

	// A day later both instances' rounds run at the same moment.
	mu.Lock()
	now = now.Add(25 * time.Hour)
	mu.Unlock()
	var wg sync.WaitGroup
	for _, in := range []*instance{a, bi} {
		wg.Go(func() { in.runner.RunOnce(ctx) })
	}
	wg.Wait()
	fmt.Fprintf(out, "a day later, after both instances' rounds: Alice holds %s (5 unclaimed shares back, once)\n", netMoney(ctx, a.l, aliceWallet))
	if _, err := a.l.Verify(ctx); err != nil {
		return err
	}
	fmt.Fprintln(out, "ledger verified")

	// What instance A would serve on its readiness endpoint.
	ready, err := json.Marshal(a.runner.Last())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "instance A's last results: %d tasks, %d bytes of JSON\n", len(a.runner.Last()), len(ready))
	// In a service the rounds run in the background from start-up
	// (Runner.Start) until shutdown, when Runner.Close comes before the
	// DB's.
	return nil
}

func netMoney(ctx context.Context, l *ledger.Ledger, id uuid.UUID) string {
	acc, err := l.Account(ctx, id)
	if err != nil {
		return err.Error()
	}
	return acc.NetMoney().String()
}
