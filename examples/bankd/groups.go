package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/socialpay/socialpay/postgres"
	"github.com/socialpay/socialpay/redpacket"
)

// Group is a chat group: who may grab its red packets.
type Group struct {
	ID        uuid.UUID
	Name      string
	Owner     uuid.UUID
	Members   []uuid.UUID // sorted
	CreatedAt time.Time
}

var (
	// ErrGroupNotFound: no group has the ID (or the caller is not in it).
	ErrGroupNotFound = errors.New("bankd: group not found")
	// ErrGroupConflict: a group was created under the key before with
	// another name or other members.
	ErrGroupConflict = errors.New("bankd: idempotency key reused for another group")
)

// MaxGroupMembers bounds a group, and MaxGroupName its name in bytes.
const (
	MaxGroupMembers = 500
	MaxGroupName    = 128
)

// Groups keeps chat groups; it is the red packets' Members. A bank answers
// membership from its own chat service instead.
type Groups interface {
	redpacket.Members
	// Create creates g unless a group with its ID exists: then it returns
	// that group, or ErrGroupConflict if it was created with another
	// name, owner or members.
	Create(ctx context.Context, g Group) (Group, error)
	// Group returns a group. Errors: ErrGroupNotFound.
	Group(ctx context.Context, id uuid.UUID) (Group, error)
	// AddMember adds user to the group (no-op if a member).
	// Errors: ErrGroupNotFound.
	AddMember(ctx context.Context, id, user uuid.UUID) error
}

// fingerprint is what a group's creation meant: its name, owner and
// first members.
func fingerprint(g Group) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%d:%s|%s|", len(g.Name), g.Name, g.Owner)
	for _, m := range g.Members {
		h.Write(m[:])
	}
	return h.Sum(nil)
}

type memoryGroups struct {
	mu     sync.RWMutex
	groups map[uuid.UUID]*memGroup
}

type memGroup struct {
	Group
	fp      []byte
	members map[uuid.UUID]bool
}

func newMemoryGroups() *memoryGroups { return &memoryGroups{groups: map[uuid.UUID]*memGroup{}} }

func (m *memoryGroups) Create(_ context.Context, g Group) (Group, error) {
	fp := fingerprint(g)
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.groups[g.ID]; ok {
		if !bytes.Equal(old.fp, fp) {
			return Group{}, ErrGroupConflict
		}
		return old.snapshot(), nil
	}
	mg := &memGroup{Group: g, fp: fp, members: map[uuid.UUID]bool{}}
	for _, u := range g.Members {
		mg.members[u] = true
	}
	m.groups[g.ID] = mg
	return mg.snapshot(), nil
}

func (g *memGroup) snapshot() Group {
	out := g.Group
	out.Members = make([]uuid.UUID, 0, len(g.members))
	for u := range g.members {
		out.Members = append(out.Members, u)
	}
	slices.SortFunc(out.Members, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	return out
}

func (m *memoryGroups) Group(_ context.Context, id uuid.UUID) (Group, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	g, ok := m.groups[id]
	if !ok {
		return Group{}, ErrGroupNotFound
	}
	return g.snapshot(), nil
}

func (m *memoryGroups) AddMember(_ context.Context, id, user uuid.UUID) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.groups[id]
	if !ok {
		return ErrGroupNotFound
	}
	g.members[user] = true
	return nil
}

func (m *memoryGroups) IsMember(_ context.Context, group, user uuid.UUID) (bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	g, ok := m.groups[group]
	return ok && g.members[user], nil
}

func (m *memoryGroups) GroupSize(_ context.Context, group uuid.UUID) (int, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if g, ok := m.groups[group]; ok {
		return len(g.members), nil
	}
	return 0, nil
}

// pgGroups keeps groups in bankd's tables (migrations/), on the stores'
// pool, so every instance sees one membership.
type pgGroups struct {
	db              *postgres.DB
	groups, members string // qualified table names
}

func newPGGroups(db *postgres.DB) *pgGroups {
	return &pgGroups{db: db,
		groups:  pgx.Identifier{db.Schema(), "bankd_groups"}.Sanitize(),
		members: pgx.Identifier{db.Schema(), "bankd_group_members"}.Sanitize()}
}

func (p *pgGroups) Create(ctx context.Context, g Group) (Group, error) {
	fp := fingerprint(g)
	err := pgx.BeginFunc(ctx, p.db.Pool(), func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "insert into "+p.groups+" (id, name, owner, fingerprint, created_at) values ($1, $2, $3, $4, $5) on conflict (id) do nothing",
			g.ID, g.Name, g.Owner, fp, g.CreatedAt)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var old []byte
			if err := tx.QueryRow(ctx, "select fingerprint from "+p.groups+" where id = $1", g.ID).Scan(&old); err != nil {
				return err
			}
			if !bytes.Equal(old, fp) {
				return ErrGroupConflict
			}
			return nil
		}
		_, err = tx.Exec(ctx, "insert into "+p.members+" (group_id, user_id) select $1, unnest($2::uuid[]) on conflict do nothing", g.ID, g.Members)
		return err
	})
	if err != nil {
		return Group{}, err
	}
	return p.Group(ctx, g.ID)
}

func (p *pgGroups) Group(ctx context.Context, id uuid.UUID) (Group, error) {
	g := Group{ID: id}
	err := p.db.Pool().QueryRow(ctx, "select name, owner, created_at, array(select user_id from "+p.members+
		" where group_id = $1 order by user_id) from "+p.groups+" where id = $1", id).Scan(&g.Name, &g.Owner, &g.CreatedAt, &g.Members)
	if errors.Is(err, pgx.ErrNoRows) {
		return Group{}, ErrGroupNotFound
	}
	g.CreatedAt = g.CreatedAt.UTC()
	return g, err
}

func (p *pgGroups) AddMember(ctx context.Context, id, user uuid.UUID) error {
	tag, err := p.db.Pool().Exec(ctx, "insert into "+p.members+" (group_id, user_id) select id, $2 from "+p.groups+
		" where id = $1 on conflict do nothing", id, user)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		if _, err := p.Group(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

func (p *pgGroups) IsMember(ctx context.Context, group, user uuid.UUID) (bool, error) {
	var ok bool
	err := p.db.Pool().QueryRow(ctx, "select exists(select 1 from "+p.members+" where group_id = $1 and user_id = $2)", group, user).Scan(&ok)
	return ok, err
}

func (p *pgGroups) GroupSize(ctx context.Context, group uuid.UUID) (int, error) {
	var n int
	err := p.db.Pool().QueryRow(ctx, "select count(*) from "+p.members+" where group_id = $1", group).Scan(&n)
	return n, err
}

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err) // the embedded directory exists
	}
	return sub
}
