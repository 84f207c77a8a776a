-- Password phrases (口令) leave the database. A password packet keeps a
-- keyed hash of its phrase (redpacket.PasswordKey: HMAC-SHA256 over the
-- packet ID and the normalized phrase, under a key the database never
-- holds), so that whoever reads the table learns no phrase and cannot test
-- guesses.
--
-- This migration cannot hash the phrases recorded before it: the key is
-- not here. It moves them aside, to legacy_password, which nothing reads
-- but RedPacketStore.HashLegacyPasswords; the bank runs that once, with the
-- services' key, right after migrating (and before the new services take
-- claims), and it hashes each phrase and clears it. Until then a password
-- packet recorded before the migration refuses every phrase. Phrases of
-- other kinds were '' and stay so (nothing secret).
--
-- Cut-over: every instance runs this build once the migration has run (an
-- older build writes the password column, which no longer exists).

ALTER TABLE redpackets RENAME COLUMN password TO legacy_password;
ALTER TABLE redpackets ALTER COLUMN legacy_password DROP NOT NULL;
ALTER TABLE redpackets
	ADD COLUMN password_hash bytea,
	ADD CONSTRAINT redpackets_password_hash CHECK (octet_length(password_hash) = 32),
	ADD CONSTRAINT redpackets_password_kind CHECK (kind = 4 OR password_hash IS NULL);
-- HashLegacyPasswords: the password packets whose phrase is still in clear.
CREATE INDEX redpackets_legacy_password ON redpackets (id) WHERE legacy_password IS NOT NULL AND kind = 4;
