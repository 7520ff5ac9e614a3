/* log.c — one line at a time, written whole (see log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"

static int		 log_gets = 1;
static const char	*program = "onceshop";

void
log_configure(int gets)
{
	log_gets = gets;
}

void
log_set_name(const char *name)
{
	program = name;
}

static void
write_line(struct buf *b)
{
	buf_puts(b, "\n");
	/* One write(2) per line: the kernel keeps it in one piece. */
	if (write(STDERR_FILENO, b->data, b->len) == -1)
		return;		/* nowhere left to say so */
}

/* Logs "<program>: <prefix><message>". */
static void
log_message(const char *prefix, const char *fmt, va_list ap)
{
	struct buf	 b = { 0 };
	char		 msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	buf_printf(&b, "%s: %s", program, prefix);
	buf_puts(&b, msg);
	write_line(&b);
	buf_free(&b);
}

void
log_error(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_message("error: ", fmt, ap);
	va_end(ap);
}

void
log_note(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_message("", fmt, ap);
	va_end(ap);
}

/* Appends " name=value": bare when value is plain, else quoted with \",
 * \\ and \xNN for control and non-ASCII bytes. */
static void
field(struct buf *b, const char *name, const char *v)
{
	const unsigned char	*p;
	int			 plain = *v != '\0';

	for (p = (const unsigned char *)v; *p != '\0' && plain; p++)
		plain = *p > 0x20 && *p < 0x7f && strchr("=\"\\", *p) == NULL;
	buf_printf(b, " %s=", name);
	if (plain) {
		buf_puts(b, v);
		return;
	}
	buf_puts(b, "\"");
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_printf(b, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			buf_printf(b, "\\x%02x", *p);
		else
			buf_append(b, (const char *)p, 1);
	}
	buf_puts(b, "\"");
}

/* The value of header name in res, into out; "" if absent. */
static void
header_value(const struct response *res, const char *name, char *out,
    size_t size)
{
	const char	*h = res->headers.data, *end;
	size_t		 n = strlen(name);

	*out = '\0';
	for (; h != NULL && *h != '\0'; h = end + 2) {
		if ((end = strstr(h, "\r\n")) == NULL)
			return;
		if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
			snprintf(out, size, "%.*s", (int)(end - h - n - 2),
			    h + n + 2);
			return;
		}
	}
}

void
log_request(const struct request *req, const struct response *res)
{
	struct buf	 b = { 0 };
	char		 created[64];

	if (!log_gets && res->status < 400 && (req->method == METHOD_GET ||
	    req->method == METHOD_HEAD))
		return;
	buf_printf(&b, "%s:", program);
	field(&b, "method", req->method_name ? req->method_name : "-");
	field(&b, "path", req->path ? req->path : "-");
	field(&b, "user", req->user.id ? req->user.name : "-");
	if (res->operation != NULL) {
		field(&b, "operation", res->operation);
		field(&b, "key", res->key[0] ? res->key : "-");
		field(&b, "outcome", res->outcome);
		field(&b, "stored", res->stored ? "yes" : "no");
		if (res->phase != NULL)
			field(&b, "phase", res->phase);
		if (res->group != 0)
			buf_printf(&b, " group=%lld wait_us=%lld",
			    (long long)res->group, (long long)res->wait_us);
	}
	if (res->delay_ms > 0)
		buf_printf(&b, " held_ms=%d", res->delay_ms);
	buf_printf(&b, " status=%d", res->status);
	if (res->unsent)
		buf_puts(&b, " sent=no");
	if (res->problem != NULL)
		field(&b, "problem", res->problem);
	header_value(res, "Location", created, sizeof(created));
	if (*created != '\0' && res->status == 201)
		field(&b, "created", created);
	buf_printf(&b, " us=%lld thread=%ld", (long long)(time_usec() -
	    req->start_us), (long)gettid());
	field(&b, "rid", req->id);
	field(&b, "ts", req->now_text);
	write_line(&b);
	buf_free(&b);
}
