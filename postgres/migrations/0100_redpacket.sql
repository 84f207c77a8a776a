-- Red packets (package redpacket): each packet with its pre-split shares
-- and its state, and one row per claim. Runs with search_path set to the
-- store's schema, inside a transaction.
--
-- The schema enforces what it can on its own, behind the pure rules of
-- package redpacket: shares positive and summing to the total, claim and
-- payment counters within bounds, one claim per (packet, user) and per
-- (packet, share index), claims of existing packets only.

CREATE TABLE redpackets (
	id              uuid PRIMARY KEY,
	kind            smallint NOT NULL CHECK (kind BETWEEN 1 AND 4),
	sender          uuid NOT NULL,
	sender_account  uuid NOT NULL,
	group_id        uuid,
	recipient       uuid,
	password        text NOT NULL,
	sender_may_grab boolean NOT NULL,
	currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	total           bigint NOT NULL CHECK (total > 0),
	count           integer NOT NULL CHECK (count >= 1),
	shares          bigint[] NOT NULL,
	escrow          uuid NOT NULL,
	created_at      timestamptz NOT NULL,
	expires_at      timestamptz NOT NULL,
	-- redpacket.Status: 1 funding, 2 open, 3 sold out, 4 refunding,
	-- 5 refunded, 6 cancelled.
	status          smallint NOT NULL CHECK (status BETWEEN 1 AND 6),
	claimed         integer NOT NULL,
	posted          integer NOT NULL,
	settled         boolean NOT NULL,
	CONSTRAINT redpackets_shares CHECK (cardinality(shares) = count AND array_lower(shares, 1) = 1
		AND 0 < ALL (shares)),
	CONSTRAINT redpackets_counts CHECK (0 <= posted AND posted <= claimed AND claimed <= count),
	CONSTRAINT redpackets_expiry CHECK (expires_at > created_at),
	CONSTRAINT redpackets_settled CHECK (NOT settled OR (status IN (3, 5) AND posted = claimed))
);

-- Store.Expired: open and refunding packets by expiry.
CREATE INDEX redpackets_expiring ON redpackets (expires_at, id) WHERE status IN (2, 4);
-- Store.Unsettled: packets with work left, by expiry.
CREATE INDEX redpackets_unsettled ON redpackets (expires_at, id) WHERE NOT settled AND status <> 6;

CREATE TABLE redpacket_claims (
	packet_id  uuid NOT NULL REFERENCES redpackets (id),
	user_id    uuid NOT NULL,
	account    uuid NOT NULL,
	idx        integer NOT NULL CHECK (idx >= 0),
	amount     bigint NOT NULL CHECK (amount > 0),
	claimed_at timestamptz NOT NULL,
	posted     boolean NOT NULL,
	PRIMARY KEY (packet_id, user_id),
	CONSTRAINT redpacket_claims_share UNIQUE (packet_id, idx)
);
