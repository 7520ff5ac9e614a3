/* stmts.c — the SQL text of every named statement (see stmts.h). Values
 * are bound by position (?); rows come back in the column order written. */
#include <stddef.h>

#include "stmts.h"

#define ANY(sql)	{ SCHEMA_ANY, sql, NULL }
#define COMMON(sql)	{ SCHEMA_COMMON, sql, NULL }
#define SHOP(sql)	{ SCHEMA_SHOP, sql, NULL }
#define PAYSIM(sql)	{ SCHEMA_PAYSIM, sql, NULL }
/* A statement of onceshop's with a text of its own on PostgreSQL. */
#define SHOP_PG(sql, pg) { SCHEMA_SHOP, sql, pg }

/* A payment as GET /payments/{id} shows it; the provider's ledger lists
 * its charges under provider_reference. */
#define PAYMENT_COLUMNS	"id, order_id, amount, currency, card, status, " \
	"provider_charge_id, 'payment-' || id AS provider_reference, created_at"

/* A charge as paysim shows it, in its answer and in its ledger. */
#define CHARGE_COLUMNS	"'ch_' || id AS id, status, amount, currency, card, " \
	"reference, created_at"

const struct stmt_def stmt_defs[STMT__MAX] = {
	[STMT_BEGIN] = ANY("BEGIN"),
	[STMT_BEGIN_IMMEDIATE] = ANY("BEGIN IMMEDIATE"),
	[STMT_COMMIT] = ANY("COMMIT"),
	[STMT_ROLLBACK] = ANY("ROLLBACK"),
	[STMT_SAVEPOINT_JOB] = ANY("SAVEPOINT job"),
	[STMT_RELEASE_JOB] = ANY("RELEASE job"),
	[STMT_ROLLBACK_TO_JOB] = ANY("ROLLBACK TO job"),

	[STMT_TOKEN_USER] =
	    COMMON("SELECT u.id, u.name FROM api_tokens t "
	    "JOIN users u ON u.id = t.user_id WHERE t.token_sha256 = ?"),
	[STMT_USER_INSERT] =
	    COMMON("INSERT INTO users (name, created_at) VALUES (?, ?) "
	    "ON CONFLICT (name) DO NOTHING"),
	[STMT_TOKEN_INSERT] =
	    COMMON("INSERT INTO api_tokens (token_sha256, user_id, created_at) "
	    "SELECT CAST(? AS TEXT), id, CAST(? AS TEXT) FROM users "
	    "WHERE name = ?"),

	[STMT_KEY_SELECT] =
	    COMMON("SELECT fingerprint, status, response_status, response_headers, "
	    "response_body, expires_at, id, lease_until FROM idempotency_keys "
	    "WHERE user_id = ? AND operation = ? AND idem_key = ?"),
	/* Insert first; take over an expired completed row in place; a
	 * live row, or any that is still processing, is left alone and
	 * returns nothing. recovery_point, request and the lease are NULL
	 * for a single-phase operation. */
	[STMT_KEY_CLAIM] =
	    COMMON("INSERT INTO idempotency_keys (user_id, operation, idem_key, "
	    "fingerprint, status, created_at, expires_at, recovery_point, "
	    "request, lease_owner, lease_until) "
	    "VALUES (?, ?, ?, ?, 'processing', ?, ?, ?, ?, ?, ?) "
	    "ON CONFLICT (user_id, operation, idem_key) DO UPDATE SET "
	    "fingerprint = excluded.fingerprint, status = 'processing', "
	    "response_status = NULL, response_headers = NULL, "
	    "response_body = NULL, created_at = excluded.created_at, "
	    "expires_at = excluded.expires_at, "
	    "recovery_point = excluded.recovery_point, resource_id = NULL, "
	    "request = excluded.request, lease_owner = excluded.lease_owner, "
	    "lease_until = excluded.lease_until "
	    "WHERE idempotency_keys.status = 'completed' "
	    "AND idempotency_keys.expires_at <= excluded.created_at "
	    "RETURNING id"),
	/* Completed: kept until expires_at; the lease and the request go. */
	[STMT_KEY_STORE] =
	    COMMON("UPDATE idempotency_keys SET status = 'completed', "
	    "response_status = ?, response_headers = ?, response_body = ?, "
	    "expires_at = ?, recovery_point = ?, request = NULL, "
	    "lease_owner = NULL, lease_until = NULL WHERE id = ?"),
	[STMT_KEYS_SWEEP] =
	    COMMON("DELETE FROM idempotency_keys WHERE id IN "
	    "(SELECT id FROM idempotency_keys WHERE expires_at <= ? "
	    "AND status = 'completed' ORDER BY expires_at LIMIT ?)"),
	[STMT_KEYS_LIST] =
	    COMMON("SELECT idem_key AS key, operation, status, recovery_point, "
	    "lease_until, NULLIF(attempts, 0) AS attempts, "
	    "CASE WHEN status = 'processing' THEN retry_at END AS retry_at, "
	    "CASE WHEN status = 'processing' THEN last_error END AS last_error, "
	    "response_status, fingerprint, created_at, expires_at "
	    "FROM idempotency_keys "
	    "WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?"),

	/* A processing key whose lease ran out (or was released) becomes
	 * the caller's; nothing if someone else got it first. */
	[STMT_KEY_TAKE_OVER] =
	    COMMON("UPDATE idempotency_keys SET lease_owner = ?, lease_until = ? "
	    "WHERE id = ? AND status = 'processing' AND lease_until <= ? "
	    "RETURNING recovery_point, resource_id, attempts"),
	/* Moves the recovery point, only for the lease's holder. */
	[STMT_KEY_ADVANCE] =
	    COMMON("UPDATE idempotency_keys SET recovery_point = ?, "
	    "resource_id = ?, lease_until = ? "
	    "WHERE id = ? AND status = 'processing' AND lease_owner = ?"),
	/* Gives the lease up now, after a failed remote step: a retry may
	 * resume at once, the completer not before retry_at. */
	[STMT_KEY_RELEASE] =
	    COMMON("UPDATE idempotency_keys SET lease_owner = NULL, "
	    "lease_until = ?, attempts = attempts + 1, retry_at = ?, "
	    "last_error = ? WHERE id = ? AND lease_owner = ?"),
	/* A failed resumption of a key nobody holds: not before retry_at. */
	[STMT_KEY_BACKOFF] =
	    COMMON("UPDATE idempotency_keys SET attempts = attempts + 1, "
	    "retry_at = ?, last_error = ? WHERE id = ? "
	    "AND status = 'processing' AND lease_until <= ?"),
	/* What the completer resumes: processing keys nobody holds, whose
	 * retry_at has come, the most overdue first. */
	[STMT_KEYS_STALLED] =
	    COMMON("SELECT id, user_id, operation, idem_key, request, attempts "
	    "FROM idempotency_keys WHERE lease_until IS NOT NULL "
	    "AND lease_until <= ? AND coalesce(retry_at, lease_until) <= ? "
	    "AND status = 'processing' "
	    "ORDER BY coalesce(retry_at, lease_until), id LIMIT ?"),

	[STMT_HEALTH] = COMMON("SELECT count(*) FROM users"),
	[STMT_PRODUCTS_LIST] =
	    SHOP("SELECT sku, name, price, stock FROM products ORDER BY sku"),

	/* Takes the stock only if there is enough; no row: unknown sku or
	 * not enough stock (PRODUCT_STOCK tells which). */
	[STMT_STOCK_TAKE] =
	    SHOP("UPDATE products SET stock = stock - ? "
	    "WHERE sku = ? AND stock >= ? RETURNING name, price"),
	[STMT_PRODUCT_STOCK] = SHOP("SELECT stock FROM products WHERE sku = ?"),
	[STMT_ORDER_INSERT] =
	    SHOP("INSERT INTO orders (user_id, status, currency, total, created_at) "
	    "VALUES (?, 'pending', 'JPY', ?, ?) RETURNING id"),
	[STMT_ITEM_INSERT] =
	    SHOP("INSERT INTO order_items (order_id, sku, name, quantity, "
	    "unit_price) VALUES (?, ?, ?, ?, ?)"),
	[STMT_ORDER_SELECT] =
	    SHOP("SELECT o.id, o.status, o.currency, o.total, o.created_at, "
	    "o.paid_at, (SELECT p.id FROM payments p WHERE p.order_id = o.id "
	    "AND p.status != 'failed') AS payment_id FROM orders o "
	    "WHERE o.id = ? AND o.user_id = ?"),
	/* In the order they were sent. */
	[STMT_ORDER_ITEMS] =
	    SHOP_PG("SELECT sku, name, quantity, unit_price, "
	    "quantity * unit_price AS subtotal FROM order_items "
	    "WHERE order_id = ? ORDER BY rowid",
	    "SELECT sku, name, quantity, unit_price, "
	    "quantity * unit_price AS subtotal FROM order_items "
	    "WHERE order_id = ? ORDER BY item_no"),
	[STMT_ORDERS_OF_USER] =
	    SHOP("SELECT id FROM orders WHERE user_id = ? ORDER BY id DESC LIMIT ?"),

	/* The order, and its payment in progress if there is one. */
	[STMT_ORDER_FOR_PAYMENT] =
	    SHOP("SELECT o.status = 'paid', o.total, o.currency, "
	    "(SELECT p.id FROM payments p WHERE p.order_id = o.id "
	    "AND p.status = 'pending') FROM orders o "
	    "WHERE o.id = ? AND o.user_id = ?"),
	[STMT_PAYMENT_INSERT] =
	    SHOP("INSERT INTO payments (order_id, amount, currency, card, "
	    "status, provider_key, created_at, updated_at) "
	    "VALUES (?, ?, ?, ?, 'pending', ?, ?, ?) RETURNING id"),
	[STMT_PAYMENT_LOAD] =
	    SHOP("SELECT order_id, amount, currency, card, provider_key, status "
	    "FROM payments WHERE id = ?"),
	/* A pending payment's outcome; nothing if it was settled already. */
	[STMT_PAYMENT_SETTLE] =
	    SHOP("UPDATE payments SET status = ?, provider_charge_id = ?, "
	    "updated_at = ? WHERE id = ? AND status = 'pending' "
	    "RETURNING " PAYMENT_COLUMNS),
	[STMT_ORDER_MARK_PAID] =
	    SHOP("UPDATE orders SET status = 'paid', paid_at = ? WHERE id = ?"),
	[STMT_PAYMENT_OF_USER] =
	    SHOP("SELECT " PAYMENT_COLUMNS " FROM payments WHERE id = ? "
	    "AND order_id IN (SELECT id FROM orders WHERE user_id = ?)"),

	[STMT_CHARGE_INSERT] =
	    PAYSIM("INSERT INTO charges (amount, currency, card, reference, "
	    "status, idem_key, created_at) VALUES (?, ?, ?, ?, 'succeeded', ?, ?) "
	    "RETURNING " CHARGE_COLUMNS),
	[STMT_CHARGES_OF_REFERENCE] =
	    PAYSIM("SELECT " CHARGE_COLUMNS " FROM charges WHERE reference = ? "
	    "ORDER BY charges.id LIMIT ?"),
	/* The newest ones, oldest first. */
	[STMT_CHARGES_RECENT] =
	    PAYSIM("SELECT " CHARGE_COLUMNS " FROM (SELECT * FROM charges "
	    "ORDER BY id DESC LIMIT ?) AS c ORDER BY c.id"),
	/* A row only for a key's first attempt. */
	[STMT_FLAKY_ATTEMPT] =
	    PAYSIM("INSERT INTO flaky_attempts (user_id, idem_key, created_at) "
	    "VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1"),
	[STMT_USER_TOKENS_CLEAR] =
	    COMMON("DELETE FROM api_tokens "
	    "WHERE user_id = (SELECT id FROM users WHERE name = ?)"),
};
