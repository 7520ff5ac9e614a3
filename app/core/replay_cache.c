/* replay_cache.c — finished answers in Redis (replay_cache.h). A value is
 * "<fingerprint> <status> <headers' length>\n<headers><body>". */
#include <stdio.h>
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
	redisReply	*r;
	char		 name[600], cached_fp[65];
	const char	*nl;
	size_t		 rest;
	int		 status, hlen, hit = 0;

	if (!on)
		return 0;
	cache_key(name, sizeof(name), req, op, res->key);
	if ((r = redis_command("GET %s", name)) == NULL)
		return 0;	/* Redis away: the database answers */
	if (r->type == REDIS_REPLY_STRING &&
	    sscanf(r->str, "%64s %d %d", cached_fp, &status, &hlen) == 3 &&
	    strcmp(cached_fp, fp) == 0 &&
	    (nl = memchr(r->str, '\n', r->len)) != NULL && hlen >= 0 &&
	    (size_t)hlen <= (rest = r->len - (size_t)(nl + 1 - r->str))) {
		res->outcome = "replayed-cache";
		res->status = status;
		buf_reset(&res->headers);
		buf_append(&res->headers, nl + 1, (size_t)hlen);
		buf_puts(&res->headers, "Idempotent-Replayed: true\r\n");
		buf_reset(&res->body);
		buf_append(&res->body, nl + 1 + hlen, rest - (size_t)hlen);
		hit = 1;
	}
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
	buf_printf(&v, "%s %d %zu\n", fp, res->status, res->headers.len);
	buf_append(&v, res->headers.data, res->headers.len);
	buf_append(&v, res->body.data, res->body.len);
	/* A second less than the row's: never outlives the truth. */
	r = redis_command("SET %s %b PX %lld", name, v.data, v.len,
	    (long long)(ttl > 1 ? ttl - 1 : 1) * 1000);
	freeReplyObject(r);	/* a failed put is only a miss later */
	buf_free(&v);
}
