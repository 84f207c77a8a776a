-- Phone-number transfers (package transfer): the directory of bound
-- numbers, the transfer records, each payer's running daily totals, and
-- which payers have settled with which payees. Runs with search_path set
-- to the store's schema, inside a transaction.
--
-- The schema enforces what it can on its own, behind the pure rules of
-- package transfer: one binding per number, positive amounts, totals never
-- negative, a lookup token used by one record, payer and payee accounts
-- different, a record's request never edited and its state moved once
-- from pending to settled, cancelled or failed (with a reason for the
-- last two), and records never deleted.

CREATE TABLE transfer_bindings (
	phone       text PRIMARY KEY CHECK (phone ~ '^\+[1-9][0-9]{5,14}$'),
	holder      text NOT NULL CHECK (holder <> ''),
	account     uuid NOT NULL,
	name        text NOT NULL CHECK (name <> ''),
	masked_name text NOT NULL,
	verified_at timestamptz NOT NULL,
	bound_at    timestamptz NOT NULL,
	updated_at  timestamptz NOT NULL
);

CREATE TABLE transfer_records (
	id                uuid PRIMARY KEY,
	idempotency_key   text NOT NULL CHECK (idempotency_key <> ''),
	request_hash      bytea NOT NULL CHECK (length(request_hash) = 32),
	payer             text NOT NULL CHECK (payer <> ''),
	from_account      uuid NOT NULL,
	payee_phone       text NOT NULL,
	payee_institution text NOT NULL CHECK (payee_institution <> ''),
	payee_holder      text NOT NULL CHECK (payee_holder <> ''),
	payee_account     uuid NOT NULL,
	payee_masked      text NOT NULL,
	currency          text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	amount            bigint NOT NULL CHECK (amount > 0),
	-- transfer.Arrival: 0 now, 1 in 2 h, 2 in 24 h, 3 on accept (chat).
	arrival           smallint NOT NULL CHECK (arrival BETWEEN 0 AND 3),
	memo              text NOT NULL,
	lookup_id         uuid UNIQUE, -- a lookup token pays once; NULL without one
	refund            boolean NOT NULL,
	day               date NOT NULL, -- the day of the daily limit, in its time zone
	first_payee       boolean NOT NULL,
	-- transfer.State: 0 pending, 1 settled, 2 cancelled, 3 failed.
	state             smallint NOT NULL CHECK (state BETWEEN 0 AND 3),
	reason            text NOT NULL,
	created_at        timestamptz NOT NULL,
	due_at            timestamptz NOT NULL CHECK (due_at >= created_at),
	resolved_at       timestamptz,
	CONSTRAINT transfer_records_accounts CHECK (from_account <> payee_account),
	CONSTRAINT transfer_records_resolved CHECK ((state = 0) = (resolved_at IS NULL)),
	CONSTRAINT transfer_records_reason CHECK ((state IN (2, 3)) = (reason <> ''))
);

-- The orders Store.Scan walks: every pending record by creation (what
-- Reconcile finishes), pending delayed ones and pending chat ones by due
-- time (what ReleaseDue and ExpireChats resolve).
CREATE INDEX transfer_records_created ON transfer_records (created_at, id) WHERE state = 0;
CREATE INDEX transfer_records_releases ON transfer_records (due_at, id) WHERE state = 0 AND arrival IN (1, 2);
CREATE INDEX transfer_records_chats ON transfer_records (due_at, id) WHERE state = 0 AND arrival = 3;

-- One row per payer, day and currency: the row every creation and every
-- transition of that payer's day locks, so the daily cap holds under
-- concurrency.
CREATE TABLE transfer_daily_totals (
	payer    text NOT NULL,
	day      date NOT NULL,
	currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	total    bigint NOT NULL CHECK (total >= 0),
	PRIMARY KEY (payer, day, currency)
);

-- Payers and the payees they have settled a transfer with: who is no
-- longer a first-time payee.
CREATE TABLE transfer_payees (
	payer       text NOT NULL,
	institution text NOT NULL,
	holder      text NOT NULL,
	since       timestamptz NOT NULL,
	PRIMARY KEY (payer, institution, holder)
);

CREATE FUNCTION socialpay_transfer_record_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'socialpay: % on %.% rejected: a transfer record is never deleted, its request never edited, its state moved once', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
		USING ERRCODE = 'SP001';
END
$$;

CREATE TRIGGER transfer_records_no_delete BEFORE DELETE ON transfer_records
	FOR EACH ROW EXECUTE FUNCTION socialpay_transfer_record_frozen();
CREATE TRIGGER transfer_records_no_truncate BEFORE TRUNCATE ON transfer_records
	FOR EACH STATEMENT EXECUTE FUNCTION socialpay_transfer_record_frozen();
-- Only the state moves, once, from pending; the request never changes.
CREATE TRIGGER transfer_records_once BEFORE UPDATE ON transfer_records
	FOR EACH ROW WHEN (
		(OLD.id, OLD.idempotency_key, OLD.request_hash, OLD.payer, OLD.from_account, OLD.payee_phone,
		 OLD.payee_institution, OLD.payee_holder, OLD.payee_account, OLD.payee_masked, OLD.currency, OLD.amount,
		 OLD.arrival, OLD.memo, OLD.lookup_id, OLD.refund, OLD.day, OLD.first_payee, OLD.created_at, OLD.due_at)
		IS DISTINCT FROM
		(NEW.id, NEW.idempotency_key, NEW.request_hash, NEW.payer, NEW.from_account, NEW.payee_phone,
		 NEW.payee_institution, NEW.payee_holder, NEW.payee_account, NEW.payee_masked, NEW.currency, NEW.amount,
		 NEW.arrival, NEW.memo, NEW.lookup_id, NEW.refund, NEW.day, NEW.first_payee, NEW.created_at, NEW.due_at)
		OR OLD.state <> 0
	) EXECUTE FUNCTION socialpay_transfer_record_frozen();
