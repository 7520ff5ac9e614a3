/* replay_cache.h — finished answers kept in Redis as well
 * (ONCESHOP_REPLAY_CACHE=redis), for their key's TTL, so that a replay on
 * any host is answered before the database is asked for the key. The
 * database stays the only truth: a miss, another body under the key, or
 * Redis away all go to the database (never to "new"), and only answers the
 * database store committed are put here. */
#ifndef ONCESHOP_REPLAY_CACHE_H
#define ONCESHOP_REPLAY_CACHE_H

#include "http.h"

/* Turns the cache on (its server: redis.h). Call once, at start-up. */
void	 replay_cache_configure(int on);

/* Answers req's replay of its key (res->key) under op from the cache:
 * returns 1 with res set, or 0 when the database must be asked. */
int	 replay_cache_answer(const struct request *req, const char *op,
	     const char *fp, struct response *res);

/* Puts res, the answer just committed under req's key, in the cache. */
void	 replay_cache_put(const struct request *req, const char *op,
	     const char *fp, const struct response *res);

#endif
