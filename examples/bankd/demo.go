package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// The demo (-demo) is a page for people who evaluate the library: phones
// side by side sending and grabbing red packets, paying mobile numbers
// and QR codes, a shop charging payment codes, and the ledger with
// Verify's answer. The page (web/, served at /demo/) talks to the public
// API with the demo tokens, and to two endpoints only a demo has: the
// bank's clock, which the page moves forward so that packets expire and
// delayed transfers land, and a view of every account. Both are refused
// with -dsn: a bank's clock never moves on request, and no caller sees
// every account.

//go:embed web
var webFiles embed.FS

// demoPageTokens are the users of the demo page: four phones and a shop.
var demoPageTokens = map[string]string{"alice-token": "alice", "bob-token": "bob", "carol-token": "carol",
	"dave-token": "dave", "shop-token": "shop"}

// checkDemo refuses -demo on PostgreSQL.
func (c Config) checkDemo() error {
	if c.Demo && c.DSN != "" {
		return fmt.Errorf("%w: -demo runs on memory stores only (it moves the bank's clock and shows every account), not with -dsn", errConfig)
	}
	return nil
}

// demoClock is the bank's clock under -demo: the base clock plus an
// offset that the page moves forward, never back.
type demoClock struct {
	base   func() time.Time
	offset atomic.Int64 // nanoseconds
}

// Now is the demo bank's time.
func (c *demoClock) Now() time.Time { return c.base().Add(time.Duration(c.offset.Load())) }

// MaxDemoAdvance bounds one move of the demo clock.
const MaxDemoAdvance = 30 * 24 * time.Hour

// demoRoutes adds the page and the demo endpoints, with -demo only.
func (s *Server) demoRoutes(api map[string]handler) {
	if s.app.clock == nil {
		return
	}
	page := http.StripPrefix("/demo/", http.FileServerFS(mustSub(webFiles, "web")))
	s.mux.Handle("GET /demo/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		page.ServeHTTP(w, r)
	}))
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/demo/", http.StatusFound)
	})
	api["GET /v1/demo/clock"] = s.demoClockNow
	api["POST /v1/demo/clock"] = s.advanceClock
	api["GET /v1/demo/ledger"] = s.demoLedger
}

type clockView struct {
	Now    time.Time `json:"now"`
	Offset int64     `json:"offset_seconds"` // how far the clock was moved, in all
}

func (s *Server) clockView() clockView {
	return clockView{Now: s.app.now(), Offset: int64(time.Duration(s.app.clock.offset.Load()) / time.Second)}
}

func (s *Server) demoClockNow(w http.ResponseWriter, r *http.Request, p Principal) error {
	writeJSON(w, http.StatusOK, s.clockView())
	return nil
}

type advanceRequest struct {
	Seconds int64 `json:"seconds"`
}

// advanceClock moves the demo clock forward and runs the periodic work
// once, so that what fell due (expired packets, delayed transfers) is
// done when the answer comes.
func (s *Server) advanceClock(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req advanceRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Seconds < 1 || req.Seconds > int64(MaxDemoAdvance/time.Second) {
		return fmt.Errorf("%w: seconds must be 1 to %d", errBadRequest, int64(MaxDemoAdvance/time.Second))
	}
	s.app.clock.offset.Add(int64(time.Duration(req.Seconds) * time.Second))
	s.maintainOnce(r.Context())
	writeJSON(w, http.StatusOK, s.clockView())
	return nil
}

// The view of every account. The ledger lists no accounts (a bank's
// ledger has millions), so the view walks from the accounts bankd knows
// (the bank's funding account and each demo user's wallet) along the
// transfers of their entries to every account money moved through (in
// bankd, the red packets' escrows). All money comes from the funding
// account, so the walk reaches every account money moved through;
// Verify's count of accounts tells how many others there are.

// Bounds of the walk: the demo's ledger is small.
const (
	MaxDemoAccounts = 500
	MaxDemoEntries  = 20000 // read per account
	MaxDemoLast     = 20    // last entries shown per account
)

type demoLedgerView struct {
	Now      time.Time         `json:"now"`
	Verify   demoVerifyView    `json:"verify"`
	Accounts []demoAccountView `json:"accounts"`
	// Total is the sum of the balances shown: zero, since every transfer
	// debits one account and credits another and the walk reaches every
	// account that has an entry.
	Total ledger.Money `json:"total"`
	// Unlisted counts the accounts Verify counted that the walk did not
	// reach: accounts no money moved through, whose balance is zero (in
	// bankd, the escrow of a packet refused for its sender's funds).
	Unlisted int `json:"unlisted"`
}

type demoVerifyView struct {
	OK       bool   `json:"ok"`
	Accounts int    `json:"accounts"`
	Entries  int64  `json:"entries"`
	Problem  string `json:"problem,omitempty"` // what Verify found wrong
}

