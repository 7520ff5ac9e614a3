-- keys-leases.sql — the lease and recovery columns of the keys (keys.sql
-- says how this file is read).
--
-- A key of a multi-phase operation stays 'processing' across transactions:
-- recovery_point says which phase comes next, resource_id the row its
-- phases work on (the payment), request the body it was claimed with (so
-- the completer can resume it without the client). The lease (owner,
-- until) says who is working on it; anyone else gets 409 until it runs
-- out, then takes it over. Released early, it is set to the time of
-- release. Completed keys have no lease: the index holds only the keys
-- the completer may have to look at.
ALTER TABLE idempotency_keys ADD COLUMN recovery_point TEXT;
ALTER TABLE idempotency_keys ADD COLUMN resource_id INTEGER;
ALTER TABLE idempotency_keys ADD COLUMN request BLOB;
ALTER TABLE idempotency_keys ADD COLUMN lease_owner TEXT;
ALTER TABLE idempotency_keys ADD COLUMN lease_until TEXT;
CREATE INDEX idempotency_keys_leases ON idempotency_keys(lease_until)
	WHERE lease_until IS NOT NULL;
