package postgres

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/redpacket/redpackettest"
)

// Membership is one table every instance shares: the suite writes through
// one pool and reads every answer through another, as a member added via
// one instance claims via the next.
func TestMembers(t *testing.T) {
	redpackettest.RunMembers(t,
		func(t testing.TB) redpackettest.Membership { return NewMembers(freshDB(t)) },
		func(t testing.TB, m redpackettest.Membership) redpackettest.Membership {
			return NewMembers(instance(t, m.(*Members).db))
		})
}

func TestMembersRefusesNilIDs(t *testing.T) {
	m := NewMembers(freshDB(t))
	ctx := context.Background()
	g, u := uuid.New(), uuid.New()
	for _, c := range []struct {
		group uuid.UUID
		users []uuid.UUID
	}{{uuid.Nil, []uuid.UUID{u}}, {g, []uuid.UUID{u, uuid.Nil}}} {
		if err := m.Add(ctx, c.group, c.users...); !errors.Is(err, ErrInvalidMember) {
			t.Fatalf("Add(%s, %v) = %v, want ErrInvalidMember", c.group, c.users, err)
		}
	}
	if n, err := m.GroupSize(ctx, g); err != nil || n != 0 {
		t.Fatalf("a refused Add left %d members (%v)", n, err)
	}
}
