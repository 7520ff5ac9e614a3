/* completer.c — the completer (completer.h): finishes, without their
 * clients, the multi-phase operations whose request stopped (phases.h),
 * each when its backoff allows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "completer.h"
#include "idempotency.h"
#include "job.h"
#include "log.h"
#include "phases.h"
#include "router.h"

#define COMPLETER_BATCH	100
/* retry_at of a key set aside: never, for the completer. */
#define SET_ASIDE	"9999-12-31T23:59:59Z"

/* A processing key the completer resumes. */
struct stalled {
	int64_t	 id, user_id, attempts;
	char	*operation, *key, *request;
	size_t	 request_len;
	char	 why[160];	/* when its attempt failed */
};

/* How one of the completer's attempts ended. */
enum resumed {
	RESUMED_DONE,		/* completed: its answer is stored */
	RESUMED_OTHER,		/* someone else holds it, or answered it */
	RESUMED_LATER,		/* a remote step said "later" */
	RESUMED_FAILED,		/* failed here (5xx): try again later */
	RESUMED_NEVER,		/* cannot be resumed by this build */
};

/* Returns the route of api with phases for operation, or NULL. */
static const struct route *
phased_route(const struct api *api, const char *operation)
{
	size_t	 i;

	for (i = 0; i < api->nroutes; i++)
		if (api->routes[i].phased != NULL &&
		    strcmp(api->routes[i].operation, operation) == 0)
			return &api->routes[i];
	return NULL;
}

/* Resumes one stalled key as its user's request would, and logs it (one
 * line an attempt). Sets k->why when it fails, *retry_after when a remote
 * step said "later". */
static enum resumed
resume(const struct api *api, struct writer *w, struct stalled *k,
    int *retry_after)
{
	const struct route	*r = phased_route(api, k->operation);
	struct json_object	*json = NULL;
	struct request		 req;
	struct response		 res;
	struct buf		 why = { 0 };
	char			 fp[65];
	const char		*never = NULL;	/* why it can never resume */
	enum resumed		 how = RESUMED_NEVER;

	http_request_start(&req);
	memset(&res, 0, sizeof(res));
	req.method = METHOD_POST;
	req.method_name = xstrdup("POST");
	req.path = xstrdup(r != NULL ? r->path : "-");
	req.body = k->request;
	req.body_len = k->request_len;
	req.user.id = k->user_id;
	snprintf(req.user.name, sizeof(req.user.name), "#%lld",
	    (long long)k->user_id);
	snprintf(res.key, sizeof(res.key), "%s", k->key);
	res.operation = k->operation;
	res.outcome = "resumed";
	if (r == NULL)
		never = "no such operation";
	else if ((json = body_parse(req.body, req.body_len, &why)) == NULL ||
	    (req.in = calloc(1, r->body->size)) == NULL ||
	    body_validate(json, r->body->fields, req.in, &why) != 0)
		never = why.data != NULL ? why.data : "out of memory";
	else {
		idem_fingerprint(json, fp);
		switch (phases_resume(w, r, &req, fp, k->id, &res,
		    retry_after)) {
		case -1:
			never = "its recovery point is unknown to this build";
			break;
		case 1:
			how = RESUMED_LATER;
			break;
		default:
			how = res.stored ? RESUMED_DONE : res.status >= 500 ?
			    RESUMED_FAILED : RESUMED_OTHER;
			snprintf(k->why, sizeof(k->why), "resuming it failed "
			    "with %d (%s); see the server log", res.status,
			    res.outcome);
		}
	}
	if (never != NULL) {
		how = RESUMED_NEVER;
		snprintf(k->why, sizeof(k->why), "set aside: it cannot be "
		    "resumed: %s", never);
		log_error("completer: key %lld (%s) %s", (long long)k->id,
		    k->operation, k->why);
		res.outcome = "set-aside";
	}
	log_request(&req, &res);
	json_object_put(json);
	buf_free(&why);
	req.body = NULL;	/* k's */
	http_request_free(&req);
	http_response_free(&res);
	return how;
}

