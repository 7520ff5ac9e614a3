/* lesson_memory.c — ONCESHOP_LESSON=memory-store: the keys in this
 * process's memory, a hash table with a TTL. Fast, and wrong in two ways
 * the course names: a restart forgets every key (the retry after it makes
 * a second order), and each server has its own (with make cluster, a copy
 * to each host makes two orders). Beside that, "key recorded" is no longer
 * in the transaction of "order written": a COMMIT that fails after the
 * answer was stored here leaves a replay of an order that does not exist.
 * A lesson, never a store for a real service (lesson.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lesson.h"

#define BUCKETS		4096	/* a power of two: ids carry their bucket */
/* A claim not stored within this long (its job was rolled back, or the
 * process is stuck) is given up: without it the key would answer 409 for
 * ever. The database store needs none: a rolled-back claim is gone. */
#define CLAIM_S		10

struct mem_key {
	struct mem_key	*next;
	int64_t		 id, user;
	char		*op, *key, *fp;
	int		 completed, status;
	char		*headers, *body;
	size_t		 body_len;
	char		 until[21];	/* completed: expires; else the claim
					 * is given up */
};

static struct mem_key	*table[BUCKETS];
static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t		 seq;
static size_t		 cursor;	/* the next bucket mem_expire looks at */

static size_t
bucket_of(int64_t user, const char *op, const char *key)
{
	uint64_t	 h = 1469598103934665603ULL ^ (uint64_t)user;

	for (; *op != '\0'; op++)
		h = (h ^ (unsigned char)*op) * 1099511628211ULL;
	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ULL;
	return (size_t)(h & (BUCKETS - 1));
}

/* The key's entry, or NULL; called with lock held. */
static struct mem_key *
find(int64_t user, const char *op, const char *key)
{
	struct mem_key	*k;

	for (k = table[bucket_of(user, op, key)]; k != NULL; k = k->next)
		if (k->user == user && strcmp(k->op, op) == 0 &&
		    strcmp(k->key, key) == 0)
			return k;
	return NULL;
}

static void
forget_answer(struct mem_key *k)
{
	free(k->headers);
	free(k->body);
	k->headers = k->body = NULL;
	k->body_len = 0;
	k->completed = 0;
}

/* 1 if k has run out at now: a completed key expired, a claim given up. */
static int
gone(const struct mem_key *k, const char *now)
{
	return strcmp(k->until, now) <= 0;
}

static enum key_found
mem_lookup(struct db *db, const struct request *req, const char *op,
    const char *fp, int64_t *resume_id, struct response *res)
{
	struct mem_key	*k;
	struct key_row	 row;
	enum key_found	 found = KEY_NEW;

	(void)db;
	pthread_mutex_lock(&lock);
	if ((k = find(req->user.id, op, res->key)) != NULL &&
	    !gone(k, req->now_text)) {
		row = (struct key_row){ .fingerprint = k->fp,
		    .completed = k->completed, .expires_at = k->until,
		    .lease_until = k->completed ? "" : k->until, .id = k->id,
		    .status = k->status, .headers = k->headers ? k->headers :
		    "", .body = k->body, .body_len = k->body_len };
		found = keystore_answer(&row, req, fp, resume_id, res);
	}
	pthread_mutex_unlock(&lock);
	return found;
}

static int64_t
mem_claim(struct db *db, const struct request *req, const char *op,
    const char *fp, const char *key, const struct key_lease *lease)
{
	struct mem_key	*k;
	size_t		 b = bucket_of(req->user.id, op, key);
	int64_t		 id;

	(void)db;
	(void)lease;		/* never in phases (keystore_for) */
	pthread_mutex_lock(&lock);
	if ((k = find(req->user.id, op, key)) != NULL &&
	    !gone(k, req->now_text)) {
		pthread_mutex_unlock(&lock);
		return 0;	/* a live key */
	}
	if (k == NULL) {
		k = xmalloc(sizeof(*k));
		memset(k, 0, sizeof(*k));
		k->user = req->user.id;
		k->op = xstrdup(op);
		k->key = xstrdup(key);
		k->next = table[b];
		table[b] = k;
	} else {
		forget_answer(k);
		free(k->fp);
	}
	k->fp = xstrdup(fp);
	k->id = id = ++seq * BUCKETS + (int64_t)b;
	time_rfc3339(req->now + CLAIM_S, k->until);
	pthread_mutex_unlock(&lock);
	return id;
}

/* The entry claimed as id, or NULL; called with lock held. */
static struct mem_key *
find_id(int64_t id)
{
	struct mem_key	*k;

	for (k = table[id % BUCKETS]; k != NULL; k = k->next)
		if (k->id == id)
			return k;
	return NULL;
}

static int64_t
mem_reclaim(struct db *db, const struct request *req, const char *op,
    const char *fp, const char *key, const struct key_lease *lease)
{
	struct mem_key	*k;
	int64_t		 id = 0;

	(void)fp;
	(void)lease;
	if (db_tx_lost(db) || db_tx(db, STMT_ROLLBACK_TO_JOB) != DB_DONE)
		return -1;
	/* The claim is not in the transaction: it is still ours. */
	pthread_mutex_lock(&lock);
	if ((k = find(req->user.id, op, key)) != NULL)
		id = k->id;
	pthread_mutex_unlock(&lock);
	return id;
}

static int
mem_store(struct db *db, int64_t id, const struct response *res, time_t now,
    const char *point)
{
	struct mem_key	*k;

	(void)db;
	(void)point;
	pthread_mutex_lock(&lock);
	if ((k = find_id(id)) != NULL) {
		forget_answer(k);
		k->completed = 1;
		k->status = res->status;
		k->headers = xstrndup(res->headers.data ? res->headers.data : "",
		    res->headers.len);
		k->body = xmalloc(res->body.len + 1);
		memcpy(k->body, res->body.data, res->body.len);
		k->body_len = res->body.len;
		time_rfc3339(now + keystore_ttl(), k->until);
	}
	pthread_mutex_unlock(&lock);
	return k != NULL ? 0 : -1;
}

/* Forgets the keys that ran out in a few buckets, the next ones each time. */
static int
mem_expire(struct db *db, time_t now)
{
	struct mem_key	**p, *k;
	char		 now_text[21];
	size_t		 n;

	(void)db;
	time_rfc3339(now, now_text);
	pthread_mutex_lock(&lock);
	for (n = 0; n < 64; n++, cursor = (cursor + 1) % BUCKETS)
		for (p = &table[cursor]; (k = *p) != NULL; )
			if (gone(k, now_text)) {
				*p = k->next;
				forget_answer(k);
				free(k->op);
				free(k->key);
				free(k->fp);
				free(k);
			} else
				p = &k->next;
	pthread_mutex_unlock(&lock);
	return 0;
}

const struct key_store lesson_memory_store = {
	.name = "memory-store",
	.lookup = mem_lookup,
	.claim = mem_claim,
	.reclaim = mem_reclaim,
	.store = mem_store,
	.expire = mem_expire,
};
