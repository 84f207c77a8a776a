package redpacket_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// texts returns every string and byte slice inside v, however deep.
func texts(v reflect.Value, out *[]string) {
	switch v.Kind() {
	case reflect.String:
		*out = append(*out, v.String())
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			*out = append(*out, string(v.Bytes()))
			return
		}
		for i := range v.Len() {
			texts(v.Index(i), out)
		}
	case reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(b), v)
			*out = append(*out, string(b))
			return
		}
		for i := range v.Len() {
			texts(v.Index(i), out)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			texts(v.Field(i), out)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			texts(v.Elem(), out)
		}
	}
}

// TestPasswordNotStoredInClear is the attack of whoever reads the store (a
// database dump, a backup, a debugger on a MemoryStore): read a password
// packet's record and find its phrase. The record holds a keyed hash only,
// which differs between packets with one phrase and which a reader
// without the key cannot test a guess against.
func TestPasswordNotStoredInClear(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		w := newWorld(t, inMode(m))
		sender := w.newUser(100000)
		ms := w.users(3, 0)
		const phrase = "芝麻开门"
		req := w.lucky(sender, 1000, 2)
		req.Kind, req.Password = redpacket.Password, " 芝麻　开门 " // normalized: "芝麻 开门"
		p := w.send(req)
		req2 := req
		req2.Key = uuid.NewString()
		p2 := w.send(req2)

		var found []string
		texts(reflect.ValueOf(p), &found)
		for _, s := range found {
			for _, secret := range []string{"芝麻", "开门", "芝麻 开门", phrase} {
				if strings.Contains(s, secret) {
					t.Fatalf("the store's record holds the phrase: %q", s)
				}
			}
		}
		if len(p.PasswordHash) != redpacket.PasswordHashLen || bytes.Equal(p.PasswordHash, p2.PasswordHash) {
			t.Fatalf("hashes %x and %x: want %d bytes each, different for two packets", p.PasswordHash, p2.PasswordHash, redpacket.PasswordHashLen)
		}
		// A reader with the record but not the key cannot test guesses.
		guesser, err := redpacket.NewPasswordKey(bytes.Repeat([]byte("k"), 32))
		if err != nil {
			t.Fatal(err)
		}
		if guesser.Matches(p.ID, p.PasswordHash, "芝麻 开门") {
			t.Fatal("another key confirms the right guess")
		}
		// A Service with another key (an instance misconfigured) refuses
		// the right phrase rather than accepting any.
		other := w.cfg
		other.PasswordKey = guesser
		svc, err := redpacket.New(other)
		if err != nil {
			t.Fatal(err)
		}
		_, err = svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: p.ID, User: ms[0].id, Account: ms[0].wallet, Password: "芝麻 开门"})
		wantIs(t, "claim through a service with another key", err, redpacket.ErrWrongPassword)
		// The service's own key: typed differently, still the phrase.
		if _, err := w.svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: p.ID, User: ms[0].id, Account: ms[0].wallet, Password: "芝麻 开门"}); err != nil {
			t.Fatalf("claim with the phrase: %v", err)
		}
		_, err = w.svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: p.ID, User: ms[1].id, Account: ms[1].wallet, Password: "芝麻开门"})
		wantIs(t, "wrong phrase", err, redpacket.ErrWrongPassword)
	})
}

// TestNewRefusesNoPasswordKey: several instances of a service that each
// made up a key would refuse each other's password packets, so New needs a
// key unless SingleProcess says there is one instance; keys are at least
// 32 bytes.
func TestNewRefusesNoPasswordKey(t *testing.T) {
	l := ledger.New(nil, ledger.Options{})
	m := &redpacket.MemoryMembers{}
	_, err := redpacket.New(redpacket.Config{Ledger: l, Members: m, Store: redpacket.NewMemoryStore(nil)})
	if !errors.Is(err, redpacket.ErrInvalidConfig) || !strings.Contains(err.Error(), "PasswordKey") || !strings.Contains(err.Error(), "SingleProcess") {
		t.Fatalf("New without a password key: %v; want ErrInvalidConfig naming PasswordKey and SingleProcess", err)
	}
	if _, err := redpacket.New(redpacket.Config{Ledger: l, Members: m, SingleProcess: true}); err != nil {
		t.Fatalf("New with SingleProcess: %v", err)
	}
	for _, n := range []int{0, 16, 31} {
		if _, err := redpacket.NewPasswordKey(make([]byte, n)); !errors.Is(err, redpacket.ErrInvalidConfig) {
			t.Errorf("NewPasswordKey of %d bytes: %v, want ErrInvalidConfig", n, err)
		}
	}
	if _, err := redpacket.NewPasswordKey(make([]byte, 32), make([]byte, 8)); !errors.Is(err, redpacket.ErrInvalidConfig) {
		t.Errorf("NewPasswordKey with a short previous key: %v, want ErrInvalidConfig", err)
	}
}

