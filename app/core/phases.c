/* phases.c — the state machine of a multi-phase operation (phases.h): the
 * claim with a lease, the recovery point after each local step, the remote
 * step between two of the writer's transactions, taking over a lease that
 * ran out, and the bulkhead of slots (the completer is completer.c). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "keystore.h"
#include "log.h"
#include "phases.h"
#include "replay_cache.h"
#include "router.h"

/* The backoff after a failed remote step: the first wait, the longest. */
#define BACKOFF_FIRST_S	2
#define BACKOFF_MAX_S	120

static int	 lease_s = 7;
static int	 slots = 1;	/* phases_configure sets it */
static atomic_int slots_taken;
/* Names this process in lease owners: request ids ("<pid>-<n>") repeat
 * across hosts sharing one PostgreSQL, and after a restart. */
static char	 instance[17] = "0";

void
phases_configure(int lease_seconds, int slots_max)
{
	lease_s = lease_seconds;
	slots = slots_max;
	if (random_hex(instance, 8) == -1)
		snprintf(instance, sizeof(instance), "%ld", (long)time(NULL));
}

/* How the next writer job of a run begins. */
enum entry {
	ENTRY_CLAIM,		/* claim the key: a new request */
	ENTRY_TAKE_OVER,	/* take an expired lease over, then resume */
	ENTRY_HOLD,		/* after a remote step: still ours? */
};

struct phased_job {
	const struct route	*route;
	const struct key_store	*keys;		/* where its key lives */
	const struct request	*req;
	const char		*fp;
	struct phase_run	 run;
	enum entry		 entry;
	struct stmt		*claim;		/* sent, read in finish */
	int64_t			 key_id;
	int64_t			 attempts;	/* failed so far (taken over) */
	int			 next;		/* the phase to run */
	int			 held_at;	/* ENTRY_HOLD: next, when the
						 * job began (a job may run
						 * again after a deadlock) */
	const char		*outcome;	/* res's when it began */
	int			 answered;	/* res is final: stored,
						 * replayed or refused */
	int			 unknown_point;	/* its recovery point is none
						 * of this build's */
	char			 owner[48];	/* the lease's: instance and
						 * request id */
};

/* A single-phase route runs as an operation of one phase, its handler
 * (run_local): claim, handler and stored answer in one transaction. */
static const struct phase one_phase[] = { { .point = "run" }, { NULL } };

static const struct phase *
phases_of(const struct route *r)
{
	return r->phased != NULL ? r->phased->phases : one_phase;
}

static void
reply_failed(struct phased_job *j, const char *what)
{
	j->run.res->outcome = "failed";
	http_problem(j->run.res, &problem_internal_error, "%s; see the server "
	    "log. %s", what, j->route->phased == NULL ? "It was rolled back: "
	    "nothing was written, and retrying with the same key is safe." :
	    "Retrying with the same key is safe: it resumes where this "
	    "request stopped.");
}

/* Someone else holds the key (or just completed it): answers as a
 * lookup would. Returns 0, or -1 if even that failed. */
static int
answer_other(struct db *db, struct phased_job *j)
{
	struct response	*res = j->run.res;
	int64_t		 id = 0;

	j->answered = 1;
	switch (j->keys->lookup(db, j->req, j->route->operation, j->fp, &id,
	    res)) {
	case KEY_ANSWERED:
		return 0;
	case KEY_RESUME:	/* expired, yet not ours: someone takes it */
		http_problem_retry(res, &problem_key_in_progress, 1, "Another "
		    "request is resuming Idempotency-Key \"%s\" right now. Retry "
		    "after Retry-After seconds to get its answer.", res->key);
		res->outcome = "in-progress";
		return 0;
	default:
		reply_failed(j, "The key could not be read");
		return -1;
	}
}

/* Returns the index of point in phases, or -1. */
static int
phase_index(const struct phase *phases, const char *point)
{
	int	 i;

	for (i = 0; point != NULL && phases[i].point != NULL; i++)
		if (strcmp(phases[i].point, point) == 0)
			return i;
	return -1;
}

/* Takes the expired lease of j's key over. Returns 1 when it is ours, 0
 * when res holds another answer, -1 on error. */
