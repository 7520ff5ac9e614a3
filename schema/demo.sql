-- demo.sql — demo users and products, added by `onceshop init --demo`.
-- FOR LOCAL DEMOS ONLY: the tokens "alice-token" and "bob-token" are public.
-- Safe to re-run: existing rows (and their stock) are left as they are.

-- One file for both engines: a fixed time, as the engines say "now" in
-- different words.
INSERT INTO users (name, created_at) VALUES
	('alice', '2026-01-01T00:00:00Z'),
	('bob', '2026-01-01T00:00:00Z')
ON CONFLICT (name) DO NOTHING;

-- SHA-256 of "alice-token" and of "bob-token".
INSERT INTO api_tokens (token_sha256, user_id, created_at)
SELECT '9c220f200955d76c0a38d308225e0ef10c5f971acaf2f8d1d8f732affa5bd1dc', id, created_at
FROM users WHERE name = 'alice'
ON CONFLICT (token_sha256) DO NOTHING;
INSERT INTO api_tokens (token_sha256, user_id, created_at)
SELECT '97dd3707015dcf069cf73022ed7173b1165db6eff24b441cb57fd069a8c4e525', id, created_at
FROM users WHERE name = 'bob'
ON CONFLICT (token_sha256) DO NOTHING;

-- BISCUIT-SEMBEI sorts first, so the demo page's default order never runs
-- out; CUP-LIMITED runs out after five, to show out-of-stock.
INSERT INTO products (sku, name, price, stock) VALUES
	('BISCUIT-SEMBEI', 'Sembei rice crackers, 12 pieces', 600, 100000),
	('TEA-SENCHA', 'Sencha green tea, 100 g', 1200, 1000),
	('TEA-MATCHA', 'Ceremonial matcha, 30 g', 2800, 500),
	('MUG-KYOTO', 'Kyoto stoneware mug', 1800, 200),
	('POT-TETSU', 'Cast-iron teapot', 9800, 50),
	('CUP-LIMITED', 'Limited-edition tea cup', 4800, 5)
ON CONFLICT (sku) DO NOTHING;
