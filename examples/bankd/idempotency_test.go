package main

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/socialpay/socialpay/ledger"
)

// idempotencyK is how many identical requests race.
const idempotencyK = 8

// TestIdempotencyKey sends each creating operation K times at once with one
// Idempotency-Key, spread over the instances given: one operation happens
// (the wallet moves once), every caller gets the same answer, and the key
// with another body is an idempotency_conflict. On PostgreSQL the
// instances are two bankd services on separate pools over one schema.
func TestIdempotencyKey(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		testIdempotency(t, []*apiTest{newAPITest(t, Config{})})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn, schema := testPG(t)
		secret := bytes.Repeat([]byte{9}, 32)
		a := newAPITest(t, Config{DSN: dsn, Schema: schema, Secret: secret})
		b := newAPITest(t, Config{DSN: dsn, Schema: schema, Secret: secret})
		testIdempotency(t, []*apiTest{a, b})
	})
}

func testIdempotency(t *testing.T, instances []*apiTest) {
	a := instances[0]
	const alice, bob = "alice-token", "bob-token"
	for _, tok := range []string{alice, bob} {
		want(t, a.do(call{method: "PUT", path: "/v1/wallet", token: tok}), 200, "")
	}
	want(t, a.do(call{method: "POST", path: "/v1/wallet/deposits", token: alice, key: "seed", body: obj{"amount": cny("1000.00")}}), 201, "")
	want(t, a.do(call{method: "PUT", path: "/v1/phone", token: bob, body: obj{"phone": "13800138000", "name": "王小明"}}), 200, "")
	var bobMe meView
	a.do(call{method: "GET", path: "/v1/me", token: bob}).decode(t, &bobMe)
	var g groupView
	a.do(call{method: "POST", path: "/v1/groups", token: alice, key: "g", body: obj{"name": "家", "members": []any{bobMe.UserID}}}).decode(t, &g)
	var code receiveCodeView
	a.do(call{method: "POST", path: "/v1/receive-codes", token: bob, body: obj{"phone": "+8613800138000", "amount": cny("3.00"), "reference": "R1"}}).decode(t, &code)

	balance := func() int64 {
		var w walletView
		a.do(call{method: "GET", path: "/v1/wallet", token: alice}).decode(t, &w)
		return w.Available.Units()
	}
	for _, op := range []struct {
		name      string
		path      string
		body      obj
		other     obj   // the same key with this body: a conflict
		status    int   // of every answer
		costUnits int64 // what one operation takes from alice's available balance
	}{
		{"deposit", "/v1/wallet/deposits", obj{"amount": cny("50.00")}, obj{"amount": cny("51.00")}, 201, -5000},
		{"redpacket", "/v1/redpackets", obj{"kind": "lucky", "group_id": g.ID, "amount": cny("8.88"), "count": 2},
			obj{"kind": "lucky", "group_id": g.ID, "amount": cny("8.88"), "count": 1}, 201, 888},
		{"phone transfer", "/v1/transfers", obj{"phone": "13800138000", "amount": cny("10.00")},
			obj{"phone": "13800138000", "amount": cny("10.00"), "memo": "other"}, 201, 1000},
		{"delayed transfer", "/v1/transfers", obj{"phone": "+86 138 0013 8000", "amount": cny("2.00"), "arrival": "24h"},
			obj{"phone": "13800138000", "amount": cny("2.00"), "arrival": "2h"}, 202, 200},
		{"chat transfer", "/v1/chat/transfers", obj{"to": bobMe.UserID, "amount": cny("1.00")},
			obj{"to": bobMe.UserID, "amount": cny("1.50")}, 202, 100},
		{"qr payment", "/v1/qr/payments", obj{"payload": code.Payload}, obj{"payload": code.Payload, "amount": cny("3.01")}, 201, 300},
	} {
		t.Run(op.name, func(t *testing.T) {
			before := balance()
			key := "key-" + op.name
			answers := make([]response, idempotencyK)
			var wg sync.WaitGroup
			for i := range idempotencyK {
				wg.Go(func() {
					answers[i] = instances[i%len(instances)].do(call{method: "POST", path: op.path, token: alice, key: key, body: op.body})
				})
			}
			wg.Wait()
			first := answers[0]
			for i, r := range answers {
				if r.status != op.status || !bytes.Equal(r.body, first.body) {
					t.Fatalf("answer %d: %d %s\nthe first: %d %s", i, r.status, r.body, first.status, first.body)
				}
			}
			if got := before - balance(); got != op.costUnits {
				t.Fatalf("%d identical requests moved %s from the wallet, want %s", idempotencyK,
					ledger.NewMoney(got, a.app.cny), ledger.NewMoney(op.costUnits, a.app.cny))
			}
			for i, inst := range instances {
				r := inst.do(call{method: "POST", path: op.path, token: alice, key: key, body: op.other})
				if r.status != 409 || r.problem() != "idempotency_conflict" {
					t.Fatalf("instance %d, same key, other body: %d %s", i, r.status, r.body)
				}
			}
		})
	}
	if _, err := a.app.ledger.Verify(t.Context()); err != nil {
		t.Fatal(fmt.Errorf("verify: %w", err))
	}
}
