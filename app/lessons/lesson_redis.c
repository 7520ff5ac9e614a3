/* lesson_redis.c — ONCESHOP_LESSON=redis-store: the keys in Redis, beside
 * the database that holds the orders (redis.h: ONCESHOP_REDIS's Unix
 * socket). Claimed with SET ... NX PX, stored with SET ... XX PX, expired
 * by Redis itself: fast, shared by every host, and wrong in the way the
 * course names — "key recorded" (Redis) and "order written" (the database)
 * are two systems, never one transaction. A crash between the two leaves
 * a key that says processing with no order (the retry is refused until the
 * claim runs out), or one that says done with no order (the retry is
 * replayed an order that does not exist). ONCESHOP_LESSON_CRASH injects
 * those crashes. Redis away, the shop fails closed: 503, nothing written
 * (a business decision: taking the order without a key store would make
 * the duplicates the keys are there to stop). A lesson, never a store for
 * a real service (lesson.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lesson.h"
#include "log.h"
#include "redis.h"

/* A claim not stored within this long is given up by Redis itself. */
#define CLAIM_MS	10000

static enum lesson_crash crash;

/* The key each thread's job claimed. */
static _Thread_local char	 claimed[600], claimed_fp[65];
static _Thread_local int64_t	 claimed_id;
static _Thread_local int64_t	 seq;

void
lesson_redis_configure(enum lesson_crash c)
{
	crash = c;
}

static void
key_name(char *out, size_t n, int64_t user, const char *op, const char *key)
{
	snprintf(out, n, "onceshop:key:%lld:%s:%s", (long long)user, op, key);
}

/* The lesson's crash, if it is the one asked for at this point. */
static void
crash_at(enum lesson_crash at, const char *what)
{
	if (crash != at)
		return;
	log_error("LESSON redis-store: crashing %s, as ONCESHOP_LESSON_CRASH "
	    "asks", what);
	raise(SIGKILL);
}

/* A key's value: "P <fingerprint>" while processing; "C " and the answer
 * as redis_answer_put writes it once completed. */
static enum key_found
redis_lookup(struct db *db, const struct request *req, const char *op,
    const char *fp, int64_t *resume_id, struct response *res)
{
	struct key_row	 row = { .lease_until = "", .headers = "" };
	redisReply	*r;
	char		 name[600], fpbuf[65], *headers = NULL;
	enum key_found	 found = KEY_NEW;

	(void)db;
	key_name(name, sizeof(name), req->user.id, op, res->key);
	if ((r = redis_command("GET %s", name)) == NULL)
		return KEY_BUSY;	/* fail closed: nothing known */
	if (r->type == REDIS_REPLY_STRING) {
		if (r->len > 2 && r->str[0] == 'P' &&
		    sscanf(r->str, "P %64s", fpbuf) == 1) {
			row.fingerprint = fpbuf;
			found = keystore_answer(&row, req, fp, resume_id, res);
		} else if (r->len > 2 && r->str[0] == 'C' &&
		    redis_answer_get(r->str + 2, r->len - 2, &row, fpbuf,
		    &headers) == 0)
			found = keystore_answer(&row, req, fp, resume_id, res);
		else {
			log_error("redis: %s: a value this lesson did not "
			    "write", name);
			found = KEY_FAILED;
		}
	}
	free(headers);
	freeReplyObject(r);
	return found;
}

static int64_t
redis_claim(struct db *db, const struct request *req, const char *op,
    const char *fp, const char *key, const struct key_lease *lease)
{
	redisReply	*r;
	char		 value[80];
	int64_t		 id = 0;

	(void)db;
	(void)lease;		/* never in phases (keystore_for) */
	key_name(claimed, sizeof(claimed), req->user.id, op, key);
	snprintf(claimed_fp, sizeof(claimed_fp), "%s", fp);
	snprintf(value, sizeof(value), "P %s", fp);
	if ((r = redis_command("SET %s %s NX PX %d", claimed, value,
	    CLAIM_MS)) == NULL)
		return -1;
	if (r->type == REDIS_REPLY_STATUS)	/* OK: ours */
		id = claimed_id = ++seq;
	freeReplyObject(r);
	if (id > 0)
		crash_at(LESSON_CRASH_AFTER_CLAIM, "after the key was claimed "
		    "in Redis, before the order was written");
	return id;
}

static int64_t
redis_reclaim(struct db *db, const struct request *req, const char *op,
    const char *fp, const char *key, const struct key_lease *lease)
{
	(void)req;
	(void)op;
	(void)fp;
	(void)key;
	(void)lease;
	if (db_tx_lost(db) || db_tx(db, STMT_ROLLBACK_TO_JOB) != DB_DONE)
		return -1;
	return claimed_id;	/* Redis is not in the transaction */
}

static int
redis_store(struct db *db, int64_t id, const struct response *res,
    time_t now, const char *point)
{
	struct buf	 v = { 0 };
	struct key_row	 row;
	redisReply	*r;

	(void)db;
	(void)now;
	(void)point;
	if (id != claimed_id)
		return -1;
	buf_puts(&v, "C ");
	row = keystore_row_of(res, claimed_fp, "");	/* Redis expires it */
	redis_answer_put(&v, &row);
	r = redis_command("SET %s %b XX PX %lld", claimed, v.data, v.len,
	    (long long)keystore_ttl() * 1000);
	buf_free(&v);
	if (r == NULL)
		return -1;
	freeReplyObject(r);
	crash_at(LESSON_CRASH_AFTER_STORE, "after the answer was stored in "
	    "Redis, before the order's COMMIT");
	return 0;
}

static int
redis_expire(struct db *db, time_t now)
{
	(void)db;
	(void)now;
	return 0;	/* Redis expires its keys by itself (PX) */
}

const struct key_store lesson_redis_store = {
	.name = "redis-store",
	.lookup = redis_lookup,
	.claim = redis_claim,
	.reclaim = redis_reclaim,
	.store = redis_store,
	.expire = redis_expire,
};
