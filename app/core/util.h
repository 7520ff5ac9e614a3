/* util.h — small helpers every module uses: allocation that aborts on
 * out-of-memory, a growable byte buffer, UTC timestamps. */
#ifndef ONCESHOP_UTIL_H
#define ONCESHOP_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The version of both programs built from this tree, onceshop and paysim. */
#define ONCESHOP_VERSION	"0.2.0"

/* A growable byte buffer, always NUL-terminated. */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

void	*xmalloc(size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);

void	 buf_append(struct buf *, const char *, size_t);
void	 buf_puts(struct buf *, const char *);
void	 buf_printf(struct buf *, const char *, ...)
	     __attribute__((format(printf, 2, 3)));
void	 buf_reset(struct buf *);
void	 buf_free(struct buf *);

/* Writes t as RFC 3339 UTC ("2026-11-23T18:29:12Z") into out[21]. */
void	 time_rfc3339(time_t t, char out[21]);

/* Reads what time_rfc3339 writes. Returns 0, or -1 if s is not that. */
int	 time_parse_rfc3339(const char *s, time_t *t);

/* Current time in microseconds, for logging durations. */
int64_t	 time_usec(void);

/* Microseconds of a clock that only goes forward, for deadlines: a change
 * of the wall clock moves none. */
int64_t	 time_monotonic_usec(void);

/* A condition variable whose timed waits end at a time_monotonic_usec
 * deadline, given as cond_deadline(usec): a change of the wall clock
 * moves none. */
void		 cond_init_monotonic(pthread_cond_t *);
struct timespec	 cond_deadline(int64_t monotonic_usec);

/* Returns the length of the UTF-8 sequence at s (at most n bytes), or 0 if
 * it is malformed, overlong, a surrogate or above U+10FFFF. */
size_t	 utf8_len(const unsigned char *s, size_t n);

/* Appends the n bytes at s to out as valid UTF-8: a sequence cut short (as
 * by truncation) is dropped, any other malformed byte becomes U+FFFD. */
void	 buf_utf8(struct buf *out, const char *s, size_t n);

/* Writes the SHA-256 of the n bytes at p as 64 hex digits and a NUL. */
void	 sha256_hex(const void *p, size_t n, char out[65]);

/* Writes nbytes (at most 64) random bytes from OpenSSL's generator as
 * 2 * nbytes hex digits and a NUL. Returns 0, or -1 if it failed. */
int	 random_hex(char *out, size_t nbytes);

#endif
