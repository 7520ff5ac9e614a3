/* router.h — the route table: which handler answers which method and path,
 * whether it needs a bearer token, and whether it is an idempotent POST. */
#ifndef ONCESHOP_ROUTER_H
#define ONCESHOP_ROUTER_H

#include "body.h"
#include "db.h"
#include "http.h"
#include "phases.h"
#include "shared.h"
#include "writer.h"

/* A handler runs inside a transaction it does not open or commit: a read
 * transaction for GET, the writer's group transaction for an idempotent
 * POST (under a savepoint of its own). It gets the typed body in req->in,
 * writes through named statements, sets res and returns. */
typedef void handler_fn(struct db *, const struct request *, struct response *);

/* An idempotent route's optional step before its key is claimed, run in
 * the request thread for a key that is not stored yet: after the replay
 * lookup, with no transaction open on db, before the writer's job. It may
 * write through w in a job of its own (job_run_or_reply, job.h), committed
 * whatever comes next. Returns 0 to go on to the claim, or -1 after
 * setting res to an answer that is not stored (the log says
 * outcome=not-stored), so a retry with the same key runs again. paysim's
 * flaky card remembers a first attempt across its 500 this way. */
typedef int before_claim_fn(struct db *, struct writer *,
    const struct request *, struct response *);

struct route {
	enum method		 method;
	const char		*path;		/* "{id}" matches a positive integer */
	handler_fn		*handler;
	int			 public;	/* no bearer token needed */
	const char		*operation;	/* set: an idempotent POST, keys scoped to it */
	const struct body_type	*body;		/* the POST body's fields and struct */
	before_claim_fn		*before_claim;	/* NULL, or see above */
	const struct phased	*phased;	/* NULL, or its phases, run
						 * instead of handler
						 * (phases.h) */
	/* NULL, or an idempotent POST's lane hint (writer.h): its job's
	 * on the rows it will lock first, so that jobs on the same rows
	 * run on the same write connection. */
	uint32_t		(*lane)(const struct request *);
	struct shared_answer	*shared;	/* NULL, or a public GET's
						 * answer, read once for the
						 * requests that wait for it
						 * together (shared.h) */
};

/* A program's API: its route table, and what its 401s say. */
struct api {
	const struct route	*routes;
	size_t			 nroutes;
	const char		*realm;		/* WWW-Authenticate: Bearer realm */
	const char		*token_hint;	/* where a valid token comes from */
};


/* Checks api's route table before it serves: every route has a path and
 * a handler or phases; an idempotent one is a POST with a body type, a
 * plain one has neither body, phases nor before_claim. Returns 0, or -1
 * after logging the first route that is wrong. */
int	 router_check(const struct api *);

/* Answers req into res from api: 404, 405 with Allow, 204 for OPTIONS,
 * 401, or the route's handler, reading on db and writing through w. db is
 * NULL when the database could not be opened (500). */
void	 router_dispatch(const struct api *, struct db *db, struct writer *w,
	     struct request *, struct response *);

#endif
