-- Phone-number transfers: a refused transfer is failing until the ledger
-- is proven clean (package transfer, StateFailing = 4), and each record
-- counts the attempts at its ledger transfer that may still be in flight
-- (Record.Attempts). A failing record is still unfinished: Reconcile walks
-- it with the pending ones. Every record is walked by Service.Check.

-- A column and its check in two statements, as Citus requires (this text
-- replaced one with the check inline, under the name PostgreSQL gave it:
-- the same schema, see Migration.Earlier).
ALTER TABLE transfer_records ADD COLUMN attempts integer NOT NULL DEFAULT 0;
ALTER TABLE transfer_records ADD CONSTRAINT transfer_records_attempts_check CHECK (attempts >= 0);

ALTER TABLE transfer_records DROP CONSTRAINT transfer_records_state_check;
ALTER TABLE transfer_records ADD CONSTRAINT transfer_records_state_check CHECK (state BETWEEN 0 AND 4);
ALTER TABLE transfer_records DROP CONSTRAINT transfer_records_reason;
ALTER TABLE transfer_records ADD CONSTRAINT transfer_records_reason CHECK ((state IN (2, 3, 4)) = (reason <> ''));

DROP INDEX transfer_records_created;
CREATE INDEX transfer_records_created ON transfer_records (created_at, id) WHERE state IN (0, 4);
CREATE INDEX transfer_records_all ON transfer_records (created_at, id);

-- The request never changes; the state moves once from pending, or from
-- failing to failed (keeping its reason and time); only a pending or
-- failing record's attempts change.
DROP TRIGGER transfer_records_once ON transfer_records;
CREATE TRIGGER transfer_records_once BEFORE UPDATE ON transfer_records
	FOR EACH ROW WHEN (
		(OLD.id, OLD.idempotency_key, OLD.request_hash, OLD.payer, OLD.from_account, OLD.payee_phone,
		 OLD.payee_institution, OLD.payee_holder, OLD.payee_account, OLD.payee_masked, OLD.currency, OLD.amount,
		 OLD.arrival, OLD.memo, OLD.lookup_id, OLD.refund, OLD.day, OLD.first_payee, OLD.created_at, OLD.due_at)
		IS DISTINCT FROM
		(NEW.id, NEW.idempotency_key, NEW.request_hash, NEW.payer, NEW.from_account, NEW.payee_phone,
		 NEW.payee_institution, NEW.payee_holder, NEW.payee_account, NEW.payee_masked, NEW.currency, NEW.amount,
		 NEW.arrival, NEW.memo, NEW.lookup_id, NEW.refund, NEW.day, NEW.first_payee, NEW.created_at, NEW.due_at)
		OR NOT (OLD.state = 0
			OR OLD.state = 4 AND NEW.state IN (3, 4) AND NEW.reason = OLD.reason AND NEW.resolved_at = OLD.resolved_at)
	) EXECUTE FUNCTION socialpay_transfer_record_frozen();
