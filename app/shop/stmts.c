/* stmts.c — the SQL text of onceshop's statements (shop.h), and its
 * database: the schema version its migrations (schema/NNN-*.sql) reach. */
#include <stddef.h>

#include "shop.h"

#define S	STMT_SQL
#define S_PG	STMT_SQL_PG
#define P(id)	[STMT_##id - STMT_CORE__MAX]

/* A payment as GET /payments/{id} shows it; the provider's ledger lists
 * its charges under provider_reference. */
#define PAYMENT_COLUMNS	"id, order_id, amount, currency, card, status, " \
	"provider_charge_id, 'payment-' || id AS provider_reference, created_at"

static const struct stmt_def stmts[STMT_SHOP__END - STMT_CORE__MAX] = {
	P(PRODUCTS_LIST) =
	    S("SELECT sku, name, price, stock FROM products ORDER BY sku"),
	/* Takes the stock only if there is enough; no row: unknown sku or
	 * not enough stock (PRODUCT_STOCK tells which). */
	P(STOCK_TAKE) =
	    S("UPDATE products SET stock = stock - ? "
	    "WHERE sku = ? AND stock >= ? RETURNING name, price"),
	P(PRODUCT_STOCK) = S("SELECT stock FROM products WHERE sku = ?"),
	/* The id the next order gets: in SQLite's one write transaction,
	 * the last one's plus one (what its rowid would be); on PostgreSQL,
	 * the next value of the identity column's own sequence, which
	 * PostgreSQL names table_column_seq. Named, it is found once, when
	 * the statement is prepared (pg_get_serial_sequence would search
	 * the catalog at every order). */
	P(ORDER_NEXT_ID) =
	    S_PG("SELECT coalesce(max(id), 0) + 1 FROM orders",
	    "SELECT nextval('orders_id_seq')"),
	P(ORDER_INSERT) =
	    S("INSERT INTO orders (id, user_id, status, currency, total, "
	    "created_at) VALUES (?, ?, 'pending', 'JPY', ?, ?)"),
	P(ITEM_INSERT) =
	    S("INSERT INTO order_items (order_id, sku, name, quantity, "
	    "unit_price) VALUES (?, ?, ?, ?, ?)"),
	P(ORDER_SELECT) =
	    S("SELECT o.id, o.status, o.currency, o.total, o.created_at, "
	    "o.paid_at, (SELECT p.id FROM payments p WHERE p.order_id = o.id "
	    "AND p.status != 'failed') AS payment_id FROM orders o "
	    "WHERE o.id = ? AND o.user_id = ?"),
	/* In the order they were sent. */
	P(ORDER_ITEMS) =
	    S_PG("SELECT sku, name, quantity, unit_price, "
	    "quantity * unit_price AS subtotal FROM order_items "
	    "WHERE order_id = ? ORDER BY rowid",
	    "SELECT sku, name, quantity, unit_price, "
	    "quantity * unit_price AS subtotal FROM order_items "
	    "WHERE order_id = ? ORDER BY item_no"),
	P(ORDERS_OF_USER) =
	    S("SELECT id FROM orders WHERE user_id = ? ORDER BY id DESC LIMIT ?"),
	/* The order, and its payment in progress if there is one. */
	P(ORDER_FOR_PAYMENT) =
	    S("SELECT o.status = 'paid', o.total, o.currency, "
	    "(SELECT p.id FROM payments p WHERE p.order_id = o.id "
	    "AND p.status = 'pending') FROM orders o "
	    "WHERE o.id = ? AND o.user_id = ?"),
	P(PAYMENT_INSERT) =
	    S("INSERT INTO payments (order_id, amount, currency, card, "
	    "status, provider_key, created_at, updated_at) "
	    "VALUES (?, ?, ?, ?, 'pending', ?, ?, ?) RETURNING id"),
	P(PAYMENT_LOAD) =
	    S("SELECT order_id, amount, currency, card, provider_key, status "
	    "FROM payments WHERE id = ?"),
	/* A pending payment's outcome; nothing if it was settled already. */
	P(PAYMENT_SETTLE) =
	    S("UPDATE payments SET status = ?, provider_charge_id = ?, "
	    "updated_at = ? WHERE id = ? AND status = 'pending' "
	    "RETURNING " PAYMENT_COLUMNS),
	P(ORDER_MARK_PAID) =
	    S("UPDATE orders SET status = 'paid', paid_at = ? WHERE id = ?"),
	P(PAYMENT_OF_USER) =
	    S("SELECT " PAYMENT_COLUMNS " FROM payments WHERE id = ? "
	    "AND order_id IN (SELECT id FROM orders WHERE user_id = ?)"),
};

const struct db_schema shop_schema = {
	.name = "onceshop",
	.version = 4,		/* the last schema/NNN-*.sql */
	.stmts = stmts,
	.nstmts = sizeof(stmts) / sizeof(stmts[0]),
};
