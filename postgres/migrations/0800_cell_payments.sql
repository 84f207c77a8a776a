-- Payments between cells (postgres.CellStore, a cell.Store): the
-- coordinator's record of each payment a cell's users pay to another cell,
-- in the payer's cell, written before any money moves. The ledger's
-- transfers, under IDs derived from the payment's ID, are the progress;
-- this row is how cell.Cells.Reconcile finds a payment a crash left open.
CREATE TABLE cell_payments (
	id            uuid PRIMARY KEY,
	payer         uuid NOT NULL,
	payer_account uuid NOT NULL,
	payee         uuid NOT NULL,
	payee_account uuid NOT NULL,
	payer_cell    text NOT NULL,
	payee_cell    text NOT NULL,
	currency      text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	amount        bigint NOT NULL CHECK (amount > 0),
	-- cell.State: 0 open, 1 completed, 2 failed, 3 reversed.
	state         smallint NOT NULL CHECK (state BETWEEN 0 AND 3),
	reason        text NOT NULL,
	created_at    timestamptz NOT NULL,
	finished_at   timestamptz,
	CONSTRAINT cell_payments_finished CHECK ((state = 0) = (finished_at IS NULL))
);

-- What Reconcile pages through: open payments, oldest first.
CREATE INDEX cell_payments_open ON cell_payments (created_at, id) WHERE state = 0;

CREATE FUNCTION socialpay_cell_payment_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'socialpay: % on %.% rejected: a payment record is never deleted, its request never edited, its state moved once', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
		USING ERRCODE = 'SP001';
END
$$;

CREATE TRIGGER cell_payments_no_delete BEFORE DELETE ON cell_payments
	FOR EACH ROW EXECUTE FUNCTION socialpay_cell_payment_frozen();
CREATE TRIGGER cell_payments_no_truncate BEFORE TRUNCATE ON cell_payments
	FOR EACH STATEMENT EXECUTE FUNCTION socialpay_cell_payment_frozen();
-- Only the state moves, once, from open; the request never changes.
CREATE TRIGGER cell_payments_once BEFORE UPDATE ON cell_payments
	FOR EACH ROW WHEN (
		(OLD.id, OLD.payer, OLD.payer_account, OLD.payee, OLD.payee_account, OLD.payer_cell, OLD.payee_cell,
		 OLD.currency, OLD.amount, OLD.created_at)
		IS DISTINCT FROM
		(NEW.id, NEW.payer, NEW.payer_account, NEW.payee, NEW.payee_account, NEW.payer_cell, NEW.payee_cell,
		 NEW.currency, NEW.amount, NEW.created_at)
		OR OLD.state <> 0
	) EXECUTE FUNCTION socialpay_cell_payment_frozen();
