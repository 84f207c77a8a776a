-- Prize campaigns (package campaign): each campaign with its schedule,
-- seed and state, one row per (campaign, user) with the counts the caps
-- use, one row per try (the public log, by slot), and the shared rate
-- limiter's buckets. Runs with search_path set to the store's schema,
-- inside a transaction.
--
-- The schema enforces what it can on its own, behind the pure rules of
-- package campaign: counters within bounds, one try per (campaign, user,
-- number) and per (campaign, slot), tries of existing campaigns only.

CREATE TABLE campaigns (
	id          uuid PRIMARY KEY,
	name        text NOT NULL CHECK (octet_length(name) <= 128),
	currency    text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	prizes      bigint[] NOT NULL,
	counts      integer[] NOT NULL,
	budget      bigint NOT NULL CHECK (budget > 0),
	slots       integer NOT NULL CHECK (slots >= 1),
	prize_end   integer NOT NULL CHECK (prize_end BETWEEN 1 AND slots),
	marketing   uuid NOT NULL,
	escrow      uuid NOT NULL,
	commitment  bytea NOT NULL CHECK (octet_length(commitment) = 32),
	seed        bytea NOT NULL CHECK (octet_length(seed) = 32),
	opens_at    timestamptz NOT NULL,
	ends_at     timestamptz NOT NULL,
	tries_per_user integer NOT NULL,
	tries_per_day  integer NOT NULL,
	wins_per_user  integer NOT NULL,
	day_offset_s   integer NOT NULL,
	created_at  timestamptz NOT NULL,
	-- campaign.Status: 1 funding, 2 open, 3 sweeping, 4 swept, 5 cancelled.
	status      smallint NOT NULL CHECK (status BETWEEN 1 AND 5),
	taken       integer NOT NULL,
	won         bigint NOT NULL,
	winners     integer NOT NULL,
	paid        integer NOT NULL,
	settled     boolean NOT NULL,
	CONSTRAINT campaigns_window CHECK (ends_at > opens_at),
	CONSTRAINT campaigns_schedule CHECK (cardinality(prizes) = cardinality(counts) AND cardinality(prizes) >= 1),
	CONSTRAINT campaigns_counts CHECK (0 <= taken AND taken <= prize_end AND 0 <= won AND won <= budget
		AND 0 <= paid AND paid <= winners AND winners <= taken),
	CONSTRAINT campaigns_settled CHECK (NOT settled OR (status = 4 AND paid = winners))
);

-- Store.Unsettled: campaigns with work left, by end.
CREATE INDEX campaigns_unsettled ON campaigns (ends_at, id) WHERE NOT settled AND status <> 5;

CREATE TABLE campaign_players (
	campaign_id uuid NOT NULL REFERENCES campaigns (id),
	user_id     uuid NOT NULL,
	tries       integer NOT NULL CHECK (tries >= 0),
	day         bigint NOT NULL,
	day_tries   integer NOT NULL CHECK (day_tries >= 0 AND day_tries <= tries),
	wins        integer NOT NULL CHECK (wins >= 0 AND wins <= tries),
	PRIMARY KEY (campaign_id, user_id)
);

CREATE TABLE campaign_tries (
	campaign_id uuid NOT NULL REFERENCES campaigns (id),
	slot        integer NOT NULL CHECK (slot >= 0),
	user_id     uuid NOT NULL,
	seq         integer NOT NULL CHECK (seq >= 1),
	account     uuid NOT NULL,
	prize       bigint NOT NULL CHECK (prize >= 0),
	at          timestamptz NOT NULL,
	paid        boolean NOT NULL,
	forfeited   boolean NOT NULL,
	PRIMARY KEY (campaign_id, slot),
	CONSTRAINT campaign_tries_key UNIQUE (campaign_id, user_id, seq),
	CONSTRAINT campaign_tries_paid CHECK ((NOT paid OR prize > 0) AND (NOT forfeited OR paid))
);

-- Store.Unpaid: winning tries not yet paid.
CREATE INDEX campaign_tries_unpaid ON campaign_tries (campaign_id, slot) WHERE prize > 0 AND NOT paid;

-- campaign.Limiter: one bucket per key, as its theoretical arrival time
-- (campaign.Rate.Allow). A bucket whose tat has passed is as good as new
-- and may be deleted.
CREATE TABLE campaign_limits (
	key text PRIMARY KEY CHECK (octet_length(key) <= 128),
	tat timestamptz NOT NULL
);
