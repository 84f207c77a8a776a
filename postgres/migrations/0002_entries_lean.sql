-- Entries name their account and transfer without foreign keys, and balance
-- as of a time needs no index of its own.
--
-- The two foreign keys of entries were a quarter of the server's work per
-- transfer (perf, batches of 100): a row-level check per entry and key.
-- Accounts and transfers are never deleted (append-only triggers), every
-- entry is written with its account locked and its transfer in the same
-- transaction, the hash chain binds each entry to its account, and Verify
-- reports an entry of an unknown account or transfer.
--
-- Entry times never go back within an account, so BalanceAt binary-searches
-- the primary key (account_id, seq) instead of keeping entries_by_time, one
-- index insert per entry less.
ALTER TABLE entries DROP CONSTRAINT entries_account_id_fkey;
ALTER TABLE entries DROP CONSTRAINT entries_transfer_id_fkey;
DROP INDEX entries_by_time;
