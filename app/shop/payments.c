/* payments.c — POST /payments/confirm: pay one of the caller's orders
 * through the provider, in phases (phases.h), and GET /payments/{id}.
 *
 *   started          check the order; create the pending payment
 *   payment-created  ask the provider under the payment's own provider
 *                    key (again, on every resumption: it charges once)
 *   provider-answered  record succeeded or failed; answer 201 or 402
 *
 * No transaction is open while the provider is asked. At most one pending
 * or succeeded payment per order: checked here, and by a partial UNIQUE
 * index. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "shop.h"
#include "provider.h"

struct payment_in {
	int64_t	 order_id;
	int64_t	 amount;
	char	 currency[9];
	char	 card[33];
};

/* A provider charges at least 1 yen (paysim refuses 0, and a refusal that
 * never changes would leave the payment pending for ever). */
static const struct field payment_fields[] = {
	F_INT(struct payment_in, order_id, 1, 999999999999999),
	F_INT(struct payment_in, amount, 1, 999999999999999),
	F_STRING(struct payment_in, currency, 1, 8),
	F_STRING_OR(struct payment_in, card, 1, 32, "tok_ok"),
	F_END,
};

const struct body_type payment_body = {
	payment_fields, sizeof(struct payment_in)
};

/* What the phases of one run carry from one to the next. */
struct payment_state {
	int64_t			 order_id, amount;
	char			 currency[9], card[33], provider_key[65];
	char			 reference[32];
	struct charge_answer	 answer;
};

static void
reply_failed(struct response *res)
{
	http_problem(res, &problem_internal_error, "The payment could not be "
	    "read or written; see the server log. Retrying with the same key "
	    "is safe.");
}

/* Refuses a payment for an order that has one pending (payment pending,
 * or -1 if which is not known) or succeeded (pending 0). */
static void
reply_taken(struct response *res, int64_t order_id, int64_t pending)
{
	if (pending == -1)
		http_problem(res, &problem_payment_in_progress, "Another payment "
		    "of order %" PRId64 " is pending or has succeeded; "
		    "GET /orders/%" PRId64 " shows it. This answer is stored "
		    "under your key.", order_id, order_id);
	else if (pending == 0)
		http_problem(res, &problem_order_already_paid, "Order %" PRId64
		    " is already paid; it cannot be paid twice. GET /orders/%"
		    PRId64 " shows its payment. This answer is stored under "
		    "your key.", order_id, order_id);
	else
		http_problem(res, &problem_payment_in_progress, "Payment %"
		    PRId64 " of order %" PRId64 " is at the provider under "
		    "another Idempotency-Key. Retry that request with its own "
		    "key to finish it; GET /payments/%" PRId64 " shows it. This "
		    "answer is stored under your key.", pending, order_id,
		    pending);
}

/* Checks that the caller's order exists, is unpaid, has no payment in
 * progress and costs what the payment says. Returns 0, or -1 with res
 * set to the problem. */
static int
order_payable_or_reply(struct db *db, const struct request *req,
    const struct payment_in *in, struct response *res)
{
	struct stmt	*st = db_stmt(db, STMT_ORDER_FOR_PAYMENT);
	enum db_rc	 rc;
	int64_t		 total, pending;
	char		 currency[9];
	int		 paid;

	stmt_int(st, 1, in->order_id);
	stmt_int(st, 2, req->user.id);
	if ((rc = stmt_step(st)) != DB_ROW) {
		stmt_reset(st);
		if (rc == DB_DONE)
			http_problem(res, &problem_order_not_found, "You have no "
			    "order %" PRId64 ". GET /orders lists yours. This "
			    "answer is stored under your key.", in->order_id);
		else
			reply_failed(res);
		return -1;
	}
	paid = (int)col_int(st, 0);
	total = col_int(st, 1);
	snprintf(currency, sizeof(currency), "%s", col_text(st, 2));
	pending = col_int(st, 3);
	stmt_reset(st);

	if (paid || pending) {
		reply_taken(res, in->order_id, pending);
		return -1;
	}
	if (in->amount != total || strcmp(in->currency, currency) != 0) {
		http_problem(res, &problem_amount_mismatch, "Order %" PRId64
		    " costs %" PRId64 " %s; the payment says %" PRId64 " %s. "
		    "Nothing was charged. This answer is stored under your "
		    "key: a corrected payment needs a new key.", in->order_id,
		    total, currency, in->amount, in->currency);
		return -1;
	}
	return 0;
}

