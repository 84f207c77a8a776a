package redpacket_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// A packet as its group sees it, as a service sends it to an app: kinds
// and statuses as words, amounts as decimal strings with their currency,
// IDs as strings, times in RFC 3339. Alice sends two shares of 8.88 CNY;
// Bob has grabbed one.
func ExampleView_json() {
	ctx := context.Background()
	now := time.Date(2027, 2, 5, 20, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	id := func(s string) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceURL, []byte(s)) }
	l := ledger.New(nil, ledger.Options{Now: clock})
	members := &redpacket.MemoryMembers{}
	svc, err := redpacket.New(redpacket.Config{Ledger: l, Members: members, Now: clock, Rand: rand.NewChaCha8([32]byte{}), SingleProcess: true})
	if err != nil {
		panic(err)
	}
	cny := ledger.MustCurrency("CNY")
	group, alice, bob := id("group"), id("alice"), id("bob")
	if _, err := l.CreateAccount(ctx, ledger.Account{ID: id("bank"), Currency: cny}); err != nil {
		panic(err)
	}
	for _, a := range []uuid.UUID{id("alice's wallet"), id("bob's wallet")} {
		if _, err := l.CreateAccount(ctx, ledger.Account{ID: a, Currency: cny, Flags: ledger.DebitsMustNotExceedCredits}); err != nil {
			panic(err)
		}
	}
	deposit, _ := ledger.ParseMoney("100.00", "CNY")
	if _, err := l.Transfer(ctx, ledger.Transfer{ID: id("deposit"), DebitAccountID: id("bank"), CreditAccountID: id("alice's wallet"), Amount: deposit}); err != nil {
		panic(err)
	}
	members.Add(group, alice)
	members.Add(group, bob)
	each, _ := ledger.ParseMoney("8.88", "CNY")
	p, err := svc.Send(ctx, redpacket.SendRequest{Key: "alice-new-year-1", Kind: redpacket.Normal, Sender: alice,
		SenderAccount: id("alice's wallet"), Group: group, Amount: each, Count: 2})
	if err != nil {
		panic(err)
	}
	now = now.Add(time.Minute)
	if _, err := svc.Claim(ctx, redpacket.ClaimRequest{Packet: p.ID, User: bob, Account: id("bob's wallet")}); err != nil {
		panic(err)
	}
	v, _ := svc.View(ctx, p.ID)
	b, _ := json.MarshalIndent(v, "", "  ")
	fmt.Println(string(b))
	// Output:
	// {
	//   "packet": {
	//     "id": "da3a7ba0-d9b6-5787-ad6e-e35685a88040",
	//     "kind": "normal",
	//     "sender": "9750dcc2-516e-5ea0-8a26-54fa6ff6986b",
	//     "sender_account": "fa031b85-23bf-52ee-9cf1-97ffc73cca6e",
	//     "group": "7727bbac-fc2a-566b-98b2-81968e4dc35e",
	//     "sender_may_grab": true,
	//     "total": {
	//       "amount": "17.76",
	//       "currency": "CNY"
	//     },
	//     "count": 2,
	//     "escrow": "15e111a7-68d0-563d-86b8-bc5da24bb221",
	//     "created_at": "2027-02-05T20:00:00Z",
	//     "expires_at": "2027-02-06T20:00:00Z",
	//     "status": "open",
	//     "claimed": 1,
	//     "posted": 1,
	//     "settled": false
	//   },
	//   "claims": [
	//     {
	//       "packet_id": "da3a7ba0-d9b6-5787-ad6e-e35685a88040",
	//       "user": "756886b3-2033-583f-bd5a-a22f02fb5a6b",
	//       "account": "f68704fa-6578-5ad4-89a2-51bc4003c41e",
	//       "index": 0,
	//       "amount": {
	//         "amount": "8.88",
	//         "currency": "CNY"
	//       },
	//       "claimed_at": "2027-02-05T20:01:00Z",
	//       "posted": true
	//     }
	//   ],
	//   "remaining": 1,
	//   "remaining_amount": {
	//     "amount": "8.88",
	//     "currency": "CNY"
	//   },
	//   "refund": {
	//     "amount": "0.00",
	//     "currency": "CNY"
	//   },
	//   "best_luck": -1
	// }
}

// A cancelled packet's state carries its refusal's code in JSON, and
// decodes back to the same state; a state without one leaves it out.
func TestStateJSONReason(t *testing.T) {
	for _, c := range []struct {
		st   redpacket.State
		json string
	}{
		{redpacket.State{Status: redpacket.StatusCancelled, Reason: "insufficient_funds"},
			`{"status":"cancelled","claimed":0,"posted":0,"settled":false,"reason":"insufficient_funds"}`},
		{redpacket.State{Status: redpacket.StatusOpen, Claimed: 2, Posted: 1},
			`{"status":"open","claimed":2,"posted":1,"settled":false}`},
	} {
		b, err := json.Marshal(c.st)
		if err != nil || string(b) != c.json {
			t.Errorf("Marshal(%+v) = %s, %v; want %s", c.st, b, err, c.json)
			continue
		}
		var back redpacket.State
		if err := json.Unmarshal(b, &back); err != nil || back != c.st {
			t.Errorf("Unmarshal(%s) = %+v, %v; want %+v", b, back, err, c.st)
		}
	}
}
