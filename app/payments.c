/* payments.c — POST /payments/confirm: pay one of the caller's orders,
 * exactly once. payments.order_id is UNIQUE as a second line of defence. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "handlers.h"

struct payment_in {
	int64_t	 order_id;
	int64_t	 amount;
	char	 currency[9];
};

static const struct field payment_fields[] = {
	F_INT(struct payment_in, order_id, 1, 999999999999999),
	F_INT(struct payment_in, amount, 0, 999999999999999),
	F_STRING(struct payment_in, currency, 1, 8),
	F_END,
};

const struct body_type payment_body = {
	payment_fields, sizeof(struct payment_in)
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

/* Checks that the caller's order exists, is unpaid and costs what the
 * payment says. Returns 0, or -1 with res set to the problem. */
static int
order_payable_or_reply(struct db *db, const struct request *req,
    const struct payment_in *in, struct response *res)
{
	struct stmt	*st = db_stmt(db, STMT_ORDER_FOR_PAYMENT);
	enum db_rc	 rc;
	int64_t		 total;
	char		 currency[9];
	int		 paid;

	stmt_int(st, 1, in->order_id);
	stmt_int(st, 2, req->user.id);
	if ((rc = stmt_step(st)) != DB_ROW) {
		stmt_reset(st);
		if (rc == DB_DONE)
			http_problem(res, PROBLEM_ORDER_NOT_FOUND, "You have no "
			    "order %" PRId64 ". GET /orders lists yours.",
			    in->order_id);
		else
			reply_failed(res);
		return -1;
	}
	paid = (int)col_int(st, 0);
	total = col_int(st, 1);
	snprintf(currency, sizeof(currency), "%s", col_text(st, 2));
	stmt_reset(st);

	if (paid) {
		reply_paid(res, in->order_id);
		return -1;
	}
	if (in->amount != total || strcmp(in->currency, currency) != 0) {
		http_problem(res, PROBLEM_AMOUNT_MISMATCH, "Order %" PRId64
		    " costs %" PRId64 " %s; the payment says %" PRId64 " %s. "
		    "Nothing was charged. This answer is stored under your "
		    "key: a corrected payment needs a new key.", in->order_id,
		    total, currency, in->amount, in->currency);
		return -1;
	}
	return 0;
}

void
payments_confirm(struct db *db, const struct request *req,
    struct response *res)
{
	const struct payment_in	*in = req->in;
	struct json_object	*o;
	struct stmt		*st;
	enum db_rc		 rc;
	int64_t			 id;

	if (order_payable_or_reply(db, req, in, res) == -1)
		return;
	st = db_stmt(db, STMT_PAYMENT_INSERT);
	stmt_int(st, 1, in->order_id);
	stmt_int(st, 2, in->amount);
	stmt_text(st, 3, in->currency);
	stmt_text(st, 4, req->now_text);
	rc = stmt_step(st);
	id = rc == DB_ROW ? col_int(st, 0) : 0;
	stmt_reset(st);
	if (rc != DB_ROW) {
		rc == DB_CONSTRAINT ? reply_paid(res, in->order_id) :
		    reply_failed(res);
		return;
	}
	st = db_stmt(db, STMT_ORDER_MARK_PAID);
	stmt_text(st, 1, req->now_text);
	stmt_int(st, 2, in->order_id);
	if (stmt_exec(st) != DB_DONE) {
		reply_failed(res);
		return;
	}
	o = json_object_new_object();
	/* json_object_object_add steals each new value's reference. */
	json_object_object_add(o, "id", json_object_new_int64(id));
	json_object_object_add(o, "order_id",
	    json_object_new_int64(in->order_id));
	json_object_object_add(o, "amount", json_object_new_int64(in->amount));
	json_object_object_add(o, "currency",
	    json_object_new_string(in->currency));
	json_object_object_add(o, "status", json_object_new_string("succeeded"));
	json_object_object_add(o, "created_at",
	    json_object_new_string(req->now_text));
	http_json(res, 201, o);
}
