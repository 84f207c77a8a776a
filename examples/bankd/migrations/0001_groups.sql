-- bankd's chat groups: name, owner and the request that created them.
-- Membership is the library's (postgres.Members).
CREATE TABLE bankd_groups (
	id          uuid PRIMARY KEY,
	name        text NOT NULL,
	owner       uuid NOT NULL,
	members     uuid[] NOT NULL, -- the first members
	fingerprint bytea NOT NULL,  -- of the creating request, to tell a retry from a reused key
	created_at  timestamptz NOT NULL
);
