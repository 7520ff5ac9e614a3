-- 002-payments.sql — payments through a provider, in phases: the same
-- change as ../002-payments.sql (read it for why), in PostgreSQL, which can
-- drop a constraint in place.
ALTER TABLE payments DROP CONSTRAINT payments_order_id_key;
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CHECK (status IN ('pending', 'succeeded', 'failed'));
ALTER TABLE payments ADD COLUMN card text NOT NULL DEFAULT 'tok_ok';
ALTER TABLE payments ALTER COLUMN card DROP DEFAULT;
ALTER TABLE payments ADD COLUMN provider_key text;
UPDATE payments SET provider_key = 'onceshop-v1-payment-' || id;
ALTER TABLE payments ALTER COLUMN provider_key SET NOT NULL;
ALTER TABLE payments ADD UNIQUE (provider_key);
ALTER TABLE payments ADD COLUMN provider_charge_id text;
UPDATE payments SET provider_charge_id = 'v1-local-' || id;
ALTER TABLE payments ADD COLUMN updated_at text COLLATE "C";
UPDATE payments SET updated_at = created_at;
ALTER TABLE payments ALTER COLUMN updated_at SET NOT NULL;
ALTER TABLE payments ADD CHECK ((status = 'succeeded') = (provider_charge_id IS NOT NULL));
CREATE UNIQUE INDEX payments_one_live ON payments(order_id)
	WHERE status IN ('pending', 'succeeded');

\ir ../common/keys-leases.sql
