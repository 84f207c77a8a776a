-- The ledger: accounts with their balances and hash-chain heads, transfers,
-- and the journal of entries. Runs with search_path set to the store's
-- schema, inside a transaction.
--
-- The schema enforces what it can on its own, as a second line of defence
-- behind the rules in package ledger: amounts are positive, balance totals
-- never negative, balance limits hold, a pending transfer is resolved and a
-- transfer reversed at most once, entries are numbered per account, and the
-- journal is append-only (triggers reject UPDATE, DELETE and TRUNCATE of
-- entries; of a transfer only status, resolved_by and reversed_by change,
-- each once; of an account never its identity).

CREATE TABLE accounts (
	id              uuid PRIMARY KEY,
	currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	code            integer NOT NULL CHECK (code BETWEEN 0 AND 65535),
	flags           integer NOT NULL CHECK (flags BETWEEN 0 AND 65535),
	metadata        jsonb,
	status          smallint NOT NULL CHECK (status BETWEEN 0 AND 2),
	created_at      timestamptz NOT NULL,
	closed_at       timestamptz,
	debits_pending  bigint NOT NULL CHECK (debits_pending >= 0),
	debits_posted   bigint NOT NULL CHECK (debits_posted >= 0),
	credits_pending bigint NOT NULL CHECK (credits_pending >= 0),
	credits_posted  bigint NOT NULL CHECK (credits_posted >= 0),
	seq             bigint NOT NULL CHECK (seq >= 0),
	head            bytea NOT NULL CHECK (length(head) = 32),
	last_time       timestamptz NOT NULL,
	CONSTRAINT accounts_closed_at CHECK ((status = 2) = (closed_at IS NOT NULL)),
	-- ledger.DebitsMustNotExceedCredits and ledger.CreditsMustNotExceedDebits.
	CONSTRAINT accounts_debits_limit CHECK ((flags & 1) = 0 OR debits_posted + debits_pending <= credits_posted),
	CONSTRAINT accounts_credits_limit CHECK ((flags & 2) = 0 OR credits_posted + credits_pending <= debits_posted)
) WITH (fillfactor = 70); -- room for HOT updates of balances

CREATE TABLE transfers (
	id                uuid PRIMARY KEY,
	kind              smallint NOT NULL CHECK (kind BETWEEN 0 AND 4),
	debit_account_id  uuid NOT NULL REFERENCES accounts (id),
	credit_account_id uuid NOT NULL REFERENCES accounts (id),
	amount            bigint NOT NULL CHECK (amount > 0),
	currency          text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	pending_id        uuid REFERENCES transfers (id),
	reverses_id       uuid REFERENCES transfers (id),
	timeout_ns        bigint NOT NULL CHECK (timeout_ns >= 0),
	code              integer NOT NULL CHECK (code BETWEEN 0 AND 65535),
	reference         text NOT NULL,
	metadata          jsonb,
	ts                timestamptz NOT NULL,
	-- When a pending transfer times out, rounded up to the microsecond (the
	-- exact instant is ts + timeout_ns); NULL when it never does.
	expires_at        timestamptz,
	status            smallint NOT NULL CHECK (status BETWEEN 0 AND 4),
	resolved_by       uuid REFERENCES transfers (id),
	reversed_by       uuid REFERENCES transfers (id),
	CONSTRAINT transfers_two_accounts CHECK (debit_account_id <> credit_account_id),
	CONSTRAINT transfers_pending_ref CHECK ((kind IN (2, 3)) = (pending_id IS NOT NULL)),
	CONSTRAINT transfers_reverses_ref CHECK ((kind = 4) = (reverses_id IS NOT NULL)),
	CONSTRAINT transfers_status CHECK ((kind = 1) = (status <> 0)),
	CONSTRAINT transfers_expiry CHECK (expires_at IS NULL OR (kind = 1 AND timeout_ns > 0))
);

-- A pending transfer is resolved once; a transfer is reversed once.
CREATE UNIQUE INDEX transfers_resolve_once ON transfers (pending_id) WHERE pending_id IS NOT NULL;
CREATE UNIQUE INDEX transfers_reverse_once ON transfers (reverses_id) WHERE reverses_id IS NOT NULL;
-- What ExpirePending sweeps.
CREATE INDEX transfers_due ON transfers (expires_at, id) WHERE status = 1 AND expires_at IS NOT NULL;

