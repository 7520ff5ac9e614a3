/* redis.h — one connection per thread to the Redis server at ONCESHOP_REDIS
 * (hiredis, over a Unix socket): for the replay cache (replay_cache.h) and
 * the redis-store lesson (app/lessons). Nothing else talks to Redis. */
#ifndef ONCESHOP_REDIS_H
#define ONCESHOP_REDIS_H

#include <hiredis/hiredis.h>

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

#endif