// TestPasswordKeyRotation: a key rotated in still matches the phrases
// hashed under the previous one, and hashes under the new one.
func TestPasswordKeyRotation(t *testing.T) {
	oldKey, newSecret := bytes.Repeat([]byte("o"), 32), bytes.Repeat([]byte("n"), 32)
	before, _ := redpacket.NewPasswordKey(oldKey)
	after, err := redpacket.NewPasswordKey(newSecret, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	h, _ := before.Hash(id, "口令")
	if !after.Matches(id, h, "口令") || after.Matches(id, h, "口") || after.Matches(uuid.New(), h, "口令") {
		t.Fatal("a rotated key must match the old hash of the phrase, and nothing else")
	}
	h2, _ := after.Hash(id, "口令")
	if bytes.Equal(h, h2) || before.Matches(id, h2, "口令") {
		t.Fatal("a rotated key must hash under the new secret")
	}
}

// countingStore counts the reads of a store.
type countingStore struct {
	redpacket.Store
	reads atomic.Int64
}

func (s *countingStore) Packet(ctx context.Context, id uuid.UUID) (redpacket.Packet, error) {
	s.reads.Add(1)
	return s.Store.Packet(ctx, id)
}

// countingMembers counts the questions to the bank's group service.
type countingMembers struct {
	redpacket.MemoryMembers
	asked atomic.Int64
}

func (m *countingMembers) IsMember(ctx context.Context, group, user uuid.UUID) (bool, error) {
	m.asked.Add(1)
	return m.MemoryMembers.IsMember(ctx, group, user)
}

func (m *countingMembers) GroupSize(ctx context.Context, group uuid.UUID) (int, error) {
	m.asked.Add(1)
	return m.MemoryMembers.GroupSize(ctx, group)
}

// TestOverlongPasswordRefusedFirst is the attack of a client that sends
// megabytes as a phrase, to a send or a claim: every such request cost a
// store read (a database round trip) and a membership check before the
// phrase was looked at. Now it is refused (ErrBadPassword) before either.
func TestOverlongPasswordRefusedFirst(t *testing.T) {
	store := &countingStore{Store: redpacket.NewMemoryStore(nil)}
	members := &countingMembers{}
	w := newWorld(t, withStores(nil, store))
	w.cfg.Members = members
	svc, err := redpacket.New(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	sender := w.newUser(10000)
	members.Add(w.group, sender.id)
	huge := strings.Repeat("口", 1<<20)
	req := w.lucky(sender, 100, 1)
	req.Kind, req.Password = redpacket.Password, huge
	_, err = svc.Send(w.ctx, req)
	wantIs(t, "send with a 3 MB phrase", err, redpacket.ErrBadPassword)
	_, err = svc.Claim(w.ctx, redpacket.ClaimRequest{Packet: uuid.New(), User: sender.id, Account: sender.wallet, Password: huge})
	wantIs(t, "claim with a 3 MB phrase", err, redpacket.ErrBadPassword)
	if r, a := store.reads.Load(), members.asked.Load(); r != 0 || a != 0 {
		t.Fatalf("over-long phrases cost %d store reads and %d membership questions, want none", r, a)
	}
	// At the bound, a phrase is looked at (and this one normalizes too long).
	req.Key, req.Password = uuid.NewString(), strings.Repeat("a", redpacket.MaxPasswordInputBytes)
	_, err = svc.Send(w.ctx, req)
	wantIs(t, "send with a phrase at the input bound", err, redpacket.ErrBadPassword)
	if store.reads.Load() != 1 {
		t.Fatalf("store reads %d, want the send at the bound to read once", store.reads.Load())
	}
}

// A bank runs several instances on one ledger. Had each made up its own
// MemoryStore, a packet sent through one would be unknown to the others:
// claims refused, and a retried send recorded again where the first was
// not seen. New refuses to make one up unless told it is the only
// instance.
func TestNewRefusesPerInstanceStore(t *testing.T) {
	l := ledger.New(nil, ledger.Options{})
	m := &redpacket.MemoryMembers{}
	_, err := redpacket.New(redpacket.Config{Ledger: l, Members: m, PasswordKey: testPasswordKey})
	if !errors.Is(err, redpacket.ErrInvalidConfig) || !strings.Contains(err.Error(), "Store") || !strings.Contains(err.Error(), "SingleProcess") {
		t.Fatalf("nil Store: %v; want ErrInvalidConfig naming Store and SingleProcess", err)
	}
	if _, err := redpacket.New(redpacket.Config{Ledger: l, Members: m, Store: redpacket.NewMemoryStore(l), PasswordKey: testPasswordKey}); err != nil {
		t.Fatalf("with a store: %v", err)
	}
	svc, err := redpacket.New(redpacket.Config{Ledger: l, Members: m, SingleProcess: true})
	if err != nil {
		t.Fatalf("single process: %v", err)
	}
	if _, err := svc.Store().Packet(context.Background(), uuid.New()); !errors.Is(err, redpacket.ErrPacketNotFound) {
		t.Fatalf("the single process's store: %v", err)
	}
}
