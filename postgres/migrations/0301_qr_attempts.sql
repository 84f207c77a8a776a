-- Payment-code attempts (package qr, qr.Lockout): one row per serial that
-- was tried (whether or not a device has it) and one per merchant that
-- tried, so that every instance of a service counts the same failures;
-- and each serial's charges of its cap day. The rules are qr.Lockout's,
-- applied under the rows' locks; the schema only keeps counts sane.
--
-- qr_devices.secret holds the device secret wrapped by the service's
-- qr.KeyWrapper from now on; rows written before were in clear and must
-- be registered again.

CREATE TABLE qr_serial_tries (
	serial    bigint PRIMARY KEY CHECK (serial >= 0 AND serial < 1000000000),
	count     integer NOT NULL DEFAULT 0 CHECK (count >= 0),
	since     timestamptz,
	locked_at timestamptz,
	day       text NOT NULL DEFAULT '',
	currency  text NOT NULL DEFAULT '' CHECK (currency = '' OR currency ~ '^[A-Z]{3}$'),
	spent     bigint NOT NULL DEFAULT 0 CHECK (spent >= 0),
	last_charge uuid
);

CREATE TABLE qr_merchant_tries (
	merchant uuid PRIMARY KEY,
	count    integer NOT NULL DEFAULT 0 CHECK (count >= 0),
	since    timestamptz
);

COMMENT ON COLUMN qr_devices.secret IS 'the device secret wrapped by qr.Config.DeviceKeys (qr.KeyWrapper), never in clear';
