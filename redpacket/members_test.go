package redpacket_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/redpacket"
	"github.com/socialpay/socialpay/redpacket/redpackettest"
)

// editable gives MemoryMembers the context-taking, error-returning edits
// of a shared membership store.
type editable struct{ *redpacket.MemoryMembers }

func (m editable) Add(_ context.Context, g uuid.UUID, users ...uuid.UUID) error {
	m.MemoryMembers.Add(g, users...)
	return nil
}

func (m editable) Remove(_ context.Context, g, u uuid.UUID) error {
	m.MemoryMembers.Remove(g, u)
	return nil
}

func TestMemoryMembers(t *testing.T) {
	redpackettest.RunMembers(t, func(testing.TB) redpackettest.Membership {
		return editable{new(redpacket.MemoryMembers)}
	}, nil)
}
