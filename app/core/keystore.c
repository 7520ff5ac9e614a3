/* keystore.c — the rules on a stored key, and the database store: the
 * table idempotency_keys (keystore.h). */
#include <string.h>

#include <unistd.h>

#include "keystore.h"
#include "replay_cache.h"

/* Expired keys deleted per transaction: a few milliseconds of work, so a
 * request queued behind a sweep barely notices (keystore_housekeeping). */
#define SWEEP_BATCH	200

static long	 ttl = KEY_TTL_DEFAULT;
static const struct key_store *single = &keystore_db;

void
keystore_configure(long ttl_seconds)
{
	ttl = ttl_seconds;
}

long
keystore_ttl(void)
{
	return ttl;
}

void
keystore_use(const struct key_store *s)
{
	single = s;
}

const struct key_store *
keystore_for(int phased)
{
	return phased ? &keystore_db : single;
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
	http_problem_retry(res, &problem_key_in_progress, wait, "The first "
	    "request with Idempotency-Key \"%s\" has not finished. Retry the "
	    "same request after Retry-After seconds to get its answer.",
	    res->key);
}

enum key_found
keystore_answer(const struct key_row *k, const struct request *req,
    const char *fp, int64_t *resume_id, struct response *res)
{
	if (k->completed && strcmp(k->expires_at, req->now_text) <= 0) {
		res->outcome = "new-expired";
		return KEY_NEW;
	}
	if (strcmp(k->fingerprint, fp) != 0) {
		res->outcome = "mismatch";
		http_problem(res, &problem_key_reused, "Idempotency-Key \"%s\" "
		    "was first sent with a different body. A retry must repeat "
		    "the original request exactly; a new request needs a new "
		    "key. Nothing was written.", res->key);
		return KEY_ANSWERED;
	}
	if (!k->completed) {
		/* No lease: a single-phase claim, which the database store
		 * never shows committed. */
		if (*k->lease_until != '\0' &&
		    strcmp(k->lease_until, req->now_text) <= 0) {
			*resume_id = k->id;
			return KEY_RESUME;
		}
		/* From now, not from its arrival: the lease may be younger. */
		reply_in_progress(res, k->lease_until, time(NULL));
		return KEY_ANSWERED;
	}
	res->outcome = "replayed";
	res->status = k->status;
	buf_reset(&res->headers);
	buf_puts(&res->headers, k->headers);
	buf_puts(&res->headers, "Idempotent-Replayed: true\r\n");
	buf_reset(&res->body);
	buf_append(&res->body, k->body, k->body_len);
	return KEY_ANSWERED;
}

struct key_row
keystore_row_of(const struct response *res, const char *fp,
    const char *expires_at)
{
	return (struct key_row){ .fingerprint = fp, .completed = 1,
	    .expires_at = expires_at, .lease_until = "", .status = res->status,
	    .headers = res->headers.data ? res->headers.data : "",
	    .body = res->body.data, .body_len = res->body.len };
}

enum key_found
keystore_select(struct stmt *st, const struct request *req, const char *op,
    const char *fp, int64_t *resume_id, struct response *res, int cache)
{
	struct key_row	 k;
	enum db_rc	 rc;
	enum key_found	 found;

	stmt_int(st, 1, req->user.id);
	stmt_text(st, 2, op);
	stmt_text(st, 3, res->key);
	if ((rc = stmt_step(st)) == DB_ROW) {
		k = (struct key_row){ .fingerprint = col_text(st, 0),
		    .completed = strcmp(col_text(st, 1), "completed") == 0,
		    .status = (int)col_int(st, 2), .headers = col_text(st, 3),
		    .expires_at = col_text(st, 5), .id = col_int(st, 6),
		    .lease_until = col_text(st, 7) };
		k.body = col_blob(st, 4, &k.body_len);
		found = keystore_answer(&k, req, fp, resume_id, res);
		if (cache && found == KEY_ANSWERED && k.completed &&
		    strcmp(k.fingerprint, fp) == 0)	/* a replay */
			replay_cache_put(req, op, res->key, &k);
	} else
		found = rc == DB_DONE ? KEY_NEW : rc == DB_BUSY ||
		    rc == DB_GONE ? KEY_BUSY : KEY_FAILED;
	stmt_reset(st);
	return found;
}

