package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// demoOperations drives the demo endpoints through a (a bankd with
// -demo) with their successes and problems; TestAPI calls it so that
// every operation of the document is exercised.
// unlisted are the accounts of the ledger that no money moved through.
func demoOperations(t *testing.T, a *apiTest, token string, unlisted ...uuid.UUID) {
	t.Helper()
	want(t, a.do(call{method: "GET", path: "/v1/demo/clock"}), 401, "unauthenticated")
	var c0, c1 clockView
	r := a.do(call{method: "GET", path: "/v1/demo/clock", token: token})
	want(t, r, 200, "")
	r.decode(t, &c0)
	want(t, a.do(call{method: "POST", path: "/v1/demo/clock", token: token, body: obj{"seconds": 0}, invalid: true}), 400, "invalid_request")
	want(t, a.do(call{method: "POST", path: "/v1/demo/clock", token: token, body: obj{"seconds": -3600}, invalid: true}), 400, "invalid_request")
	r = a.do(call{method: "POST", path: "/v1/demo/clock", token: token, body: obj{"seconds": 3600}})
	want(t, r, 200, "")
	r.decode(t, &c1)
	if c1.Offset != c0.Offset+3600 || c1.Now.Sub(c0.Now) < time.Hour {
		t.Fatalf("the clock moved from %+v to %+v, want an hour", c0, c1)
	}
	want(t, a.do(call{method: "GET", path: "/v1/demo/ledger?last=21", token: token, invalid: true}), 400, "invalid_request")
	var v demoLedgerView
	r = a.do(call{method: "GET", path: "/v1/demo/ledger?last=2", token: token})
	want(t, r, 200, "")
	r.decode(t, &v)
	checkDemoLedger(t, a, v, unlisted...)
}

