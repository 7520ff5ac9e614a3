-- 001-init.sql — the first migration of paysim, the payment-provider
-- simulator: its own SQLite file, applied by `paysim init`. users,
-- api_tokens and idempotency_keys are the core's (common/keys.sql, the
-- same file as onceshop's); charges is the provider's ledger. Timestamps
-- are RFC 3339 UTC text.

\ir ../common/keys.sql

-- One row per charge, shown as "ch_<id>". A declined card writes none.
-- idem_key is the Idempotency-Key the charge was made under: a ledger with
-- two charges for one reference under two keys is a client that retried
-- with a new key.
CREATE TABLE charges (
	id		INTEGER PRIMARY KEY,
	amount		INTEGER NOT NULL CHECK (amount > 0),
	currency	TEXT NOT NULL,
	card		TEXT NOT NULL,
	reference	TEXT NOT NULL,
	status		TEXT NOT NULL CHECK (status IN ('succeeded')),
	idem_key	TEXT NOT NULL,
	created_at	TEXT NOT NULL
);
CREATE INDEX charges_reference ON charges(reference);

-- tok_flaky's first attempts: a key here has failed once, so its next
-- attempt succeeds. Written in a transaction of its own, before the key is
-- claimed, because the 500 it answers is never stored. Never deleted: a key
-- used again after it expired succeeds at once.
CREATE TABLE flaky_attempts (
	user_id		INTEGER NOT NULL REFERENCES users(id),
	idem_key	TEXT NOT NULL,
	created_at	TEXT NOT NULL,
	PRIMARY KEY (user_id, idem_key)
);
