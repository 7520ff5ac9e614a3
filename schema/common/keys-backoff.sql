-- keys-backoff.sql — the completer backs off (README, "When a dependency
-- misbehaves"; keys.sql says how this file is read).
--
-- A processing key that failed to resume (the provider down, slow or
-- answering 5xx) records how often it failed, when the completer may try
-- it again (exponential, with jitter, honouring the provider's
-- Retry-After), and why it stopped. A key that can never be resumed (its
-- operation is gone, its request no longer parses) is set aside: retry_at
-- far in the future, last_error saying why; a client's retry may still
-- take it over. A client's own retry never waits for retry_at.
ALTER TABLE idempotency_keys ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE idempotency_keys ADD COLUMN retry_at TEXT;
ALTER TABLE idempotency_keys ADD COLUMN last_error TEXT;
