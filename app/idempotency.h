/* idempotency.h — the only place that knows the Idempotency-Key rules:
 * parse the key, fingerprint the body, claim the key, run the handler,
 * store its response and replay it, all in one write transaction. */
#ifndef ONCESHOP_IDEMPOTENCY_H
#define ONCESHOP_IDEMPOTENCY_H

#include <json-c/json.h>

#include "db.h"
#include "http.h"
#include "router.h"

#define IDEM_KEY_MAX	255
#define IDEM_TTL_DEFAULT 86400

/* Parses an Idempotency-Key header value: an RFC 8941 string ("…", with
 * \" and \\ escapes) or, for curl convenience, a bare token of visible
 * ASCII without quotes or backslashes. Writes the key's characters to key.
 * Returns 0, or -1 if it is empty, longer than IDEM_KEY_MAX or malformed. */
int	 idem_key_parse(const char *header, char key[IDEM_KEY_MAX + 1]);

/* Writes the SHA-256 (hex) of the canonical JSON form of body to hex. */
void	 idem_fingerprint(struct json_object *body, char hex[65]);

/* Sets how long a stored response is replayed, in seconds. */
void	 idem_configure(long ttl);

/* Answers an idempotent POST: checks key, content type, size and body,
 * then replays a stored response or runs r->handler and stores its. */
void	 idem_run(struct db *, const struct route *r, struct request *,
	     struct response *);

/* Deletes expired records in transactions of at most batch rows, so
 * writers never wait long. Returns the number deleted, or -1. */
long	 idem_sweep(struct db *, int batch);

#endif
