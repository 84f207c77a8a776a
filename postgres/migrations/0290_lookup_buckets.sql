-- Anti-enumeration token buckets of phone-number lookups, shared by every
-- instance (postgres.LookupLimiter): one row per payer whose bucket is not
-- full, and the institution's bucket split over a few rows. empty_at is
-- the instant, in nanoseconds since the Unix epoch, at which the bucket
-- was or would have been empty (transfer.Bucket's state). Rows of full
-- buckets are deleted by LookupLimiter.Prune.
CREATE TABLE lookup_buckets (
	key text PRIMARY KEY,
	empty_at bigint NOT NULL
);
