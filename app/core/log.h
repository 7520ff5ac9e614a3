/* log.h — the log of onceshop (and paysim): one logfmt line per request and one line per
 * server error, each built in a buffer and written to stderr (lighttpd's
 * error log) with a single write(2), so that lines from different threads
 * never interleave. Values are quoted and escaped when needed. */
#ifndef ONCESHOP_LOG_H
#define ONCESHOP_LOG_H

#include "http.h"

/* Whether to log GET and HEAD requests that succeed (ONCESHOP_LOG_GETS=0
 * silences a demo page's own refreshes). On by default. */
void	 log_configure(int log_gets);

/* Names the program every line starts with ("onceshop" unless set); call
 * once, before any thread logs. */
void	 log_set_name(const char *program);

/* Logs "onceshop: error: <message>". */
void	 log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Logs "onceshop: <message>": what went as asked, or came right again. */
void	 log_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Logs the request's line: what came in, what the idempotency layer and
 * the writer did with it, what went out, and how long it took. */
void	 log_request(const struct request *, const struct response *);

#endif