static int
take_over(struct db *db, struct phased_job *j, const char *now,
    const char *until)
{
	struct stmt	*st = db_stmt(db, STMT_KEY_TAKE_OVER);
	enum db_rc	 rc;
	int		 i = -1;

	stmt_text(st, 1, j->owner);
	stmt_text(st, 2, until);
	stmt_int(st, 3, j->key_id);
	stmt_text(st, 4, now);
	if ((rc = stmt_step(st)) == DB_ROW) {
		i = phase_index(phases_of(j->route), col_text(st, 0));
		j->run.resource_id = col_int(st, 1);
		j->attempts = col_int(st, 2);
		if (i == -1)
			log_error("key %lld: unknown recovery point \"%s\"",
			    (long long)j->key_id, col_text(st, 0));
	}
	stmt_reset(st);
	if (rc == DB_DONE)
		return answer_other(db, j);
	if (i == -1) {
		reply_failed(j, "The key's recovery point is unknown to this "
		    "build");
		j->unknown_point = 1;
		return -1;
	}
	j->next = i;
	return 1;
}

/* Records that j's key is at the recovery point of phase j->next, with
 * its resource and a fresh lease, if it is still ours. Returns 1 when it
 * is, 0 when res holds another answer, -1 on error. */
static int
advance(struct db *db, struct phased_job *j, const char *until)
{
	struct stmt	*st = db_stmt(db, STMT_KEY_ADVANCE);
	const char	*point = phases_of(j->route)[j->next].point;

	stmt_text(st, 1, point);
	stmt_int(st, 2, j->run.resource_id);
	stmt_text(st, 3, until);
	stmt_int(st, 4, j->key_id);
	stmt_text(st, 5, j->owner);
	if (stmt_exec(st) != DB_DONE) {
		reply_failed(j, "The key could not be updated");
		return -1;
	}
	if (db_changes(db) == 0)	/* the lease ran out and was taken */
		return answer_other(db, j);
	j->run.res->phase = point;
	return 1;
}

/* Begins j's job: claims the key (with lease, unless NULL: a single
 * phase needs none, and its store may send the claim, to be read in
 * finish) or takes it over. Returns 1 to go on, 0 when res holds another
 * answer, -1 on error. */
static int
enter(struct db *db, struct phased_job *j, const struct key_lease *lease,
    const char *now, const char *until)
{
	switch (j->entry) {
	case ENTRY_CLAIM:
		j->next = 0;
		if (lease == NULL && j->keys->claim_send != NULL) {
			/* Read in finish: it goes with the handler's first
			 * statement (keystore.h). */
			j->claim = j->keys->claim_send(db, j->req,
			    j->route->operation, j->fp, j->run.res->key);
			return 1;
		}
		j->key_id = j->keys->claim(db, j->req, j->route->operation,
		    j->fp, j->run.res->key, lease);
		if (j->key_id == -1) {
			reply_failed(j, "The key could not be claimed");
			return -1;
		}
		if (j->key_id == 0)	/* a duplicate got there first */
			return answer_other(db, j);
		if (lease != NULL)
			j->run.res->phase = lease->point;
		return 1;
	case ENTRY_TAKE_OVER:
		return take_over(db, j, now, until);
	case ENTRY_HOLD:	/* phased_write advances it */
		j->next = j->held_at;
		return 1;
	}
	return -1;
}

/* Runs phase p's local step, or a single-phase route's handler. */
static enum phase_rc
run_local(struct db *db, struct phased_job *j, const struct phase *p)
{
	if (j->route->phased == NULL) {
		j->route->handler(db, j->req, j->run.res);
		return PHASE_DONE;
	}
	return p->local != NULL ? p->local(db, &j->run) : PHASE_NEXT;
}

/* Stores j's answer (res) as its key's: a refusal in the claiming job
 * alone, its writes undone. Returns 0, or -1 after setting res to a
 * failure (a 5xx is never stored: the job is rolled back). */
