/* idempotency.h — the Idempotency-Key rules on a request: parse the key,
 * check and fingerprint the body, replay a stored answer, or run the
 * operation (phases.h), whose claim, business write and stored answer
 * share one transaction. Below it: phases.c, then the key rows
 * (keystore.h) and the write jobs (job.h). */
#ifndef ONCESHOP_IDEMPOTENCY_H
#define ONCESHOP_IDEMPOTENCY_H

#include <json-c/json.h>

#include "db.h"
#include "http.h"
#include "router.h"
#include "writer.h"

#define IDEM_KEY_MAX	255

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

/* Answers an idempotent POST: checks key, content type, size and body,
 * then replays a stored response (read on db, inside the caller's read
 * transaction, which it ends before waiting for the writer) or, after
 * r->before_claim if the route has one, runs the operation through the
 * writer w (phases_run): claim the key, run r->handler (or its phases),
 * store the answer. The handler's res->delay_ms (http.h) is kept only
 * when its job committed. */
void	 idem_run(struct db *db, struct writer *w, const struct route *r,
	     struct request *, struct response *);

#endif
