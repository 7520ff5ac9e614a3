/* charges.c — paysim's handlers: POST /paysim/v1/charges, which charges a
 * test card exactly once per Idempotency-Key, and GET /paysim/v1/charges,
 * the ledger that shows it. The test cards act out what a real provider
 * does on a bad day (see README, "paysim"); main.c routes to these. */
#include <stdio.h>
#include <string.h>

#include "paysim.h"
#include "job.h"

#define LEDGER_MAX	1000	/* charges one GET shows */

const struct problem_type problem_card_declined = {
	.name = "card-declined", .status = 402,
	.title = "The card was declined" };

const struct problem_type *const paysim_problems[] = {
	&problem_card_declined,
	NULL,
};


struct charge_in {
	int64_t	 amount;
	char	 currency[9];
	char	 card[33];
	char	 reference[65];
};

/* Every member the body must have; anything else is a 400. */
static const struct field charge_fields[] = {
	F_INT(struct charge_in, amount, 1, 999999999999999),
	F_STRING(struct charge_in, currency, 1, 8),
	F_STRING(struct charge_in, card, 1, 32),
	F_STRING(struct charge_in, reference, 1, 64),
	F_END,
};

const struct body_type charge_body = {
	charge_fields, sizeof(struct charge_in)
};

enum card {
	CARD_OK,	/* charged */
	CARD_DECLINED,	/* 402, stored; nothing charged */
	CARD_SLOW,	/* charged; answered slow_ms after the commit */
	CARD_LOST,	/* charged; answered lost_ms after: the caller gave up */
	CARD_FLAKY,	/* 500 on a key's first attempt, nothing charged */
	CARD__MAX
};

static const char *const card_names[CARD__MAX] = {
	[CARD_OK] = "tok_ok",
	[CARD_DECLINED] = "tok_declined",
	[CARD_SLOW] = "tok_slow",
	[CARD_LOST] = "tok_lost",
	[CARD_FLAKY] = "tok_flaky",
};

static int	 slow_ms = 2000, lost_ms = 8000;

void
charges_configure(int slow, int lost)
{
	slow_ms = slow;
	lost_ms = lost;
}

/* Returns the test card called name, or CARD__MAX if there is none. */
static enum card
card_find(const char *name)
{
	int	 c;

	for (c = 0; c < CARD__MAX; c++)
		if (strcmp(card_names[c], name) == 0)
			break;
	return (enum card)c;
}

static void
reply_failed(struct response *res)
{
	http_problem(res, &problem_internal_error, "The charge could not be "
	    "read or written; see paysim's log. Nothing was charged.");
}

/* A declined card, or one paysim does not know (a real network declines
 * those too): a business answer, stored under the key. */
static void
reply_declined(struct response *res, const char *card, int known)
{
	if (known)
		http_problem(res, &problem_card_declined, "The card %s was "
		    "declined. Nothing was charged. This answer is stored "
		    "under your key: another card needs a new key.", card);
	else
		http_problem(res, &problem_card_declined, "paysim has no test "
		    "card \"%s\" (it has tok_ok, tok_declined, tok_slow, "
		    "tok_lost and tok_flaky), so it was declined. Nothing was "
		    "charged. This answer is stored under your key: another "
		    "card needs a new key.", card);
}

void
charges_create(struct db *db, const struct request *req, struct response *res)
{
	const struct charge_in	*in = req->in;
	enum card		 card = card_find(in->card);
	struct stmt		*st;
	struct json_object	*charge;

	if (card == CARD_DECLINED || card == CARD__MAX) {
		reply_declined(res, in->card, card == CARD_DECLINED);
		return;
	}
	st = db_stmt(db, STMT_CHARGE_INSERT);
	stmt_int(st, 1, in->amount);
	stmt_text(st, 2, in->currency);
	stmt_text(st, 3, in->card);
	stmt_text(st, 4, in->reference);
	/* The key the charge is made under, kept for whoever reads the
	 * ledger; nothing here acts on it (the idempotency layer does). */
	stmt_text(st, 5, res->key);
	stmt_text(st, 6, req->now_text);
	if (stmt_step(st) != DB_ROW) {
		stmt_reset(st);
		reply_failed(res);
		return;
	}
	charge = stmt_json_row(st);	/* as the ledger shows it */
	stmt_reset(st);
	http_json(res, 201, charge);
	/* Held after the commit, in the request thread (http.h): the
	 * charge is made whether or not the caller waits for the answer. */
	if (card == CARD_SLOW)
		res->delay_ms = slow_ms;
	else if (card == CARD_LOST)
		res->delay_ms = lost_ms;
}

/* tok_flaky's attempt under one key, noted by the writer. */
struct flaky_attempt {
	const struct request	*req;
	struct response		*res;
	int			 first;	/* set: the key's first attempt */
};

/* A write_fn (writer.h): notes the attempt; only a key's first one
 * inserts a row. */
static int
flaky_note(struct db *db, void *arg)
{
	struct flaky_attempt	*a = arg;
	struct stmt		*st = db_stmt(db, STMT_FLAKY_ATTEMPT);
	enum db_rc		 rc;

	stmt_int(st, 1, a->req->user.id);
	stmt_text(st, 2, a->res->key);
	stmt_text(st, 3, a->req->now_text);
	rc = stmt_step(st);
	stmt_reset(st);
	if (rc != DB_ROW && rc != DB_DONE) {
		reply_failed(a->res);
		return -1;
	}
	a->first = rc == DB_ROW;
	return 0;
}

int
charges_before_claim(struct db *db, struct writer *w,
    const struct request *req, struct response *res)
{
	const struct charge_in	*in = req->in;
	struct flaky_attempt	 a = { req, res, 0 };
	struct write_job	 job = { .run = flaky_note, .arg = &a };

	(void)db;
	if (card_find(in->card) != CARD_FLAKY)
		return 0;
	/* Its own transaction: the 500 below rolls nothing back, and is
	 * not stored, so the retry comes back here and finds the row. */
	if (job_run_or_reply(w, &job, res) == -1)
		return -1;
	if (!a.first)
		return 0;
	http_problem(res, &problem_internal_error, "The card tok_flaky fails "
	    "the first attempt under each key, as a provider having a bad "
	    "moment does: nothing was charged and the key was not used. Retry "
	    "with the same key: the next attempt succeeds.");
	return -1;
}

void
charges_list(struct db *db, const struct request *req, struct response *res)
{
	struct json_object	*list;
	struct stmt		*st;
	char			 reference[65];
	int			 n;

	n = http_query_text(req, "reference", reference, sizeof(reference));
	if (n == -1 || n == 0) {
		http_problem(res, &problem_invalid_parameter, "reference must "
		    "be 1 to 64 characters without control characters, "
		    "percent-encoded; without it the ledger shows the last "
		    "%d charges.", LEDGER_MAX);
		return;
	}
	if (n == -2)
		st = db_stmt(db, STMT_CHARGES_RECENT);
	else {
		st = db_stmt(db, STMT_CHARGES_OF_REFERENCE);
		stmt_text(st, 1, reference);
	}
	stmt_int(st, n == -2 ? 1 : 2, LEDGER_MAX);
	if ((list = stmt_json_rows(st)) == NULL) {
		reply_failed(res);
		return;
	}
	http_json_list(res, "charges", list);
}
