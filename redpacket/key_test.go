package redpacket_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// A send names its packet by the sender's idempotency key: the packet's ID
// is PacketID(sender, key), so a caller finds it without the answer; two
// senders' equal keys are two packets; a key ledger.CheckKey refuses, or a
// send without a sender, is refused before the store is read.
func TestSendKey(t *testing.T) {
	store := &countingStore{Store: redpacket.NewMemoryStore(nil)}
	w := newWorld(t, withStores(nil, store))
	alice, bob := w.newUser(10000), w.newUser(10000)
	w.users(2, 0)

	a := w.lucky(alice, 100, 2)
	a.Key = "new-year-1"
	b := w.lucky(bob, 100, 2)
	b.Key = a.Key
	pa, pb := w.send(a), w.send(b)
	if pa.ID != w.svc.PacketID(alice.id, "new-year-1") || pb.ID != w.svc.PacketID(bob.id, "new-year-1") || pa.ID == pb.ID {
		t.Fatalf("packets %s and %s: want PacketID of each sender and key, distinct", pa.ID, pb.ID)
	}
	if w.svc.PacketID(alice.id, "k") == w.svc.PacketID(alice.id, "k2") {
		t.Fatal("PacketID ignores the key")
	}
	if got, want := w.balance(alice.wallet)+w.balance(bob.wallet), int64(2*(10000-100)); got != want {
		t.Fatalf("senders have %d, want %d: one packet each", got, want)
	}

	reads := store.reads.Load()
	if reads == 0 {
		t.Fatal("the sends read no store: the counting store is not the service's")
	}
	for name, edit := range map[string]func(*redpacket.SendRequest){
		"empty key":    func(r *redpacket.SendRequest) { r.Key = "" },
		"long key":     func(r *redpacket.SendRequest) { r.Key = strings.Repeat("k", ledger.MaxKeyLen+1) },
		"key with NUL": func(r *redpacket.SendRequest) { r.Key = "k\x00" },
		"key with LF":  func(r *redpacket.SendRequest) { r.Key = "k\n" },
		"not UTF-8":    func(r *redpacket.SendRequest) { r.Key = "k\xff" },
	} {
		r := w.lucky(alice, 100, 2)
		edit(&r)
		_, err := w.svc.Send(w.ctx, r)
		if !errors.Is(err, redpacket.ErrInvalidRequest) || !errors.Is(err, ledger.ErrInvalidKey) {
			t.Errorf("%s: Send = %v, want ErrInvalidRequest and ledger.ErrInvalidKey", name, err)
		}
		if code, _ := errcode.Of(err); code != "invalid_idempotency_key" {
			t.Errorf("%s: code %s, want the key's", name, code)
		}
	}
	r := w.lucky(alice, 100, 2)
	r.Sender = uuid.Nil
	if _, err := w.svc.Send(w.ctx, r); !errors.Is(err, redpacket.ErrInvalidRequest) {
		t.Errorf("no sender: Send = %v, want ErrInvalidRequest", err)
	}
	if n := store.reads.Load() - reads; n != 0 {
		t.Fatalf("refused sends read the store %d times, want none", n)
	}
	if got := w.balance(alice.wallet); got != 10000-100 {
		t.Fatalf("refused sends moved money: alice has %d", got)
	}
	w.verify()
}
