package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/socialpay/socialpay/redpacket"
)

// legacyPage is how many legacy phrases HashLegacyPasswords hashes per
// statement.
const legacyPage = 500

type legacyRow struct {
	id     [16]byte
	phrase string
}

// HashLegacyPasswords replaces the clear phrases of password packets
// recorded before migration 0102 (moved to the legacy_password column,
// which nothing else reads) with their hashes under key, as
// redpacket.PasswordKey.Hash makes them for new packets, and clears the
// phrases. Run it once after migrating, with the key every Service of the
// bank uses; until it has run, those packets refuse every phrase. Running
// it again, or from two processes at once, hashes each phrase once. It
// needs rights to update redpackets only.
//
// The phrases it clears may live on in the database's dead rows until
// VACUUM, in its write-ahead log and in backups taken before: a packet
// takes claims for Rules.Expiry (24 h by default), after which its phrase
// opens nothing.
//
// It returns how many phrases it hashed.
//
// Errors: ErrIntegrity for a recorded phrase that cannot be a phrase
// (redpacket.ErrBadPassword: edited in the database), left as it is while
// the others are hashed; and the infrastructure errors of this package.
func (s *RedPacketStore) HashLegacyPasswords(ctx context.Context, key *redpacket.PasswordKey) (int, error) {
	sel := s.db.qualify(`select id, legacy_password from $S.redpackets
		where legacy_password is not null and kind = ` + sqlInts(redpacket.Password) + ` and id > $1 order by id limit $2`)
	upd := s.db.qualify(`update $S.redpackets r set password_hash = u.hash, legacy_password = null
		from unnest($1::uuid[], $2::bytea[], $3::text[]) as u(id, hash, phrase)
		where r.id = u.id and r.legacy_password = u.phrase`)
	scan := func(row pgx.CollectableRow) (legacyRow, error) {
		var r legacyRow
		return r, row.Scan(&r.id, &r.phrase)
	}
	n := 0
	var bad []error
	var after [16]byte
	for {
		rows, err := queryAll(ctx, s.db, "read legacy red packet passwords", sel, scan, after, legacyPage)
		if err != nil {
			return n, errors.Join(append(bad, err)...)
		}
		ids, hashes, phrases := make([][16]byte, 0, len(rows)), make([][]byte, 0, len(rows)), make([]string, 0, len(rows))
		for _, r := range rows {
			h, err := key.Hash(uuid.UUID(r.id), r.phrase)
			if err != nil {
				bad = append(bad, fmt.Errorf("%w: red packet %s: recorded password: %w", ErrIntegrity, uuid.UUID(r.id), err))
				continue
			}
			ids, hashes, phrases = append(ids, r.id), append(hashes, h), append(phrases, r.phrase)
		}
		if len(ids) > 0 {
			err = s.db.run(ctx, "hash legacy red packet passwords", func(ctx context.Context, conn *pgx.Conn) error {
				tag, err := conn.Exec(ctx, upd, ids, hashes, phrases)
				if err == nil {
					n += int(tag.RowsAffected())
				}
				return err
			})
			if err != nil {
				return n, errors.Join(append(bad, err)...)
			}
		}
		if len(rows) < legacyPage {
			return n, errors.Join(bad...)
		}
		after = rows[len(rows)-1].id
	}
}
