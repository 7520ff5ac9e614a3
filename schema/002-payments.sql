-- 002-payments.sql — payments go through a provider, in phases (README,
-- "When the side effect is somewhere else").
--
-- A payment is now 'pending' while the provider is asked, then 'succeeded'
-- or 'failed'. An order may have failed payments (a declined card, then
-- another card under a new key), but at most one that is pending or
-- succeeded: a partial UNIQUE index, the second line of defence. SQLite
-- cannot drop the old UNIQUE(order_id), so the table is rebuilt.
CREATE TABLE payments_v2 (
	id		INTEGER PRIMARY KEY,
	order_id	INTEGER NOT NULL REFERENCES orders(id),
	amount		INTEGER NOT NULL CHECK (amount >= 0),
	currency	TEXT NOT NULL,
	card		TEXT NOT NULL,
	status		TEXT NOT NULL
			CHECK (status IN ('pending', 'succeeded', 'failed')),
	-- The Idempotency-Key onceshop sends the provider for this payment:
	-- made once, with the row, so every retry and every resumption asks
	-- the provider under the same key and it charges at most once.
	provider_key	TEXT NOT NULL UNIQUE,
	provider_charge_id TEXT,
	created_at	TEXT NOT NULL,
	updated_at	TEXT NOT NULL,
	CHECK ((status = 'succeeded') = (provider_charge_id IS NOT NULL))
);
INSERT INTO payments_v2 (id, order_id, amount, currency, card, status,
    provider_key, provider_charge_id, created_at, updated_at)
SELECT id, order_id, amount, currency, 'tok_ok', status,
    'onceshop-v1-payment-' || id, 'v1-local-' || id, created_at, created_at
FROM payments;
DROP TABLE payments;
ALTER TABLE payments_v2 RENAME TO payments;
CREATE UNIQUE INDEX payments_one_live ON payments(order_id)
	WHERE status IN ('pending', 'succeeded');

-- A key of a multi-phase operation stays 'processing' across transactions,
-- with a lease and a recovery point.
\ir common/keys-leases.sql
