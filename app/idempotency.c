/* idempotency.c — Idempotency-Key handling for every idempotent POST.
 *
 * A request passes, in order: key present and well-formed (400), JSON
 * content type (415), size (413), body parses and fills the route's typed
 * struct (400). None of those is stored, so a corrected retry may reuse
 * the key. A key already stored is answered from a plain read, without
 * the writer: replay (same fingerprint), 422 (different fingerprint) or
 * 409 (in progress; a payment whose lease ran out is resumed instead).
 * Otherwise, after the route's before_claim step if it has one
 * (router.h), the request becomes a job of the writer (writer.h): in its
 * group's transaction it claims the key (insert first, look only on
 * conflict), runs the handler, stores the response; the answer is
 * released after the group's COMMIT. A route with phases (phases.h) runs
 * them instead, in several jobs. The checks before the lookup are in
 * idem_key.c. */
#include <stdio.h>
#include <string.h>

#include <unistd.h>

#include "handlers.h"
#include "idempotency.h"
#include "log.h"
#include "phases.h"

/* Expired keys deleted per transaction: a few milliseconds of work, so a
 * request queued behind a sweep barely notices (see idem_housekeeping). */
#define SWEEP_BATCH	200

static long	 ttl = IDEM_TTL_DEFAULT;
static int	 busy_ms = 5000;

void
idem_configure(long ttl_seconds, int busy_timeout_ms)
{
	ttl = ttl_seconds;
	busy_ms = busy_timeout_ms;
}

int
idem_busy_ms(void)
{
	return busy_ms;
}

/* Answers a processing key: 409 for as long as its lease lasts. */
static void
reply_in_progress(struct response *res, const char *lease_until, time_t now)
{
	time_t	 until;
	long	 wait = 1;

	if (time_parse_rfc3339(lease_until, &until) == 0 && until - now > 1)
		wait = (long)(until - now);
	res->outcome = "in-progress";
	http_problem(res, PROBLEM_KEY_IN_PROGRESS, "The first request with "
	    "Idempotency-Key \"%s\" has not finished. Retry the same request "
	    "after Retry-After seconds to get its answer.", res->key);
	http_header(res, "Retry-After", "%ld", wait);
}

/* Answers from the stored row in st (columns of STMT_KEY_SELECT):
 * IDEM_ANSWERED, IDEM_NEW when the row has expired, or IDEM_RESUME for a
 * processing key whose lease has run out (its id in *resume_id). */
static enum idem_found
answer_stored(struct stmt *st, const struct request *req, const char *fp,
    int64_t *resume_id, struct response *res)
{
	const char	*lease = col_text(st, 7);	/* "": none */
	const void	*body;
	size_t		 len;
	int		 completed = strcmp(col_text(st, 1), "completed") == 0;

	if (completed && strcmp(col_text(st, 5), req->now_text) <= 0) {
		res->outcome = "new-expired";
		return IDEM_NEW;
	}
	if (strcmp(col_text(st, 0), fp) != 0) {
		res->outcome = "mismatch";
		http_problem(res, PROBLEM_KEY_REUSED, "Idempotency-Key \"%s\" "
		    "was first sent with a different body. A retry must repeat "
		    "the original request exactly; a new request needs a new "
		    "key. Nothing was written.", res->key);
		return IDEM_ANSWERED;
	}
	if (!completed) {
		/* No lease: a single-phase claim, which is never seen
		 * committed. */
		if (*lease != '\0' && strcmp(lease, req->now_text) <= 0) {
			*resume_id = col_int(st, 6);
			return IDEM_RESUME;
		}
		reply_in_progress(res, lease, req->now);
		return IDEM_ANSWERED;
	}
	res->outcome = "replayed";
	res->status = (int)col_int(st, 2);
	buf_reset(&res->headers);
	buf_puts(&res->headers, col_text(st, 3));
	buf_puts(&res->headers, "Idempotent-Replayed: true\r\n");
	buf_reset(&res->body);
	body = col_blob(st, 4, &len);
	buf_append(&res->body, body, len);
	return IDEM_ANSWERED;
}

enum idem_found
idem_lookup(struct db *db, const struct request *req, const char *op,
    const char *fp, int64_t *resume_id, struct response *res)
{
	struct stmt	*st = db_stmt(db, STMT_KEY_SELECT);
	enum db_rc	 rc;
	enum idem_found	 found;

	stmt_int(st, 1, req->user.id);
	stmt_text(st, 2, op);
	stmt_text(st, 3, res->key);
	if ((rc = stmt_step(st)) == DB_ROW)
		found = answer_stored(st, req, fp, resume_id, res);
	else
		found = rc == DB_DONE ? IDEM_NEW : rc == DB_BUSY ||
		    rc == DB_GONE ? IDEM_BUSY : IDEM_FAILED;
	stmt_reset(st);
	return found;
}

