package main

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestMaintain moves the clock past a delayed transfer's arrival and a red
// packet's expiry: one round of the periodic work lands the transfer and
// refunds the packet's remainder, and the metrics count both.
func TestMaintain(t *testing.T) {
	var offset atomic.Int64
	start := time.Now()
	clock := func() time.Time { return start.Add(time.Duration(offset.Load())) }
	a := newAPITest(t, Config{Now: clock})
	const alice, bob = "alice-token", "bob-token"
	for _, tok := range []string{alice, bob} {
		want(t, a.do(call{method: "PUT", path: "/v1/wallet", token: tok}), 200, "")
	}
	want(t, a.do(call{method: "POST", path: "/v1/wallet/deposits", token: alice, key: "d", body: obj{"amount": cny("100.00")}}), 201, "")
	want(t, a.do(call{method: "PUT", path: "/v1/phone", token: bob, body: obj{"phone": "13800138000", "name": "王小明"}}), 200, "")
	var rec receiptView
	a.do(call{method: "POST", path: "/v1/transfers", token: alice, key: "t", body: obj{"phone": "13800138000", "amount": cny("10.00"), "arrival": "2h"}}).decode(t, &rec)
	var bobMe meView
	a.do(call{method: "GET", path: "/v1/me", token: bob}).decode(t, &bobMe)
	var g groupView
	a.do(call{method: "POST", path: "/v1/groups", token: alice, key: "g", body: obj{"name": "g", "members": []any{bobMe.UserID}}}).decode(t, &g)
	var p packetView
	a.do(call{method: "POST", path: "/v1/redpackets", token: alice, key: "p", body: obj{"kind": "normal", "group_id": g.ID, "amount": cny("5.00"), "count": 2}}).decode(t, &p)
	want(t, a.do(call{method: "POST", path: "/v1/redpackets/" + p.ID.String() + "/claims", token: bob}), 200, "")

	a.s.maintainOnce(t.Context())
	a.do(call{method: "GET", path: "/v1/transfers/" + rec.ID.String(), token: alice}).decode(t, &rec)
	if rec.State != "pending" {
		t.Fatalf("before its arrival: %s", rec.State)
	}

	offset.Store(int64(25 * time.Hour))
	a.s.maintainOnce(t.Context())
	a.do(call{method: "GET", path: "/v1/transfers/" + rec.ID.String(), token: alice}).decode(t, &rec)
	var v packetView
	a.do(call{method: "GET", path: "/v1/redpackets/" + p.ID.String(), token: alice}).decode(t, &v)
	var w walletView
	a.do(call{method: "GET", path: "/v1/wallet", token: alice}).decode(t, &w)
	if rec.State != "settled" || v.Status != "refunded" || v.Refund == nil || *v.Refund != cny("5.00") || w.Balance != cny("85.00") {
		t.Fatalf("after the periodic work: transfer %s, packet %s refund %v, alice %v", rec.State, v.Status, v.Refund, w.Balance)
	}
	metrics := string(a.do(call{method: "GET", path: "/metrics"}).body)
	for _, want := range []string{`bankd_maintenance_items_total{item="released",task="transfer"} 1`,
		`bankd_maintenance_items_total{item="refunded",task="redpacket"} 1`, `bankd_maintenance_runs_total{result="ok",task="qr"} 2`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
