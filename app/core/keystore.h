/* keystore.h — the key rows: every operation the idempotency rules need
 * on the table of keys, and nothing else touches it (but GET
 * /idempotency-keys, which lists them). Look up, claim, claim again after
 * a refusal, store the answer, sweep the expired. The claim, the business
 * write and the stored answer run in one transaction of the caller's
 * (the writer's), so "key recorded" and "order written" are never apart. */
#ifndef ONCESHOP_KEYSTORE_H
#define ONCESHOP_KEYSTORE_H

#include <stdint.h>
#include <time.h>

#include "db.h"
#include "http.h"

#define KEY_TTL_DEFAULT	86400

/* Sets how long a stored answer is replayed. Call once, at start-up. */
void	 keystore_configure(long ttl_seconds);

/* What looking a key up found. */
enum key_found {
	KEY_ANSWERED,	/* res holds the answer: replay, 422, or 409 while a
			 * lease lasts */
	KEY_NEW,	/* no live row: the key is new (or expired) */
	KEY_RESUME,	/* processing, its lease run out: its row in
			 * *resume_id may be taken over */
	KEY_BUSY,	/* the database was busy or away: nothing known */
	KEY_FAILED,	/* a database error */
};

/* Looks the key (res->key) of req's user and op up and answers a stored
 * one: the same body's fingerprint fp replays, another is refused. */
enum key_found keystore_lookup(struct db *, const struct request *req,
	     const char *op, const char *fp, int64_t *resume_id,
	     struct response *res);

/* What a multi-phase operation's claim holds besides the key (phases.h):
 * its first recovery point and its lease. */
struct key_lease {
	const char	*point;
	const char	*owner;		/* who runs the phases: a request id */
	const char	*until;		/* RFC 3339 */
};

/* Claims key, inside the writer's transaction: inserts a processing row
 * (with lease and the request's body, for a multi-phase operation; else
 * NULL), or takes over an expired completed one. Returns its id, 0 if a
 * live row holds the key, or -1 on error. */
int64_t	 keystore_claim(struct db *, const struct request *, const char *op,
	     const char *fp, const char *key, const struct key_lease *);

/* A refusal (4xx) is the operation's answer, stored, but nothing else it
 * wrote is kept: in the job that claimed key, rolls the job's writes back
 * to its savepoint and claims again (on PostgreSQL this also makes a
 * transaction that a failed statement left unusable usable again). Returns
 * as keystore_claim, or -1 if it could not roll back. */
int64_t	 keystore_reclaim(struct db *, const struct request *,
	     const char *op, const char *fp, const char *key,
	     const struct key_lease *);

/* Stores res as the answer of key row id, completed at point (NULL for a
 * single-phase operation), expiring a TTL after now. Returns 0 or -1. */
int	 keystore_store(struct db *, int64_t id, const struct response *,
	     time_t now, const char *point);

/* The writer's housekeeping (writer.h): deletes one small batch of expired
 * keys. Returns 1 if there may be more, 0 if not, -1 on error. */
int	 keystore_housekeeping(struct db *, time_t now);

/* onceshop sweep: deletes every expired key, one small transaction at a
 * time with a pause between, so a server beside it keeps writing. Returns
 * the number deleted, or -1. */
long	 keystore_sweep(struct db *);

#endif
