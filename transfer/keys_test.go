package transfer_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/transfer"
)

// oldDeriveID is ledger.DeriveID before issue 11: its parts joined with
// NUL bytes, so a part holding a NUL could name the parts of another ID.
func oldDeriveID(ns uuid.UUID, parts ...string) uuid.UUID {
	return uuid.NewSHA1(ns, []byte(strings.Join(parts, "\x00")))
}

// On the memory store a key with a NUL byte made a record's ID the post
// or undo ID of another record of the same payer: "k\x00post" named the
// post of "k"'s hold. Keys are now refused at the edge unless they are
// storable text: no NUL, no control character, valid UTF-8, at most
// ledger.MaxKeyLen bytes (ledger.CheckKey); on every store, before any lookup.
func TestIdempotencyKeyText(t *testing.T) {
	ns := transfer.DefaultNamespace()
	if oldDeriveID(ns, "phone-transfer", "alice", "k\x00post") != oldDeriveID(ns, "phone-transfer", "alice", "k", "post") {
		t.Fatal("the old derivation did not collide: the attack below proves nothing")
	}
	e := newEnv(t, nil)
	alice := e.user("alice", "13900139000", "Alice", 100_00)
	e.user("bob", "13800138000", "Bob", 0)
	for name, key := range map[string]string{
		"NUL":            "k\x00post",
		"only NUL":       "\x00",
		"newline":        "k\npost",
		"DEL":            "k\x7f",
		"C1 control":     "k\u0085",
		"invalid UTF-8":  "k\xff",
		"too long":       strings.Repeat("k", ledger.MaxKeyLen+1),
		"empty":          "",
		"huge":           strings.Repeat("k", 1<<20),
		"lone surrogate": "k\xed\xa0\x80",
	} {
		before := e.lim.Tokens(uid("alice"))
		_, err := e.svc.Send(e.ctx, transfer.Request{Key: key, Payer: uid("alice"), From: alice, Phone: "13800138000", Amount: ledger.NewMoney(1_00, cny), Arrival: transfer.Arrive2h})
		wantErr(t, err, transfer.ErrInvalidRequest)
		wantErr(t, err, ledger.ErrInvalidKey)
		if code, _ := errcode.Of(err); code != "invalid_idempotency_key" {
			t.Errorf("%s: code %s, want the key's", name, code)
		}
		if after := e.lim.Tokens(uid("alice")); after != before {
			t.Errorf("%s: the refused request cost lookup tokens (%d → %d)", name, before, after)
		}
	}
	// Storable keys of every script are fine, and the longest.
	for _, key := range []string{"k", "订单-2026-02-16-0001", strings.Repeat("é", ledger.MaxKeyLen/2), "k post"} {
		if _, err := e.svc.Send(e.ctx, transfer.Request{Key: key, Payer: uid("alice"), From: alice, Phone: "13800138000", Amount: ledger.NewMoney(1, cny)}); err != nil {
			t.Errorf("key %q: %v", key, err)
		}
	}
}

// Every other text that enters is bounded and checked before any costly
// work: a chat recipient's name (once masked whatever its size: 1 MB cost
// a MaskName over a million characters and a record holding its mask),
// missing payer and holder IDs, a registered name, a verify answer.
func TestTextBounds(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.user("alice", "13900139000", "Alice", 100_00)
	bob := e.user("bob", "13800138000", "Bob", 0)
	huge := strings.Repeat("名", 1<<20)
	chat := transfer.Request{Key: "c", Payer: uid("alice"), From: alice, To: transfer.Recipient{Holder: uid("bob"), Account: bob}, Amount: ledger.NewMoney(1, cny), Arrival: transfer.ArriveOnAccept}
	for name, edit := range map[string]func(*transfer.Request){
		"huge To.Name": func(r *transfer.Request) { r.To.Name = huge },
		"To.Name NUL":  func(r *transfer.Request) { r.To.Name = "Bob\x00" },
		"no To.Holder": func(r *transfer.Request) { r.To.Holder = uuid.Nil },
		"no payer":     func(r *transfer.Request) { r.Payer = uuid.Nil },
		"huge memo":    func(r *transfer.Request) { r.Memo = huge },
	} {
		r := chat
		edit(&r)
		_, err := e.svc.Send(e.ctx, r)
		if !errors.Is(err, transfer.ErrInvalidRequest) {
			t.Errorf("%s: %v, want ErrInvalidRequest", name, err)
		}
	}
	if _, err := e.svc.Resolve(e.ctx, uuid.Nil, "13800138000"); !errors.Is(err, transfer.ErrEmptyPayer) {
		t.Errorf("resolve without a payer: %v", err)
	}
	for name, req := range map[string]transfer.BindRequest{
		"no holder": {Phone: "13700137000", Holder: uuid.Nil, Account: bob, Name: "Carol", VerifiedAt: e.clock.Now()},
		"name NUL":  {Phone: "13700137000", Holder: uid("carol"), Account: bob, Name: "Car\x00ol", VerifiedAt: e.clock.Now()},
		"huge name": {Phone: "13700137000", Holder: uid("carol"), Account: bob, Name: huge, VerifiedAt: e.clock.Now()},
	} {
		if _, err := e.svc.Bind(e.ctx, req); !errors.Is(err, transfer.ErrInvalidBinding) {
			t.Errorf("bind, %s: %v", name, err)
		}
	}
	if _, err := e.svc.VerifyPayee(e.ctx, uid("alice"), "13800138000", transfer.FullName, huge); !errors.Is(err, transfer.ErrNameTooLong) {
		t.Errorf("verify with a huge answer: %v", err)
	}
	// In bounds, all is well.
	chat.To.Name = "Bob"
	if r, err := e.svc.Send(e.ctx, chat); err != nil || r.PayeeName != "B**" {
		t.Fatalf("chat: %v %+v", err, r)
	}
}
