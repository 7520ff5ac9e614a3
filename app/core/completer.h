/* completer.h — the completer: resumes, on behalf of their users, the
 * processing keys of multi-phase operations (phases.h) whose lease ran
 * out, so that a payment cut off by a crash or a provider that was away
 * finishes without its client. The server runs it every
 * ONCESHOP_COMPLETER_MS in its maintenance thread; `onceshop complete`
 * runs it once. */
#ifndef ONCESHOP_COMPLETER_H
#define ONCESHOP_COMPLETER_H

#include "db.h"
#include "writer.h"

struct api;

/* Resumes up to max processing keys of api whose lease has run out and
 * whose retry_at has come, most overdue first, one after the other, on db
 * (for reading) and w. A key that fails again waits longer
 * (phases_backoff_s, at least the remote side's Retry-After); one that
 * cannot be resumed at all is set aside with its reason. When a remote
 * step says "later", the rest wait too: the next round comes after the
 * same kind of backoff, so a provider that is down costs one attempt per
 * step, not one per key. Returns how many it tried, or -1 if it could not
 * read them; *finished counts those now completed. */
long	 completer_run(const struct api *, struct db *, struct writer *,
	     long max, long *finished);

#endif
