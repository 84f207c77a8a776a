-- QR payments (package qr): dynamic receive codes, each paid once; the
-- per-payer daily counters of static-code payments with one reservation
-- per payment; payers' devices for payment codes; redeemed payment codes.
-- Runs with search_path set to the store's schema, inside a transaction.
--
-- The schema enforces what it can on its own, behind package qr's rules:
-- one claim per code (its payment), a settled claim never without a
-- payment, positive amounts, totals never negative, one device per ID and
-- per serial, one redemption per (serial, step).

CREATE TABLE qr_codes (
	id         uuid PRIMARY KEY,
	payee      text NOT NULL CHECK (payee <> ''),
	reference  text NOT NULL CHECK (reference <> ''),
	currency   text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	amount     bigint NOT NULL CHECK (amount > 0),
	expires_at timestamptz NOT NULL,
	issued_at  timestamptz NOT NULL,
	payment    uuid,        -- the payment holding the claim; NULL while open
	claimed_at timestamptz,
	settled    boolean NOT NULL DEFAULT false,
	CONSTRAINT qr_codes_claim CHECK ((payment IS NULL) = (claimed_at IS NULL) AND (NOT settled OR payment IS NOT NULL))
);

-- ClaimedCodes: unsettled claims by claim time.
CREATE INDEX qr_codes_claimed ON qr_codes (claimed_at, id) WHERE payment IS NOT NULL AND NOT settled;

-- One row per payer, day and currency: the row every reservation of that
-- day locks, so that the cap holds under concurrency.
CREATE TABLE qr_cap_totals (
	payer    uuid NOT NULL,
	day      text NOT NULL CHECK (day <> ''),
	currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	total    bigint NOT NULL CHECK (total >= 0),
	PRIMARY KEY (payer, day, currency)
);

CREATE TABLE qr_cap_reservations (
	payment  uuid PRIMARY KEY,
	payer    uuid NOT NULL,
	day      text NOT NULL,
	currency text NOT NULL,
	amount   bigint NOT NULL CHECK (amount > 0),
	at       timestamptz NOT NULL,
	settled  boolean NOT NULL DEFAULT false,
	FOREIGN KEY (payer, day, currency) REFERENCES qr_cap_totals
);

-- ReservedCaps: unsettled reservations by time.
CREATE INDEX qr_cap_reserved ON qr_cap_reservations (at, payment) WHERE NOT settled;

CREATE TABLE qr_devices (
	id         text PRIMARY KEY CHECK (id <> ''),
	account    uuid NOT NULL,
	serial     bigint NOT NULL UNIQUE CHECK (serial >= 0 AND serial < 1000000000),
	secret     bytea NOT NULL CHECK (length(secret) >= 16),
	created_at timestamptz NOT NULL,
	revoked_at timestamptz
);

CREATE TABLE qr_used_codes (
	serial bigint NOT NULL,
	step   bigint NOT NULL,
	charge uuid NOT NULL,
	PRIMARY KEY (serial, step)
);

-- PruneUsed deletes by step.
CREATE INDEX qr_used_codes_step ON qr_used_codes (step);
