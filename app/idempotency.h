/* idempotency.h — the only place that knows the Idempotency-Key rules:
 * parse the key, fingerprint the body, replay a stored answer, or hand the
 * claim, the handler and the stored response to the writer as one job. */
#ifndef ONCESHOP_IDEMPOTENCY_H
#define ONCESHOP_IDEMPOTENCY_H

#include <json-c/json.h>

#include "db.h"
#include "http.h"
#include "router.h"
#include "writer.h"

#define IDEM_KEY_MAX	255
#define IDEM_TTL_DEFAULT 86400

/* Parses an Idempotency-Key header value: an RFC 8941 string ("…", with
 * \" and \\ escapes) or, for curl convenience, a bare token of visible
 * ASCII without quotes or backslashes ('key' in single quotes is refused
 * as a quoting mistake). Writes the key's characters to key.
 * Returns 0, or -1 if it is empty, longer than IDEM_KEY_MAX or malformed. */
int	 idem_key_parse(const char *header, char key[IDEM_KEY_MAX + 1]);

/* Says, for a header value idem_key_parse rejected, what is wrong with it
 * (a clause for a problem detail). */
const char *idem_key_problem(const char *header);

/* Checks an idempotent POST's key (400), content type (415), size (413)
 * and body (400), in that order, and fills req->in from the body (r's
 * field table); *json is the parsed body, for the fingerprint (the caller
 * releases it). Returns 0, or -1 with res set to the problem, whose detail
 * says the key was not used. */
int	 idem_request_ok_or_reply(const struct route *r, struct request *req,
	     struct json_object **json, struct response *res);

/* Writes the SHA-256 (hex) of the canonical JSON form of body to hex. */
void	 idem_fingerprint(struct json_object *body, char hex[65]);

/* Sets how long a stored response is replayed, and how long a request
 * waits for the writer before it is answered 503. */
void	 idem_configure(long ttl_seconds, int busy_timeout_ms);

/* Answers an idempotent POST: checks key, content type, size and body,
 * then replays a stored response (read on db, inside the caller's read
 * transaction, which it ends before waiting for the writer) or, after
 * r->before_claim if the route has one, has the writer w claim the key,
 * run r->handler and store its answer. The
 * handler's res->delay_ms (http.h) is kept only when its job committed. */
void	 idem_run(struct db *db, struct writer *w, const struct route *r,
	     struct request *, struct response *);

/* For a route's before_claim step (router.h): runs job through w as a
 * job of its own, committed before it returns, waiting at most the busy
 * timeout for it to start. Returns 0 when it committed; otherwise -1 with
 * res set to what is known (503 busy, 500, 507), or as job's run set it
 * when the run returned -1 (which it does only after setting res). */
int	 idem_write_or_reply(struct writer *, struct write_job *,
	     struct response *);

/* What a multi-phase operation's claim holds besides the key (phases.h):
 * its first recovery point and its lease. */
struct idem_lease {
	const char	*point;
	const char	*owner;		/* who runs the phases: a request id */
	const char	*until;		/* RFC 3339 */
};

/* The parts of the rules phases.c builds on. */

/* What looking a key up found. */
enum idem_found {
	IDEM_ANSWERED,	/* res holds the answer: replay, 422, or 409 while a
			 * lease lasts */
	IDEM_NEW,	/* no live row: the key is new (or expired) */
	IDEM_RESUME,	/* processing, its lease run out: its row in
			 * *resume_id may be taken over */
	IDEM_BUSY,	/* the database was busy or away: nothing known */
	IDEM_FAILED,	/* a database error */
};

/* Looks the key up (in res->key) and answers a stored one. */
enum idem_found idem_lookup(struct db *, const struct request *,
	     const char *op, const char *fp, int64_t *resume_id,
	     struct response *);

/* Claims key, inside the writer's transaction: inserts a processing row
 * (with lease, for a multi-phase operation; else NULL), or takes over an
 * expired completed one. Returns its id, 0 if a live row holds the key,
 * or -1 on error. */
int64_t	 idem_claim(struct db *, const struct request *, const char *op,
	     const char *fp, const char *key, const struct idem_lease *);

/* A refusal (4xx) is the operation's answer, stored, but nothing else it
 * wrote is kept: in the job that claimed key, rolls the job's writes back
 * to its savepoint and claims again (on PostgreSQL this also makes a
 * transaction that a failed statement left unusable usable again). Returns
 * as idem_claim, or -1 if it could not roll back. */
int64_t	 idem_undo_and_claim(struct db *, const struct request *,
	     const char *op, const char *fp, const char *key,
	     const struct idem_lease *);

/* Stores res as the answer of key row id, completed at point (NULL for a
 * single-phase operation), expiring a TTL after now. Returns 0 or -1. */
int	 idem_store(struct db *, int64_t id, const struct response *,
	     time_t now, const char *point);

/* How long a request waits for the writer (idem_configure). */
int	 idem_busy_ms(void);

/* The writer's housekeeping (writer.h): deletes one small batch of expired
 * keys. Returns 1 if there may be more, 0 if not, -1 on error. */
int	 idem_housekeeping(struct db *, time_t now);

/* onceshop sweep: deletes every expired key, one small transaction at a
 * time with a pause between, so a server beside it keeps writing. Returns
 * the number deleted, or -1. */
long	 idem_sweep(struct db *);

#endif
