package redpackettest

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/redpacket"
)

// Membership is a redpacket.Members that can be edited, as a shared
// membership store is (the bank's chat service keeps it current).
type Membership interface {
	redpacket.Members
	Add(ctx context.Context, group uuid.UUID, users ...uuid.UUID) error
	Remove(ctx context.Context, group, user uuid.UUID) error
}

// RunMembers holds a Membership to what a red packet relies on: a user is
// a member exactly from Add to Remove, the group's size counts each member
// once however often (or however concurrently) they were added, and
// concurrent adds of distinct users all count. newMembers is called for
// every subtest; an instance may be shared (each subtest uses new groups).
// A store whose instances share state (one database) passes the same
// test with a second instance: open2, if not nil, returns another
// Membership on the same state, and every answer is read through it.
func RunMembers(t *testing.T, newMembers func(testing.TB) Membership, open2 func(testing.TB, Membership) Membership) {
	ctx := context.Background()
	pair := func(t *testing.T) (write, read Membership) {
		m := newMembers(t)
		if open2 == nil {
			return m, m
		}
		return m, open2(t, m)
	}
	size := func(t *testing.T, m Membership, g uuid.UUID, want int) {
		t.Helper()
		if n, err := m.GroupSize(ctx, g); err != nil || n != want {
			t.Fatalf("GroupSize = %d, %v; want %d", n, err, want)
		}
	}
	member := func(t *testing.T, m Membership, g, u uuid.UUID, want bool) {
		t.Helper()
		if ok, err := m.IsMember(ctx, g, u); err != nil || ok != want {
			t.Fatalf("IsMember(%s) = %v, %v; want %v", u, ok, err, want)
		}
	}
	t.Run("AddRemove", func(t *testing.T) {
		w, r := pair(t)
		g, other := uuid.New(), uuid.New()
		a, b, c := uuid.New(), uuid.New(), uuid.New()
		size(t, r, g, 0)
		member(t, r, g, a, false)
		if err := w.Add(ctx, g, a, b); err != nil {
			t.Fatal(err)
		}
		if err := w.Add(ctx, other, c); err != nil {
			t.Fatal(err)
		}
		member(t, r, g, a, true)
		member(t, r, g, b, true)
		member(t, r, g, c, false) // a member of another group
		member(t, r, other, a, false)
		size(t, r, g, 2)
		if err := w.Add(ctx, g, a, c); err != nil { // a again, c new
			t.Fatal(err)
		}
		size(t, r, g, 3)
		if err := w.Remove(ctx, g, a); err != nil {
			t.Fatal(err)
		}
		member(t, r, g, a, false)
		size(t, r, g, 2)
		if err := w.Remove(ctx, g, a); err != nil { // not a member any more: no error
			t.Fatalf("removing a non-member: %v", err)
		}
		size(t, r, g, 2)
		size(t, r, other, 1)
		if err := w.Add(ctx, g); err != nil {
			t.Fatalf("adding nobody: %v", err)
		}
		size(t, r, g, 2)
	})
	t.Run("ConcurrentSameUser", func(t *testing.T) {
		w, r := pair(t)
		for range ledgertest.RaceIterations(t, 20) {
			g, u := uuid.New(), uuid.New()
			_, errs := ledgertest.Concurrently(8, func(int) (struct{}, error) { return struct{}{}, w.Add(ctx, g, u) })
			for i, err := range errs {
				if err != nil {
					t.Fatalf("add %d: %v", i, err)
				}
			}
			size(t, r, g, 1)
			member(t, r, g, u, true)
		}
	})
	t.Run("ConcurrentDistinctUsers", func(t *testing.T) {
		w, r := pair(t)
		const k = 32
		g := uuid.New()
		users := make([]uuid.UUID, k)
		for i := range users {
			users[i] = uuid.New()
		}
		_, errs := ledgertest.Concurrently(k, func(i int) (struct{}, error) {
			// Each adds its own user and one shared with its neighbour.
			return struct{}{}, w.Add(ctx, g, users[i], users[(i+1)%k])
		})
		for i, err := range errs {
			if err != nil {
				t.Fatal(fmt.Errorf("add %d: %w", i, err))
			}
		}
		size(t, r, g, k)
		for _, u := range users {
			member(t, r, g, u, true)
		}
	})
}
