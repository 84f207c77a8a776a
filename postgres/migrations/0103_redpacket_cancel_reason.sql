-- Why a packet was cancelled (redpacket.State.Reason): the errcode code of
-- the ledger's refusal of its funding ("insufficient_funds"), so that every
-- answer to its send, the first and each retry on any instance, names the
-- same refusal. '' for every other status, and for a packet cancelled with
-- no refusal seen (by Reconcile, or before this migration).
--
-- Cut-over: none needed. The column has a default, and a build from before
-- this migration neither reads nor writes it (its cancellations keep '').

ALTER TABLE redpackets ADD COLUMN reason text NOT NULL DEFAULT '';
-- One change per ALTER TABLE, as Citus requires.
ALTER TABLE redpackets ADD CONSTRAINT redpackets_reason CHECK (reason = '' OR status = 6);
