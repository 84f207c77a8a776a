package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/internal/proctest"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/redpacket"
)

// redpacketWorkers are the redpacket store's worker processes (see multiproc_test.go).
var redpacketWorkers = map[string]proctest.Worker{
	"redpacket-claims": redpacketClaimsWorker,
	"redpacket-sweep":  redpacketSweepWorker,
}

// rpArg is a red-packet worker's argument: the schema, the group and the
// members who claim (each process keeps its own redpacket.MemoryMembers), the
// packets to claim with the users who claim each, or the time to sweep at.
type rpArg struct {
	Schema  string
	Group   uuid.UUID
	Members []uuid.UUID
	Packets []rpPacket
	SweepAt int64 // Unix microseconds
}

type rpPacket struct {
	ID      uuid.UUID
	Users   []uuid.UUID
	Wallets []uuid.UUID
}

// rpOutcome is one claim's answer in a worker: the claim's index and
// amount, or "sold out", or another error.
type rpOutcome struct {
	Packet, User uuid.UUID
	Index        int
	Fen          int64
	SoldOut      bool
	Err          string
}

// rpService opens the worker's service on the test's schema, ledger and
// red packets on one database (claims paid through ClaimPaid).
func rpService(ctx context.Context, arg *rpArg) (*redpacket.Service, *DB, error) {
	db, err := workerDB(ctx, arg.Schema)
	if err != nil {
		return nil, nil, err
	}
	members := &redpacket.MemoryMembers{}
	members.Add(arg.Group, arg.Members...)
	svc, err := redpacket.New(redpacket.Config{Ledger: ledger.New(NewLedgerStore(db), ledger.Options{}), Store: NewRedPacketStore(db), Members: members, PasswordKey: testRedPacketKey})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return svc, db, nil
}

// redpacketClaimsWorker: every user of every packet claims it, all users
// of a packet at once, 8 packets at a time.
func redpacketClaimsWorker(ctx context.Context, raw json.RawMessage, ready func()) (any, error) {
	var arg rpArg
	if err := json.Unmarshal(raw, &arg); err != nil {
		return nil, err
	}
	svc, db, err := rpService(ctx, &arg)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ready()
	var mu sync.Mutex
	var out []rpOutcome
	work := make(chan rpPacket)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for p := range work {
				cs, errs := ledgertest.Concurrently(len(p.Users), func(i int) (redpacket.Claim, error) {
					return svc.Claim(ctx, redpacket.ClaimRequest{Packet: p.ID, User: p.Users[i], Account: p.Wallets[i]})
				})
				mu.Lock()
				for i := range cs {
					o := rpOutcome{Packet: p.ID, User: p.Users[i], Index: cs[i].Index, Fen: cs[i].Amount.Units()}
					switch {
					case errors.Is(errs[i], redpacket.ErrSoldOut):
						o.SoldOut = true
					case errs[i] != nil:
						o.Err = errs[i].Error()
					}
					out = append(out, o)
				}
				mu.Unlock()
			}
		})
	}
	for _, p := range arg.Packets {
		work <- p
	}
	close(work)
	wg.Wait()
	return out, nil
}

type rpSweepResult struct {
	Refunded int
	Err      string
}

// redpacketSweepWorker: one refund sweep at the given time.
func redpacketSweepWorker(ctx context.Context, raw json.RawMessage, ready func()) (any, error) {
	var arg rpArg
	if err := json.Unmarshal(raw, &arg); err != nil {
		return nil, err
	}
	svc, db, err := rpService(ctx, &arg)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ready()
	n, err := svc.RefundExpired(ctx, time.UnixMicro(arg.SweepAt))
	res := rpSweepResult{Refunded: n}
	if err != nil {
		res.Err = err.Error()
	}
	return res, nil
}

