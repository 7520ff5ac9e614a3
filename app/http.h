/* http.h — one request in, one response out, and the RFC 9457 problem
 * details every error is written as. Nothing from libfcgi outlives the
 * request: http_read copies what it keeps. */
#ifndef ONCESHOP_HTTP_H
#define ONCESHOP_HTTP_H

#include <stdint.h>

#include <fcgiapp.h>
#include <json-c/json.h>

#include "util.h"

#define HTTP_BODY_MAX	(64 * 1024)

enum method {
	METHOD_GET,
	METHOD_POST,
	METHOD_OTHER,	/* anything else: answered 405 on a known path */
	METHOD__MAX
};

/* The problem types of the API, each explained by www/problems/<name>. */
enum problem {
	PROBLEM_NOT_FOUND,
	PROBLEM_METHOD_NOT_ALLOWED,
	PROBLEM_UNAUTHORIZED,
	PROBLEM_UNSUPPORTED_MEDIA_TYPE,
	PROBLEM_PAYLOAD_TOO_LARGE,
	PROBLEM_INVALID_JSON,
	PROBLEM_INVALID_BODY,
	PROBLEM_INVALID_PARAMETER,
	PROBLEM_KEY_MISSING,
	PROBLEM_KEY_INVALID,
	PROBLEM_KEY_REUSED,
	PROBLEM_KEY_IN_PROGRESS,
	PROBLEM_UNKNOWN_PRODUCT,
	PROBLEM_OUT_OF_STOCK,
	PROBLEM_ORDER_NOT_FOUND,
	PROBLEM_AMOUNT_MISMATCH,
	PROBLEM_ORDER_ALREADY_PAID,
	PROBLEM_SERVICE_BUSY,
	PROBLEM_INTERNAL_ERROR,
	PROBLEM__MAX
};

struct user {
	int64_t	 id;		/* 0: not authenticated */
	char	 name[64];
};

struct request {
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
	struct json_object *json;	/* the validated body, for POST routes */
};

struct response {
	int		 status;
	struct buf	 headers;	/* "Name: value\r\n" lines */
	struct buf	 body;
	/* Set by the idempotency layer; the log line shows them. */
	const char	*operation;
	const char	*outcome;	/* new, replayed, mismatch, rejected, ... */
	char		 key[256];	/* the parsed Idempotency-Key */
};

/* Reads the request from the CGI/FastCGI environment envp and, when in is
 * NULL, stdin (plain CGI). Returns 0, or -1 if the request is unusable. */
int	 http_read(struct request *, char **envp, FCGX_Stream *in);
void	 http_request_free(struct request *);

/* Writes res as a CGI response to out, or to stdout when out is NULL. */
void	 http_write(const struct response *, FCGX_Stream *out);
void	 http_response_free(struct response *);

/* Appends one header line to res. */
void	 http_header(struct response *, const char *name, const char *fmt, ...)
	     __attribute__((format(printf, 3, 4)));

/* Sets res to status with obj serialised as its JSON body; releases obj. */
void	 http_json(struct response *, int status, struct json_object *obj);

/* Sets res to the problem p, with a detail that should teach what happened
 * and what the client can do. Replaces anything res held. */
void	 http_problem(struct response *, enum problem p, const char *fmt, ...)
	     __attribute__((format(printf, 3, 4)));

/* Returns the query parameter name as an integer in [min, max], def when
 * it is absent, or -1 when it is not such an integer. */
long	 http_query_long(const struct request *, const char *name, long def,
	     long min, long max);

const char *http_problem_name(enum problem);
const char *http_method_name(enum method);

#endif
