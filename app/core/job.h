/* job.h — a request's write job (writer.h) and its outcome as an answer:
 * committed, or what is known of it (503 busy or away, 500, 507). */
#ifndef ONCESHOP_JOB_H
#define ONCESHOP_JOB_H

#include "http.h"
#include "writer.h"

/* Sets how long a request waits for the writer before it is answered
 * 503. Call once, at start-up. */
void	 job_configure(int busy_timeout_ms);

/* How long a request waits for the writer (job_configure). */
int	 job_busy_ms(void);

/* Runs job through w, committed before it returns, waiting at most the
 * busy timeout for it to start. Returns 0 when it committed; otherwise -1
 * with res set to what is known (503 busy, 500, 507), or as job's run set
 * it when the run returned -1 (which it does only after setting res).
 * Adds the wait to res->wait_us; only a committed answer keeps its
 * res->delay_ms (http.h). */
int	 job_run_or_reply(struct writer *, struct write_job *,
	     struct response *);

/* A write job that failed and was rolled back: 500, nothing written. */
void	 job_reply_failed(struct response *);

/* The database was busy: 503 with Retry-After, nothing written. */
void	 job_reply_busy(struct response *);

#endif