int64_t
idem_claim(struct db *db, const struct request *req, const char *op,
    const char *fp, const char *key, const struct idem_lease *lease)
{
	struct stmt	*st = db_stmt(db, STMT_KEY_CLAIM);
	char		 expires[21];
	enum db_rc	 rc;
	int64_t		 id = -1;

	time_rfc3339(req->now + ttl, expires);
	stmt_int(st, 1, req->user.id);
	stmt_text(st, 2, op);
	stmt_text(st, 3, key);
	stmt_text(st, 4, fp);
	stmt_text(st, 5, req->now_text);
	stmt_text(st, 6, expires);
	stmt_text(st, 7, lease ? lease->point : NULL);
	stmt_blob(st, 8, lease ? req->body : NULL, lease ? req->body_len : 0);
	stmt_text(st, 9, lease ? lease->owner : NULL);
	stmt_text(st, 10, lease ? lease->until : NULL);
	if ((rc = stmt_step(st)) == DB_ROW)
		id = col_int(st, 0);
	else if (rc == DB_DONE)
		id = 0;
	stmt_reset(st);
	return id;
}

int64_t
idem_undo_and_claim(struct db *db, const struct request *req, const char *op,
    const char *fp, const char *key, const struct idem_lease *lease)
{
	if (db_tx_lost(db) || db_tx(db, STMT_ROLLBACK_TO_JOB) != DB_DONE)
		return -1;
	return idem_claim(db, req, op, fp, key, lease);
}

int
idem_store(struct db *db, int64_t id, const struct response *res,
    time_t now, const char *point)
{
	struct stmt	*st = db_stmt(db, STMT_KEY_STORE);
	char		 expires[21];

	time_rfc3339(now + ttl, expires);
	stmt_int(st, 1, res->status);
	stmt_text(st, 2, res->headers.len ? res->headers.data : "");
	stmt_blob(st, 3, res->body.data, res->body.len);
	stmt_text(st, 4, expires);
	stmt_text(st, 5, point);
	stmt_int(st, 6, id);
	return stmt_exec(st) == DB_DONE ? 0 : -1;
}

static void
reply_failed(struct response *res)
{
	res->outcome = "failed";
	http_problem(res, PROBLEM_INTERNAL_ERROR, "The request failed and was "
	    "rolled back; nothing was written. Retrying with the same key is "
	    "safe.");
}

/* What the writer runs for one request: the key's claim, the handler and
 * the stored response, inside the group's transaction. */
struct idem_job {
	const struct route	*route;
	struct request		*req;
	const char		*fp;
	struct response		*res;
};

/* A write_fn (writer.h). Returns 0 to keep what it wrote, -1 to have it
 * rolled back: a 5xx is never stored. */
static int
idem_write(struct db *db, void *arg)
{
	struct idem_job		*j = arg;
	struct response		*res = j->res;
	int64_t			 id, resume_id;


	if ((id = idem_claim(db, j->req, j->route->operation, j->fp, res->key,
	    NULL)) == 0) {
		/* A live row: a duplicate committed it first, or wrote it
		 * earlier in this group. Answer from it. */
		if (idem_lookup(db, j->req, j->route->operation, j->fp,
		    &resume_id, res) != IDEM_ANSWERED) {
			reply_failed(res);
			return -1;
		}
		return 0;
	}
	if (id == -1) {
		reply_failed(res);
		return -1;
	}
	j->route->handler(db, j->req, res);
	/* A refusal is stored alone: its writes undone, the key claimed
	 * again. If that fails, the refusal is not the answer. */
	if (res->status >= 400 && res->status < 500 &&
	    (id = idem_undo_and_claim(db, j->req, j->route->operation, j->fp,
	    res->key, NULL)) <= 0) {
		reply_failed(res);
		return -1;
	}
	if (res->status < 200 || res->status >= 500 || db_tx_lost(db) ||
	    idem_store(db, id, res, j->req->now, NULL) == -1) {
		if (res->status < 500)
			reply_failed(res);
		res->outcome = "failed";
		return -1;
	}
	res->stored = 1;
	return 0;
}

/* The disk is full: 507 with a Retry-After, and as much as is known. */
static void
reply_full(struct response *res, int unknown)
{
	res->outcome = "full";
	http_problem(res, PROBLEM_INSUFFICIENT_STORAGE, "The database's disk "
	    "is full, so this request could not be saved%s. Retry the same "
	    "request with the same key after Retry-After seconds%s.", unknown ?
	    " and whether any of it was is unknown" : "; it was rolled back and "
	    "nothing was written", unknown ? ": if it was saved you get its "
	    "stored answer" : "");
	http_header(res, "Retry-After", "10");
}

static void
reply_busy(struct response *res)
{
	res->outcome = "busy";
	http_problem(res, PROBLEM_SERVICE_BUSY, "The database is busy. Nothing "
	    "was written; retry the same request with the same key.");
	http_header(res, "Retry-After", "1");
}

/* The database server cannot be reached (DB_GONE): 503 with Retry-After,
 * and whether anything was written, when a COMMIT was lost. */
