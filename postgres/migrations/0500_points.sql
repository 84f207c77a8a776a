-- Points (package points): one row per user holding points (the row a
-- user's operations lock), the user's monthly lots, the operations, and
-- the versioned rates. Runs with search_path set to the store's schema,
-- inside a transaction.
--
-- The schema enforces what it can on its own, behind the pure rules of
-- package points: amounts never negative, each lot's credited points
-- equal to its remaining, spent and expired points, one operation per ID,
-- one rate per (name, version).

CREATE TABLE points_holders (
	user_id uuid PRIMARY KEY,
	earned  bigint NOT NULL CHECK (earned >= 0),
	spent   bigint NOT NULL CHECK (spent >= 0),
	expired bigint NOT NULL CHECK (expired >= 0)
);

CREATE TABLE points_lots (
	user_id    uuid NOT NULL REFERENCES points_holders (user_id),
	month      integer NOT NULL,
	expires_at timestamptz NOT NULL,
	pending    bigint NOT NULL CHECK (pending >= 0),
	remaining  bigint NOT NULL CHECK (remaining >= 0),
	credited   bigint NOT NULL CHECK (credited >= 0),
	spent      bigint NOT NULL CHECK (spent >= 0),
	expired    bigint NOT NULL CHECK (expired >= 0),
	expiries   integer NOT NULL CHECK (expiries >= 0),
	PRIMARY KEY (user_id, month),
	CONSTRAINT points_lots_sum CHECK (credited = remaining + spent + expired)
);

-- Store.Due: lots with points left, by expiry.
CREATE INDEX points_lots_due ON points_lots (expires_at, user_id, month) WHERE remaining > 0;

CREATE TABLE points_ops (
	id             uuid PRIMARY KEY,
	user_id        uuid NOT NULL REFERENCES points_holders (user_id),
	-- points.Kind: 1 earn, 2 redeem, 3 exchange out, 4 exchange in, 5 expire.
	kind           smallint NOT NULL CHECK (kind BETWEEN 1 AND 5),
	key            text NOT NULL CHECK (octet_length(key) <= 128),
	name           text NOT NULL CHECK (octet_length(name) <= 64),
	requested      bigint NOT NULL CHECK (requested >= 0),
	points         bigint NOT NULL CHECK (points > 0),
	month          integer NOT NULL,
	lot_expires_at timestamptz,
	take_months    integer[] NOT NULL,
	take_points    bigint[] NOT NULL,
	account        uuid NOT NULL,
	counter        uuid NOT NULL,
	rate_name      text NOT NULL CHECK (octet_length(rate_name) <= 64),
	rate_version   integer NOT NULL,
	rate_from      bigint NOT NULL,
	rate_to        bigint NOT NULL,
	rate_set_at    timestamptz,
	other          bigint NOT NULL CHECK (other >= 0),
	currency       text NOT NULL CHECK (currency ~ '^([A-Z]{3})?$'),
	wallet         uuid NOT NULL,
	conversion     uuid NOT NULL,
	-- points.Status: 1 pending, 2 posted, 3 failed.
	status         smallint NOT NULL CHECK (status BETWEEN 1 AND 3),
	created_at     timestamptz NOT NULL,
	CONSTRAINT points_ops_takes CHECK (cardinality(take_months) = cardinality(take_points) AND 0 < ALL (take_points))
);

-- Store.Pending: operations not yet confirmed, by creation.
CREATE INDEX points_ops_pending ON points_ops (created_at, id) WHERE status = 1;

CREATE TABLE points_rates (
	name      text NOT NULL CHECK (octet_length(name) BETWEEN 1 AND 64),
	version   integer NOT NULL CHECK (version >= 1),
	rate_from bigint NOT NULL CHECK (rate_from >= 1),
	rate_to   bigint NOT NULL CHECK (rate_to >= 1),
	set_at    timestamptz NOT NULL,
	PRIMARY KEY (name, version)
);
