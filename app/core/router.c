/* router.c — the guard clauses every request of any program passes before
 * its handler: known path, allowed method, bearer token; then the handler,
 * or the idempotency rules for an idempotent POST. */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "idempotency.h"
#include "log.h"
#include "router.h"

/* Returns 1 if path matches pattern, storing a "{id}" segment in *id. */
static int
path_match(const char *pattern, const char *path, int64_t *id)
{
	const char	*p;
	int64_t		 v;

	while (*pattern != '\0') {
		if (strncmp(pattern, "{id}", 4) == 0) {
			/* 1 to 15 digits, no leading zero: fits any id. */
			for (p = path; *p >= '0' && *p <= '9'; p++)
				continue;
			if (*path == '0' || p == path || p - path > 15)
				return 0;
			for (v = 0; path < p; path++)
				v = v * 10 + (*path - '0');
			*id = v;
			pattern += 4;
			continue;
		}
		if (*pattern++ != *path++)
			return 0;
	}
	return *path == '\0';
}

static void
reply_unavailable(struct response *res, const char *why)
{
	http_problem_retry(res, &problem_service_busy, 1, "The database %s; see the "
	    "server log. Nothing was written; retry shortly.", why);
}

/* Appends the methods api allows on path to allow, as an Allow header
 * value; leaves it empty when no route has that path. */
static void
allow_of(const struct api *api, const char *path, struct buf *allow)
{
	int64_t	 id;
	size_t	 i;

	for (i = 0; i < api->nroutes; i++)
		if (path_match(api->routes[i].path, path, &id))
			buf_printf(allow, "%s%s%s", allow->len ? ", " : "",
			    http_method_name(api->routes[i].method),
			    api->routes[i].method == METHOD_GET ? ", HEAD" : "");
	if (allow->len > 0)
		buf_puts(allow, ", OPTIONS");
}

/* Returns the route for req's method and path, or NULL after answering
 * 404, 405 with Allow, or OPTIONS with 204 and Allow. */
static const struct route *
route_or_reply(const struct api *api, struct request *req,
    struct response *res)
{
	struct buf	 allow = { 0 };
	size_t		 i;

	for (i = 0; req->method != METHOD_OPTIONS && i < api->nroutes; i++)
		/* HEAD is a GET whose body is not sent (http_write). */
		if ((api->routes[i].method == req->method ||
		    (api->routes[i].method == METHOD_GET &&
		    req->method == METHOD_HEAD)) &&
		    path_match(api->routes[i].path, req->path, &req->path_id))
			return &api->routes[i];

	allow_of(api, req->path, &allow);
	if (allow.len == 0)
		http_problem(res, &problem_not_found, "There is nothing at "
		    "%.200s. The API is described at /.", req->path);
	else if (req->method == METHOD_OPTIONS) {
		res->status = 204;
		http_header(res, "Allow", "%s", allow.data);
	} else {
		http_problem(res, &problem_method_not_allowed,
		    "%.200s accepts only %s.", req->path, allow.data);
		http_header(res, "Allow", "%s", allow.data);
	}
	buf_free(&allow);
	return NULL;
}

/* Returns what is wrong with route r, or NULL. */
static const char *
route_fault(const struct route *r)
{
	if (r->path == NULL || r->path[0] != '/')
		return "its path does not start with /";
	if ((r->handler == NULL) == (r->phased == NULL))
		return "it needs a handler or phases, and not both";
	if (r->shared && (r->method != METHOD_GET || !r->public))
		return "only a public GET's answer is the same for everyone "
		    "(shared)";
	if (r->operation == NULL)
		return r->body || r->phased || r->before_claim ? "a body, phases "
		    "or before_claim need an operation (an idempotent POST)" :
		    NULL;
	if (r->method != METHOD_POST)
		return "an operation is for a POST";
	if (r->body == NULL || r->body->fields == NULL)
		return "an operation needs a body type (its field table)";
	return NULL;
}

int
router_check(const struct api *api)
{
	const char	*fault;
	size_t		 i;

	for (i = 0; i < api->nroutes; i++)
		if ((fault = route_fault(&api->routes[i])) != NULL) {
			log_error("route %zu of %s (%s %s): %s", i, api->realm,
			    http_method_name(api->routes[i].method),
			    api->routes[i].path ? api->routes[i].path : "-",
			    fault);
			return -1;
		}
	return 0;
}

/* A GET's handler, as shared_answer calls it. */
struct get {
	const struct route	*route;
	struct db		*db;
	const struct request	*req;
};

static void
answer_get(void *arg, struct response *res)
{
	const struct get	*g = arg;

	g->route->handler(g->db, g->req, res);
}

void
router_dispatch(const struct api *api, struct db *db, struct writer *w,
    struct request *req, struct response *res)
{
	const struct route	*r;
	enum db_rc		 rc;

	if ((r = route_or_reply(api, req, res)) == NULL)
		return;
	/* Not there, or not this build's schema (a server that is down
	 * gives a connection that connects later: db_gone). */
	if (db == NULL) {
		http_problem(res, &problem_internal_error, "The database could "
		    "not be opened; see the server log. Nothing was written. "
		    "It is tried again on the next request.");
		return;
	}
	/* One read transaction for the token, the handler of a GET or the
	 * replay lookup of a POST: one snapshot, one WAL read lock. The
	 * idempotency layer ends it before it waits for the writer. */
	if ((rc = db_tx(db, STMT_BEGIN)) != DB_DONE) {
		reply_unavailable(res, rc == DB_GONE ? "server cannot be reached" :
		    "could not be read");
		return;
	}
	if (r->public || auth_user_or_reply(db, api, req, res) == 0) {
		if (r->operation != NULL)
			idem_run(db, w, r, req, res);
		else if (r->shared != NULL)
			shared_answer(r->shared, answer_get,
			    &(struct get){ r, db, req }, res);
		else
			r->handler(db, req, res);
	}
	/* A read that failed because the server went away is not the
	 * request's fault (a write says what it knows itself). */
	if (res->status == 500 && r->operation == NULL && db_gone(db))
		reply_unavailable(res, "connection was lost");
	db_tx(db, STMT_ROLLBACK);	/* nothing to keep: it only read */
}
