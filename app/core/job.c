/* job.c — a request's write job and its outcome as an answer (job.h). */
#include "job.h"

static int	 busy_ms = 5000;

void
job_configure(int busy_timeout_ms)
{
	busy_ms = busy_timeout_ms;
}

int
job_busy_ms(void)
{
	return busy_ms;
}

void
job_reply_failed(struct response *res)
{
	res->outcome = "failed";
	http_problem(res, &problem_internal_error, "The request failed and was "
	    "rolled back; nothing was written. Retrying with the same key is "
	    "safe.");
}

/* The disk is full: 507 with a Retry-After, and as much as is known. */
static void
reply_full(struct response *res, int unknown)
{
	res->outcome = "full";
	http_problem_retry(res, &problem_insufficient_storage, 10, "The "
	    "database's disk is full, so this request could not be saved%s. "
	    "Retry the same request with the same key after Retry-After "
	    "seconds%s.", unknown ? " and whether any of it was is unknown" :
	    "; it was rolled back and nothing was written", unknown ? ": if it "
	    "was saved you get its stored answer" : "");
}

void
job_reply_busy(struct response *res)
{
	res->outcome = "busy";
	http_problem_retry(res, &problem_service_busy, 1, "The database is "
	    "busy. Nothing was written; retry the same request with the same "
	    "key.");
}

/* The database server cannot be reached (DB_GONE): 503 with Retry-After,
 * and whether anything was written, when a COMMIT was lost. */
static void
reply_gone(struct response *res, int unknown)
{
	res->outcome = unknown ? "unknown" : "busy";
	http_problem_retry(res, &problem_service_busy, 1, "The connection to the "
	    "database was lost%s. Retry the same request with the same key "
	    "after Retry-After seconds%s.", unknown ? " while this request was "
	    "being saved, so whether it was saved is unknown" : "; nothing was "
	    "written", unknown ? ": if it was saved you get its stored answer, "
	    "if not it runs then" : "");
}

/* Sets res from the writer's outcome for job: as its run left it when it
 * committed or rolled itself back (WRITE_UNDONE), else what is known of
 * what was written (and a full disk says so whatever happened). */
static void
reply_outcome(const struct write_job *job, struct response *res)
{
	switch (job->result) {
	case WRITE_COMMITTED:
	case WRITE_UNDONE:	/* its run set the answer */
		break;
	case WRITE_BUSY:
		job_reply_busy(res);
		break;
	case WRITE_FAILED:
		job_reply_failed(res);
		break;
	case WRITE_UNKNOWN:
		res->outcome = "unknown";
		http_problem(res, &problem_internal_error, "The database failed "
		    "while saving this request, so whether it was saved is "
		    "unknown. Retry the same request with the same key: if it "
		    "was saved you get its stored answer, if not it runs now.");
		break;
	}
	if (job->fault == DB_FULL && job->result != WRITE_COMMITTED)
		reply_full(res, job->result == WRITE_UNKNOWN);
	if (job->fault == DB_GONE && job->result != WRITE_COMMITTED)
		reply_gone(res, job->result == WRITE_UNKNOWN);
}

int
job_run_or_reply(struct writer *w, struct write_job *job,
    struct response *res)
{
	int64_t	 queued = time_usec();

	writer_submit(w, job, busy_ms);
	res->wait_us += time_usec() - queued;
	res->group = job->group;
	reply_outcome(job, res);
	if (job->result == WRITE_COMMITTED)
		return 0;
	res->delay_ms = 0;	/* only a committed answer is held */
	res->stored = 0;
	return -1;
}
