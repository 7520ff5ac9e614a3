/* keystore.h — where the keys live: every operation the idempotency rules
 * need on them, behind one boundary. Look up, claim, claim again after a
 * refusal, store the answer, expire. The database store (keystore.c) keeps
 * them in the table idempotency_keys, and its claim, the business write
 * and the stored answer run in one transaction of the caller's (the
 * writer's), so "key recorded" and "order written" are never apart: it is
 * the only store a program gets without asking. The others are lessons
 * (app/lessons): designs that fail, to be switched on and seen failing. */
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

/* A stored key as a store found it. */
struct key_row {
	const char	*fingerprint;
	int		 completed;	/* else processing */
	const char	*expires_at;	/* RFC 3339 */
	const char	*lease_until;	/* RFC 3339, or "": no lease */
	int64_t		 id;
	int		 status;	/* completed: the stored answer */
	const char	*headers;
	const void	*body;
	size_t		 body_len;
};

/* The rules on a stored key, the same for every store: replay the same
 * body's answer, refuse another body (422), answer 409 while it is
 * processing; KEY_NEW once it has expired, KEY_RESUME (its id in
 * *resume_id) for a processing key whose lease has run out. */
enum key_found keystore_answer(const struct key_row *, const struct request *,
	     const char *fp, int64_t *resume_id, struct response *);

/* The completed row of res, an answer stored under fingerprint fp and kept
 * until expires_at: it points into res, fp and expires_at. */
struct key_row	 keystore_row_of(const struct response *res, const char *fp,
	     const char *expires_at);

/* Runs st, a look-up of a key by user, operation and key (res->key) whose
 * row has the columns of STMT_KEY_SELECT, and answers as keystore_answer;
 * KEY_BUSY or KEY_FAILED when the database did not answer. With cache, a
 * completed answer it replays goes in the replay cache (replay_cache.h). */
enum key_found keystore_select(struct stmt *st, const struct request *,
	     const char *op, const char *fp, int64_t *resume_id,
	     struct response *, int cache);

/* Deletes a small batch of expired keys with statement id (its values:
 * the time, and the batch's size), as a store's expire does. Returns 1 if
 * there may be more, 0 if not, -1 on error. */
int	 keystore_expire_with(struct db *, int id, time_t now);

/* What a multi-phase operation's claim holds besides the key (phases.h):
 * its first recovery point and its lease. */
struct key_lease {
	const char	*point;
	const char	*owner;		/* who runs the phases: a request id */
	const char	*until;		/* RFC 3339 */
};

/* A store of keys. Each operation but lookup runs inside the writer's
 * transaction on db. */
struct key_store {
	const char	*name;
	/* Looks the key (res->key) of req's user and op up and answers a
	 * stored one (keystore_answer). */
	enum key_found	 (*lookup)(struct db *, const struct request *req,
			     const char *op, const char *fp,
			     int64_t *resume_id, struct response *res);
	/* Claims key: a new processing key (with lease and the request's
	 * body for a multi-phase operation; else NULL), or one that
	 * expired. Returns its id, 0 if a live key holds it, -1 on error. */
	int64_t		 (*claim)(struct db *, const struct request *,
			     const char *op, const char *fp, const char *key,
			     const struct key_lease *);
	/* Optional, for an operation of one phase (no lease): the claim
	 * in two halves. claim_send sends it (stmt_send) and claimed, once
	 * the operation ran in the same job, reads its result, as claim
	 * returns it; a live key then undoes the job. On PostgreSQL the
	 * operation's first statement carries the claim: one round trip
	 * fewer. */
	struct stmt	*(*claim_send)(struct db *, const struct request *,
			     const char *op, const char *fp, const char *key);
	int64_t		 (*claimed)(struct stmt *);
	/* A refusal (4xx) is the operation's answer, stored, but nothing
	 * else it wrote is kept: in the job that claimed key, rolls the
	 * job's writes back to its savepoint and claims again (on
	 * PostgreSQL this also makes a transaction that a failed statement
	 * left unusable usable again). Returns as claim, or -1 if it could
	 * not roll back. */
	int64_t		 (*reclaim)(struct db *, const struct request *,
			     const char *op, const char *fp, const char *key,
			     const struct key_lease *);
	/* Stores res as the answer of key id, completed at point (NULL for
	 * a single-phase operation), expiring a TTL after now. 0 or -1. */
	int		 (*store)(struct db *, int64_t id,
			     const struct response *, time_t now,
			     const char *point);
	/* Forgets a few expired keys. 1 if there may be more, 0, or -1. */
	int		 (*expire)(struct db *, time_t now);
};

/* The database store: the table idempotency_keys. */
extern const struct key_store keystore_db;

/* Makes s the store of single-phase operations (a lesson's); call once,
 * at start-up. Operations in phases keep the database store: their
 * leases and recovery points are rows of its table. */
void	 keystore_use(const struct key_store *s);

/* The store of an operation: in phases (phased) or not. */
const struct key_store *keystore_for(int phased);

/* How long a stored answer is replayed (keystore_configure). */
long	 keystore_ttl(void);

/* Binds a new key row's first six parameters: the user, op, key, fp, now
 * and when it expires (now plus the TTL, written into expires, which
 * must outlive the statement's run: the engines keep the pointer). */
void	 keystore_bind_new(struct stmt *, const struct request *,
	     const char *op, const char *key, const char *fp, char expires[21]);

/* The writer's housekeeping (writer.h): expires a few keys of each store in
 * use. Returns 1 if there may be more, 0 if not, -1 on error. */
int	 keystore_housekeeping(struct db *, time_t now);

/* onceshop sweep: deletes every expired key, one small transaction at a
 * time with a pause between, so a server beside it keeps writing. Returns
 * the number deleted, or -1. */
long	 keystore_sweep(struct db *);

#endif
