package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"
)

// remote calls a bankd subprocess.
type remote struct {
	t    *testing.T
	base string
}

func (r remote) do(method, path, token, key string, body any) response {
	r.t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req, err := http.NewRequest(method, r.base+path, bytes.NewReader(b))
	if err != nil {
		r.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	out := response{status: res.StatusCode, header: res.Header}
	out.body, _ = io.ReadAll(res.Body)
	return out
}

// TestInstances runs two bankd processes on one PostgreSQL schema, as a
// bank runs them behind a load balancer, and sends each step of a story
// to the other instance than the step before: a deposit retried on the
// other instance moves money once, a group made on one is seen by the
// other, a password packet sent on one is claimed on the other, a lookup
// token and a receive code made on one pay on the other, and a prober
// alternating between them gets one budget. Then one instance stops on
// SIGTERM while the other serves on, and the books verify.
func TestInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs bankd")
	}
	dsn, schema := testPG(t)
	secret := bytes.Repeat([]byte{0x5a}, 32)
	env := []string{"BANKD_TOKENS=alice=alice-secret-token,bob=bob-secret-token,carol=carol-secret-token",
		"BANKD_SECRET=" + hex.EncodeToString(secret)}
	args := []string{"-dsn", dsn, "-schema", schema, "-maintain", "0"}
	pa, pb := startBankd(t, env, args...), startBankd(t, env, args...)
	a, b := remote{t, "http://" + pa.addr}, remote{t, "http://" + pb.addr}
	const alice, bob, carol = "alice-secret-token", "bob-secret-token", "carol-secret-token"

	for _, tok := range []string{alice, bob} {
		want(t, a.do("PUT", "/v1/wallet", tok, "", nil), 200, "")
	}
	d1 := b.do("POST", "/v1/wallet/deposits", alice, "topup", obj{"amount": cny("300.00")})
	d2 := a.do("POST", "/v1/wallet/deposits", alice, "topup", obj{"amount": cny("300.00")})
	want(t, d2, 201, "")
	if !bytes.Equal(d1.body, d2.body) {
		t.Fatalf("a deposit retried on the other instance answered\n%s\nnot\n%s", d2.body, d1.body)
	}
	var bobMe meView
	a.do("GET", "/v1/me", bob, "", nil).decode(t, &bobMe)
	var g groupView
	a.do("POST", "/v1/groups", alice, "family", obj{"name": "family", "members": []any{bobMe.UserID}}).decode(t, &g)
	want(t, b.do("GET", "/v1/groups/"+g.ID.String(), bob, "", nil), 200, "")

	var p packetView
	b.do("POST", "/v1/redpackets", alice, "pw", obj{"kind": "password", "group_id": g.ID, "amount": cny("20.00"),
		"count": 2, "password": "恭喜　发财"}).decode(t, &p)
	want(t, a.do("POST", "/v1/redpackets/"+p.ID.String()+"/claims", bob, "", obj{"password": "恭喜 发财"}), 200, "")

	want(t, b.do("PUT", "/v1/phone", bob, "", obj{"phone": "13800138000", "name": "王小明"}), 200, "")
	var res resolutionView
	a.do("POST", "/v1/phone/resolve", alice, "", obj{"phone": "13800138000"}).decode(t, &res)
	want(t, b.do("POST", "/v1/transfers", alice, "lunch", obj{"token": res.Token, "amount": cny("30.00")}), 201, "")

	var code receiveCodeView
	a.do("POST", "/v1/receive-codes", bob, "", obj{"phone": "+8613800138000", "amount": cny("8.00"), "reference": "T1"}).decode(t, &code)
	want(t, b.do("POST", "/v1/qr/payments", alice, "tea", obj{"payload": code.Payload}), 201, "")

	// One budget: 100 tokens, 20 a miss, whichever instance asks.
	misses := 0
	for i := range 10 {
		inst := []remote{a, b}[i%2]
		r := inst.do("POST", "/v1/phone/resolve", carol, "", obj{"phone": "1390000000" + string(rune('0'+i))})
		if r.status == 429 {
			break
		}
		want(t, r, 404, "not_registered")
		misses++
	}
	if misses != 5 {
		t.Fatalf("a prober alternating between two instances got %d misses, want 5 (one budget)", misses)
	}

	pa.stop(t) // graceful: exits 0
	want(t, b.do("GET", "/readyz", "", "", nil), 200, "")
	var w walletView
	b.do("GET", "/v1/wallet", alice, "", nil).decode(t, &w)
	if w.Balance != cny("242.00") { // 300 − 20 − 30 − 8
		t.Fatalf("alice's wallet: %v, want 242.00", w.Balance)
	}
	pb.stop(t)

	app, err := newApp(context.Background(), Config{DSN: dsn, Schema: schema, Secret: secret}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if _, err := app.ledger.Verify(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := app.packets.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
}
