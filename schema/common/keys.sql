-- keys.sql — the core's tables, which every program's database has:
-- users, their bearer tokens and their idempotency keys. Written once, in
-- SQLite's type names; PostgreSQL reads them as bigint (INTEGER), an
-- identity (INTEGER PRIMARY KEY), text collated bytewise (TEXT: RFC 3339
-- timestamps compare as text) and bytea (BLOB). Included with \ir by each
-- program's first migration, on each engine.

CREATE TABLE users (
	id		INTEGER PRIMARY KEY,
	name		TEXT NOT NULL UNIQUE,
	created_at	TEXT NOT NULL
);

-- Only the SHA-256 (hex) of a bearer token is stored, never the token.
CREATE TABLE api_tokens (
	token_sha256	TEXT PRIMARY KEY,
	user_id		INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created_at	TEXT NOT NULL
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

-- One row per (user, operation, key): claimed, the business write done and
-- the response stored in one transaction. 'processing' is seen committed
-- only for work in phases (keys-leases.sql).
CREATE TABLE idempotency_keys (
	id		INTEGER PRIMARY KEY,
	user_id		INTEGER NOT NULL REFERENCES users(id),
	operation	TEXT NOT NULL,
	idem_key	TEXT NOT NULL,
	fingerprint	TEXT NOT NULL,
	status		TEXT NOT NULL CHECK (status IN ('processing', 'completed')),
	response_status	INTEGER,
	response_headers TEXT,
	response_body	BLOB,
	created_at	TEXT NOT NULL,
	expires_at	TEXT NOT NULL,
	UNIQUE (user_id, operation, idem_key)
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys(expires_at);
