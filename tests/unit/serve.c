/* serve.c — unit tests, in TAP, of what serves a request around its
 * handler: http_query_text, which reads a query parameter; router_check,
 * which refuses a route table that would crash or never answer; and
 * shared_answer, one read of the database for many requests. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "router.h"
#include "shared.h"
#include "shop.h"

#include "unit.h"

/* ---- http_query_text --------------------------------------------------- */

static const struct {
	const char	*query;
	int		 len;		/* -2 absent, -1 malformed */
	const char	*value;
	const char	*name;
} query_cases[] = {
	{ "reference=pay-1", 5, "pay-1", "a plain value" },
	{ "limit=5&reference=pay-1&x=y", 5, "pay-1", "among others" },
	{ "xreference=a&reference=b", 1, "b", "a longer name does not match" },
	{ "reference=a%20b+c", 5, "a b c", "%20 and + are spaces" },
	{ "reference=%E6%9D%B1", 3, "\xe6\x9d\xb1", "percent-encoded UTF-8" },
	{ "reference=", 0, "", "present and empty" },
	{ "", -2, NULL, "no query" },
	{ "limit=5", -2, NULL, "absent" },
	{ "reference=a%2", -1, NULL, "a %XX cut short" },
	{ "reference=a%zz", -1, NULL, "a %XX that is not hex" },
	{ "reference=a%0Ab", -1, NULL, "a control character" },
	{ "reference=" C16, -1, NULL, "longer than the buffer" },
	{ "reference=0123456789abcde", 15, "0123456789abcde", "just fits" },
};

void
test_query_text(void)
{
	struct request	 req;
	char		 out[16];
	size_t		 i;
	int		 n;

	memset(&req, 0, sizeof(req));
	for (i = 0; i < NELEM(query_cases); i++) {
		req.query = (char *)query_cases[i].query;
		n = http_query_text(&req, "reference", out, sizeof(out));
		ok(n == query_cases[i].len && (n < 0 ||
		    strcmp(out, query_cases[i].value) == 0),
		    "http_query_text: %s", query_cases[i].name);
	}
}

/* The route tables are checked before serving: a route that would crash
 * or never answer is refused with its number. */
void
test_router_check(void)
{
	static struct shared_answer refunds = SHARED_ANSWER_INIT;
	static const struct route bad[][1] = {
		{ { .method = METHOD_POST, .path = "/refunds",
		    .handler = orders_create, .operation = "refund" } },
		{ { .method = METHOD_GET, .path = "/refunds",
		    .handler = orders_list, .operation = "refund",
		    .body = &order_body } },
		{ { .method = METHOD_GET, .path = "/refunds" } },
		{ { .method = METHOD_POST, .path = "/refunds",
		    .handler = orders_create, .phased = &payment_phases,
		    .operation = "refund", .body = &order_body } },
		{ { .method = METHOD_GET, .path = "/refunds",
		    .handler = orders_list, .body = &order_body } },
		{ { .method = METHOD_GET, .path = "refunds",
		    .handler = orders_list } },
		{ { .method = METHOD_GET, .path = "/refunds",
		    .handler = orders_list, .shared = &refunds } },
	};
	static const char *const why[] = {
		"an operation without a body type",
		"an operation on a GET",
		"neither handler nor phases",
		"both handler and phases",
		"a body type without an operation",
		"a path without its /",
		"a shared answer on a route with a token",
	};
	struct api	 api = shop_api;
	size_t		 i;

	ok(router_check(&shop_api) == 0, "router_check: onceshop's routes pass");
	for (i = 0; i < NELEM(bad); i++) {
		api.routes = bad[i];
		api.nroutes = 1;
		ok(router_check(&api) == -1, "router_check refuses %s", why[i]);
	}
}

/* shared_answer: many threads, each "commits" (takes the next number of
 * committed) and then reads; a read answers what was committed when it
 * began, after a pause that lets others arrive meanwhile. Each thread
 * must see its own commit, and the reads must be fewer than the requests. */
static struct shared_answer	 counted = SHARED_ANSWER_INIT;
static pthread_mutex_t		 counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long			 committed, reads, stale;

static void
read_committed(void *arg, struct response *res)
{
	long	 now;

	(void)arg;
	pthread_mutex_lock(&counter_lock);
	now = committed;
	reads++;
	pthread_mutex_unlock(&counter_lock);
	usleep(200);
	res->status = 200;
	buf_printf(&res->body, "%ld", now);
}

static void *
commit_then_read(void *arg)
{
	struct response	 res;
	long		 mine;
	int		 i;

	(void)arg;
	for (i = 0; i < 200; i++) {
		pthread_mutex_lock(&counter_lock);
		mine = ++committed;
		pthread_mutex_unlock(&counter_lock);
		memset(&res, 0, sizeof(res));
		shared_answer(&counted, read_committed, NULL, &res);
		if (res.body.data == NULL || atol(res.body.data) < mine) {
			pthread_mutex_lock(&counter_lock);
			stale++;
			pthread_mutex_unlock(&counter_lock);
		}
		http_response_free(&res);
	}
	return NULL;
}

void
test_shared_answer(void)
{
	pthread_t	 t[8];
	size_t		 i;

	for (i = 0; i < NELEM(t); i++)
		pthread_create(&t[i], NULL, commit_then_read, NULL);
	for (i = 0; i < NELEM(t); i++)
		pthread_join(t[i], NULL);
	ok(stale == 0, "shared_answer: each of 1,600 reads saw the commit made "
	    "before it (%ld did not)", stale);
	ok(reads < 1600, "shared_answer: ... with %ld reads of the database "
	    "for 1,600 requests", reads);
}