static int
finish(struct db *db, struct phased_job *j, const struct key_lease *lease,
    time_t now)
{
	struct response	*res = j->run.res;
	const char	*point = lease != NULL ? "finished" : NULL;

	if (j->claim != NULL) {		/* sent in enter: was it ours? */
		j->key_id = j->keys->claimed(j->claim);
		j->claim = NULL;
		/* 0: a duplicate got there first; what the handler wrote is
		 * undone, and the answer is the duplicate's. */
		if (j->key_id == 0 &&
		    db_tx(db, STMT_ROLLBACK_TO_JOB) == DB_DONE)
			return answer_other(db, j);
		if (j->key_id <= 0) {
			reply_failed(j, "The key could not be claimed");
			return -1;
		}
	}
	if (res->status >= 500 || db_tx_lost(db)) {
		if (res->status < 500)
			reply_failed(j, "The request could not be saved");
		return -1;
	}
	if (j->entry == ENTRY_CLAIM && res->status >= 400 &&
	    (j->key_id = j->keys->reclaim(db, j->req, j->route->operation,
	    j->fp, res->key, lease)) <= 0) {
		reply_failed(j, "The key could not be claimed again");
		return -1;
	}
	if (j->keys->store(db, j->key_id, res, now, point) == -1) {
		reply_failed(j, "The answer could not be stored");
		return -1;
	}
	res->stored = 1;
	res->phase = point;
	return 0;
}

/* A write_fn (writer.h): enters, then runs local steps until a remote
 * one is next (committing the recovery point) or one answers. */
static int
phased_write(struct db *db, void *arg)
{
	struct phased_job	*j = arg;
	const struct phase	*p, *phases = phases_of(j->route);
	time_t			 now = time(NULL);
	char			 now_text[21], until[21];
	struct key_lease	 claim = { phases[0].point, j->owner, until };
	const struct key_lease	*lease = j->route->phased ? &claim : NULL;
	int			 rc, moved = j->entry == ENTRY_HOLD;

	/* A job the writer runs again (after a deadlock or a serialization
	 * failure) starts afresh: the first run's answer was rolled back. */
	j->answered = 0;
	j->run.res->outcome = j->outcome;
	time_rfc3339(now, now_text);
	time_rfc3339(now + lease_s, until);
	if ((rc = enter(db, j, lease, now_text, until)) != 1)
		return rc == 0 ? 0 : -1;
	for (; (p = &phases[j->next])->point != NULL; j->next++, moved = 1) {
		/* A new recovery point, if the lease is still ours. */
		if (moved && (rc = advance(db, j, until)) != 1)
			return rc == 0 ? 0 : -1;
		switch (run_local(db, j, p)) {
		case PHASE_NEXT:
			break;
		case PHASE_DONE:
			j->answered = 1;
			return finish(db, j, lease, now);
		case PHASE_LATER:
			j->answered = 1;
			return -1;
		}
		if (p->remote != NULL)
			return 0;	/* committed; the remote step is next */
	}
	log_error("%s: its phases ended without an answer",
	    j->route->operation);
	reply_failed(j, "The operation ended without an answer");
	j->answered = 1;
	return -1;
}

/* Returns 0 to max seconds, at random. */
static long
jitter_s(long max)
{
	char	 hex[9];

	if (random_hex(hex, 4) == -1)
		return max / 2;
	return (long)(strtoul(hex, NULL, 16) % (unsigned long)(max + 1));
}

long
phases_backoff_s(int64_t n, long at_least)
{
	long	 d = BACKOFF_FIRST_S;

	while (--n > 0 && d < BACKOFF_MAX_S)
		d *= 2;
	if (d > BACKOFF_MAX_S)
		d = BACKOFF_MAX_S;
	d = d / 2 + jitter_s(d - d / 2);
	return d > at_least ? d : at_least;
}

time_t
phases_due(long wait_s)
{
	return time(NULL) + 1 + wait_s;
}

/* A write_fn: gives the lease up after a failed remote step, so that a
 * retry may resume at once, and tells the completer when to try next. */
static int
release(struct db *db, void *arg)
{
	struct phased_job	*j = arg;
	struct stmt		*st = db_stmt(db, STMT_KEY_RELEASE);
	time_t			 now = time(NULL);
	char			 now_text[21], retry_at[21];

	time_rfc3339(now, now_text);
	time_rfc3339(phases_due(phases_backoff_s(j->attempts + 1,
	    j->run.retry_after)), retry_at);
	stmt_text(st, 1, now_text);
	stmt_text(st, 2, retry_at);
	stmt_text(st, 3, j->run.why[0] ? j->run.why : NULL);
	stmt_int(st, 4, j->key_id);
	stmt_text(st, 5, j->owner);
	return stmt_exec(st) == DB_DONE ? 0 : -1;
}

