-- 003-backoff.sql — the keys' backoff columns, the same file as onceshop's
-- (paysim has no phases and leaves them empty).
\ir ../common/keys-backoff.sql
