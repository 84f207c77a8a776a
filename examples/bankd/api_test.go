package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

func cny(s string) ledger.Money {
	m, err := ledger.ParseMoney(s, "CNY")
	if err != nil {
		panic(err)
	}
	return m
}

type obj = map[string]any

// want fails unless r has the status and, for a problem, the code.
func want(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status || r.problem() != code {
		t.Fatalf("got %d %q, want %d %q: %s", r.status, r.problem(), status, code, r.body)
	}
}

// TestAPI drives every operation of the OpenAPI document through the
// handlers, with its success and its problems, and checks every request
// and response against the document (harness_test.go), besides what each
// answer means.
func TestAPI(t *testing.T) {
	a := newAPITest(t, Config{Demo: true}) // -demo: its endpoints are in the document too
	const alice, bob, carol = "alice-token", "bob-token", "carol-token"

	// Operations.
	want(t, a.do(call{method: "GET", path: "/healthz"}), 200, "")
	want(t, a.do(call{method: "GET", path: "/readyz"}), 200, "")
	a.s.stopping.Store(true)
	want(t, a.do(call{method: "GET", path: "/readyz"}), 503, "unavailable")
	a.s.stopping.Store(false)
	if r := a.do(call{method: "GET", path: "/openapi.json"}); r.status != 200 || !strings.Contains(string(r.body), `"openapi":"3.1.0"`) {
		t.Fatalf("/openapi.json: %d %.80s", r.status, r.body)
	}
	want(t, a.do(call{method: "GET", path: "/openapi.yaml"}), 200, "")
	want(t, a.do(call{method: "GET", path: "/nowhere"}), 404, "not_found")
	// A known path with a method it does not take: 405 naming the ones it
	// does, before authentication.
	for path, allow := range map[string]string{"/v1/wallet": "GET, HEAD, PUT", "/v1/redpackets/" + uuid.NewString(): "GET, HEAD",
		"/v1/redpackets": "POST", "/healthz": "GET, HEAD"} {
		r := a.do(call{method: "DELETE", path: path})
		want(t, r, 405, "method_not_allowed")
		if got := r.header.Get("Allow"); got != allow {
			t.Errorf("DELETE %s: Allow %q, want %q", path, got, allow)
		}
	}

	// Who am I; wallets.
	want(t, a.do(call{method: "GET", path: "/v1/me"}), 401, "unauthenticated")
	want(t, a.do(call{method: "PUT", path: "/v1/wallet", token: "wrong-token"}), 401, "unauthenticated")
	var me, bobMe, carolMe meView
	a.do(call{method: "GET", path: "/v1/me", token: alice}).decode(t, &me)
	a.do(call{method: "GET", path: "/v1/me", token: bob}).decode(t, &bobMe)
	a.do(call{method: "GET", path: "/v1/me", token: carol}).decode(t, &carolMe)
	want(t, a.do(call{method: "GET", path: "/v1/wallet", token: alice}), 404, "account_not_found")
	for _, tok := range []string{alice, bob} {
		want(t, a.do(call{method: "PUT", path: "/v1/wallet", token: tok}), 200, "")
	}
	want(t, a.do(call{method: "POST", path: "/v1/wallet/deposits", token: alice, body: obj{"amount": cny("1000.00")}, invalid: true}), 400, "idempotency_key_required")
	want(t, a.do(call{method: "POST", path: "/v1/wallet/deposits", token: alice, key: "dep-1", body: obj{"amount": cny("1000.00")}}), 201, "")
	want(t, a.do(call{method: "POST", path: "/v1/wallet/deposits", token: alice, key: "dep-1", body: obj{"amount": cny("999.00")}}), 409, "idempotency_conflict")
	want(t, a.do(call{method: "POST", path: "/v1/wallet/deposits", token: alice, key: "dep-2", body: obj{"amount": obj{"amount": "1.001", "currency": "CNY"}}}), 400, "too_many_decimals")
	var w walletView
	a.do(call{method: "GET", path: "/v1/wallet", token: alice}).decode(t, &w)
	if w.Balance != cny("1000.00") || w.ID != me.Wallet {
		t.Fatalf("alice's wallet after one deposit and its retry: %+v", w)
	}
	want(t, a.do(call{method: "GET", path: "/v1/wallet/statement?limit=0", token: alice, invalid: true}), 400, "invalid_request")

	// Groups.
	want(t, a.do(call{method: "POST", path: "/v1/groups", token: alice, key: "g", body: obj{"name": ""}, invalid: true}), 400, "invalid_request")
	var g groupView
	r := a.do(call{method: "POST", path: "/v1/groups", token: alice, key: "g", body: obj{"name": "family", "members": []string{bobMe.UserID.String()}}})
	want(t, r, 201, "")
	r.decode(t, &g)
	if g.Size != 2 {
		t.Fatalf("group of %d members, want 2", g.Size)
	}
	want(t, a.do(call{method: "POST", path: "/v1/groups", token: alice, key: "g", body: obj{"name": "family"}}), 409, "idempotency_conflict")
	want(t, a.do(call{method: "GET", path: "/v1/groups/" + g.ID.String(), token: bob}), 200, "")
	want(t, a.do(call{method: "GET", path: "/v1/groups/" + g.ID.String(), token: carol}), 404, "group_not_found")
	want(t, a.do(call{method: "POST", path: "/v1/groups/" + g.ID.String() + "/members", token: carol, body: obj{"user_id": carolMe.UserID}}), 404, "group_not_found")

	// Red packets.
	send := func(key string, body obj) response {
		return a.do(call{method: "POST", path: "/v1/redpackets", token: alice, key: key, body: body})
	}
	want(t, send("p0", obj{"kind": "lucky", "group_id": g.ID, "amount": cny("10.00"), "count": 3}), 400, "count_exceeds_group")
	want(t, send("p0", obj{"kind": "lucky", "group_id": g.ID, "amount": cny("500.00"), "count": 2}), 400, "share_too_large")
	want(t, send("p0", obj{"kind": "normal", "group_id": g.ID, "amount": cny("200.00"), "count": 2}), 201, "")
	want(t, send("p1", obj{"kind": "normal", "group_id": g.ID, "amount": cny("200.00"), "count": 2}), 201, "")
	// Refused for want of funds: the retry answers as the first call did.
	for range 2 {
		want(t, send("p2", obj{"kind": "normal", "group_id": g.ID, "amount": cny("200.00"), "count": 2}), 409, "insufficient_funds")
	}
	var p packetView
	r = send("p3", obj{"kind": "lucky", "group_id": g.ID, "amount": cny("88.88"), "count": 2})
	want(t, r, 201, "")
	r.decode(t, &p)
	pp := "/v1/redpackets/" + p.ID.String()
	want(t, a.do(call{method: "POST", path: pp + "/claims", token: carol}), 403, "not_member")
	want(t, a.do(call{method: "POST", path: pp + "/claims", token: bob}), 200, "")
	want(t, a.do(call{method: "POST", path: pp + "/claims", token: alice, body: obj{}}), 200, "")
	want(t, a.do(call{method: "POST", path: "/v1/groups/" + g.ID.String() + "/members", token: alice, body: obj{"user_id": carolMe.UserID}}), 200, "")
	want(t, a.do(call{method: "PUT", path: "/v1/wallet", token: carol}), 200, "")
	want(t, a.do(call{method: "POST", path: pp + "/claims", token: carol}), 409, "sold_out")
	var v packetView
	a.do(call{method: "GET", path: pp, token: carol}).decode(t, &v)
	if v.Status != "sold_out" || len(v.Claims) != 2 || v.BestLuck == nil || v.Claims[0].Amount.Units()+v.Claims[1].Amount.Units() != 8888 {
		t.Fatalf("the packet after two claims: %+v", v)
	}
	want(t, a.do(call{method: "GET", path: "/v1/redpackets/00000000-0000-0000-0000-000000000001", token: alice}), 404, "packet_not_found")

	// Phone payments.
	want(t, a.do(call{method: "PUT", path: "/v1/phone", token: bob, body: obj{"phone": "12345", "name": "王小明"}}), 400, "invalid_phone")
	want(t, a.do(call{method: "PUT", path: "/v1/phone", token: bob, body: obj{"phone": "13800138000", "name": "王小明"}}), 200, "")
	want(t, a.do(call{method: "PUT", path: "/v1/phone", token: carol, body: obj{"phone": "+86 138 0013 8000", "name": "张三"}}), 409, "bound_to_other_holder")
	var res resolutionView
	a.do(call{method: "POST", path: "/v1/phone/resolve", token: alice, body: obj{"phone": "138-0013-8000"}}).decode(t, &res)
	if res.MaskedName != "**明" {
		t.Fatalf("resolved %+v", res)
	}
	var rec receiptView
	r = a.do(call{method: "POST", path: "/v1/transfers", token: alice, key: "t1", body: obj{"token": res.Token, "amount": cny("10.00")}})
	want(t, r, 201, "")
	r.decode(t, &rec)
	want(t, a.do(call{method: "POST", path: "/v1/transfers", token: alice, key: "t1", body: obj{"phone": "13800138000", "amount": cny("10.00")}}), 201, "")
	want(t, a.do(call{method: "POST", path: "/v1/transfers", token: alice, key: "t1", body: obj{"phone": "13800138000", "amount": cny("10.01")}}), 409, "idempotency_conflict")
	want(t, a.do(call{method: "POST", path: "/v1/transfers", token: alice, key: "t2", body: obj{"phone": "13800138000", "amount": cny("50000.01")}}), 400, "over_transfer_limit")
	want(t, a.do(call{method: "POST", path: "/v1/transfers/" + rec.ID.String() + "/cancel", token: alice}), 400, "not_cancellable")
	want(t, a.do(call{method: "GET", path: "/v1/transfers/" + rec.ID.String(), token: bob}), 200, "")
	want(t, a.do(call{method: "GET", path: "/v1/transfers/" + rec.ID.String(), token: carol}), 404, "transfer_not_found")
	var delayed receiptView
	r = a.do(call{method: "POST", path: "/v1/transfers", token: alice, key: "t3", body: obj{"phone": "13800138000", "amount": cny("5.00"), "arrival": "2h"}})
	want(t, r, 202, "")
	r.decode(t, &delayed)
	r = a.do(call{method: "POST", path: "/v1/transfers/" + delayed.ID.String() + "/cancel", token: alice})
	want(t, r, 200, "")
	r.decode(t, &delayed)
	if delayed.State != "cancelled" {
		t.Fatalf("cancelled delayed transfer: %+v", delayed)
	}
	// Chat transfers.
	want(t, a.do(call{method: "POST", path: "/v1/chat/transfers", token: alice, key: "c0", body: obj{"amount": cny("1.00")}, invalid: true}), 400, "invalid_request")
	var chat receiptView
	r = a.do(call{method: "POST", path: "/v1/chat/transfers", token: alice, key: "c1", body: obj{"to": bobMe.UserID, "amount": cny("6.66"), "memo": "奶茶"}})
	want(t, r, 202, "")
	r.decode(t, &chat)
	cp := "/v1/transfers/" + chat.ID.String()
	want(t, a.do(call{method: "POST", path: cp + "/accept", token: alice}), 404, "transfer_not_found")
	want(t, a.do(call{method: "POST", path: cp + "/accept", token: bob}), 200, "")
	want(t, a.do(call{method: "POST", path: cp + "/decline", token: bob}), 409, "already_settled")
	want(t, a.do(call{method: "POST", path: "/v1/chat/transfers", token: alice, key: "c1", body: obj{"to": bobMe.UserID, "amount": cny("6.66"), "memo": "奶茶"}}), 201, "")
	r = a.do(call{method: "POST", path: "/v1/chat/transfers", token: alice, key: "c2", body: obj{"to": bobMe.UserID, "amount": cny("1.00")}})
	r.decode(t, &chat)
	want(t, a.do(call{method: "POST", path: "/v1/transfers/" + chat.ID.String() + "/decline", token: bob}), 200, "")

	// Receive codes and QR payments.
	want(t, a.do(call{method: "POST", path: "/v1/receive-codes", token: carol, body: obj{"phone": "+8613800138000"}}), 403, "not_owner")
	var code receiveCodeView
	r = a.do(call{method: "POST", path: "/v1/receive-codes", token: bob, body: obj{"phone": "+8613800138000", "amount": cny("12.00"), "reference": "TABLE-12"}})
	want(t, r, 201, "")
	r.decode(t, &code)
	if r := a.do(call{method: "POST", path: "/v1/receive-codes", token: bob, body: obj{"phone": "+8613800138000"},
		header: map[string]string{"Accept": "image/png"}}); r.status != 201 || !strings.HasPrefix(string(r.body), "\x89PNG") {
		t.Fatalf("PNG receive code: %d %q", r.status, r.header.Get("Content-Type"))
	}
	want(t, a.do(call{method: "POST", path: "/v1/qr/preview", token: alice, body: obj{"payload": "000201"}}), 400, "missing_object")
	var q quoteView
	a.do(call{method: "POST", path: "/v1/qr/preview", token: alice, body: obj{"payload": code.Payload}}).decode(t, &q)
	if q.PayeeName != "**明" || q.Amount == nil || *q.Amount != cny("12.00") {
		t.Fatalf("quote %+v", q)
	}
	want(t, a.do(call{method: "POST", path: "/v1/qr/payments", token: alice, key: "q1", body: obj{"payload": code.Payload, "confirm": q.Confirm}}), 201, "")
	want(t, a.do(call{method: "POST", path: "/v1/qr/payments", token: carol, key: "q1", body: obj{"payload": code.Payload}}), 409, "code_paid")

	// A prober: misses cost 20 of 100 tokens (carol's failed payment
	// above spent some), so by the sixth the budget is gone.
	for i := range 6 {
		r = a.do(call{method: "POST", path: "/v1/phone/resolve", token: carol, body: obj{"phone": "1390000000" + string(rune('0'+i))}})
		if i < 4 {
			want(t, r, 404, "not_registered")
		} else if r.status == 429 {
			break
		}
	}
	want(t, r, 429, "rate_limited")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// QR quotes spend the same budget: one per user, not one per feature.
	want(t, a.do(call{method: "POST", path: "/v1/qr/preview", token: carol, body: obj{"payload": code.Payload}}), 429, "rate_limited")

	// Payment codes.
	want(t, a.do(call{method: "POST", path: "/v1/devices", token: alice, invalid: true}), 400, "idempotency_key_required")
	var dev deviceView
	r = a.do(call{method: "POST", path: "/v1/devices", token: alice, key: "phone-1"})
	want(t, r, 201, "")
	r.decode(t, &dev)
	want(t, a.do(call{method: "GET", path: "/v1/devices/" + dev.ID, token: bob}), 404, "unknown_device")
	want(t, a.do(call{method: "POST", path: "/v1/payment-codes", token: alice, body: obj{"serial": 1, "secret": ""}}), 400, "invalid_value")
	var pc struct{ Code string }
	a.do(call{method: "POST", path: "/v1/payment-codes", token: alice, body: obj{"serial": dev.Serial, "secret": dev.Secret}}).decode(t, &pc)
	wrong := []byte(pc.Code)
	wrong[17] = '0' + (wrong[17]-'0'+1)%10
	want(t, a.do(call{method: "POST", path: "/v1/qr/charges", token: bob, key: "order-0", body: obj{"code": string(wrong), "amount": cny("5.00")}}), 400, "invalid_code")
	want(t, a.do(call{method: "POST", path: "/v1/qr/charges", token: bob, key: "order-1", body: obj{"code": pc.Code, "amount": cny("5.00")}}), 201, "")
	var st deviceStatusView
	a.do(call{method: "GET", path: "/v1/devices/" + dev.ID, token: alice}).decode(t, &st)
	if st.Spent != cny("5.00") || st.Locked || st.Revoked {
		t.Fatalf("device status %+v", st)
	}

	// The statement tells the story, and the books balance.
	var stmt statementView
	a.do(call{method: "GET", path: "/v1/wallet/statement?limit=200", token: alice}).decode(t, &stmt)
	a.do(call{method: "GET", path: "/v1/wallet", token: alice}).decode(t, &w)
	if n := len(stmt.Entries); n == 0 || stmt.Entries[n-1].Balance != w.Balance {
		t.Fatalf("statement ends at %v, wallet %v", stmt.Entries, w.Balance)
	}
	if _, err := a.app.ledger.Verify(t.Context()); err != nil {
		t.Fatal(err)
	}

	// Metrics saw the routes, and the library's (OpenTelemetry, through
	// the same registry) its operations.
	r = a.do(call{method: "GET", path: "/metrics"})
	for _, m := range []string{`bankd_http_requests_total{code="201",method="POST",route="/v1/redpackets"}`,
		`socialpay_redpacket_claims_total{currency="CNY",otel_scope_name="github.com/socialpay/socialpay/redpacket"`,
		`socialpay_transfer_sends_total{`, `socialpay_qr_payments_total{`} {
		if r.status != http.StatusOK || !strings.Contains(string(r.body), m) {
			t.Fatalf("metrics: %d, no %s in\n%s", r.status, m, r.body)
		}
	}
	// No money moved through the escrow of the packet refused for
	// alice's funds.
	demoOperations(t, a, alice, a.app.packets.EscrowAccountID(a.app.packets.PacketID(me.UserID, "p2")))
	a.coverage()
}
