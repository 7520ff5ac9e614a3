/* replay_cache.h — finished answers kept beside the database for their
 * key's TTL, so that a replay is answered before the database is asked
 * for the key: in this process's memory (ONCESHOP_REPLAY_CACHE=memory,
 * the default: replays on the host that made the answer) or in Redis
 * (=redis: on every host). An answer, once stored, never changes until
 * its key expires, so a copy cannot go stale. The database stays the only
 * truth: a miss, another body under the key, or Redis away all go to the
 * database (never to "new"), and only answers the database store
 * committed are put here. */
#ifndef ONCESHOP_REPLAY_CACHE_H
#define ONCESHOP_REPLAY_CACHE_H

#include "keystore.h"

enum replay_cache {
	REPLAY_CACHE_OFF,
	REPLAY_CACHE_MEMORY,
	REPLAY_CACHE_REDIS,	/* its server: redis.h */
};

/* Chooses the cache (off until then). Call once, at start-up. */
void	 replay_cache_configure(enum replay_cache);

/* Answers req's replay of its key (res->key) under op from the cache:
 * returns 1 with res set, or 0 when the database must be asked. */
int	 replay_cache_answer(const struct request *req, const char *op,
	     const char *fp, struct response *res);

/* Puts row, the completed answer under req's key and op that the
 * database store just read, in the cache until row->expires_at: a replay
 * on another host, or after a restart, is answered from the cache the
 * next time. */
void	 replay_cache_put(const struct request *req, const char *op,
	     const char *key, const struct key_row *row);

/* Puts res, the answer just committed under req's key (res->key), stored
 * under fingerprint fp, in the cache: until a second before its row
 * expires. */
void	 replay_cache_committed(const struct request *req, const char *op,
	     const char *fp, const struct response *res);

#endif
