package main

import (
	"context"
	"testing"

	"github.com/google/uuid"
)

// countingMembers counts the membership questions that reach it.
type countingMembers struct {
	memoryMembers
	asked int
}

func (c *countingMembers) IsMember(ctx context.Context, group, user uuid.UUID) (bool, error) {
	c.asked++
	return c.memoryMembers.IsMember(ctx, group, user)
}

// A member seen is not asked about again; a non-member is, every time, and
// is one once added.
func TestKnownMembers(t *testing.T) {
	ctx := t.Context()
	inner := &countingMembers{}
	k := &knownMembers{Members: inner, seen: map[[32]byte]struct{}{}}
	group, alice, bob := uuid.New(), uuid.New(), uuid.New()
	k.Add(ctx, group, alice)
	for range 3 {
		if ok, err := k.IsMember(ctx, group, alice); !ok || err != nil {
			t.Fatalf("alice: %v, %v", ok, err)
		}
		if ok, err := k.IsMember(ctx, group, bob); ok || err != nil {
			t.Fatalf("bob before joining: %v, %v", ok, err)
		}
	}
	if inner.asked != 1+3 {
		t.Fatalf("asked %d times, want once for alice and three times for bob", inner.asked)
	}
	k.Add(ctx, group, bob)
	if ok, err := k.IsMember(ctx, group, bob); !ok || err != nil {
		t.Fatalf("bob after joining: %v, %v", ok, err)
	}
	if ok, _ := k.IsMember(ctx, uuid.New(), alice); ok {
		t.Fatal("alice is a member of another group")
	}
}
