-- QR payments name their user (docs/identity.md): the static-code daily
-- cap is the paying user's, whichever account pays, where it was the
-- paying account's. The columns that named the account name the user
-- now. Rows written before hold accounts: a reservation of a payment made
-- before keeps its account (its hold names no user, and package qr reads
-- the account as its user), and on the day of the upgrade a user's cap
-- counts only the payments made since.
ALTER TABLE qr_cap_totals RENAME COLUMN payer TO user_id;
ALTER TABLE qr_cap_reservations RENAME COLUMN payer TO user_id;
COMMENT ON COLUMN qr_cap_totals.user_id IS 'the paying user (qr.PayRequest.User); an account in rows written before migration 0302';
COMMENT ON COLUMN qr_cap_reservations.user_id IS 'the paying user (qr.PayRequest.User); an account in rows written before migration 0302';
