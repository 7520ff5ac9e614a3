/* redis.c — the connection of each thread to Redis (redis.h). */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "redis.h"
#include "util.h"

#define LOG_GAP_US	2000000

static const char	*socket_path;
static int		 timeout_ms = 5000;
static atomic_llong	 last_log;
static _Thread_local redisContext *conn;

void
redis_configure(const char *path, int ms)
{
	socket_path = path != NULL && *path != '\0' ? path : NULL;
	timeout_ms = ms;
}

int
redis_configured(void)
{
	return socket_path != NULL;
}

/* Logs why Redis failed, unless it was said less than LOG_GAP_US ago. */
static void
log_failure(const char *why)
{
	long long	 now = time_monotonic_usec(), last = atomic_load(&last_log);

	if (now - last >= LOG_GAP_US &&
	    atomic_compare_exchange_strong(&last_log, &last, now))
		log_error("redis %s: %s", socket_path, why);
}

redisReply *
redis_command(const char *fmt, ...)
{
	struct timeval	 tv = { timeout_ms / 1000, timeout_ms % 1000 * 1000 };
	redisReply	*r;
	va_list		 ap;

	if (socket_path == NULL)
		return NULL;
	if (conn == NULL) {
		conn = redisConnectUnixWithTimeout(socket_path, tv);
		if (conn == NULL || conn->err) {
			log_failure(conn ? conn->errstr : "cannot connect");
			redisFree(conn);
			conn = NULL;
			return NULL;
		}
		redisSetTimeout(conn, tv);
	}
	va_start(ap, fmt);
	r = redisvCommand(conn, fmt, ap);
	va_end(ap);
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		log_failure(r ? r->str : conn->errstr);
		freeReplyObject(r);
		redisFree(conn);
		conn = NULL;
		return NULL;
	}
	return r;
}

void
redis_answer_put(struct buf *v, const struct key_row *row)
{
	size_t	 hl = strlen(row->headers);

	buf_printf(v, "%s %d %zu\n", row->fingerprint, row->status, hl);
	buf_append(v, row->headers, hl);
	buf_append(v, row->body, row->body_len);
}

int
redis_answer_get(const char *s, size_t n, struct key_row *row, char *fp,
    char **headers)
{
	const char	*nl = memchr(s, '\n', n);
	size_t		 rest;
	int		 status, hlen;

	if (nl == NULL || sscanf(s, "%64s %d %d", fp, &status, &hlen) != 3 ||
	    hlen < 0 || (size_t)hlen > (rest = n - (size_t)(nl + 1 - s)))
		return -1;
	*headers = xstrndup(nl + 1, (size_t)hlen);
	/* Redis expires it (PX): the row has no other end. */
	*row = (struct key_row){ .fingerprint = fp, .completed = 1,
	    .expires_at = "9999-12-31T23:59:59Z", .lease_until = "",
	    .status = status, .headers = *headers, .body = nl + 1 + hlen,
	    .body_len = rest - (size_t)hlen };
	return 0;
}
