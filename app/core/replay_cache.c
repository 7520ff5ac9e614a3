/* replay_cache.c — finished answers in Redis (replay_cache.h), each kept
 * as redis_answer_put writes it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keystore.h"
#include "redis.h"
#include "replay_cache.h"

static int	 on;

void
replay_cache_configure(int enabled)
{
	on = enabled;
}

static void
cache_key(char *out, size_t n, const struct request *req, const char *op,
    const char *key)
{
	snprintf(out, n, "onceshop:replay:%lld:%s:%s",
	    (long long)req->user.id, op, key);
}

int
replay_cache_answer(const struct request *req, const char *op,
    const char *fp, struct response *res)
{
	struct key_row	 row;
	redisReply	*r;
	char		 name[600], cached_fp[65], *headers = NULL;
	int64_t		 unused;
	int		 hit = 0;

	if (!on)
		return 0;
	cache_key(name, sizeof(name), req, op, res->key);
	if ((r = redis_command("GET %s", name)) == NULL)
		return 0;	/* Redis away: the database answers */
	/* Another body under the key: the database says so (422). */
	if (r->type == REDIS_REPLY_STRING &&
	    redis_answer_get(r->str, r->len, &row, cached_fp, &headers) == 0 &&
	    strcmp(cached_fp, fp) == 0 &&
	    keystore_answer(&row, req, fp, &unused, res) == KEY_ANSWERED) {
		res->outcome = "replayed-cache";
		hit = 1;
	}
	free(headers);
	freeReplyObject(r);
	return hit;
}

void
replay_cache_put(const struct request *req, const char *op, const char *fp,
    const struct response *res)
{
	struct buf	 v = { 0 };
	redisReply	*r;
	char		 name[600];
	long		 ttl = keystore_ttl();

	if (!on)
		return;
	cache_key(name, sizeof(name), req, op, res->key);
	redis_answer_put(&v, fp, res);
	/* A second less than the row's: never outlives the truth. */
	r = redis_command("SET %s %b PX %lld", name, v.data, v.len,
	    (long long)(ttl > 1 ? ttl - 1 : 1) * 1000);
	freeReplyObject(r);	/* a failed put is only a miss later */
	buf_free(&v);
}
