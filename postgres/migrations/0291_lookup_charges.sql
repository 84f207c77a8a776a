-- Lookup charges remembered by postgres.LookupLimiter, so that concurrent
-- duplicates of one request pay for one lookup (transfer.Limiter): one row
-- per charge ID, charged_at in nanoseconds since the Unix epoch on the
-- limiter's clock. Rows older than transfer.ChargeTTL are deleted by
-- LookupLimiter.Prune; a duplicate arriving after that is charged again.
CREATE TABLE lookup_charges (
	id uuid PRIMARY KEY,
	charged_at bigint NOT NULL
);
