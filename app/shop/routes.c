/* routes.c — onceshop's const table of routes (router.h). */
#include <stddef.h>

#include "builtin.h"
#include "shop.h"

/* The catalogue is the same for everyone: read once for the requests that
 * ask for it together (shared.h). */
static struct shared_answer catalogue = SHARED_ANSWER_INIT;

/* A POST with an operation is idempotent: keys are scoped to it. */
static const struct route routes[] = {
	{ .method = METHOD_GET, .path = "/health", .handler = health_get,
	    .public = 1 },
	{ .method = METHOD_GET, .path = "/products", .handler = products_list,
	    .public = 1, .shared = &catalogue },
	{ .method = METHOD_GET, .path = "/orders", .handler = orders_list },
	{ .method = METHOD_POST, .path = "/orders", .handler = orders_create,
	    .operation = "create-order", .body = &order_body,
	    .lane = orders_lane },
	{ .method = METHOD_GET, .path = "/orders/{id}", .handler = orders_get },
	{ .method = METHOD_POST, .path = "/payments/confirm",
	    .operation = "confirm-payment", .body = &payment_body,
	    .phased = &payment_phases },
	{ .method = METHOD_GET, .path = "/payments/{id}",
	    .handler = payments_get },
	{ .method = METHOD_GET, .path = "/idempotency-keys",
	    .handler = keys_list },
};

const struct api shop_api = { routes, sizeof(routes) / sizeof(routes[0]),
    "onceshop", "the demo has alice-token and bob-token" };