/* Takes one of the slots. Returns 1, or 0 when all are taken. */
static int
slot_take(void)
{
	int	 n = atomic_load(&slots_taken);

	while (n < slots)
		if (atomic_compare_exchange_weak(&slots_taken, &n, n + 1))
			return 1;
	return 0;
}

void
phases_run(struct db *db, struct writer *w, const struct route *r,
    const struct request *req, const char *fp, int64_t key_id,
    struct response *res)
{
	int64_t	 id = 0;

	if (r->phased == NULL) {	/* no remote step: no slot */
		phases_resume(w, r, req, fp, key_id, res, NULL);
		return;
	}
	if (!slot_take()) {
		/* The key may have been claimed since the caller looked: a
		 * copy of a payment in flight is told 409, a finished one
		 * gets its answer; only a new payment is refused. */
		if (keystore_db.lookup(db, req, r->operation, fp, &id, res) ==
		    KEY_ANSWERED) {
			db_tx(db, STMT_ROLLBACK);
			return;
		}
		db_tx(db, STMT_ROLLBACK);
		res->outcome = "no-slot";
		/* 1 to 4 s: clients refused together come back apart. */
		http_problem_retry(res, &problem_service_busy, 1 + jitter_s(3),
		    "%d requests are waiting on the payment provider already, "
		    "as many as this server holds open at once. Nothing was "
		    "claimed, written or charged for this one: retry the same "
		    "request with the same key after Retry-After seconds.",
		    slots);
		return;
	}
	phases_resume(w, r, req, fp, key_id, res, NULL);
	atomic_fetch_sub(&slots_taken, 1);
}

int
phases_resume(struct writer *w, const struct route *r,
    const struct request *req, const char *fp, int64_t key_id,
    struct response *res, int *retry_after)
{
	struct phased_job	 j = { .route = r, .req = req, .fp = fp,
	    .keys = keystore_for(r->phased != NULL),
	    .run = { .req = req, .res = res }, .outcome = res->outcome,
	    .entry = key_id ? ENTRY_TAKE_OVER : ENTRY_CLAIM, .key_id = key_id };
	struct write_job	 job = { .run = phased_write, .arg = &j,
	    .lane_hint = r->lane ? r->lane(req) : 0 };
	const struct phase	*p;
	int			 rc, later = 0;

	snprintf(j.owner, sizeof(j.owner), "%s-%s", instance, req->id);
	if (r->phased != NULL &&
	    (j.run.state = calloc(1, r->phased->state_size)) == NULL)
		abort();
	for (;;) {
		rc = job_run_or_reply(w, &job, res);
		if (rc == -1 && j.entry == ENTRY_HOLD) {
			/* A job after a remote step failed: its writes are
			 * undone, the key is back at the remote step's point
			 * and the lease still ours. Give it up, so that a
			 * retry resumes at once. */
			job = (struct write_job){ .run = release, .arg = &j };
			writer_submit(w, &job, job_busy_ms());
		}
		if (rc == -1 || j.answered)
			break;
		/* Committed at a recovery point, the lease ours: the
		 * remote step runs with no transaction open. */
		p = &r->phased->phases[j.next];
		if (p->remote(&j.run) == PHASE_LATER) {
			job = (struct write_job){ .run = release, .arg = &j };
			/* If this fails, the lease runs out by itself. */
			writer_submit(w, &job, job_busy_ms());
			res->outcome = "processing";
			later = 1;
			if (retry_after != NULL)
				*retry_after = j.run.retry_after;
			break;
		}
		j.held_at = ++j.next;
		j.entry = ENTRY_HOLD;
	}
	if (res->stored && j.keys == &keystore_db)	/* committed */
		replay_cache_committed(req, r->operation, fp, res);
	free(j.run.state);
	return j.unknown_point ? -1 : later;
}
