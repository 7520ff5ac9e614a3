-- 001-init.sql — the first migration: every table of onceshop.
-- Applied once by `onceshop init` (tracked with PRAGMA user_version).
-- Timestamps are RFC 3339 UTC text ("2026-11-23T18:29:12Z"): they sort as
-- they compare. Money is an integer count of yen.

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

CREATE TABLE products (
	sku		TEXT PRIMARY KEY,
	name		TEXT NOT NULL,
	price		INTEGER NOT NULL CHECK (price >= 0),
	stock		INTEGER NOT NULL CHECK (stock >= 0)
);

CREATE TABLE orders (
	id		INTEGER PRIMARY KEY,
	user_id		INTEGER NOT NULL REFERENCES users(id),
	status		TEXT NOT NULL CHECK (status IN ('pending', 'paid')),
	currency	TEXT NOT NULL CHECK (currency = 'JPY'),
	total		INTEGER NOT NULL CHECK (total >= 0),
	created_at	TEXT NOT NULL,
	paid_at		TEXT,
	CHECK ((status = 'paid') = (paid_at IS NOT NULL))
);
CREATE INDEX orders_user ON orders(user_id, id);

CREATE TABLE order_items (
	order_id	INTEGER NOT NULL REFERENCES orders(id),
	sku		TEXT NOT NULL REFERENCES products(sku),
	name		TEXT NOT NULL,
	quantity	INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 999),
	unit_price	INTEGER NOT NULL CHECK (unit_price >= 0),
	PRIMARY KEY (order_id, sku)
);

-- UNIQUE(order_id): the second line of defence against paying twice.
CREATE TABLE payments (
	id		INTEGER PRIMARY KEY,
	order_id	INTEGER NOT NULL UNIQUE REFERENCES orders(id),
	amount		INTEGER NOT NULL CHECK (amount >= 0),
	currency	TEXT NOT NULL,
	status		TEXT NOT NULL CHECK (status IN ('succeeded')),
	created_at	TEXT NOT NULL
);

-- One row per (user, operation, key): claimed, the business write done and
-- the response stored in one transaction. 'processing' is never seen
-- committed today; it exists for work that spans several transactions.
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
