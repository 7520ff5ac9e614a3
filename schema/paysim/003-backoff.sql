-- 003-backoff.sql — idempotency_keys stays onceshop's, column for column
-- (../003-backoff.sql says what the columns are for; paysim has no phases
-- and leaves them empty).
ALTER TABLE idempotency_keys ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE idempotency_keys ADD COLUMN retry_at TEXT;
ALTER TABLE idempotency_keys ADD COLUMN last_error TEXT;
