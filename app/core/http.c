/* http.c — reads a CGI/FastCGI request into a struct request, writes a
 * struct response back, and builds RFC 9457 problem details. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"

static const char *const method_names[METHOD__MAX] = {
	[METHOD_GET] = "GET",
	[METHOD_HEAD] = "HEAD",
	[METHOD_POST] = "POST",
	[METHOD_OPTIONS] = "OPTIONS",
	[METHOD_OTHER] = "OTHER",
};

static const char *
reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 500: return "Internal Server Error";
	case 507: return "Insufficient Storage";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default:  return "Unknown";
	}
}

const char *
http_method_name(enum method m)
{
	return method_names[m];
}

/* Returns a copy of envp's value for name, or NULL when it is absent. */
static char *
param_dup(char **envp, const char *name)
{
	const char	*v = FCGX_GetParam(name, envp);

	return v == NULL ? NULL : xstrdup(v);
}

/* Reads exactly n bytes of body. Returns 0, or -1 on a short body. */
static int
read_body(struct request *req, size_t n, FCGX_Stream *in)
{
	size_t	 got = 0;
	int	 r;

	req->body = xmalloc(n + 1);
	while (got < n) {
		if (in != NULL)
			r = FCGX_GetStr(req->body + got, (int)(n - got), in);
		else
			r = (int)fread(req->body + got, 1, n - got, stdin);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	req->body[got] = '\0';
	req->body_len = got;
	return got == n ? 0 : -1;
}

void
http_request_start(struct request *req)
{
	static unsigned long	 seq;

	memset(req, 0, sizeof(*req));
	req->start_us = time_usec();
	req->now = (time_t)(req->start_us / 1000000);
	time_rfc3339(req->now, req->now_text);
	snprintf(req->id, sizeof(req->id), "%ld-%lu", (long)getpid(),
	    __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
}

int
http_read(struct request *req, char **envp, FCGX_Stream *in)
{
	const char	*method, *uri, *len;
	char		*end;
	unsigned long	 n = 0;

	http_request_start(req);
	method = FCGX_GetParam("REQUEST_METHOD", envp);
	if (method == NULL)
		method = "GET";
	req->method_name = xstrndup(method, 16);
	if (strcmp(method, "GET") == 0)
		req->method = METHOD_GET;
	else if (strcmp(method, "HEAD") == 0)
		req->method = METHOD_HEAD;
	else if (strcmp(method, "POST") == 0)
		req->method = METHOD_POST;
	else if (strcmp(method, "OPTIONS") == 0)
		req->method = METHOD_OPTIONS;
	else
		req->method = METHOD_OTHER;

	/* PATH_INFO when run as a CGI script; the request URI otherwise. */
	uri = FCGX_GetParam("PATH_INFO", envp);
	if (uri == NULL || *uri == '\0')
		uri = FCGX_GetParam("REQUEST_URI", envp);
	if (uri == NULL || *uri == '\0')
		uri = "/";
	req->path = xstrdup(uri);
	req->path[strcspn(req->path, "?")] = '\0';
	req->query = param_dup(envp, "QUERY_STRING");
	if (req->query == NULL)
		req->query = xstrdup("");

	req->content_type = param_dup(envp, "CONTENT_TYPE");
	req->authorization = param_dup(envp, "HTTP_AUTHORIZATION");
	req->idempotency_key = param_dup(envp, "HTTP_IDEMPOTENCY_KEY");

	len = FCGX_GetParam("CONTENT_LENGTH", envp);
	if (len != NULL && *len != '\0') {
		errno = 0;
		n = strtoul(len, &end, 10);
		if (errno != 0 || *end != '\0' || *len == '-')
			return -1;
	}
	if (n > HTTP_BODY_MAX) {
		req->body_too_large = 1;
		n = 0;
	}
	return read_body(req, n, in);
}

void
http_request_free(struct request *req)
{
	free(req->method_name);
	free(req->path);
	free(req->query);
	free(req->content_type);
	free(req->authorization);
	free(req->idempotency_key);
	free(req->body);
	free(req->in);
}

long
http_query_long(const struct request *req, const char *name, long def,
    long min, long max)
{
	const char	*p = req->query;
	size_t		 n = strlen(name);
	char		*end;
	long		 v;

	for (; *p != '\0'; p += strcspn(p, "&"), p += (*p == '&')) {
		if (strncmp(p, name, n) != 0 || p[n] != '=')
			continue;
		if (p[n + 1] < '0' || p[n + 1] > '9')
			return -1;	/* strtol would take "+5" or " 5" */
		errno = 0;
		v = strtol(p + n + 1, &end, 10);
		if (errno != 0 || end == p + n + 1 ||
		    (*end != '\0' && *end != '&') || v < min || v > max)
			return -1;
		return v;
	}
	return def;
}

/* Returns the value of hex digit c, or -1. */
static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
http_query_text(const struct request *req, const char *name, char *out,
    size_t size)
{
	const char	*p = req->query;
	size_t		 n = strlen(name), len = 0;
	int		 hi, lo;
	char		 c;

	for (; *p != '\0'; p += strcspn(p, "&"), p += (*p == '&')) {
		if (strncmp(p, name, n) != 0 || p[n] != '=')
			continue;
		for (p += n + 1; *p != '\0' && *p != '&'; p++) {
			c = *p == '+' ? ' ' : *p;
			if (c == '%') {
				if ((hi = hex_value(p[1])) == -1 ||
				    (lo = hex_value(p[2])) == -1)
					return -1;
				c = (char)(hi * 16 + lo);
				p += 2;
			}
			if ((unsigned char)c < 0x20 || c == 0x7f ||
			    len + 1 >= size)
				return -1;
			out[len++] = c;
		}
		out[len] = '\0';
		return (int)len;
	}
	return -2;
}

int
http_query_limit_or_reply(const struct request *req, long *limit,
    struct response *res)
{
	if ((*limit = http_query_long(req, "limit", 100, 1, 1000)) != -1)
		return 0;
	http_problem(res, &problem_invalid_parameter,
	    "limit must be a whole number from 1 to 1000, in digits only.");
	return -1;
}

static void
out_write(FCGX_Stream *out, const char *s, size_t n)
{
	if (out != NULL)
		FCGX_PutStr(s, (int)n, out);
	else
		fwrite(s, 1, n, stdout);
}

static const char	*lesson;

void
http_set_lesson(const char *name)
{
	lesson = name;
}

const char *
http_lesson(void)
{
	return lesson;
}

void
http_write(const struct request *req, const struct response *res,
    FCGX_Stream *out)
{
	struct buf	 head = { 0 };

	buf_printf(&head, "Status: %d %s\r\n", res->status,
	    reason_phrase(res->status));
	buf_puts(&head, "Cache-Control: no-store\r\n");
	/* Not in res: a stored answer must not carry it. */
	if (lesson != NULL)
		buf_printf(&head, "Onceshop-Lesson: %s\r\n", lesson);
	buf_append(&head, res->headers.data, res->headers.len);
	if (res->status != 204)
		buf_printf(&head, "Content-Length: %zu\r\n", res->body.len);
	buf_puts(&head, "\r\n");
	out_write(out, head.data, head.len);
	if (req->method != METHOD_HEAD && res->status != 204)
		out_write(out, res->body.data, res->body.len);
	if (out == NULL)
		fflush(stdout);
	buf_free(&head);
}

void
http_response_free(struct response *res)
{
	buf_free(&res->headers);
	buf_free(&res->body);
}

void
http_header(struct response *res, const char *name, const char *fmt, ...)
{
	va_list	 ap;
	char	 value[512];

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	buf_printf(&res->headers, "%s: %s\r\n", name, value);
}

/* Sets status, headers and body of res from obj; releases obj. */
static void
reply(struct response *res, int status, const char *type,
    struct json_object *obj)
{
	res->status = status;
	res->problem = NULL;
	buf_reset(&res->headers);
	buf_reset(&res->body);
	http_header(res, "Content-Type", "%s", type);
	buf_puts(&res->body, json_object_to_json_string_ext(obj,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	buf_puts(&res->body, "\n");
	json_object_put(obj);
}

void
http_json(struct response *res, int status, struct json_object *obj)
{
	reply(res, status, "application/json", obj);
}

/* Sets res to problem p with the given status (0: p's own), the detail
 * made of fmt and ap, and the members of ext (may be NULL; released). */
static void
problem(struct response *res, const struct problem_type *p, int status,
    struct json_object *ext, const char *fmt, va_list ap)
{
	struct json_object	*obj = json_object_new_object();
	struct buf		 detail = { 0 };
	char			 type[64], raw[1024];

	if (status == 0)
		status = p->status;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	/* The detail may quote the request (a path, a key): keep it valid
	 * UTF-8, and whole characters where it was cut short. */
	buf_utf8(&detail, raw, strlen(raw));
	buf_append(&detail, "", 0);
	snprintf(type, sizeof(type), "/problems/%s", p->name);

	/* json_object_object_add steals each new value's reference. */
	json_object_object_add(obj, "type", json_object_new_string(type));
	json_object_object_add(obj, "title",
	    json_object_new_string(p->title));
	json_object_object_add(obj, "status", json_object_new_int(status));
	json_object_object_add(obj, "detail",
	    json_object_new_string(detail.data));
	if (ext != NULL) {
		json_object_object_foreach(ext, name, value)
			json_object_object_add(obj, name,
			    json_object_get(value));
		json_object_put(ext);
	}
	buf_free(&detail);
	reply(res, status, "application/problem+json", obj);
	res->problem = p->name;
}

void
http_problem(struct response *res, const struct problem_type *p,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	problem(res, p, 0, NULL, fmt, ap);
	va_end(ap);
}

void
http_problem_retry(struct response *res, const struct problem_type *p,
    long seconds, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	problem(res, p, 0, NULL, fmt, ap);
	va_end(ap);
	http_header(res, "Retry-After", "%ld", seconds);
}

void
http_json_list(struct response *res, const char *name,
    struct json_object *list)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, name, list);	/* steals list */
	http_json(res, 200, o);
}

void
http_problem_ext(struct response *res, const struct problem_type *p,
    int status, struct json_object *ext, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	problem(res, p, status, ext, fmt, ap);
	va_end(ap);
}
