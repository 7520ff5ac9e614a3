/* router.h — the route table: which handler answers which method and path,
 * whether it needs a bearer token, and whether it is an idempotent POST. */
#ifndef ONCESHOP_ROUTER_H
#define ONCESHOP_ROUTER_H

#include "body.h"
#include "db.h"
#include "http.h"

/* A handler runs inside a transaction it does not open or commit: a read
 * transaction for GET, the idempotency layer's write transaction for an
 * idempotent POST. It sets res and returns. */
typedef void handler_fn(struct db *, const struct request *, struct response *);

struct route {
	enum method		 method;
	const char		*path;		/* "{id}" matches a positive integer */
	handler_fn		*handler;
	int			 public;	/* no bearer token needed */
	const char		*operation;	/* set: an idempotent POST, keys scoped to it */
	const struct field	*body;		/* the members the POST body must have */
};

/* Answers req into res: 404, 405 with Allow, 401, or the route's handler.
 * db may be NULL when the database could not be opened (500). */
void	 router_dispatch(struct db *, struct request *, struct response *);

#endif
