/* payments.c — POST /payments/confirm: pay one of the caller's orders,
 * exactly once. payments.order_id is UNIQUE as a second line of defence. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "handlers.h"

const struct field payment_fields[] = {
	{ "order_id", FIELD_INT, 1, 999999999999999, NULL, NULL },
	{ "amount", FIELD_INT, 0, 999999999999999, NULL, NULL },
	{ "currency", FIELD_STRING, 1, 8, NULL, NULL },
	{ NULL, 0, 0, 0, NULL, NULL },
};

static void
reply_failed(struct response *res)
{
	http_problem(res, PROBLEM_INTERNAL_ERROR, "The payment could not be "
	    "recorded; see the server log. Nothing was charged.");
}

static void
reply_paid(struct response *res, int64_t order_id)
{
	http_problem(res, PROBLEM_ORDER_ALREADY_PAID, "Order %" PRId64 " is "
	    "already paid; it cannot be paid twice. GET /orders/%" PRId64
	    " shows its payment.", order_id, order_id);
}

/* Inserts the payment and marks the order paid. Returns the payment id,
 * 0 when the order already has a payment, -1 on error. */
static int64_t
pay(struct db *db, int64_t order_id, int64_t amount, const char *currency,
    const char *now)
{
	sqlite3_stmt	*st;
	int64_t		 id;
	int		 rc;

	if ((st = db_stmt(db, "INSERT INTO payments "
	    "(order_id, amount, currency, status, created_at) "
	    "VALUES (?, ?, ?, 'succeeded', ?)")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, order_id);
	sqlite3_bind_int64(st, 2, amount);
	sqlite3_bind_text(st, 3, currency, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	rc = db_step(db, st);
	sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT)
		return 0;
	if (rc != SQLITE_DONE)
		return -1;
	id = sqlite3_last_insert_rowid(db_handle(db));
	if ((st = db_stmt(db, "UPDATE orders SET status = 'paid', paid_at = ? "
	    "WHERE id = ?")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, order_id);
	return db_exec_stmt(db, st) == -1 ? -1 : id;
}

void
payments_confirm(struct db *db, const struct request *req,
    struct response *res)
{
	struct json_object	*o;
	sqlite3_stmt		*st;
	const char		*currency;
	int64_t			 order_id, amount, total, id;
	char			 now[21], order_currency[8];
	int			 rc, paid;

	order_id = json_object_get_int64(json_object_object_get(req->json,
	    "order_id"));
	amount = json_object_get_int64(json_object_object_get(req->json,
	    "amount"));
	currency = json_object_get_string(json_object_object_get(req->json,
	    "currency"));

	if ((st = db_stmt(db, "SELECT status = 'paid', total, currency "
	    "FROM orders WHERE id = ? AND user_id = ?")) == NULL) {
		reply_failed(res);
		return;
	}
	sqlite3_bind_int64(st, 1, order_id);
	sqlite3_bind_int64(st, 2, req->user.id);
	if ((rc = db_step(db, st)) != SQLITE_ROW) {
		sqlite3_reset(st);
		if (rc == SQLITE_DONE)
			http_problem(res, PROBLEM_ORDER_NOT_FOUND, "You have no "
			    "order %" PRId64 ". GET /orders lists yours.",
			    order_id);
		else
			reply_failed(res);
		return;
	}
	paid = sqlite3_column_int(st, 0);
	total = sqlite3_column_int64(st, 1);
	snprintf(order_currency, sizeof(order_currency), "%s",
	    (const char *)sqlite3_column_text(st, 2));
	sqlite3_reset(st);

	if (paid) {
		reply_paid(res, order_id);
		return;
	}
	if (amount != total || strcmp(currency, order_currency) != 0) {
		http_problem(res, PROBLEM_AMOUNT_MISMATCH, "Order %" PRId64
		    " costs %" PRId64 " %s; the payment says %" PRId64 " %s. "
		    "Nothing was charged.", order_id, total, order_currency,
		    amount, currency);
		return;
	}
	time_rfc3339(time(NULL), now);
	if ((id = pay(db, order_id, amount, currency, now)) <= 0) {
		id == 0 ? reply_paid(res, order_id) : reply_failed(res);
		return;
	}
	o = json_object_new_object();
	/* json_object_object_add steals each new value's reference. */
	json_object_object_add(o, "id", json_object_new_int64(id));
	json_object_object_add(o, "order_id", json_object_new_int64(order_id));
	json_object_object_add(o, "amount", json_object_new_int64(amount));
	json_object_object_add(o, "currency", json_object_new_string(currency));
	json_object_object_add(o, "status", json_object_new_string("succeeded"));
	json_object_object_add(o, "created_at", json_object_new_string(now));
	http_json(res, 201, o);
}
