package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/postgres"
	"github.com/socialpay/socialpay/redpacket"
)

// Group is a chat group: who may grab its red packets. Its membership is
// the library's (postgres.Members on PostgreSQL, redpacket.MemoryMembers
// in memory); bankd keeps the group's name, owner and creating request.
type Group struct {
	ID        uuid.UUID
	Name      string
	Owner     uuid.UUID
	Members   []uuid.UUID // the first members, at creation (the owner among them)
	Size      int         // members now
	CreatedAt time.Time
}

var (
	// errGroupNotFound: no group has the ID (or the caller is not in it).
	errGroupNotFound = errcode.New("group_not_found", errcode.NotFound, "bankd: group not found")
	// errGroupConflict: a group was created under the key before with
	// another name or other members.
	errGroupConflict = errcode.New("idempotency_conflict", errcode.Conflict, "bankd: idempotency key reused for another group")
)

// MaxGroupMembers bounds a group, and MaxGroupName its name in bytes.
const (
	MaxGroupMembers = 500
	MaxGroupName    = 128
)

// Members is the library's group membership that bankd writes to: a bank
// keeps it in step with its chat service.
type Members interface {
	redpacket.Members
	Add(ctx context.Context, group uuid.UUID, users ...uuid.UUID) error
}

// memoryMembers adapts redpacket.MemoryMembers.
type memoryMembers struct{ redpacket.MemoryMembers }

func (m *memoryMembers) Add(_ context.Context, group uuid.UUID, users ...uuid.UUID) error {
	m.MemoryMembers.Add(group, users...)
	return nil
}

// knownMembers remembers the members it has seen. In bankd a group only
// gains members (there is no way to leave one), so a member seen is a
// member for good, on every instance: the cache holds a fact that never
// changes, and a claim on a busy packet asks the database once per
// claimer, not once per claim. A bank whose chat service removes members
// drops this cache (or keys it by a membership version it bumps on each
// removal). Non-members are always asked: they may have joined since.
type knownMembers struct {
	Members
	mu   sync.Mutex
	seen map[[32]byte]struct{}
}

// maxKnownMembers bounds the cache; it starts over when full.
const maxKnownMembers = 1 << 18

func (k *knownMembers) IsMember(ctx context.Context, group, user uuid.UUID) (bool, error) {
	var key [32]byte
	copy(key[:16], group[:])
	copy(key[16:], user[:])
	k.mu.Lock()
	_, ok := k.seen[key]
	k.mu.Unlock()
	if ok {
		return true, nil
	}
	ok, err := k.Members.IsMember(ctx, group, user)
	if ok && err == nil {
		k.mu.Lock()
		if len(k.seen) >= maxKnownMembers {
			clear(k.seen)
		}
		k.seen[key] = struct{}{}
		k.mu.Unlock()
	}
	return ok, err
}

// groupRecords keeps what bankd knows of a group besides its members.
type groupRecords interface {
	// create records g unless a group with its ID exists: then it returns
	// that group, or errGroupConflict if its fingerprint differs.
	create(ctx context.Context, g Group, fp []byte) (Group, error)
	// get returns a group. Errors: errGroupNotFound.
	get(ctx context.Context, id uuid.UUID) (Group, error)
}

// Groups keeps chat groups: records and membership.
type Groups struct {
	records groupRecords
	Members
}

// fingerprint is what a group's creation meant: its name, owner and
// first members (sorted).
func fingerprint(g Group) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%d:%s|%s|", len(g.Name), g.Name, g.Owner)
	for _, m := range g.Members {
		h.Write(m[:])
	}
	return h.Sum(nil)
}

// Create creates g with its first members, or returns the group a retry
// of the same request created. The members are added after the record,
// so a crash between the two is finished by the retry.
func (gs *Groups) Create(ctx context.Context, g Group) (Group, error) {
	stored, err := gs.records.create(ctx, g, fingerprint(g))
	if err != nil {
		return Group{}, err
	}
	if err := gs.Add(ctx, g.ID, g.Members...); err != nil {
		return Group{}, err
	}
	return gs.Group(ctx, stored.ID)
}

// Group returns a group with its size.
func (gs *Groups) Group(ctx context.Context, id uuid.UUID) (Group, error) {
	g, err := gs.records.get(ctx, id)
	if err != nil {
		return Group{}, err
	}
	g.Size, err = gs.GroupSize(ctx, id)
	return g, err
}

type memoryRecords struct {
	mu     sync.Mutex
	groups map[uuid.UUID]memRecord
}

type memRecord struct {
	g  Group
	fp []byte
}

func (m *memoryRecords) create(_ context.Context, g Group, fp []byte) (Group, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.groups[g.ID]; ok {
		if !bytes.Equal(old.fp, fp) {
			return Group{}, errGroupConflict
		}
		return old.g, nil
	}
	m.groups[g.ID] = memRecord{g, fp}
	return g, nil
}

func (m *memoryRecords) get(_ context.Context, id uuid.UUID) (Group, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.groups[id]
	if !ok {
		return Group{}, errGroupNotFound
	}
	return r.g, nil
}

func newMemoryGroups() *Groups {
	return &Groups{records: &memoryRecords{groups: map[uuid.UUID]memRecord{}}, Members: &memoryMembers{}}
}

// pgRecords keeps group records in bankd's table (migrations/), on the
// stores' pool.
type pgRecords struct {
	db    *postgres.DB
	table string
}

func newPGGroups(db *postgres.DB) *Groups {
	return &Groups{records: &pgRecords{db: db, table: pgx.Identifier{db.Schema(), "bankd_groups"}.Sanitize()},
		Members: &knownMembers{Members: postgres.NewMembers(db), seen: map[[32]byte]struct{}{}}}
}

func (p *pgRecords) create(ctx context.Context, g Group, fp []byte) (Group, error) {
	tag, err := p.db.Pool().Exec(ctx, "insert into "+p.table+" (id, name, owner, members, fingerprint, created_at) values ($1, $2, $3, $4, $5, $6) on conflict (id) do nothing",
		g.ID, g.Name, g.Owner, g.Members, fp, g.CreatedAt)
	if err != nil {
		return Group{}, err
	}
	if tag.RowsAffected() == 1 {
		return g, nil
	}
	var old []byte
	if err := p.db.Pool().QueryRow(ctx, "select fingerprint from "+p.table+" where id = $1", g.ID).Scan(&old); err != nil {
		return Group{}, err
	}
	if !bytes.Equal(old, fp) {
		return Group{}, errGroupConflict
	}
	return p.get(ctx, g.ID)
}

func (p *pgRecords) get(ctx context.Context, id uuid.UUID) (Group, error) {
	g := Group{ID: id}
	err := p.db.Pool().QueryRow(ctx, "select name, owner, members, created_at from "+p.table+" where id = $1", id).
		Scan(&g.Name, &g.Owner, &g.Members, &g.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Group{}, errGroupNotFound
	}
	g.CreatedAt = g.CreatedAt.UTC()
	return g, err
}

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err) // the embedded directory exists
	}
	return sub
}