/* started: checks the order, creates the pending payment. */
static enum phase_rc
pay_create(struct db *db, struct phase_run *run)
{
	const struct payment_in	*in = run->req->in;
	struct stmt		*st;
	char			 key[65];
	enum db_rc		 rc;

	if (order_payable_or_reply(db, run->req, in, run->res) == -1)
		return PHASE_DONE;
	/* The provider's key for this payment, kept with it. Random, so
	 * that a fresh shop database never repeats an old payment's key
	 * at a provider that remembers it. */
	memcpy(key, "onceshop-", 9);
	if (random_hex(key + 9, 16) == -1) {
		reply_failed(run->res);
		return PHASE_LATER;
	}
	st = db_stmt(db, STMT_PAYMENT_INSERT);
	stmt_int(st, 1, in->order_id);
	stmt_int(st, 2, in->amount);
	stmt_text(st, 3, in->currency);
	stmt_text(st, 4, in->card);
	stmt_text(st, 5, key);
	stmt_text(st, 6, run->req->now_text);
	stmt_text(st, 7, run->req->now_text);
	if ((rc = stmt_step(st)) == DB_ROW)
		run->resource_id = col_int(st, 0);
	stmt_reset(st);
	if (rc == DB_ROW)
		return PHASE_NEXT;
	if (rc == DB_CONSTRAINT) {	/* the partial UNIQUE index */
		reply_taken(run->res, in->order_id, -1);
		return PHASE_DONE;
	}
	reply_failed(run->res);
	return PHASE_LATER;
}

/* payment-created, local: reads the payment (again, on a resumption). */
static enum phase_rc
pay_load(struct db *db, struct phase_run *run)
{
	struct payment_state	*s = run->state;
	struct stmt		*st = db_stmt(db, STMT_PAYMENT_LOAD);
	enum db_rc		 rc;

	stmt_int(st, 1, run->resource_id);
	if ((rc = stmt_step(st)) == DB_ROW) {
		s->order_id = col_int(st, 0);
		s->amount = col_int(st, 1);
		snprintf(s->currency, sizeof(s->currency), "%s",
		    col_text(st, 2));
		snprintf(s->card, sizeof(s->card), "%s", col_text(st, 3));
		snprintf(s->provider_key, sizeof(s->provider_key), "%s",
		    col_text(st, 4));
		snprintf(s->reference, sizeof(s->reference), "payment-%"
		    PRId64, run->resource_id);
	}
	stmt_reset(st);
	if (rc == DB_ROW)
		return PHASE_NEXT;
	reply_failed(run->res);
	return PHASE_LATER;
}

