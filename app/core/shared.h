/* shared.h — an answer that is the same for every request (the
 * catalogue), read once for all the requests that wait for it together,
 * as the writer commits a group in one transaction. A request is given
 * the answer of a read that began after it arrived, never an earlier one:
 * whatever was committed before it arrived is in its answer, as if it had
 * read alone. Under load, one read then answers many requests; with one
 * request at a time, each reads for itself. */
#ifndef ONCESHOP_SHARED_H
#define ONCESHOP_SHARED_H

#include <pthread.h>
#include <stdint.h>

#include "http.h"

struct shared_answer {
	pthread_mutex_t	 lock;
	pthread_cond_t	 done;
	uint64_t	 begun;		/* reads begun */
	uint64_t	 ended;		/* the read whose answer is kept */
	int		 running;	/* read number begun is under way */
	int		 ok;		/* that answer is a 2xx, to be shared */
	int		 status;
	struct buf	 headers;
	struct buf	 body;
};

#define SHARED_ANSWER_INIT { .lock = PTHREAD_MUTEX_INITIALIZER, \
	.done = PTHREAD_COND_INITIALIZER }

/* Sets res to s's answer: fill(arg, res)'s from this request's own read,
 * or a copy of one that began after this request arrived. An answer that
 * is not a 2xx is not shared: each request that waited for it reads for
 * itself (a failure's problem names its own request). */
void	 shared_answer(struct shared_answer *s,
	     void (*fill)(void *arg, struct response *res), void *arg,
	     struct response *res);

#endif
