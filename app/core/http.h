/* http.h — one request in, one response out, and the RFC 9457 problem
 * details every error is written as. Nothing from libfcgi outlives the
 * request: http_read copies what it keeps. */
#ifndef ONCESHOP_HTTP_H
#define ONCESHOP_HTTP_H

#include <stdint.h>

#include <fcgiapp.h>
#include <json-c/json.h>

#include "problems.h"
#include "util.h"

#define HTTP_BODY_MAX	(64 * 1024)

enum method {
	METHOD_GET,
	METHOD_HEAD,	/* a GET without the body */
	METHOD_POST,
	METHOD_OPTIONS,	/* 204 with Allow */
	METHOD_OTHER,	/* anything else: answered 405 on a known path */
	METHOD__MAX
};

struct user {
	int64_t	 id;		/* 0: not authenticated */
	char	 name[64];
};

/* One request, and its context: read once when it arrives. */
struct request {
	char		 id[24];	/* for the log: "<pid>-<n>" */
	time_t		 now;		/* the request's one reading of the clock */
	char		 now_text[21];	/* now, as RFC 3339 */
	int64_t		 start_us;	/* for the log's timings */
	enum method	 method;
	char		*method_name;	/* as sent, for the log */
	char		*path;		/* without the query string */
	char		*query;		/* "" when absent */
	char		*content_type;	/* NULL when absent */
	char		*authorization;	/* NULL when absent */
	char		*idempotency_key; /* raw header value, NULL when absent */
	int		 body_too_large;
	char		*body;		/* NUL-terminated, body_len bytes */
	size_t		 body_len;
	int64_t		 path_id;	/* the {id} of a matched path */
	struct user	 user;
	void		*in;		/* the typed body (struct order_in, ...) */
};

struct response {
	int		 status;
	struct buf	 headers;	/* "Name: value\r\n" lines */
	struct buf	 body;
	/* Set by the idempotency layer; the log line shows them. */
	const char	*operation;
	const char	*outcome;	/* new, replayed, mismatch, rejected, ... */
	int		 stored;	/* the answer was stored under the key */
	int		 unsent;	/* it could not be sent: the client, or
					 * lighttpd, was gone */
	const char	*phase;		/* the recovery point reached (phases.h) */
	const char	*problem;	/* the problem type's name, if any */
	char		 key[256];	/* the parsed Idempotency-Key */
	int64_t		 wait_us;	/* time spent queued for the writer */
	int64_t		 group;		/* the writer's group, 0 if none */
	/* Hold the answer this long after it is committed: serve_one
	 * (server.c) sleeps in the request thread before writing it, never
	 * in the writer. Set by a handler (paysim's slow cards); not part of
	 * the stored answer, so a replay is not held. */
	int		 delay_ms;
};

/* Starts req's context: zeroes it, reads the clock once and numbers it.
 * http_read does it first; the completer, for a request of its own. */
void	 http_request_start(struct request *);

/* Reads the request from the CGI/FastCGI environment envp and, when in is
 * NULL, stdin (plain CGI); reads the clock once and numbers the request.
 * Returns 0, or -1 if the request is unusable. */
int	 http_read(struct request *, char **envp, FCGX_Stream *in);
void	 http_request_free(struct request *);

/* Writes res as the CGI response to req, to out, or to stdout when out is
 * NULL; the body is left out for HEAD and for 204. */
void	 http_write(const struct request *, const struct response *,
	     FCGX_Stream *out);
void	 http_response_free(struct response *);

/* Appends one header line to res. */
void	 http_header(struct response *, const char *name, const char *fmt, ...)
	     __attribute__((format(printf, 3, 4)));

/* Sets res to status with obj serialised as its JSON body; releases obj. */
void	 http_json(struct response *, int status, struct json_object *obj);

/* Sets res to the problem p, with a detail that should teach what happened
 * and what the client can do. Replaces anything res held. */
void	 http_problem(struct response *, const struct problem_type *p,
	     const char *fmt, ...)
	     __attribute__((format(printf, 3, 4)));

/* The same with another status than p's own (0: p's own; a problem type
 * such as payment-provider-unavailable covers 502, 503 and 504) and the
 * extension members of ext (RFC 9457, section 3.2; NULL: none; released). */
void	 http_problem_ext(struct response *, const struct problem_type *p,
	     int status, struct json_object *ext, const char *fmt, ...)
	     __attribute__((format(printf, 5, 6)));

/* The same with a Retry-After of seconds: an answer that says when to come
 * back (409 in progress, 503 busy, 507 full). */
void	 http_problem_retry(struct response *, const struct problem_type *p,
	     long seconds, const char *fmt, ...)
	     __attribute__((format(printf, 4, 5)));

/* Names the lesson that is on (app/lessons) in an Onceshop-Lesson header
 * on every answer http_write writes; call once, at start-up. */
void	 http_set_lesson(const char *name);

/* The lesson that is on, or NULL. */
const char *http_lesson(void);

/* Answers 200 with the object { name: list } (list is taken over). */
void	 http_json_list(struct response *, const char *name,
	     struct json_object *list);

/* Returns the query parameter name as an integer in [min, max], def when
 * it is absent, or -1 when it is not such an integer. */
long	 http_query_long(const struct request *, const char *name, long def,
	     long min, long max);

/* Copies the query parameter name to out (size bytes with its NUL),
 * percent-decoded, '+' as a space. Returns its length; -2 when it is
 * absent; -1 when it is malformed (a bad %XX, a control character) or
 * does not fit. */
int	 http_query_text(const struct request *, const char *name, char *out,
	     size_t size);

/* Reads ?limit= (1 to 1000, default 100) into *limit. Returns 0, or -1
 * with res set to the problem. */
int	 http_query_limit_or_reply(const struct request *, long *limit,
	     struct response *);

const char *http_method_name(enum method);

#endif
