-- 003-backoff.sql — the completer backs off (README, "When a dependency
-- misbehaves").
\ir common/keys-backoff.sql