type demoAccountView struct {
	ID      uuid.UUID    `json:"id"`
	Kind    string       `json:"kind"`             // bank, wallet or other (a red packet's escrow)
	Handle  string       `json:"handle,omitempty"` // a wallet's user
	Balance ledger.Money `json:"balance"`
	Pending ledger.Money `json:"pending"` // held by pending debits
	Entries int          `json:"entries"`
	Last    []demoEntry  `json:"last"` // the last entries, oldest first
}

type demoEntry struct {
	entryView
	Counterparty uuid.UUID `json:"counterparty"` // the other account of the entry's transfer
}

func (s *Server) demoLedger(w http.ResponseWriter, r *http.Request, p Principal) error {
	last, err := queryUint(r.URL.Query().Get("last"), 5)
	if err != nil || last > MaxDemoLast {
		return fmt.Errorf("%w: last must be 0 to %d", errBadRequest, MaxDemoLast)
	}
	ctx := r.Context()
	out := demoLedgerView{Now: s.app.now(), Accounts: []demoAccountView{}}
	rep, err := s.app.ledger.Verify(ctx)
	out.Verify = demoVerifyView{OK: err == nil, Accounts: rep.Accounts, Entries: rep.Entries}
	if err != nil {
		if !errors.Is(err, ledger.ErrVerify) {
			return err
		}
		out.Verify.Problem = err.Error()
	}

	handles := map[uuid.UUID]string{}
	roots := []uuid.UUID{s.app.funding}
	for _, h := range slices.Compact(slices.Sorted(maps.Values(s.app.cfg.Tokens))) {
		id := walletID(userID(h), s.app.cny)
		handles[id] = h
		roots = append(roots, id)
	}
	transfers := map[uuid.UUID]ledger.Transfer{}
	seen := map[uuid.UUID]bool{}
	var total int64
	for queue := roots; len(queue) > 0 && len(out.Accounts) < MaxDemoAccounts; queue = queue[1:] {
		id := queue[0]
		if seen[id] {
			continue
		}
		seen[id] = true
		a, err := s.app.ledger.Account(ctx, id)
		if errors.Is(err, ledger.ErrAccountNotFound) {
			continue // a demo user who has not opened a wallet
		}
		if err != nil {
			return err
		}
		v := demoAccountView{ID: id, Kind: "other", Balance: a.NetMoney(), Pending: ledger.NewMoney(a.Balance.DebitsPending, a.Currency),
			Last: []demoEntry{}}
		switch h, ok := handles[id]; {
		case id == s.app.funding:
			v.Kind = "bank"
		case ok:
			v.Kind, v.Handle = "wallet", h
		}
		total += a.Balance.Net()
		var after uint64
		for v.Entries < MaxDemoEntries {
			page, err := s.app.ledger.History(ctx, id, after, MaxStatementPage)
			if err != nil {
				return err
			}
			for _, e := range page {
				if e.TransferID == uuid.Nil {
					continue // account events move no money
				}
				v.Entries++
				debit, credit, err := s.demoSides(ctx, e.TransferID, transfers)
				if err != nil {
					return err
				}
				other := credit
				if e.Side == ledger.SideCredit {
					other = debit
				}
				if other != uuid.Nil && !seen[other] {
					queue = append(queue, other)
				}
				if last > 0 {
					if len(v.Last) == int(last) {
						v.Last = slices.Delete(v.Last, 0, 1)
					}
					v.Last = append(v.Last, demoEntry{entryView: entryOf(e, a.Currency), Counterparty: other})
				}
			}
			if len(page) < MaxStatementPage {
				break
			}
			after = page[len(page)-1].Seq
		}
		out.Accounts = append(out.Accounts, v)
	}
	out.Total = ledger.NewMoney(total, s.app.cny)
	out.Unlisted = max(rep.Accounts-len(out.Accounts), 0)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// demoSides returns the accounts a transfer debits and credits; a post,
// void or reversal names them through the transfer it refers to.
func (s *Server) demoSides(ctx context.Context, id uuid.UUID, cache map[uuid.UUID]ledger.Transfer) (debit, credit uuid.UUID, err error) {
	for range 3 {
		t, ok := cache[id]
		if !ok {
			if t, err = s.app.ledger.LookupTransfer(ctx, id); err != nil {
				return uuid.Nil, uuid.Nil, err
			}
			cache[id] = t
		}
		if t.DebitAccountID != uuid.Nil || t.CreditAccountID != uuid.Nil {
			return t.DebitAccountID, t.CreditAccountID, nil
		}
		switch {
		case t.PendingID != uuid.Nil:
			id = t.PendingID
		case t.ReversesID != uuid.Nil:
			id = t.ReversesID
		default:
			return uuid.Nil, uuid.Nil, nil
		}
	}
	return uuid.Nil, uuid.Nil, nil
}
