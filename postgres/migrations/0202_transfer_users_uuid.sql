-- Phone-number transfers: users are UUIDs (docs/identity.md). The payer of
-- a record, the holder of a binding and of a record's payee were the
-- bank's customer IDs as text; they become uuid, as in every other
-- feature.
--
-- Text that reads as a UUID converts as it reads. Any other text (a
-- customer number) converts through transfer_customer_ids, which the bank
-- creates and fills before migrating with each number's user ID,
-- ledger.DeriveID(its namespace, "customer", number) (README, Upgrading).
-- Text that is neither stops the migration, which then changes nothing.
-- One change per ALTER TABLE, as Citus requires.

CREATE TABLE IF NOT EXISTS transfer_customer_ids (
	customer text PRIMARY KEY,
	user_id  uuid NOT NULL
);

CREATE FUNCTION socialpay_transfer_user_id(customer text) RETURNS uuid LANGUAGE plpgsql STABLE AS $$
DECLARE
	id uuid;
BEGIN
	SELECT user_id INTO id FROM transfer_customer_ids m WHERE m.customer = socialpay_transfer_user_id.customer;
	IF id IS NOT NULL THEN
		RETURN id;
	END IF;
	BEGIN
		RETURN customer::uuid;
	EXCEPTION WHEN invalid_text_representation THEN
		RAISE EXCEPTION 'socialpay: customer ID % is not a UUID and transfer_customer_ids has no user ID for it', quote_literal(customer)
			USING ERRCODE = 'SP002';
	END;
END
$$;

-- The update trigger names payer and payee_holder: it goes while their
-- type changes and comes back as migration 0201 made it.
DROP TRIGGER transfer_records_once ON transfer_records;

ALTER TABLE transfer_bindings DROP CONSTRAINT transfer_bindings_holder_check;
ALTER TABLE transfer_bindings ALTER COLUMN holder TYPE uuid USING socialpay_transfer_user_id(holder);
ALTER TABLE transfer_bindings ADD CONSTRAINT transfer_bindings_holder_check
	CHECK (holder <> '00000000-0000-0000-0000-000000000000');

ALTER TABLE transfer_records DROP CONSTRAINT transfer_records_payer_check;
ALTER TABLE transfer_records DROP CONSTRAINT transfer_records_payee_holder_check;
ALTER TABLE transfer_records ALTER COLUMN payer TYPE uuid USING socialpay_transfer_user_id(payer);
ALTER TABLE transfer_records ALTER COLUMN payee_holder TYPE uuid USING socialpay_transfer_user_id(payee_holder);
ALTER TABLE transfer_records ADD CONSTRAINT transfer_records_payer_check
	CHECK (payer <> '00000000-0000-0000-0000-000000000000');
ALTER TABLE transfer_records ADD CONSTRAINT transfer_records_payee_holder_check
	CHECK (payee_holder <> '00000000-0000-0000-0000-000000000000');

ALTER TABLE transfer_daily_totals ALTER COLUMN payer TYPE uuid USING socialpay_transfer_user_id(payer);
ALTER TABLE transfer_payees ALTER COLUMN payer TYPE uuid USING socialpay_transfer_user_id(payer);
ALTER TABLE transfer_payees ALTER COLUMN holder TYPE uuid USING socialpay_transfer_user_id(holder);

DROP FUNCTION socialpay_transfer_user_id(text);

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
