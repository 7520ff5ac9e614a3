/* phases.h — operations whose side effect is somewhere else (a payment
 * provider), so it cannot be inside our transaction. Such an operation is
 * a table of phases, the way a route is a handler:
 *
 *   claim (processing, lease) → local → remote → local → completed
 *
 * Each phase has a recovery point (its name, kept on the key's row), an
 * optional local step, run by the writer inside a transaction, and an
 * optional remote step, run after that transaction has committed, with no
 * transaction or lock held, while the key's lease says who is working on
 * it. Local steps run back to back in one transaction until a remote step
 * is next; the recovery point is then committed with the lease, and the
 * remote step runs. A retry after the lease ran out (or the completer,
 * with no client at all) takes the lease over and starts again at the
 * recovery point: a phase with a remote step runs its local step again on
 * every resumption, so that step may only read or rewrite what it wrote.
 * A remote step must be safe to repeat (the provider's own idempotency
 * key makes it so). */
#ifndef ONCESHOP_PHASES_H
#define ONCESHOP_PHASES_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "db.h"
#include "http.h"
#include "writer.h"

struct api;
struct route;

enum phase_rc {
	PHASE_NEXT,	/* on to the next phase */
	PHASE_DONE,	/* res is the answer: stored, the key completed
			 * (a 5xx is never stored: as PHASE_LATER) */
	PHASE_LATER,	/* res is a 5xx, not stored: the key stays
			 * processing and its lease is given up, so that a
			 * retry with the same key resumes at once. After a
			 * remote step, at that step's recovery point. A local
			 * step that says so has its job's writes undone: its
			 * own, and the recovery point the job moved to (a
			 * local step may need what the remote step said,
			 * which only the run that asked holds); the key is
			 * back where the job found it (a new key: not
			 * claimed at all) */
};

/* One run of an operation's phases, by a request or by the completer. */
struct phase_run {
	const struct request	*req;		/* user.id, in, now_text; the
						 * completer rebuilds it from
						 * the key's row */
	struct response		*res;
	int64_t			 resource_id;	/* the row the phases work
						 * on, kept on the key's row */
	void			*state;		/* the operation's own,
						 * state_size zeroed bytes,
						 * for this run only */
	/* Set by a remote step that says PHASE_LATER: */
	int			 retry_after;	/* seconds the remote side
						 * asked us to wait, or 0 */
	char			 why[160];	/* what went wrong, kept on
						 * the key's row */
};

typedef enum phase_rc local_step_fn(struct db *, struct phase_run *);
typedef enum phase_rc remote_step_fn(struct phase_run *);

struct phase {
	const char	*point;		/* its recovery point */
	local_step_fn	*local;		/* NULL, or run by the writer */
	remote_step_fn	*remote;	/* NULL, or run outside (NEXT/LATER) */
};

struct phased {
	const struct phase	*phases;	/* ends with { NULL } */
	size_t			 state_size;
};

/* How long a lease lasts: the longest remote step (the provider's
 * timeout) and a margin for the writer; how many requests may run phases
 * at once (slots: the bulkhead that keeps a slow provider from taking
 * every request thread). Call once, at start-up. */
void	 phases_configure(int lease_seconds, int slots);

/* Runs r's phases for req: from the start after claiming the key when
 * key_id is 0, else taking over the processing key key_id and resuming
 * at its recovery point. Sets res to the answer, stored or not. When
 * every slot is taken it looks the key up again in db (a copy in flight
 * gets 409, a finished one its answer) and otherwise claims nothing and
 * answers 503 with Retry-After at once. */
void	 phases_run(struct db *, struct writer *, const struct route *r,
	     const struct request *req, const char *fp, int64_t key_id,
	     struct response *res);

/* Runs r's phases as phases_run does, without a slot: for the completer,
 * one thread of its own. Returns 1 if a remote step said "later" (and
 * sets *retry_after, unless NULL, to the seconds it asked for), -1 if the
 * key is at a recovery point this build does not know (it can never
 * resume), else 0. */
int	 phases_resume(struct writer *, const struct route *r,
	     const struct request *req, const char *fp, int64_t key_id,
	     struct response *res, int *retry_after);

/* Returns how long to wait after the n-th failed attempt in a row (n >= 1)
 * at a remote step: 2 s doubling up to 120 s, the upper half of it at
 * random (so that keys that failed together do not come back together),
 * and at least at_least seconds. */
long	 phases_backoff_s(int64_t n, long at_least);

/* When a wait of wait_s seconds that starts now is over, in the whole
 * seconds that retry_at and the completer's clock keep: the current
 * second is rounded up, so that the wait is never cut short (from
 * 12:00:00.9, a wait of 1 s is over at 12:00:02, not at 12:00:01). */
time_t	 phases_due(long wait_s);

#endif