/* payment-created, remote: asks the provider. */
static enum phase_rc
pay_charge(struct phase_run *run)
{
	struct payment_state		*s = run->state;
	const struct charge_request	 c = { s->provider_key, s->amount,
	    s->currency, s->card, s->reference };
	struct charge_answer		*a = &s->answer;
	int				 status, wait;

	provider_charge(&c, a);
	if (a->result == PROVIDER_CHARGED || a->result == PROVIDER_DECLINED)
		return PHASE_NEXT;
	status = a->result == PROVIDER_TIMEOUT ? 504 :
	    a->result == PROVIDER_UNREACHABLE ? 503 : 502;
	http_problem_ext(run->res, &problem_provider_unavailable, status,
	    NULL, "The payment provider was asked to charge payment %" PRId64
	    ", but %s. %s Payment %" PRId64 " stays pending. Retry the same "
	    "request with the same key after Retry-After seconds: the "
	    "provider is asked again under the same provider key, so it "
	    "charges at most once.", run->resource_id, a->why,
	    a->result == PROVIDER_UNREACHABLE ? "Nothing was charged." :
	    "Whether it charged is not known yet.", run->resource_id);
	wait = a->result == PROVIDER_UNREACHABLE ? 5 : 2;
	http_header(run->res, "Retry-After", "%d", a->retry_after > wait ?
	    a->retry_after : wait);
	run->retry_after = a->retry_after;
	snprintf(run->why, sizeof(run->why), "%s", a->why);
	return PHASE_LATER;
}

/* provider-answered: records the outcome and answers. */
static enum phase_rc
pay_record(struct db *db, struct phase_run *run)
{
	struct payment_state	*s = run->state;
	int			 charged = s->answer.result == PROVIDER_CHARGED;
	struct json_object	*payment, *ext;
	struct stmt		*st = db_stmt(db, STMT_PAYMENT_SETTLE);

	stmt_text(st, 1, charged ? "succeeded" : "failed");
	stmt_text(st, 2, charged ? s->answer.charge_id : NULL);
	stmt_text(st, 3, run->req->now_text);
	stmt_int(st, 4, run->resource_id);
	payment = stmt_step(st) == DB_ROW ? stmt_json_row(st) : NULL;
	stmt_reset(st);
	if (payment == NULL) {
		reply_failed(run->res);
		return PHASE_LATER;
	}
	if (!charged) {
		json_object_put(payment);
		ext = json_object_new_object();
		json_object_object_add(ext, "payment_id",
		    json_object_new_int64(run->resource_id));
		http_problem_ext(run->res, &problem_payment_declined, 0, ext,
		    "The provider declined the card "
		    "%s for payment %" PRId64 " of order %" PRId64 ": nothing "
		    "was charged, the payment failed and the order is still "
		    "unpaid. This answer is stored under your key: to pay with "
		    "another card, send a new key.", s->card, run->resource_id,
		    s->order_id);
		return PHASE_DONE;
	}
	st = db_stmt(db, STMT_ORDER_MARK_PAID);
	stmt_text(st, 1, run->req->now_text);
	stmt_int(st, 2, s->order_id);
	if (stmt_exec(st) != DB_DONE) {
		json_object_put(payment);
		reply_failed(run->res);
		return PHASE_LATER;
	}
	http_json(run->res, 201, payment);
	http_header(run->res, "Location", "/payments/%" PRId64,
	    run->resource_id);
	return PHASE_DONE;
}

static const struct phase phases[] = {
	{ "started", pay_create, NULL },
	{ "payment-created", pay_load, pay_charge },
	{ "provider-answered", pay_record, NULL },
	{ NULL, NULL, NULL },
};

const struct phased payment_phases = {
	phases, sizeof(struct payment_state)
};

void
payments_get(struct db *db, const struct request *req, struct response *res)
{
	struct stmt		*st = db_stmt(db, STMT_PAYMENT_OF_USER);
	struct json_object	*payment = NULL;
	enum db_rc		 rc;

	stmt_int(st, 1, req->path_id);
	stmt_int(st, 2, req->user.id);
	if ((rc = stmt_step(st)) == DB_ROW)
		payment = stmt_json_row(st);
	stmt_reset(st);
	if (rc == DB_ROW)
		http_json(res, 200, payment);
	else if (rc == DB_DONE)
		http_problem(res, &problem_not_found, "You have no payment %"
		    PRId64 ". GET /orders/{id} names an order's payment.",
		    req->path_id);
	else
		http_problem(res, &problem_internal_error, "The payment could "
		    "not be read; see the server log.");
}
