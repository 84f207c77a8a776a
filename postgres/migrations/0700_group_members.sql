-- Group membership (postgres.Members): who belongs to which chat group,
-- shared by every instance of a service. Red packets ask it whether a
-- claimer is a member and how large a group is; bill splitting asks it
-- whether a payer is a member. The bank's chat service keeps it current.
CREATE TABLE group_members (
	group_id uuid NOT NULL,
	user_id  uuid NOT NULL,
	added_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (group_id, user_id)
);
