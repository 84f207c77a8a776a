-- Store.Packets (Service.Check's audit): every packet by expiry.
CREATE INDEX redpackets_by_expiry ON redpackets (expires_at, id);