// TestRedPacketTwoProcesses: two service processes on one schema claim the
// same packets at once — the same users in both (a client's retry reaching
// another instance), four users for three shares (the last share
// contested) — then both sweep the same expired packets at once. Every
// user gets one answer in both processes (the same claim, or sold out in
// both); each packet hands out its three shares, each paid once; the
// sweeps report no error and refund each remainder once; Check finds the
// records in agreement with the ledger.
func TestRedPacketTwoProcesses(t *testing.T) {
	w := newPayWorld(t, func(db *DB) ledger.Store { return NewLedgerStore(db) })
	n := ledgertest.RaceIterations(t, 60)
	const shares, claimers = 3, 4
	arg := rpArg{Schema: w.db.Schema(), Group: w.group}
	var sent []redpacket.Packet
	wallets := map[uuid.UUID]uuid.UUID{}
	for i := range n {
		p := w.send(shares, 100)
		sent = append(sent, p)
		if i%2 == 1 {
			continue // half of the packets are left for the sweepers, unclaimed
		}
		rp := rpPacket{ID: p.ID}
		for range claimers {
			u, wallet := w.member()
			rp.Users, rp.Wallets = append(rp.Users, u), append(rp.Wallets, wallet)
			wallets[u] = wallet
			arg.Members = append(arg.Members, u)
		}
		arg.Packets = append(arg.Packets, rp)
	}

	results := runWorkers[[]rpOutcome](t, "redpacket-claims", 2, arg)
	type key struct{ packet, user uuid.UUID }
	first := map[key]rpOutcome{}
	for proc, outs := range results {
		if len(outs) != len(arg.Packets)*claimers {
			t.Fatalf("process %d answered %d claims, want %d", proc, len(outs), len(arg.Packets)*claimers)
		}
		for _, o := range outs {
			if o.Err != "" {
				t.Fatalf("process %d: claim of %s on %s: %s", proc, o.User, o.Packet, o.Err)
			}
			k := key{o.Packet, o.User}
			if prev, ok := first[k]; ok && prev != o {
				t.Fatalf("user %s on packet %s: one process answered %+v, the other %+v", o.User, o.Packet, prev, o)
			}
			first[k] = o
		}
	}
	for _, rp := range arg.Packets {
		seen := map[int]bool{}
		for _, u := range rp.Users {
			o := first[key{rp.ID, u}]
			got := w.net(wallets[u])
			switch {
			case o.SoldOut && got != 0:
				t.Fatalf("user %s told sold out holds %d", u, got)
			case !o.SoldOut && (seen[o.Index] || got != o.Fen || o.Fen != 100):
				t.Fatalf("user %s: claim %+v (index seen before: %v), wallet %d", u, o, seen[o.Index], got)
			case !o.SoldOut:
				seen[o.Index] = true
			}
		}
		if len(seen) != shares {
			t.Fatalf("packet %s handed out %d shares, want %d", rp.ID, len(seen), shares)
		}
	}

	// Both processes sweep every expired packet at once.
	arg.Packets = nil
	arg.SweepAt = sent[len(sent)-1].ExpiresAt.UnixMicro()
	sweeps := runWorkers[rpSweepResult](t, "redpacket-sweep", 2, arg)
	for i, s := range sweeps {
		if s.Err != "" {
			t.Fatalf("sweeper %d: %s", i, s.Err)
		}
	}
	for i, p := range sent {
		got, err := w.store.Packet(w.ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus := redpacket.StatusSoldOut
		if i%2 == 1 {
			wantStatus = redpacket.StatusRefunded
			if bal := w.net(p.SenderAccount); bal != shares*100 {
				t.Fatalf("sender of packet %s got back %d, want the remainder %d once", p.ID, bal, shares*100)
			}
		}
		if got.Status != wantStatus || !got.Settled {
			t.Fatalf("packet %s: %+v, want %v and settled", p.ID, got.State, wantStatus)
		}
	}
	audit, err := redpacket.New(redpacket.Config{Ledger: w.l, Store: w.store, Members: w.members, PasswordKey: testRedPacketKey, Now: func() time.Time { return time.Now().Add(48 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := audit.Check(w.ctx); err != nil || rep.Packets != n {
		t.Fatalf("Check: %+v, %v", rep, err)
	}
	w.verify()
}
