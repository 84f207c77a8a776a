-- Bill splitting (package collect): one row per request, its shares in
-- parallel arrays (at most a few hundred members, always read and written
-- together under the row's lock). Runs with search_path set to the
-- store's schema, inside a transaction.
--
-- The schema enforces what it can on its own, behind the pure rules of
-- package collect: shares positive and summing to the total, the arrays
-- of one length, counters within bounds, an end time exactly when the
-- request is no longer open.

CREATE TABLE collect_requests (
	id           uuid PRIMARY KEY,
	requester    uuid NOT NULL,
	account      uuid NOT NULL,
	group_id     uuid NOT NULL,
	title        text NOT NULL CHECK (octet_length(title) <= 128),
	currency     text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	total        bigint NOT NULL CHECK (total > 0),
	created_at   timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL,
	-- collect.Status: 1 open, 2 complete, 3 closed, 4 expired.
	status       smallint NOT NULL CHECK (status BETWEEN 1 AND 4),
	paid         integer NOT NULL,
	declined     integer NOT NULL,
	collected    bigint NOT NULL,
	ended_at     timestamptz,
	reminded_at  timestamptz,
	reconciled   boolean NOT NULL,
	-- The shares, in the stated order. share_status is collect.ShareStatus
	-- (1 own, 2 pending, 3 paid, 4 declined); share_at in Unix
	-- microseconds, 0 while pending.
	members      uuid[] NOT NULL,
	amounts      bigint[] NOT NULL,
	share_status smallint[] NOT NULL,
	accounts     uuid[] NOT NULL,
	transfers    uuid[] NOT NULL,
	share_at     bigint[] NOT NULL,
	CONSTRAINT collect_shares CHECK (cardinality(members) >= 1 AND array_lower(members, 1) = 1
		AND cardinality(amounts) = cardinality(members) AND cardinality(share_status) = cardinality(members)
		AND cardinality(accounts) = cardinality(members) AND cardinality(transfers) = cardinality(members)
		AND cardinality(share_at) = cardinality(members) AND 0 < ALL (amounts)),
	CONSTRAINT collect_counts CHECK (0 <= paid AND 0 <= declined AND paid + declined <= cardinality(members)
		AND 0 <= collected AND collected <= total),
	CONSTRAINT collect_expiry CHECK (expires_at > created_at),
	CONSTRAINT collect_ended CHECK ((status = 1) = (ended_at IS NULL))
);

-- Store.Due: open requests by expiry.
CREATE INDEX collect_due ON collect_requests (expires_at, id) WHERE status = 1;
-- Store.Unreconciled: ended requests not yet checked against the ledger.
CREATE INDEX collect_unreconciled ON collect_requests (ended_at, id) WHERE status <> 1 AND NOT reconciled;