/* What key_backoff writes. */
struct backoff {
	const struct stalled	*key;
	const char		*retry_at;
};

/* A write_fn: a key the completer failed to resume waits until retry_at,
 * unless someone holds it by now. */
static int
key_backoff(struct db *db, void *arg)
{
	struct backoff	*b = arg;
	struct stmt	*st = db_stmt(db, STMT_KEY_BACKOFF);
	char		 now[21];

	time_rfc3339(time(NULL), now);
	stmt_text(st, 1, b->retry_at);
	stmt_text(st, 2, b->key->why);
	stmt_int(st, 3, b->key->id);
	stmt_text(st, 4, now);
	return stmt_exec(st) == DB_DONE ? 0 : -1;
}

/* The completer's own backoff after a remote step said "later": no round
 * before breaker_until; breaker_n such rounds in a row. Only the
 * maintenance thread (or `onceshop complete`) runs the completer. */
static time_t	 breaker_until;
static int64_t	 breaker_n;

/* Reads up to max stalled keys into keys. Returns how many, or -1. */
static long
stalled_keys(struct db *db, struct stalled *keys, long max)
{
	struct stmt	*st;
	const void	*p;
	char		 now[21];
	long		 n = 0;
	enum db_rc	 rc;

	time_rfc3339(time(NULL), now);
	if (db_tx(db, STMT_BEGIN) != DB_DONE)
		return -1;
	st = db_stmt(db, STMT_KEYS_STALLED);
	stmt_text(st, 1, now);
	stmt_text(st, 2, now);
	stmt_int(st, 3, max);
	while ((rc = stmt_step(st)) == DB_ROW) {
		keys[n].id = col_int(st, 0);
		keys[n].user_id = col_int(st, 1);
		keys[n].operation = xstrdup(col_text(st, 2));
		keys[n].key = xstrdup(col_text(st, 3));
		p = col_blob(st, 4, &keys[n].request_len);
		keys[n].request = xstrndup(p ? p : "", keys[n].request_len);
		keys[n].attempts = col_int(st, 5);
		n++;
	}
	stmt_reset(st);
	db_tx(db, STMT_ROLLBACK);	/* no snapshot held while resuming */
	if (rc == DB_DONE)
		return n;
	while (n-- > 0) {	/* read in part: none of them */
		free(keys[n].operation);
		free(keys[n].key);
		free(keys[n].request);
	}
	return -1;
}

long
completer_run(const struct api *api, struct db *db, struct writer *w,
    long max, long *finished)
{
	struct stalled		*keys;
	struct backoff		 b;
	struct write_job	 job = { .run = key_backoff, .arg = &b };
	char			 retry_at[21];
	long			 i, n, tried = 0;
	int			 retry_after = 0;
	enum resumed		 how;

	*finished = 0;
	if (time(NULL) < breaker_until)
		return 0;
	if (max > COMPLETER_BATCH)
		max = COMPLETER_BATCH;
	if ((keys = calloc((size_t)max, sizeof(*keys))) == NULL)
		abort();
	n = stalled_keys(db, keys, max);
	for (i = 0; i < n; i++) {
		if (time(NULL) >= breaker_until) {
			tried++;
			switch (how = resume(api, w, &keys[i], &retry_after)) {
			case RESUMED_DONE:
				++*finished;
				breaker_n = 0;
				break;
			case RESUMED_OTHER:
				break;
			case RESUMED_LATER:	/* the rest wait as well */
				breaker_until = phases_due(
				    phases_backoff_s(++breaker_n, retry_after));
				break;
			case RESUMED_FAILED:
			case RESUMED_NEVER:
				time_rfc3339(phases_due(phases_backoff_s(
				    keys[i].attempts + 1, 0)), retry_at);
				b = (struct backoff){ &keys[i], how ==
				    RESUMED_NEVER ? SET_ASIDE : retry_at };
				writer_submit(w, &job, job_busy_ms());
				break;
			}
		}
		free(keys[i].operation);
		free(keys[i].key);
		free(keys[i].request);
	}
	free(keys);
	return n == -1 ? -1 : tried;
}