// checkDemoLedger checks the view of every account against the ledger:
// Verify passed, every account it counted is shown with its balance but
// the unlisted ones, which no money moved through, the balances sum to zero, and
// each account's last entries end at its balance.
func checkDemoLedger(t *testing.T, a *apiTest, v demoLedgerView, unlisted ...uuid.UUID) {
	t.Helper()
	rep, err := a.app.ledger.Verify(t.Context())
	if err != nil || !v.Verify.OK || v.Verify.Accounts != rep.Accounts || v.Verify.Entries != rep.Entries {
		t.Fatalf("verify in the view %+v, the ledger's %+v %v", v.Verify, rep, err)
	}
	if len(v.Accounts)+len(unlisted) != rep.Accounts || v.Unlisted != len(unlisted) || v.Total.Units() != 0 {
		t.Fatalf("the view shows %d accounts summing to %v, %d unlisted; Verify counted %d, %d of them without entries",
			len(v.Accounts), v.Total, v.Unlisted, rep.Accounts, len(unlisted))
	}
	for _, id := range unlisted {
		acc, err := a.app.ledger.Account(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		es, err := a.app.ledger.History(t.Context(), id, 0, MaxStatementPage)
		if err != nil || !acc.Balance.IsZero() {
			t.Fatalf("unlisted account %s: balance %+v (%v)", id, acc.Balance, err)
		}
		for _, e := range es {
			if e.TransferID != uuid.Nil {
				t.Fatalf("unlisted account %s has a transfer's entry %+v", id, e)
			}
		}
	}
	seen := map[string]bool{}
	for _, acc := range v.Accounts {
		if seen[acc.ID.String()] {
			t.Fatalf("account %s shown twice", acc.ID)
		}
		seen[acc.ID.String()] = true
		l, err := a.app.ledger.Account(t.Context(), acc.ID)
		if err != nil || l.NetMoney() != acc.Balance {
			t.Fatalf("account %s shown with %v, the ledger has %v (%v)", acc.ID, acc.Balance, l.NetMoney(), err)
		}
		if n := len(acc.Last); n > 0 && acc.Last[n-1].Balance != acc.Balance {
			t.Fatalf("account %s: its last entry leaves %v, its balance is %v", acc.ID, acc.Last[n-1].Balance, acc.Balance)
		}
		if acc.Kind == "wallet" && walletID(userID(acc.Handle), a.app.cny) != acc.ID {
			t.Fatalf("wallet %s named %q", acc.ID, acc.Handle)
		}
	}
	if v.Accounts[0].Kind != "bank" || v.Accounts[0].ID != a.app.funding {
		t.Fatalf("the first account is %+v, want the bank's funding account", v.Accounts[0])
	}
}

// TestDemoRefused: without -demo there is no page, no clock to move and
// no view of every account; -demo is refused on PostgreSQL and with
// tokens other than the demo's.
func TestDemoRefused(t *testing.T) {
	a := newAPITest(t, Config{})
	want(t, a.do(call{method: "GET", path: "/v1/demo/clock", token: "alice-token"}), 404, "not_found")
	want(t, a.do(call{method: "POST", path: "/v1/demo/clock", token: "alice-token", body: obj{"seconds": 86400}}), 404, "not_found")
	want(t, a.do(call{method: "GET", path: "/v1/demo/ledger", token: "alice-token"}), 404, "not_found")
	want(t, a.do(call{method: "GET", path: "/demo/"}), 404, "not_found")
	want(t, a.do(call{method: "GET", path: "/"}), 404, "not_found")

	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	secret := strings.Repeat("ab", 32)
	for _, c := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"-demo", "-dsn", "postgres://127.0.0.1/test"}, map[string]string{"BANKD_TOKENS": "alice=alice-secret-1", "BANKD_SECRET": secret}},
		{[]string{"-demo", "-dsn", "postgres://127.0.0.1/test"}, nil},
		{[]string{"-demo"}, map[string]string{"BANKD_TOKENS": "alice=alice-secret-1"}},
	} {
		if _, err := parseConfig(c.args, env(c.env), io.Discard); !errors.Is(err, errConfig) {
			t.Errorf("parseConfig(%q, %v): %v, want errConfig", c.args, c.env, err)
		}
	}
	cfg, err := parseConfig([]string{"-demo"}, env(nil), io.Discard)
	if err != nil || !cfg.Demo || !maps.Equal(cfg.Tokens, demoPageTokens) {
		t.Fatalf("parseConfig(-demo): %+v, %v", cfg, err)
	}
	if cfg, err = parseConfig(nil, env(nil), io.Discard); err != nil || cfg.Demo || !maps.Equal(cfg.Tokens, demoTokens) {
		t.Fatalf("parseConfig(): %+v, %v", cfg, err)
	}
	// A Config made in code is held to the same rule, before any
	// connection is tried.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := newApp(ctx, Config{Demo: true, DSN: "postgres://127.0.0.1:1/none", Secret: make([]byte, 32)},
		slog.New(slog.NewTextHandler(io.Discard, nil))); !errors.Is(err, errConfig) {
		t.Fatalf("newApp with Demo and DSN: %v, want errConfig", err)
	}
}

