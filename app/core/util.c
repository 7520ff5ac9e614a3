/* util.c — allocation wrappers, byte buffers and time formatting. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util.h"

/* Allocation failures are not recoverable in a request worker: abort, so
 * callers never test for NULL (lighttpd restarts the worker). */
void *
xmalloc(size_t n)
{
	void	*p = malloc(n ? n : 1);

	if (p == NULL)
		abort();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n ? n : 1)) == NULL)
		abort();
	return p;
}

char *
xstrdup(const char *s)
{
	size_t	 n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

char *
xstrndup(const char *s, size_t max)
{
	char	*p;

	if ((p = strndup(s, max)) == NULL)
		abort();
	return p;
}

void
buf_append(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->data = xrealloc(b->data, b->cap);
	}
	if (n > 0)		/* s may be NULL then */
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	buf_append(b, "", 0);	/* make sure data is allocated */
	if (b->len + (size_t)n + 1 > b->cap) {
		b->cap = (b->len + (size_t)n + 1) * 2;
		b->data = xrealloc(b->data, b->cap);
	}
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t		 len, i;
	uint32_t	 cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* Returns the length of a UTF-8 sequence at s that was cut short (a lead
 * byte followed by too few continuation bytes, as "%.200s" leaves one), or
 * 0 if s does not start one. */
static size_t
utf8_cut(const unsigned char *s, size_t n)
{
	size_t	 want, i;

	want = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 &&
	    s[0] <= 0xef ? 3 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : 0;
	for (i = 1; i < n && i < want && (s[i] & 0xc0) == 0x80; i++)
		continue;
	return want > 0 && i < want ? i : 0;
}

void
buf_utf8(struct buf *out, const char *str, size_t n)
{
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 i, len;

	for (i = 0; i < n; i += len) {
		if ((len = utf8_len(s + i, n - i)) > 0)
			buf_append(out, str + i, len);
		else if ((len = utf8_cut(s + i, n - i)) == 0) {
			buf_puts(out, "\xef\xbf\xbd");	/* U+FFFD */
			len = 1;
		}
	}
}

void
time_rfc3339(time_t t, char out[21])
{
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
time_parse_rfc3339(const char *s, time_t *t)
{
	struct tm	 tm;
	const char	*end;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL ||
	    *end != '\0')
		return -1;
	*t = timegm(&tm);
	return 0;
}

int64_t
time_usec(void)
{
	struct timeval	 tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

int64_t
time_monotonic_usec(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
cond_init_monotonic(pthread_cond_t *c)
{
	pthread_condattr_t	 a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

struct timespec
cond_deadline(int64_t monotonic_usec)
{
	struct timespec	 ts;

	ts.tv_sec = monotonic_usec / 1000000;
	ts.tv_nsec = (long)(monotonic_usec % 1000000) * 1000;
	return ts;
}

static EVP_MD	*sha256_md;

/* Fetches the digest once: EVP_sha256() makes OpenSSL 3 look it up, with
 * its locks, on every call. */
static void
sha256_fetch(void)
{
	if ((sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		abort();
}

void
sha256_hex(const void *p, size_t n, char out[65])
{
	static pthread_once_t	 once = PTHREAD_ONCE_INIT;
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 len = 0, i;

	pthread_once(&once, sha256_fetch);
	if (EVP_Digest(p, n, md, &len, sha256_md, NULL) != 1 || len != 32)
		abort();
	for (i = 0; i < len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[64] = '\0';
}

int
random_hex(char *out, size_t nbytes)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 raw[64];
	size_t			 i;

	if (nbytes > sizeof(raw) || RAND_bytes(raw, (int)nbytes) != 1)
		return -1;
	for (i = 0; i < nbytes; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 0xf];
	}
	out[2 * nbytes] = '\0';
	return 0;
}
