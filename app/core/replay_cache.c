/* replay_cache.c — finished answers kept in this process's memory, or in
 * Redis (replay_cache.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keystore.h"
#include "redis.h"
#include "replay_cache.h"

static enum replay_cache	 kind = REPLAY_CACHE_OFF;

void
replay_cache_configure(enum replay_cache k)
{
	kind = k;
}

/* --- in memory: a fixed table, each key in the one slot its hash picks;
 * a newer answer takes the slot over. Bounded: SLOTS answers of at most
 * ANSWER_MAX bytes each (a bigger one is left to the database). --- */

#define SLOTS		4096
#define ANSWER_MAX	4096

struct slot {
	int64_t		 user;
	char		 op[32];
	char		 key[256];
	char		 fp[65];
	char		 expires_at[21];	/* RFC 3339, as the row's */
	int		 status;
	char		*answer;	/* headers, NUL, body; NULL: empty */
	size_t		 headers_len, body_len;
};

static struct slot	 slots[SLOTS];
static pthread_mutex_t	 slots_lock = PTHREAD_MUTEX_INITIALIZER;

static struct slot *
slot_of(int64_t user, const char *op, const char *key)
{
	uint64_t	 h = 14695981039346656037ULL ^ (uint64_t)user;
	const char	*p;

	for (p = op; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	for (p = key; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return &slots[h % SLOTS];
}

static int
memory_answer(const struct request *req, const char *op, const char *fp,
    struct response *res)
{
	struct slot	*s = slot_of(req->user.id, op, res->key);
	struct key_row	 row;
	int64_t		 unused;
	int		 hit = 0;

	pthread_mutex_lock(&slots_lock);
	/* Another body under the key: the database says so (422). An
	 * expired answer is not an answer: keystore_answer says KEY_NEW. */
	if (s->answer != NULL && s->user == req->user.id &&
	    strcmp(s->op, op) == 0 && strcmp(s->key, res->key) == 0 &&
	    strcmp(s->fp, fp) == 0) {
		row = (struct key_row){ .fingerprint = s->fp, .completed = 1,
		    .expires_at = s->expires_at, .lease_until = "",
		    .status = s->status, .headers = s->answer,
		    .body = s->answer + s->headers_len + 1,
		    .body_len = s->body_len };
		hit = keystore_answer(&row, req, fp, &unused, res) ==
		    KEY_ANSWERED;
	}
	pthread_mutex_unlock(&slots_lock);
	return hit;
}

static void
memory_put(const struct request *req, const char *op, const char *key,
    const struct key_row *row)
{
	size_t		 hl = strlen(row->headers), bl = row->body_len;
	struct slot	*s;
	char		*answer;

	if (hl + bl > ANSWER_MAX || strlen(op) >= sizeof(s->op) ||
	    strlen(row->expires_at) >= sizeof(s->expires_at))
		return;
	answer = xmalloc(hl + 1 + bl + 1);
	memcpy(answer, row->headers, hl + 1);
	if (bl > 0)
		memcpy(answer + hl + 1, row->body, bl);
	answer[hl + 1 + bl] = '\0';

	s = slot_of(req->user.id, op, key);
	pthread_mutex_lock(&slots_lock);
	free(s->answer);
	s->user = req->user.id;
	snprintf(s->op, sizeof(s->op), "%s", op);
	snprintf(s->key, sizeof(s->key), "%s", key);
	snprintf(s->fp, sizeof(s->fp), "%s", row->fingerprint);
	snprintf(s->expires_at, sizeof(s->expires_at), "%s", row->expires_at);
	s->status = row->status;
	s->answer = answer;
	s->headers_len = hl;
	s->body_len = bl;
	pthread_mutex_unlock(&slots_lock);
}

/* --- in Redis: each answer as redis_answer_put writes it, under its
 * user, operation and key, expired by Redis. --- */

static void
cache_key(char *out, size_t n, const struct request *req, const char *op,
    const char *key)
{
	snprintf(out, n, "onceshop:replay:%lld:%s:%s",
	    (long long)req->user.id, op, key);
}

static int
redis_answer(const struct request *req, const char *op, const char *fp,
    struct response *res)
{
	struct key_row	 row;
	redisReply	*r;
	char		 name[600], cached_fp[65], *headers = NULL;
	int64_t		 unused;
	int		 hit = 0;

	cache_key(name, sizeof(name), req, op, res->key);
	if ((r = redis_command("GET %s", name)) == NULL)
		return 0;	/* Redis away: the database answers */
	/* Another body under the key: the database says so (422). */
	if (r->type == REDIS_REPLY_STRING &&
	    redis_answer_get(r->str, r->len, &row, cached_fp, &headers) == 0 &&
	    strcmp(cached_fp, fp) == 0 &&
	    keystore_answer(&row, req, fp, &unused, res) == KEY_ANSWERED)
		hit = 1;
	free(headers);
	freeReplyObject(r);
	return hit;
}

static void
redis_put(const struct request *req, const char *op, const char *key,
    const struct key_row *row)
{
	struct buf	 v = { 0 };
	redisReply	*r;
	char		 name[600];
	time_t		 end;

	/* Expired by Redis a second before the row: never outlives it. */
	if (time_parse_rfc3339(row->expires_at, &end) == -1 ||
	    end - 1 <= req->now)
		return;
	cache_key(name, sizeof(name), req, op, key);
	redis_answer_put(&v, row);
	r = redis_command("SET %s %b PX %lld", name, v.data, v.len,
	    (long long)(end - 1 - req->now) * 1000);
	freeReplyObject(r);	/* a failed put is only a miss later */
	buf_free(&v);
}

int
replay_cache_answer(const struct request *req, const char *op,
    const char *fp, struct response *res)
{
	int	 hit;

	switch (kind) {
	case REPLAY_CACHE_MEMORY:
		hit = memory_answer(req, op, fp, res);
		break;
	case REPLAY_CACHE_REDIS:
		hit = redis_answer(req, op, fp, res);
		break;
	default:
		return 0;
	}
	if (hit)
		res->outcome = "replayed-cache";
	return hit;
}

void
replay_cache_put(const struct request *req, const char *op, const char *key,
    const struct key_row *row)
{
	if (kind == REPLAY_CACHE_MEMORY)
		memory_put(req, op, key, row);
	else if (kind == REPLAY_CACHE_REDIS)
		redis_put(req, op, key, row);
}

void
replay_cache_committed(const struct request *req, const char *op,
    const char *fp, const struct response *res)
{
	struct key_row	 row;
	long		 ttl = keystore_ttl();
	char		 expires[21];

	if (kind == REPLAY_CACHE_OFF)
		return;
	/* The row's expiry counts from its commit, after req->now. */
	time_rfc3339(req->now + (ttl > 1 ? ttl - 1 : 1), expires);
	row = keystore_row_of(res, fp, expires);
	replay_cache_put(req, op, res->key, &row);
}
