-- Shares of red packets claimed across cells (postgres.CellStore, a
-- cell.Store): the record, in the packet's cell, of a claim by a user of
-- another cell, written before the claim; finished once the share is
-- forwarded to the claimer's cell (or there is none). It is how
-- cell.Packets.Reconcile finds a share a crash left unforwarded.
CREATE TABLE cell_forwards (
	id          uuid PRIMARY KEY,
	packet      uuid NOT NULL,
	sender      uuid NOT NULL,
	claimer     uuid NOT NULL,
	account     uuid NOT NULL,
	created_at  timestamptz NOT NULL,
	finished_at timestamptz
);

-- What Reconcile pages through: open forwards, oldest first.
CREATE INDEX cell_forwards_open ON cell_forwards (created_at, id) WHERE finished_at IS NULL;

CREATE FUNCTION socialpay_cell_forward_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'socialpay: % on %.% rejected: a forward record is never deleted, its request never edited, finished once', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
		USING ERRCODE = 'SP001';
END
$$;

CREATE TRIGGER cell_forwards_no_delete BEFORE DELETE ON cell_forwards
	FOR EACH ROW EXECUTE FUNCTION socialpay_cell_forward_frozen();
CREATE TRIGGER cell_forwards_no_truncate BEFORE TRUNCATE ON cell_forwards
	FOR EACH STATEMENT EXECUTE FUNCTION socialpay_cell_forward_frozen();
CREATE TRIGGER cell_forwards_once BEFORE UPDATE ON cell_forwards
	FOR EACH ROW WHEN (
		(OLD.id, OLD.packet, OLD.sender, OLD.claimer, OLD.account, OLD.created_at)
		IS DISTINCT FROM (NEW.id, NEW.packet, NEW.sender, NEW.claimer, NEW.account, NEW.created_at)
		OR OLD.finished_at IS NOT NULL
	) EXECUTE FUNCTION socialpay_cell_forward_frozen();
