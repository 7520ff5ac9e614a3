-- 003-backoff.sql — the completer backs off: the same change as
-- ../003-backoff.sql.
\ir ../common/keys-backoff.sql
