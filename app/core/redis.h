/* redis.h — one connection per thread to the Redis server at ONCESHOP_REDIS
 * (hiredis, over a Unix socket): for the replay cache (replay_cache.h) and
 * the redis-store lesson (app/lessons). Nothing else talks to Redis. */
#ifndef ONCESHOP_REDIS_H
#define ONCESHOP_REDIS_H

#include <hiredis/hiredis.h>

#include "keystore.h"

/* Sets the server's Unix socket (NULL or "": none) and how long a command
 * may wait for it. Call once, at start-up. */
void		 redis_configure(const char *socket_path, int timeout_ms);

/* Returns 1 if a server is configured. */
int		 redis_configured(void);

/* Runs a command (hiredis's format). Returns the reply, to be freed with
 * freeReplyObject, or NULL when the server cannot be reached or answers an
 * error: logged (at most once in 2 s), and the connection is made again by
 * the next command. */
redisReply	*redis_command(const char *fmt, ...);

/* A finished answer as Redis keeps it (the replay cache, redis-store):
 * "<fingerprint> <status> <headers' length>\n<headers><body>". Appends
 * row's to v. */
void		 redis_answer_put(struct buf *v, const struct key_row *row);

/* Reads an answer from the n bytes at s into a completed row, which
 * points into s and into *headers (a copy, NUL-terminated, for the
 * caller to free) and takes fp (65 bytes) for its fingerprint. Returns
 * 0, or -1 if s is not such an answer. */
int		 redis_answer_get(const char *s, size_t n, struct key_row *row,
		     char *fp, char **headers);

#endif
