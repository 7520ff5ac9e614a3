/* orders.c — POST /orders, GET /orders, GET /orders/{id}. Orders are always
 * the caller's: another user's order is 404, never 403. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "shop.h"

#define ITEMS_MAX	50

struct order_item {
	char	 sku[65];
	int64_t	 quantity;
};

struct order_in {
	struct order_item items[ITEMS_MAX];
	size_t		 nitems;
};

static const struct field item_fields[] = {
	F_STRING(struct order_item, sku, 1, 64),
	F_INT(struct order_item, quantity, 1, 999),
	F_END,
};

static const struct field order_fields[] = {
	F_ARRAY(struct order_in, items, nitems, 1, ITEMS_MAX, item_fields,
	    "sku"),
	F_END,
};

const struct body_type order_body = { order_fields, sizeof(struct order_in) };

/* What an order line costs, as taken from the catalogue. */
struct line {
	char	 name[256];
	int64_t	 unit_price, subtotal;
};

/* Loads order id of user as its JSON representation into *out. Returns 1,
 * 0 when the user has no such order, -1 on a database error. */
static int
order_load(struct db *db, int64_t id, int64_t user, struct json_object **out)
{
	struct json_object	*o, *items;
	struct stmt		*st;
	enum db_rc		 rc;

	st = db_stmt(db, STMT_ORDER_SELECT);
	stmt_int(st, 1, id);
	stmt_int(st, 2, user);
	if ((rc = stmt_step(st)) != DB_ROW) {
		stmt_reset(st);
		return rc == DB_DONE ? 0 : -1;
	}
	o = stmt_json_row(st);	/* paid_at and payment_id only once paid */
	stmt_reset(st);

	st = db_stmt(db, STMT_ORDER_ITEMS);
	stmt_int(st, 1, id);
	if ((items = stmt_json_rows(st)) == NULL) {
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
	http_problem(res, &problem_internal_error, "The order could not be "
	    "read or written; see the server log. Nothing was written.");
}

/* Takes item i's quantity from stock and prices it into line, adding to
 * *total. Returns 0, or -1 with res set to the problem. */
static int
take_stock_or_reply(struct db *db, const struct order_item *item, size_t i,
    struct line *line, int64_t *total, struct response *res)
{
	struct stmt	*st = db_stmt(db, STMT_STOCK_TAKE);
	enum db_rc	 rc;

	stmt_int(st, 1, item->quantity);
	stmt_text(st, 2, item->sku);
	stmt_int(st, 3, item->quantity);
	if ((rc = stmt_step(st)) == DB_ROW) {
		snprintf(line->name, sizeof(line->name), "%s", col_text(st, 0));
		line->unit_price = col_int(st, 1);
	}
	stmt_reset(st);
	if (rc != DB_ROW) {
		if (rc != DB_DONE) {
			reply_failed(res);
			return -1;
		}
		/* No row: the sku is unknown, or its stock is short. */
		st = db_stmt(db, STMT_PRODUCT_STOCK);
		stmt_text(st, 1, item->sku);
		if ((rc = stmt_step(st)) == DB_DONE)
			http_problem(res, &problem_unknown_product, "items[%zu]: "
			    "no product has sku \"%s\"; GET /products lists "
			    "them. This answer is stored under your key: a "
			    "corrected order needs a new key.", i, item->sku);
		else if (rc == DB_ROW)
			http_problem(res, &problem_out_of_stock, "items[%zu]: "
			    "%" PRId64 " of %s ordered, %" PRId64 " in stock. "
			    "Nothing was reserved. This answer is stored under "
			    "your key: a new order needs a new key.", i,
			    item->quantity, item->sku, col_int(st, 0));
		else
			reply_failed(res);
		stmt_reset(st);
		return -1;
	}
	/* Checked arithmetic: prices come from the catalogue, unbounded. */
	if (__builtin_mul_overflow(line->unit_price, item->quantity,
	    &line->subtotal) ||
	    __builtin_add_overflow(*total, line->subtotal, total)) {
		http_problem(res, &problem_total_too_large, "The order's total "
		    "does not fit in a 64-bit count of yen. This answer is "
		    "stored under your key: a smaller order needs a new key.");
		return -1;
	}
	return 0;
}

/* The new order's JSON, as GET /orders/{id} will show it. */
static struct json_object *
order_json(int64_t id, int64_t total, const char *created_at,
    const struct order_in *in, const struct line *lines)
{
	struct json_object	*o = json_object_new_object(), *items, *it;
	size_t			 i;

	/* json_object_object_add steals each new value's reference. */
	json_object_object_add(o, "id", json_object_new_int64(id));
	json_object_object_add(o, "status", json_object_new_string("pending"));
	json_object_object_add(o, "currency", json_object_new_string("JPY"));
	json_object_object_add(o, "total", json_object_new_int64(total));
	json_object_object_add(o, "created_at",
	    json_object_new_string(created_at));
	items = json_object_new_array();
	for (i = 0; i < in->nitems; i++) {
		it = json_object_new_object();
		json_object_object_add(it, "sku",
		    json_object_new_string(in->items[i].sku));
		json_object_object_add(it, "name",
		    json_object_new_string(lines[i].name));
		json_object_object_add(it, "quantity",
		    json_object_new_int64(in->items[i].quantity));
		json_object_object_add(it, "unit_price",
		    json_object_new_int64(lines[i].unit_price));
		json_object_object_add(it, "subtotal",
		    json_object_new_int64(lines[i].subtotal));
		json_object_array_add(items, it);
	}
	json_object_object_add(o, "items", items);
	return o;
}

/* Fills by[] with in's item indexes in the order of their skus. */
static void
by_sku(const struct order_in *in, size_t by[ITEMS_MAX])
{
	size_t	 i, j, k;

	for (i = 0; i < in->nitems; i++) {
		k = i;
		for (j = i; j > 0 && strcmp(in->items[by[j - 1]].sku,
		    in->items[k].sku) > 0; j--)
			by[j] = by[j - 1];
		by[j] = k;
	}
}

uint32_t
orders_lane(const struct request *req)
{
	const struct order_in	*in = req->in;
	const char		*first = NULL, *p;
	uint32_t		 h = 2166136261u;
	size_t			 i;

	/* The product it locks first (orders_create goes in sku order). */
	for (i = 0; i < in->nitems; i++)
		if (first == NULL || strcmp(in->items[i].sku, first) < 0)
			first = in->items[i].sku;
	if (first == NULL)
		return 0;
	for (p = first; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h != 0 ? h : 1;	/* 0 means any lane */
}

void
orders_create(struct db *db, const struct request *req, struct response *res)
{
	const struct order_in	*in = req->in;
	struct line		 lines[ITEMS_MAX];
	struct stmt		*st, *next_id;
	int64_t			 total = 0, id = 0;
	size_t			 i, by[ITEMS_MAX];

	/* The order's id is asked for first: on PostgreSQL the question
	 * goes in the round trip of the first stock taken (with the key's
	 * claim), and the order's row goes later, with its items and the
	 * stored answer (stmt_exec_later): an order of one item takes one
	 * round trip of its writer's group, not two. */
	next_id = db_stmt(db, STMT_ORDER_NEXT_ID);
	stmt_send(next_id);
	/* Products are locked in the order of their skus, whatever the
	 * order of the items: two orders of the same products can then
	 * never wait for each other (a deadlock on PostgreSQL). */
	by_sku(in, by);
	for (i = 0; i < in->nitems; i++)
		if (take_stock_or_reply(db, &in->items[by[i]], by[i],
		    &lines[by[i]], &total, res) == -1) {
			stmt_reset(next_id);
			return;
		}
	if (stmt_step(next_id) == DB_ROW)
		id = col_int(next_id, 0);
	stmt_reset(next_id);
	if (id <= 0) {
		reply_failed(res);
		return;
	}

	st = db_stmt(db, STMT_ORDER_INSERT);
	stmt_int(st, 1, id);
	stmt_int(st, 2, req->user.id);
	stmt_int(st, 3, total);
	stmt_text(st, 4, req->now_text);
	if (stmt_exec_later(st) != DB_DONE) {
		reply_failed(res);
		return;
	}

	for (i = 0; i < in->nitems; i++) {
		st = db_stmt(db, STMT_ITEM_INSERT);
		stmt_int(st, 1, id);
		stmt_text(st, 2, in->items[i].sku);
		stmt_text(st, 3, lines[i].name);
		stmt_int(st, 4, in->items[i].quantity);
		stmt_int(st, 5, lines[i].unit_price);
		if (stmt_exec_later(st) != DB_DONE) {
			reply_failed(res);
			return;
		}
	}
	http_json(res, 201, order_json(id, total, req->now_text, in, lines));
	http_header(res, "Location", "/orders/%" PRId64, id);
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
		http_problem(res, &problem_order_not_found, "You have no order %"
		    PRId64 ". GET /orders lists yours.", req->path_id);
		break;
	default:
		reply_failed(res);
	}
}

void
orders_list(struct db *db, const struct request *req, struct response *res)
{
	struct json_object	*list, *order;
	struct stmt		*st;
	long			 limit;
	enum db_rc		 rc;

	if (http_query_limit_or_reply(req, &limit, res) == -1)
		return;
	st = db_stmt(db, STMT_ORDERS_OF_USER);
	stmt_int(st, 1, req->user.id);
	stmt_int(st, 2, limit);
	list = json_object_new_array();
	while ((rc = stmt_step(st)) == DB_ROW) {
		if (order_load(db, col_int(st, 0), req->user.id, &order) != 1) {
			rc = DB_ERROR;
			break;
		}
		json_object_array_add(list, order);
	}
	stmt_reset(st);
	if (rc != DB_DONE) {
		json_object_put(list);
		reply_failed(res);
		return;
	}
	http_json_list(res, "orders", list);
}
