package redpacket

import (
	"context"
	"sync"

	"github.com/google/uuid"
)

// MemoryMembers is a Members kept in memory, for tests, simulations and
// examples: a bank answers membership from its own chat service. It is safe
// for concurrent use; the zero value is an empty set of groups.
type MemoryMembers struct {
	mu     sync.RWMutex
	groups map[uuid.UUID]map[uuid.UUID]struct{}
}

var _ Members = (*MemoryMembers)(nil)

// Add puts users into group.
func (m *MemoryMembers) Add(group uuid.UUID, users ...uuid.UUID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.groups == nil {
		m.groups = make(map[uuid.UUID]map[uuid.UUID]struct{})
	}
	g := m.groups[group]
	if g == nil {
		g = make(map[uuid.UUID]struct{}, len(users))
		m.groups[group] = g
	}
	for _, u := range users {
		g[u] = struct{}{}
	}
}

// Remove takes user out of group.
func (m *MemoryMembers) Remove(group, user uuid.UUID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.groups[group], user)
}

// IsMember implements Members.
func (m *MemoryMembers) IsMember(_ context.Context, group, user uuid.UUID) (bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.groups[group][user]
	return ok, nil
}

// GroupSize implements Members; an unknown group has no members.
func (m *MemoryMembers) GroupSize(_ context.Context, group uuid.UUID) (int, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.groups[group]), nil
}
