/* fuzz_request.c — libFuzzer harness for http_read as a plain CGI request:
 * the input is turned into a CGI environment and a body on stdin, read,
 * checked, queried for ?limit= and freed.
 *
 * The input, line by line: the first line says which variables are set,
 * one character each in the order of vars[] below, '1' for set (a short
 * line leaves the rest unset); then one line for the value of each variable
 * that is set, in that order; everything after those lines is the body. */
#include <string.h>

#include "fuzz.h"
#include "http.h"
#include "util.h"

static const char *const vars[] = {
	"REQUEST_METHOD", "PATH_INFO", "REQUEST_URI", "QUERY_STRING",
	"CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_IDEMPOTENCY_KEY",
	"HTTP_AUTHORIZATION",
};
#define NVARS	(sizeof(vars) / sizeof(vars[0]))

/* Returns the line at *p (up to end) as a new string, moving *p past it. */
static char *
next_line(const char **p, const char *end)
{
	const char	*nl = memchr(*p, '\n', (size_t)(end - *p));
	char		*line;

	if (nl == NULL)
		nl = end;
	line = xstrndup(*p, (size_t)(nl - *p));	/* stops at a NUL too */
	*p = nl < end ? nl + 1 : end;
	return line;
}

/* Checks what http_read made of a request it accepted. */
static void
check_request(const struct request *req, const char *content_length)
{
	FUZZ_CHECK(req->method_name != NULL && req->path != NULL &&
	    req->query != NULL && req->body != NULL, "a field is NULL");
	FUZZ_CHECK(req->method == METHOD_OTHER ||
	    strcmp(req->method_name, http_method_name(req->method)) == 0,
	    "method %s read as %s", req->method_name,
	    http_method_name(req->method));
	FUZZ_CHECK(strchr(req->path, '?') == NULL, "path [%s]", req->path);
	FUZZ_CHECK(req->body_len <= HTTP_BODY_MAX && req->body[req->body_len] ==
	    '\0', "body of %zu bytes", req->body_len);
	FUZZ_CHECK(!req->body_too_large || req->body_len == 0,
	    "a body too large, yet %zu bytes read", req->body_len);
	if (content_length == NULL || *content_length == '\0')
		FUZZ_CHECK(req->body_len == 0, "%zu bytes without a length",
		    req->body_len);
	else if (!req->body_too_large)
		FUZZ_CHECK(req->body_len == strtoul(content_length, NULL, 10),
		    "%zu bytes read for a Content-Length of %s",
		    req->body_len, content_length);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*p = (const char *)data, *end = p + size;
	const char		*content_length = NULL;
	char			*env[NVARS + 1], *mask, *value;
	struct request		 req;
	struct response		 res = { 0 };
	FILE			*body, *saved_stdin = stdin;
	size_t			 i, n = 0;
	long			 limit, v;
	int			 rc;

	mask = next_line(&p, end);
	for (i = 0; i < NVARS; i++) {
		if (i >= strlen(mask) || mask[i] != '1')
			continue;
		value = next_line(&p, end);
		env[n] = xmalloc(strlen(vars[i]) + strlen(value) + 2);
		sprintf(env[n], "%s=%s", vars[i], value);
		if (strcmp(vars[i], "CONTENT_LENGTH") == 0)
			content_length = env[n] + strlen("CONTENT_LENGTH=");
		n++;
		free(value);
	}
	env[n] = NULL;
	free(mask);

	/* http_read reads a plain CGI body from stdin; make that the rest. */
	if ((body = fmemopen((void *)p, (size_t)(end - p), "r")) == NULL)
		abort();
	stdin = body;
	rc = http_read(&req, env, NULL);
	stdin = saved_stdin;
	fclose(body);

	FUZZ_CHECK(rc == 0 || rc == -1, "returned %d", rc);
	if (rc == 0)
		check_request(&req, content_length);
	if (req.query != NULL) {
		v = http_query_long(&req, "limit", 100, 1, 1000);
		FUZZ_CHECK(v == -1 || (v >= 1 && v <= 1000), "limit %ld", v);
		v = http_query_long(&req, "n", -5, -10, 10);
		FUZZ_CHECK(v >= -10 && v <= 10, "n %ld", v);
		rc = http_query_limit_or_reply(&req, &limit, &res);
		FUZZ_CHECK(rc == 0 ? limit >= 1 && limit <= 1000 :
		    res.status == 400 && res.body.len > 0,
		    "limit_or_reply %d, limit %ld, status %d", rc, limit,
		    res.status);
		http_response_free(&res);
	}
	http_request_free(&req);
	for (i = 0; i < n; i++)
		free(env[i]);
	return 0;
}
