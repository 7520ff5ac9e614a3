/* idempotency.c — Idempotency-Key handling for every idempotent POST.
 *
 * A request passes, in order: key present and well-formed (400), JSON
 * content type (415), size (413), body parses and fills the route's typed
 * struct (400). None of those is stored, so a corrected retry may reuse
 * the key. A key already stored is answered from a plain read, without
 * the writer: replay (same fingerprint), 422 (different fingerprint) or
 * 409 (in progress; a payment whose lease ran out is resumed instead).
 * Otherwise, after the route's before_claim step if it has one
 * (router.h), the request becomes a job of the writer (writer.h): in its
 * group's transaction it claims the key (insert first, look only on
 * conflict), runs the handler, stores the response; the answer is
 * released after the group's COMMIT. A route with phases (phases.h) runs
 * them instead, in several jobs. The checks before the lookup are in
 * idem_key.c. */
#include <string.h>

#include "idempotency.h"
#include "job.h"
#include "keystore.h"
#include "phases.h"
#include "replay_cache.h"

void
idem_run(struct db *db, struct writer *w, const struct route *r,
    struct request *req, struct response *res)
{
	const struct key_store	*keys = keystore_for(r->phased != NULL);
	struct json_object	*json = NULL;
	char			 fp[65];
	const char		*fresh;
	int64_t			 resume_id = 0;

	res->operation = r->operation;
	res->outcome = "rejected";
	if (idem_request_ok_or_reply(r, req, &json, res) == -1) {
		json_object_put(json);
		return;
	}
	idem_fingerprint(json, fp);
	json_object_put(json);

	/* A stored key needs no writer: answer it from the replay cache, if
	 * there is one, or a plain read. */
	if (keys == &keystore_db &&
	    replay_cache_answer(req, r->operation, fp, res))
		return;
	switch (keys->lookup(db, req, r->operation, fp, &resume_id, res)) {
	case KEY_ANSWERED:
		return;
	case KEY_NEW:
	case KEY_RESUME:	/* a processing key to take over */
		break;
	case KEY_BUSY:
		job_reply_busy(res);
		return;
	case KEY_FAILED:
		job_reply_failed(res);
		return;
	}

	db_tx(db, STMT_ROLLBACK);	/* no read snapshot held while waiting */
	fresh = resume_id ? "resumed" : strcmp(res->outcome, "new-expired") ==
	    0 ? res->outcome : "new";
	if (r->before_claim != NULL) {
		res->outcome = "not-stored";	/* unless its own write fails */
		if (r->before_claim(db, w, req, res) == -1)
			return;
	}
	res->outcome = fresh;
	phases_run(db, w, r, req, fp, resume_id, res);
}
