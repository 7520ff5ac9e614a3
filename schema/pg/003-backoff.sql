-- 003-backoff.sql — the completer backs off: the same change as
-- ../003-backoff.sql (read it for why), in PostgreSQL.
ALTER TABLE idempotency_keys ADD COLUMN attempts integer NOT NULL DEFAULT 0;
ALTER TABLE idempotency_keys ADD COLUMN retry_at text COLLATE "C";
ALTER TABLE idempotency_keys ADD COLUMN last_error text;
