-- 001-init.sql — the first migration: every table of onceshop (the core's,
-- users, tokens and keys, are common/keys.sql).
-- Applied once by `onceshop init` (tracked with PRAGMA user_version).
-- Timestamps are RFC 3339 UTC text ("2026-11-23T18:29:12Z"): they sort as
-- they compare. Money is an integer count of yen.

\ir common/keys.sql

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
