-- 002-leases.sql — the lease and recovery columns onceshop's 002-payments.sql
-- adds to idempotency_keys: the same statements run on both (see 001).

ALTER TABLE idempotency_keys ADD COLUMN recovery_point TEXT;
ALTER TABLE idempotency_keys ADD COLUMN resource_id INTEGER;
ALTER TABLE idempotency_keys ADD COLUMN request BLOB;
ALTER TABLE idempotency_keys ADD COLUMN lease_owner TEXT;
ALTER TABLE idempotency_keys ADD COLUMN lease_until TEXT;
CREATE INDEX idempotency_keys_leases ON idempotency_keys(lease_until)
	WHERE lease_until IS NOT NULL;
