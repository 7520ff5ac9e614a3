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

/* The writer's housekeeping (writer.h): deletes one small batch of expired
 * keys. Returns 1 if there may be more, 0 if not, -1 on error. */
int	 idem_housekeeping(struct db *, time_t now);

/* onceshop sweep: deletes every expired key, one small transaction at a
 * time with a pause between, so a server beside it keeps writing. Returns
 * the number deleted, or -1. */
long	 idem_sweep(struct db *);

#endif