static void
reply_gone(struct response *res, int unknown)
{
	res->outcome = unknown ? "unknown" : "busy";
	http_problem(res, PROBLEM_SERVICE_BUSY, "The connection to the "
	    "database was lost%s. Retry the same request with the same key "
	    "after Retry-After seconds%s.", unknown ? " while this request was "
	    "being saved, so whether it was saved is unknown" : "; nothing was "
	    "written", unknown ? ": if it was saved you get its stored answer, "
	    "if not it runs then" : "");
	http_header(res, "Retry-After", "1");
}

/* Sets res from the writer's outcome for job: as its run left it when it
 * committed or rolled itself back (WRITE_UNDONE), else what is known of
 * what was written (and a full disk says so whatever happened). */
static void
reply_outcome(const struct write_job *job, struct response *res)
{
	switch (job->result) {
	case WRITE_COMMITTED:
	case WRITE_UNDONE:	/* its run set the answer */
		break;
	case WRITE_BUSY:
		reply_busy(res);
		break;
	case WRITE_FAILED:
		reply_failed(res);
		break;
	case WRITE_UNKNOWN:
		res->outcome = "unknown";
		http_problem(res, PROBLEM_INTERNAL_ERROR, "The database failed "
		    "while saving this request, so whether it was saved is "
		    "unknown. Retry the same request with the same key: if it "
		    "was saved you get its stored answer, if not it runs now.");
		break;
	}
	if (job->fault == DB_FULL && job->result != WRITE_COMMITTED)
		reply_full(res, job->result == WRITE_UNKNOWN);
	if (job->fault == DB_GONE && job->result != WRITE_COMMITTED)
		reply_gone(res, job->result == WRITE_UNKNOWN);
}

int
idem_write_or_reply(struct writer *w, struct write_job *job,
    struct response *res)
{
	writer_submit(w, job, busy_ms);
	reply_outcome(job, res);
	return job->result == WRITE_COMMITTED ? 0 : -1;
}

void
idem_run(struct db *db, struct writer *w, const struct route *r,
    struct request *req, struct response *res)
{
	struct json_object	*json = NULL;
	struct idem_job		 j = { r, req, NULL, res };
	struct write_job	 job = { .run = idem_write, .arg = &j };
	char			 fp[65];
	const char		*fresh;
	int64_t			 queued, resume_id = 0;

	res->operation = r->operation;
	res->outcome = "rejected";
	if (idem_request_ok_or_reply(r, req, &json, res) == -1) {
		json_object_put(json);
		return;
	}
	idem_fingerprint(json, fp);
	json_object_put(json);
	j.fp = fp;

	/* A stored key needs no writer: answer it from a plain read. */
	switch (idem_lookup(db, req, r->operation, fp, &resume_id, res)) {
	case IDEM_ANSWERED:
		return;
	case IDEM_NEW:
	case IDEM_RESUME:	/* a processing key to take over */
		break;
	case IDEM_BUSY:
		reply_busy(res);
		return;
	case IDEM_FAILED:
		reply_failed(res);
		return;
	}

	db_tx(db, STMT_ROLLBACK);	/* no read snapshot held while waiting */
	fresh = resume_id ? "resumed" : strcmp(res->outcome, "new-expired") ==
	    0 ? res->outcome : "new";
	if (r->before_claim != NULL) {
		res->outcome = "not-stored";	/* unless its own write fails */
		if (r->before_claim(db, w, req, res) == -1)
			return;
	}
	res->outcome = fresh;
	if (r->phased != NULL) {
		phases_run(db, w, r, req, fp, resume_id, res);
		return;
	}
	queued = time_usec();
	writer_submit(w, &job, busy_ms);
	reply_outcome(&job, res);
	if (job.result != WRITE_COMMITTED) {
		res->delay_ms = 0;	/* only a committed answer is held */
		res->stored = 0;
	}
	res->wait_us = time_usec() - queued;
	res->group = job.group;
}

/* Deletes up to SWEEP_BATCH expired keys. Returns how many, or -1. */
static int64_t
sweep_batch(struct db *db, time_t now)
{
	struct stmt	*st = db_stmt(db, STMT_KEYS_SWEEP);
	char		 when[21];

	time_rfc3339(now, when);
	stmt_text(st, 1, when);
	stmt_int(st, 2, SWEEP_BATCH);
	return stmt_exec(st) == DB_DONE ? db_changes(db) : -1;
}

int
idem_housekeeping(struct db *db, time_t now)
{
	int64_t	 n = sweep_batch(db, now);

	return n == -1 ? -1 : n == SWEEP_BATCH;
}

long
idem_sweep(struct db *db)
{
	int64_t	 n;
	long	 total = 0;

	do {
		if (db_tx(db, STMT_BEGIN_IMMEDIATE) != DB_DONE)
			return -1;
		if ((n = sweep_batch(db, time(NULL))) == -1 ||
		    db_tx(db, STMT_COMMIT) != DB_DONE) {
			db_tx(db, STMT_ROLLBACK);
			return -1;
		}
		total += n;
		/* Beside a running server, leave its writer a gap. */
		if (n == SWEEP_BATCH)
			usleep(5000);
	} while (n == SWEEP_BATCH);
	return total;
}
