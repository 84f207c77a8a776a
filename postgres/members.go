package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/socialpay/socialpay/collect"
	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/redpacket"
)

// Members is group membership in PostgreSQL, one table that every
// instance of a service reads, so a member added through one instance can
// claim through another at once. It answers redpacket.Members and
// collect.Members; the bank's chat service (or a sync from it) keeps it
// current with Add and Remove.
type Members struct {
	db                          *DB
	add, remove, member, counts string
}

// ErrInvalidMember is a nil group or user ID given to Members.Add.
var ErrInvalidMember = errcode.New("invalid_member", errcode.Invalid, "postgres: invalid group member")

var (
	_ redpacket.Members = (*Members)(nil)
	_ collect.Members   = (*Members)(nil)
)

// NewMembers returns the membership kept in db's schema.
func NewMembers(db *DB) *Members {
	return &Members{
		db: db,
		add: db.qualify(`insert into $S.group_members (group_id, user_id)
			select $1::uuid, u from unnest($2::uuid[]) as u order by u on conflict do nothing`),
		remove: db.qualify(`delete from $S.group_members where group_id = $1::uuid and user_id = $2::uuid`),
		member: db.qualify(`select exists (select 1 from $S.group_members where group_id = $1::uuid and user_id = $2::uuid)`),
		counts: db.qualify(`select count(*) from $S.group_members where group_id = $1::uuid`),
	}
}

// Add puts users into group; users already in it stay as they are.
//
// Errors: ErrInvalidMember (a nil group or user ID).
func (m *Members) Add(ctx context.Context, group uuid.UUID, users ...uuid.UUID) error {
	if group == uuid.Nil || slices.Contains(users, uuid.Nil) {
		return fmt.Errorf("postgres: adding to group %s: a nil ID: %w", group, ErrInvalidMember)
	}
	if len(users) == 0 {
		return nil
	}
	_, err := m.db.exec(ctx, "adding group members", m.add, group, users)
	return err
}

// Remove takes user out of group; a user who is not in it is no error.
func (m *Members) Remove(ctx context.Context, group, user uuid.UUID) error {
	_, err := m.db.exec(ctx, "removing a group member", m.remove, group, user)
	return err
}

// IsMember implements redpacket.Members and collect.Members.
func (m *Members) IsMember(ctx context.Context, group, user uuid.UUID) (bool, error) {
	ok, _, err := queryOne(ctx, m.db, "reading group membership", m.member, pgx.RowTo[bool], group, user)
	return ok, err
}

// GroupSize implements redpacket.Members; an unknown group has no members.
func (m *Members) GroupSize(ctx context.Context, group uuid.UUID) (int, error) {
	n, _, err := queryOne(ctx, m.db, "counting group members", m.counts, pgx.RowTo[int64], group)
	return int(n), err
}