static enum key_found
db_lookup(struct db *db, const struct request *req, const char *op,
    const char *fp, int64_t *resume_id, struct response *res)
{
	/* Inside the writer's transaction (a duplicate found by its claim),
	 * the row may be one its group wrote: not committed, perhaps never
	 * to be. Only committed answers go in the replay cache. */
	return keystore_select(db_stmt(db, STMT_KEY_SELECT), req, op, fp,
	    resume_id, res, !db_writing(db));
}

void
keystore_bind_new(struct stmt *st, const struct request *req,
    const char *op, const char *key, const char *fp, char expires[21])
{
	time_rfc3339(req->now + ttl, expires);
	stmt_int(st, 1, req->user.id);
	stmt_text(st, 2, op);
	stmt_text(st, 3, key);
	stmt_text(st, 4, fp);
	stmt_text(st, 5, req->now_text);
	stmt_text(st, 6, expires);
}

/* STMT_KEY_CLAIM with its values bound; expires is its buffer. */
static struct stmt *
claim_bound(struct db *db, const struct request *req, const char *op,
    const char *fp, const char *key, const struct key_lease *lease,
    char expires[21])
{
	struct stmt	*st = db_stmt(db, STMT_KEY_CLAIM);

	keystore_bind_new(st, req, op, key, fp, expires);
	stmt_text(st, 7, lease ? lease->point : NULL);
	stmt_blob(st, 8, lease ? req->body : NULL, lease ? req->body_len : 0);
	stmt_text(st, 9, lease ? lease->owner : NULL);
	stmt_text(st, 10, lease ? lease->until : NULL);
	return st;
}

static int64_t
db_claimed(struct stmt *st)
{
	enum db_rc	 rc;
	int64_t		 id = -1;

	if ((rc = stmt_step(st)) == DB_ROW)
		id = col_int(st, 0);
	else if (rc == DB_DONE)
		id = 0;
	stmt_reset(st);
	return id;
}

static int64_t
db_claim(struct db *db, const struct request *req, const char *op,
    const char *fp, const char *key, const struct key_lease *lease)
{
	char	 expires[21];

	return db_claimed(claim_bound(db, req, op, fp, key, lease, expires));
}

static struct stmt *
db_claim_send(struct db *db, const struct request *req, const char *op,
    const char *fp, const char *key)
{
	char		 expires[21];
	struct stmt	*st = claim_bound(db, req, op, fp, key, NULL, expires);

	stmt_send(st);		/* its values are used now */
	return st;
}

static int64_t
db_reclaim(struct db *db, const struct request *req, const char *op,
    const char *fp, const char *key, const struct key_lease *lease)
{
	if (db_tx_lost(db) || db_tx(db, STMT_ROLLBACK_TO_JOB) != DB_DONE)
		return -1;
	return db_claim(db, req, op, fp, key, lease);
}

static int
db_store(struct db *db, int64_t id, const struct response *res,
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
	return stmt_exec_later(st) == DB_DONE ? 0 : -1;
}

/* Deletes up to SWEEP_BATCH expired keys with statement id (expired
 * before ?, at most ? of them). Returns how many, or -1. */
static int64_t
sweep_batch(struct db *db, int id, time_t now)
{
	struct stmt	*st = db_stmt(db, id);
	char		 when[21];

	time_rfc3339(now, when);
	stmt_text(st, 1, when);
	stmt_int(st, 2, SWEEP_BATCH);
	return stmt_exec(st) == DB_DONE ? db_changes(db) : -1;
}

int
keystore_expire_with(struct db *db, int id, time_t now)
{
	int64_t	 n = sweep_batch(db, id, now);

	return n == -1 ? -1 : n == SWEEP_BATCH;
}

static int
db_expire(struct db *db, time_t now)
{
	return keystore_expire_with(db, STMT_KEYS_SWEEP, now);
}

const struct key_store keystore_db = {
	.name = "database",
	.lookup = db_lookup,
	.claim = db_claim,
	.claim_send = db_claim_send,
	.claimed = db_claimed,
	.reclaim = db_reclaim,
	.store = db_store,
	.expire = db_expire,
};

int
keystore_housekeeping(struct db *db, time_t now)
{
	int	 more = db_expire(db, now), lesson;

	if (single != &keystore_db && more != -1 &&
	    (lesson = single->expire(db, now)) != 0)
		more = lesson;
	return more;
}

long
keystore_sweep(struct db *db)
{
	int64_t	 n;
	long	 total = 0;

	do {
		if (db_tx(db, STMT_BEGIN_IMMEDIATE) != DB_DONE)
			return -1;
		if ((n = sweep_batch(db, STMT_KEYS_SWEEP, time(NULL))) == -1 ||
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