CREATE TABLE entries (
	account_id      uuid NOT NULL REFERENCES accounts (id),
	seq             bigint NOT NULL CHECK (seq > 0),
	transfer_id     uuid REFERENCES transfers (id),
	kind            smallint NOT NULL CHECK (kind BETWEEN 1 AND 8),
	side            smallint NOT NULL CHECK (side BETWEEN 0 AND 2),
	posted_delta    bigint NOT NULL,
	pending_delta   bigint NOT NULL,
	at              timestamptz NOT NULL,
	debits_pending  bigint NOT NULL CHECK (debits_pending >= 0),
	debits_posted   bigint NOT NULL CHECK (debits_posted >= 0),
	credits_pending bigint NOT NULL CHECK (credits_pending >= 0),
	credits_posted  bigint NOT NULL CHECK (credits_posted >= 0),
	hash            bytea NOT NULL CHECK (length(hash) = 32),
	PRIMARY KEY (account_id, seq),
	-- Transfers (kinds 1-5) name one; account events (6-8) do not.
	CONSTRAINT entries_transfer_ref CHECK ((transfer_id IS NOT NULL) = (kind <= 5))
);

-- Balance as of a time: entry times never go back within an account.
CREATE INDEX entries_by_time ON entries (account_id, at, seq);

-- Append-only.
CREATE FUNCTION socialpay_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'socialpay: % on %.% rejected: the ledger journal is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
		USING ERRCODE = 'SP001';
END
$$;

CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
	FOR EACH ROW EXECUTE FUNCTION socialpay_reject_change();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
	FOR EACH STATEMENT EXECUTE FUNCTION socialpay_reject_change();

CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers
	FOR EACH ROW EXECUTE FUNCTION socialpay_reject_change();
CREATE TRIGGER transfers_no_truncate BEFORE TRUNCATE ON transfers
	FOR EACH STATEMENT EXECUTE FUNCTION socialpay_reject_change();
-- Only status, resolved_by and reversed_by change: a pending transfer moves
-- once from pending to posted, voided or expired, and each link is set once.
CREATE TRIGGER transfers_append_only BEFORE UPDATE ON transfers
	FOR EACH ROW WHEN (
		(OLD.id, OLD.kind, OLD.debit_account_id, OLD.credit_account_id, OLD.amount, OLD.currency,
		 OLD.pending_id, OLD.reverses_id, OLD.timeout_ns, OLD.code, OLD.reference, OLD.metadata::text,
		 OLD.ts, OLD.expires_at)
		IS DISTINCT FROM
		(NEW.id, NEW.kind, NEW.debit_account_id, NEW.credit_account_id, NEW.amount, NEW.currency,
		 NEW.pending_id, NEW.reverses_id, NEW.timeout_ns, NEW.code, NEW.reference, NEW.metadata::text,
		 NEW.ts, NEW.expires_at)
		OR (NEW.status <> OLD.status AND NOT (OLD.status = 1 AND NEW.status IN (2, 3, 4)))
		OR (OLD.resolved_by IS NOT NULL AND NEW.resolved_by IS DISTINCT FROM OLD.resolved_by)
		OR (OLD.reversed_by IS NOT NULL AND NEW.reversed_by IS DISTINCT FROM OLD.reversed_by)
	) EXECUTE FUNCTION socialpay_reject_change();

CREATE TRIGGER accounts_no_delete BEFORE DELETE ON accounts
	FOR EACH ROW EXECUTE FUNCTION socialpay_reject_change();
CREATE TRIGGER accounts_no_truncate BEFORE TRUNCATE ON accounts
	FOR EACH STATEMENT EXECUTE FUNCTION socialpay_reject_change();
-- An account's identity never changes; a closed account stays closed.
CREATE TRIGGER accounts_identity BEFORE UPDATE ON accounts
	FOR EACH ROW WHEN (
		(OLD.id, OLD.currency, OLD.code, OLD.flags, OLD.metadata::text, OLD.created_at)
		IS DISTINCT FROM
		(NEW.id, NEW.currency, NEW.code, NEW.flags, NEW.metadata::text, NEW.created_at)
		OR (OLD.status = 2 AND (NEW.status <> 2 OR NEW.closed_at IS DISTINCT FROM OLD.closed_at))
	) EXECUTE FUNCTION socialpay_reject_change();