// TestDemoClock moves the demo clock: two hours land a delayed transfer
// and leave a red packet open; a day refunds the packet's remainder to its
// sender. The view of every account follows, the escrow included.
func TestDemoClock(t *testing.T) {
	a := newAPITest(t, Config{Demo: true, Tokens: demoPageTokens})
	const alice, bob = "alice-token", "bob-token"
	for _, tok := range []string{alice, bob} {
		want(t, a.do(call{method: "PUT", path: "/v1/wallet", token: tok}), 200, "")
	}
	want(t, a.do(call{method: "POST", path: "/v1/wallet/deposits", token: alice, key: "d", body: obj{"amount": cny("100.00")}}), 201, "")
	want(t, a.do(call{method: "PUT", path: "/v1/phone", token: bob, body: obj{"phone": "13800138000", "name": "张三"}}), 200, "")
	var bobMe meView
	a.do(call{method: "GET", path: "/v1/me", token: bob}).decode(t, &bobMe)
	var g groupView
	a.do(call{method: "POST", path: "/v1/groups", token: alice, key: "g", body: obj{"name": "g", "members": []any{bobMe.UserID}}}).decode(t, &g)
	var p packetView
	a.do(call{method: "POST", path: "/v1/redpackets", token: alice, key: "p", body: obj{"kind": "lucky", "group_id": g.ID, "amount": cny("10.00"), "count": 2}}).decode(t, &p)
	var share claimView
	a.do(call{method: "POST", path: "/v1/redpackets/" + p.ID.String() + "/claims", token: bob}).decode(t, &share)
	var rec receiptView
	a.do(call{method: "POST", path: "/v1/transfers", token: alice, key: "t", body: obj{"phone": "138 0013 8000", "amount": cny("20.00"), "arrival": "2h"}}).decode(t, &rec)

	advance := func(seconds int) {
		t.Helper()
		want(t, a.do(call{method: "POST", path: "/v1/demo/clock", token: bob, body: obj{"seconds": seconds}}), 200, "")
	}
	advance(2*3600 + 60)
	a.do(call{method: "GET", path: "/v1/transfers/" + rec.ID.String(), token: alice}).decode(t, &rec)
	a.do(call{method: "GET", path: "/v1/redpackets/" + p.ID.String(), token: alice}).decode(t, &p)
	if rec.State != "settled" || p.Status != "open" {
		t.Fatalf("two hours on: transfer %s, packet %s; want settled and open", rec.State, p.Status)
	}
	advance(24 * 3600)
	a.do(call{method: "GET", path: "/v1/redpackets/" + p.ID.String(), token: alice}).decode(t, &p)
	remainder := 1000 - share.Amount.Units()
	if p.Status != "refunded" || p.Refund == nil || p.Refund.Units() != remainder {
		t.Fatalf("a day on: packet %s refund %v, want refunded %d fen", p.Status, p.Refund, remainder)
	}
	var w walletView
	a.do(call{method: "GET", path: "/v1/wallet", token: alice}).decode(t, &w)
	if w.Balance.Units() != 10000-1000-2000+remainder {
		t.Fatalf("alice has %v after the refund", w.Balance)
	}
	var c clockView
	a.do(call{method: "GET", path: "/v1/demo/clock", token: alice}).decode(t, &c)
	if c.Offset != 26*3600+60 {
		t.Fatalf("offset %d s, want %d", c.Offset, 26*3600+60)
	}

	var v demoLedgerView
	a.do(call{method: "GET", path: "/v1/demo/ledger?last=20", token: alice}).decode(t, &v)
	checkDemoLedger(t, a, v)
	kinds := map[string]int{}
	for _, acc := range v.Accounts {
		kinds[acc.Kind]++
		if acc.Kind == "other" && (acc.Balance.Units() != 0 || acc.Entries != 3) {
			t.Fatalf("the escrow after its refund: %+v", acc)
		}
	}
	// The bank, alice's and bob's wallets (carol, dave and the shop never
	// opened theirs), and the packet's escrow.
	if kinds["bank"] != 1 || kinds["wallet"] != 2 || kinds["other"] != 1 {
		t.Fatalf("accounts by kind %v", kinds)
	}
}

// TestDemoPage: with -demo, / leads to the page, which is served with a
// content security policy that allows its own scripts only.
func TestDemoPage(t *testing.T) {
	a := newAPITest(t, Config{Demo: true, Tokens: demoPageTokens})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(a.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/demo/" {
		t.Fatalf("GET /: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	for path, typ := range map[string]string{"/demo/": "text/html", "/demo/app.js": "text/javascript", "/demo/style.css": "text/css"} {
		res, err := http.Get(a.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), typ) ||
			!strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'self'") || len(body) == 0 {
			t.Fatalf("GET %s: %d %q %q", path, res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Security-Policy"))
		}
	}
}
