/* orders.c — POST /orders, GET /orders, GET /orders/{id}. Orders are always
 * the caller's: another user's order is 404, never 403. */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "handlers.h"

#define ITEMS_MAX	50

static const struct field item_fields[] = {
	{ "sku", FIELD_STRING, 1, 64, NULL, NULL },
	{ "quantity", FIELD_INT, 1, 999, NULL, NULL },
	{ NULL, 0, 0, 0, NULL, NULL },
};

const struct field order_fields[] = {
	{ "items", FIELD_ARRAY, 1, ITEMS_MAX, item_fields, "sku" },
	{ NULL, 0, 0, 0, NULL, NULL },
};

/* Loads order id of user into *out as its JSON representation. Returns 1,
 * 0 when the user has no such order, -1 on a database error. */
static int
order_load(struct db *db, int64_t id, int64_t user, struct json_object **out)
{
	struct json_object	*o, *items;
	sqlite3_stmt		*st;
	int			 rc;

	if ((st = db_stmt(db, "SELECT o.id, o.status, o.currency, o.total, "
	    "o.created_at, o.paid_at, p.id AS payment_id FROM orders o "
	    "LEFT JOIN payments p ON p.order_id = o.id "
	    "WHERE o.id = ? AND o.user_id = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, user);
	if ((rc = db_step(db, st)) != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? 0 : -1;
	}
	o = db_json_row(st);	/* paid_at and payment_id only once paid */
	sqlite3_reset(st);

	if ((st = db_stmt(db, "SELECT sku, name, quantity, unit_price, "
	    "quantity * unit_price AS subtotal FROM order_items "
	    "WHERE order_id = ? ORDER BY rowid")) == NULL) {
		json_object_put(o);
		return -1;
	}
	sqlite3_bind_int64(st, 1, id);
	if ((items = db_json_rows(db, st)) == NULL) {
		json_object_put(o);
		return -1;
	}
	json_object_object_add(o, "items", items);	/* steals items */
	*out = o;
	return 1;
}

static void
reply_failed(struct response *res)
{
	http_problem(res, PROBLEM_INTERNAL_ERROR, "The order could not be "
	    "read or written; see the server log. Nothing was written.");
}

/* Checks every item against the catalogue and sums the total. Returns 0,
 * or -1 with res set to the problem. */
static int
check_items(struct db *db, struct json_object *items, int64_t *total,
    struct response *res)
{
	struct json_object	*item;
	sqlite3_stmt		*st;
	const char		*sku;
	int64_t			 qty, stock;
	size_t			 i;
	int			 rc;

	*total = 0;
	for (i = 0; i < json_object_array_length(items); i++) {
		item = json_object_array_get_idx(items, i);
		sku = json_object_get_string(json_object_object_get(item, "sku"));
		qty = json_object_get_int64(json_object_object_get(item,
		    "quantity"));
		if ((st = db_stmt(db, "SELECT price, stock FROM products "
		    "WHERE sku = ?")) == NULL) {
			reply_failed(res);
			return -1;
		}
		sqlite3_bind_text(st, 1, sku, -1, SQLITE_STATIC);
		if ((rc = db_step(db, st)) != SQLITE_ROW) {
			sqlite3_reset(st);
			if (rc != SQLITE_DONE)
				reply_failed(res);
			else
				http_problem(res, PROBLEM_UNKNOWN_PRODUCT,
				    "items[%zu]: no product has sku \"%s\"; "
				    "GET /products lists them.", i, sku);
			return -1;
		}
		*total += sqlite3_column_int64(st, 0) * qty;
		stock = sqlite3_column_int64(st, 1);
		sqlite3_reset(st);
		if (stock < qty) {
			http_problem(res, PROBLEM_OUT_OF_STOCK, "items[%zu]: "
			    "%" PRId64 " of %s ordered, %" PRId64 " in stock. "
			    "Nothing was reserved.", i, qty, sku, stock);
			return -1;
		}
	}
	return 0;
}

/* Records item i of order id: decrements the stock, copies name and price. */
static int
add_item(struct db *db, int64_t id, struct json_object *item)
{
	sqlite3_stmt	*st;
	const char	*sku;
	int64_t		 qty;

	sku = json_object_get_string(json_object_object_get(item, "sku"));
	qty = json_object_get_int64(json_object_object_get(item, "quantity"));
	if ((st = db_stmt(db, "UPDATE products SET stock = stock - ? "
	    "WHERE sku = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, qty);
	sqlite3_bind_text(st, 2, sku, -1, SQLITE_STATIC);
	if (db_exec_stmt(db, st) == -1)
		return -1;
	if ((st = db_stmt(db, "INSERT INTO order_items "
	    "(order_id, sku, name, quantity, unit_price) "
	    "SELECT ?, sku, name, ?, price FROM products WHERE sku = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, qty);
	sqlite3_bind_text(st, 3, sku, -1, SQLITE_STATIC);
	return db_exec_stmt(db, st);
}

void
orders_create(struct db *db, const struct request *req, struct response *res)
{
	struct json_object	*items, *order;
	sqlite3_stmt		*st;
	int64_t			 total, id;
	char			 now[21];
	size_t			 i;

	items = json_object_object_get(req->json, "items");
	if (check_items(db, items, &total, res) == -1)
		return;

	time_rfc3339(time(NULL), now);
	if ((st = db_stmt(db, "INSERT INTO orders "
	    "(user_id, status, currency, total, created_at) "
	    "VALUES (?, 'pending', 'JPY', ?, ?)")) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, req->user.id);
	sqlite3_bind_int64(st, 2, total);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	if (db_exec_stmt(db, st) == -1)
		goto fail;
	id = sqlite3_last_insert_rowid(db_handle(db));
	for (i = 0; i < json_object_array_length(items); i++)
		if (add_item(db, id, json_object_array_get_idx(items, i)) == -1)
			goto fail;
	if (order_load(db, id, req->user.id, &order) != 1)
		goto fail;
	http_json(res, 201, order);
	http_header(res, "Location", "/orders/%" PRId64, id);
	return;
fail:
	reply_failed(res);
}

void
orders_get(struct db *db, const struct request *req, struct response *res)
{
	struct json_object	*order;

	switch (order_load(db, req->path_id, req->user.id, &order)) {
	case 1:
		http_json(res, 200, order);
		break;
	case 0:
		http_problem(res, PROBLEM_ORDER_NOT_FOUND, "You have no order %"
		    PRId64 ". GET /orders lists yours.", req->path_id);
		break;
	default:
		reply_failed(res);
	}
}

void
orders_list(struct db *db, const struct request *req, struct response *res)
{
	struct json_object	*list, *order, *o;
	sqlite3_stmt		*st;
	long			 limit;
	int			 rc;

	if ((limit = http_query_long(req, "limit", 100, 1, 1000)) == -1) {
		http_problem(res, PROBLEM_INVALID_PARAMETER,
		    "limit must be an integer from 1 to 1000.");
		return;
	}
	if ((st = db_stmt(db, "SELECT id FROM orders WHERE user_id = ? "
	    "ORDER BY id DESC LIMIT ?")) == NULL) {
		reply_failed(res);
		return;
	}
	sqlite3_bind_int64(st, 1, req->user.id);
	sqlite3_bind_int64(st, 2, limit);
	list = json_object_new_array();
	while ((rc = db_step(db, st)) == SQLITE_ROW) {
		if (order_load(db, sqlite3_column_int64(st, 0), req->user.id,
		    &order) != 1) {
			rc = SQLITE_ERROR;
			break;
		}
		json_object_array_add(list, order);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_object_put(list);
		reply_failed(res);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "orders", list);
	http_json(res, 200, o);
}
