-- bankd's chat groups: the membership red packets to a group are checked
-- against. Shared by every instance on the schema.
CREATE TABLE bankd_groups (
	id          uuid PRIMARY KEY,
	name        text NOT NULL,
	owner       uuid NOT NULL,
	fingerprint bytea NOT NULL, -- of the creating request, to tell a retry from a reused key
	created_at  timestamptz NOT NULL
);

CREATE TABLE bankd_group_members (
	group_id uuid NOT NULL REFERENCES bankd_groups (id),
	user_id  uuid NOT NULL,
	PRIMARY KEY (group_id, user_id)
);
