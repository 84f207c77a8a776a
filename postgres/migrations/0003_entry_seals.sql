-- Entries may carry a seal: an HMAC, under a key the database never holds
-- (postgres.Config.Sealer), of the entry's account, number and chain hash.
-- A role that can write these tables can recompute SHA-256 chain hashes,
-- but not seals, so Verify tells history the store wrote from history
-- written around it. seal_key names the key (keys rotate); both are NULL
-- when the store runs without a sealer. Nullable columns without a default:
-- adding them rewrites nothing.
ALTER TABLE entries ADD COLUMN seal_key int2, ADD COLUMN seal bytea;
