/* stmts.c — the SQL text of every named statement (see stmts.h). Values
 * are bound by position (?); rows come back in the column order written. */
#include "stmts.h"

const char *const stmt_sql[STMT__MAX] = {
	[STMT_BEGIN] = "BEGIN",
	[STMT_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_SAVEPOINT_JOB] = "SAVEPOINT job",
	[STMT_RELEASE_JOB] = "RELEASE job",
	[STMT_ROLLBACK_TO_JOB] = "ROLLBACK TO job",

	[STMT_TOKEN_USER] =
	    "SELECT u.id, u.name FROM api_tokens t "
	    "JOIN users u ON u.id = t.user_id WHERE t.token_sha256 = ?",
	[STMT_USER_INSERT] =
	    "INSERT INTO users (name, created_at) VALUES (?, ?) "
	    "ON CONFLICT (name) DO NOTHING",
	[STMT_TOKEN_INSERT] =
	    "INSERT INTO api_tokens (token_sha256, user_id, created_at) "
	    "SELECT ?, id, ? FROM users WHERE name = ?",

	[STMT_KEY_SELECT] =
	    "SELECT fingerprint, status, response_status, response_headers, "
	    "response_body, expires_at FROM idempotency_keys "
	    "WHERE user_id = ? AND operation = ? AND idem_key = ?",
	/* Insert first; take over an expired row in place; a live row is
	 * left alone and returns nothing. */
	[STMT_KEY_CLAIM] =
	    "INSERT INTO idempotency_keys (user_id, operation, idem_key, "
	    "fingerprint, status, created_at, expires_at) "
	    "VALUES (?, ?, ?, ?, 'processing', ?, ?) "
	    "ON CONFLICT (user_id, operation, idem_key) DO UPDATE SET "
	    "fingerprint = excluded.fingerprint, status = 'processing', "
	    "response_status = NULL, response_headers = NULL, "
	    "response_body = NULL, created_at = excluded.created_at, "
	    "expires_at = excluded.expires_at "
	    "WHERE idempotency_keys.expires_at <= excluded.created_at "
	    "RETURNING id",
	[STMT_KEY_STORE] =
	    "UPDATE idempotency_keys SET status = 'completed', "
	    "response_status = ?, response_headers = ?, response_body = ? "
	    "WHERE id = ?",
	[STMT_KEYS_SWEEP] =
	    "DELETE FROM idempotency_keys WHERE id IN "
	    "(SELECT id FROM idempotency_keys WHERE expires_at <= ? "
	    "ORDER BY expires_at LIMIT ?)",
	[STMT_KEYS_LIST] =
	    "SELECT idem_key AS key, operation, status, response_status, "
	    "fingerprint, created_at, expires_at FROM idempotency_keys "
	    "WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",

	[STMT_HEALTH] = "SELECT count(*) FROM products",
	[STMT_PRODUCTS_LIST] =
	    "SELECT sku, name, price, stock FROM products ORDER BY sku",

	/* Takes the stock only if there is enough; no row: unknown sku or
	 * not enough stock (PRODUCT_STOCK tells which). */
	[STMT_STOCK_TAKE] =
	    "UPDATE products SET stock = stock - ? "
	    "WHERE sku = ? AND stock >= ? RETURNING name, price",
	[STMT_PRODUCT_STOCK] = "SELECT stock FROM products WHERE sku = ?",
	[STMT_ORDER_INSERT] =
	    "INSERT INTO orders (user_id, status, currency, total, created_at) "
	    "VALUES (?, 'pending', 'JPY', ?, ?) RETURNING id",
	[STMT_ITEM_INSERT] =
	    "INSERT INTO order_items (order_id, sku, name, quantity, "
	    "unit_price) VALUES (?, ?, ?, ?, ?)",
	[STMT_ORDER_SELECT] =
	    "SELECT o.id, o.status, o.currency, o.total, o.created_at, "
	    "o.paid_at, p.id AS payment_id FROM orders o "
	    "LEFT JOIN payments p ON p.order_id = o.id "
	    "WHERE o.id = ? AND o.user_id = ?",
	[STMT_ORDER_ITEMS] =
	    "SELECT sku, name, quantity, unit_price, "
	    "quantity * unit_price AS subtotal FROM order_items "
	    "WHERE order_id = ? ORDER BY rowid",
	[STMT_ORDERS_OF_USER] =
	    "SELECT id FROM orders WHERE user_id = ? ORDER BY id DESC LIMIT ?",

	[STMT_ORDER_FOR_PAYMENT] =
	    "SELECT status = 'paid', total, currency FROM orders "
	    "WHERE id = ? AND user_id = ?",
	[STMT_PAYMENT_INSERT] =
	    "INSERT INTO payments (order_id, amount, currency, status, "
	    "created_at) VALUES (?, ?, ?, 'succeeded', ?) RETURNING id",
	[STMT_ORDER_MARK_PAID] =
	    "UPDATE orders SET status = 'paid', paid_at = ? WHERE id = ?",
};
